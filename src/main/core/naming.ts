// Small rules the services share about names: output files that never replace one, and the class
// a user names for a conditional model.
import type { ModelConfig } from '../../shared/types';
import { isConditional } from '../../shared/models';
import { StudioError } from './studio-error';

/** A file name not yet in `taken`: `stem.ext`, else `stem-1.ext`, `stem-2.ext`, … (never overwrite). */
export function freeName(taken: Set<string>, stem: string, ext: string): string {
  if (!taken.has(stem + ext)) return stem + ext;
  for (let i = 1; ; i++) if (!taken.has(`${stem}-${i}${ext}`)) return `${stem}-${i}${ext}`;
}

/**
 * The class index a user means, from an index or a class name (case-insensitive), checked against
 * a conditional model's classes. `what` names the model ("run 3", a gallery's source); `role`, when
 * given, what the class is for ("the result"), in the error.
 */
export function classIndex(config: ModelConfig, label: number | string, what: string, role?: string): number {
  if (!isConditional(config.kind)) {
    throw new StudioError(`${what} is not a conditional model: ${role ? `${role} cannot be given a class` : 'a class needs a cgan or cdcgan generator'}`);
  }
  const names = config.classNames ?? [];
  const text = String(label).trim();
  const index = /^\d+$/.test(text) ? Number(text) : names.findIndex((n) => n.toLowerCase() === text.toLowerCase());
  if (index < 0 || index >= config.numClasses) {
    const known = names.length ? names.map((n, i) => `${i} ${n}`).join(', ') : `0 to ${config.numClasses - 1}`;
    throw new StudioError(`unknown class "${text}"${role ? ` for ${role}` : ''}; classes: ${known}`);
  }
  return index;
}
