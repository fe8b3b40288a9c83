import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // e2e: Playwright in Debian's Chromium against the built `gan-studio serve` (npm test builds first).
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
    reporters: ['default', './test/summary-reporter.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
