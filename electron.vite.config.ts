import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import type { Plugin } from 'vite';

// Packages the Node side loads at run time and must never bundle: native addons (tfjs-node,
// better-sqlite3, sharp, gan-studio-native) and the rest of TensorFlow.js (one copy, shared with tfjs-node's kernels).
// electron-vite already externalizes package.json `dependencies`, but not `optionalDependencies`
// (both tfjs-node packages) nor transitive ones the core imports directly (@tensorflow/tfjs-core…).
const nodeExternals = [/^@tensorflow\//, /^better-sqlite3(\/|$)/, /^sharp(\/|$)/, /^gan-studio-native(\/|$)/];

/**
 * `electron-vite dev` only: Vite injects component CSS as <style> elements, which the production
 * CSP in src/renderer/index.html forbids; the build emits a stylesheet and keeps the strict policy.
 */
function devStyleCsp(): Plugin {
  return {
    name: 'gan-studio:dev-style-csp',
    apply: 'serve',
    transformIndexHtml: (html) =>
      html.replace("style-src 'self';", "style-src 'self' 'unsafe-inline';"),
  };
}

// Three bundles: the Node side (Electron entry, CLI entry and the training worker share the core),
// the sandboxed preload (CommonJS, as sandboxed preloads must be) and the Svelte renderer.
export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      rollupOptions: {
        external: nodeExternals,
        input: {
          index: resolve('src/main/hosts/electron/index.ts'),
          cli: resolve('src/main/hosts/cli/index.ts'),
          'training-worker': resolve('src/main/core/engine/worker/training-worker.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      rollupOptions: {
        input: { index: resolve('src/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: 'src/renderer',
    build: {
      outDir: 'out/renderer',
      rollupOptions: { input: { index: resolve('src/renderer/index.html') } },
    },
    plugins: [svelte(), devStyleCsp()],
  },
});
