import { describe, expect, it } from 'vitest';
import { murmur2, partitionFor } from '../../collector/delivery/partition.ts';

describe('Kafka default partitioner', () => {
  // Values computed by Kafka's Java client (Utils.murmur2), as listed in its own unit tests.
  it.each([
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ])('murmur2(%s) = %i', (text, expected) => {
    expect(murmur2(new TextEncoder().encode(text))).toBe(expected);
  });

  it('spreads keys over every partition', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) seen.add(partitionFor(new TextEncoder().encode(`trace-${i}`), 12));
    expect(seen.size).toBe(12);
  });
});
