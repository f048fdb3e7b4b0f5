import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../runtime/config.ts';
import { configReference, withConfigReference } from '../../runtime/config-reference.ts';

const testdata = (name: string) => fileURLToPath(new URL(`./testdata/config/${name}`, import.meta.url));

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('defaults make all-in-one work with no file at all', () => {
    const config = loadConfig({ env: {} });
    expect(config.dataDir).toBe('./data');
    expect(config.query.listen).toBe('localhost:8080');
    expect(config.collector.otlp.grpcListen).toBe('localhost:4317');
    expect(config.collector.httpListen).toBe('localhost:4318');
    expect(config.collector.envoyAls.listen).toBe('localhost:9001');
    expect(config.clickhouse.url).toBeUndefined();
    expect(config.bus.topics.spans).toBe('otlp_spans');
  });

  it('reads a full file and keeps defaults for what it does not say', () => {
    const config = loadConfig({ file: testdata('full.yaml'), env: {} });
    expect(config.clickhouse.url).toBe('https://clickhouse.example.internal:8443');
    expect(config.clickhouse.ttlDays).toEqual({ raw: 3, calls: 30, rollups: 90 });
    expect(config.kafka.brokers).toEqual(['kafka-1:9092', 'kafka-2:9092']);
    expect(config.kafka.replicationFactor).toBe(3);
    expect(config.bus.kind).toBe('kafka');
    expect(config.query.listen).toBe(':8080');
    expect(config.collector.envoyAls.enabled).toBe(true);
  });

  it('names a typo key with its path, its place in the file, a suggestion and the allowed keys', () => {
    const [problem, ...rest] = problemsOf(() => loadConfig({ file: testdata('typo-key.yaml'), env: {} }));
    expect(rest).toEqual([]);
    expect(problem).toContain('kafka.brokerz');
    expect(problem).toMatch(/typo-key\.yaml:3:3/);
    expect(problem).toContain('unknown key "brokerz"; did you mean "brokers"?');
    expect(problem).toContain('Allowed keys in kafka: brokers, clientId, partitions, replicationFactor, compression');
  });

  it('names every bad value with what is allowed', () => {
    const problems = problemsOf(() => loadConfig({ file: testdata('bad-value.yaml'), env: {} }));
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^kafka\.partitions \(.*bad-value\.yaml:4:15\): expected number, got string "many"$/);
    expect(problems[1]).toMatch(/^bus\.kind \(.*bad-value\.yaml:6:9\): expected one of "auto", "memory", "kafka", got string "rabbit"$/);
  });

  it('applies environment overrides with their types, and blames the variable for a bad one', () => {
    const config = loadConfig({
      env: { KAFKA_BROKERS: 'a:1, b:2', MESHSIGHT_KAFKA__PARTITIONS: '24', MESHSIGHT_COLLECTOR__OTLP__GRPC_LISTEN: ':14317' },
    });
    expect(config.kafka.brokers).toEqual(['a:1', 'b:2']);
    expect(config.kafka.partitions).toBe(24);
    expect(config.collector.otlp.grpcListen).toBe(':14317');
    const problems = problemsOf(() => loadConfig({ env: { MESHSIGHT_KAFKA__PARTITIONS: '0' } }));
    expect(problems).toEqual(['kafka.partitions (from environment variable MESHSIGHT_KAFKA__PARTITIONS): must be at least 1, got number 0']);
    const unknown = problemsOf(() => loadConfig({ env: { MESHSIGHT_KAFKA__TOPICZ: 'x' } }));
    expect(unknown[0]).toContain('kafka.topicz (from environment variable MESHSIGHT_KAFKA__TOPICZ): unknown key "topicz"');
  });

  it('refuses a bad listen address and a file that is not a mapping', () => {
    const problems = problemsOf(() => loadConfig({ env: { MESHSIGHT_QUERY__LISTEN: 'localhost' } }));
    expect(problems[0]).toContain('query.listen');
    expect(problems[0]).toContain('expected host:port');
    expect(problemsOf(() => loadConfig({ file: testdata('missing.yaml'), env: {} }))[0]).toContain('cannot read configuration file');
  });
});

describe('configuration reference', () => {
  it('in README.md is the one generated from the schema (run `npm run docs` after changing the schema)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(withConfigReference(readme, configReference())).toBe(readme);
    expect(configReference()).toContain('| `kafka.partitions` | integer 1…10000 | `12` |');
  });
});
