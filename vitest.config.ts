import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Compiles the renderer's rune modules (*.svelte.ts) for the store unit tests; plain .ts files
  // are untouched, and every test still runs in the 'node' environment (no component is mounted).
  plugins: [svelte()],
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
