// Words and names for the TensorFlow.js backends, free of TensorFlow.js itself: the engine's
// worker chooses a backend (core/engine/backend/backends.ts); hosts and the app only describe it.
import type { BackendInfo, BackendName } from './types';

/** The order backends are tried in: fastest first. */
export const BACKEND_ORDER: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

/** Forces one backend (or `auto`) for every engine worker of the process. */
export const BACKEND_ENV_VAR = 'GAN_STUDIO_BACKEND';

/** Multi-line text for logs and `--version`-style output. */
export function describeBackend(info: BackendInfo): string {
  const lines = [`backend: ${info.reason}`];
  const facts = Object.entries(info.details).map(([k, v]) => `${k}=${String(v)}`);
  if (facts.length > 0) lines.push(`  ${facts.join(', ')}`);
  for (const s of info.skipped) lines.push(`  skipped ${s.name}: ${s.reason}`);
  return lines.join('\n');
}
