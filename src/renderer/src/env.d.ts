// Ambient types for the renderer. Kept a script (no top-level import/export) so that these are
// global declarations rather than module augmentations.

/// <reference types="svelte" />

interface Window {
  /** The contract's API: the Electron preload exposes it; the browser host's client builds it. */
  api: import('../../shared/contract').Api;
}

declare module '*.svelte' {
  const component: import('svelte').Component;
  export default component;
}
