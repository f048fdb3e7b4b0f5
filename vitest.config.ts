import { defineConfig } from 'vitest/config';

// Layers as projects: unit tests are pure and fast; integration tests use real Kafka, chDB and
// loopback servers; e2e drives the whole product (and Chromium once the UI exists).
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          globalSetup: ['test/helpers/kafka-global-setup.ts'],
        },
      },
      { test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], testTimeout: 180_000, hookTimeout: 120_000 } },
    ],
  },
});
