// Formatting helpers for the renderer: durations, rates, counts, timestamps. Pure functions.

/** "1:05:09", "4:07", "0:09"; "—" for a value that is not a finite, non-negative number. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '—';
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** A friendly, coarse duration: "45 s", "3 min", "1 h 20 min" (shared with the hosts). */
export { formatDurationWords } from '../../../shared/format';

/** Thousands separators, a fixed number of decimals at most (trailing zeros trimmed). */
export function formatNumber(value: number | null | undefined, maxDecimals = 0): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return value.toLocaleString('en-US', { maximumFractionDigits: maxDecimals, minimumFractionDigits: 0 });
}

/** "1,234 images/s", one decimal under 100. */
export function formatRate(perSecond: number | null | undefined, unit = 'images/s'): string {
  if (perSecond === null || perSecond === undefined || !Number.isFinite(perSecond) || perSecond < 0) return '—';
  return `${formatNumber(perSecond, perSecond < 100 ? 1 : 0)} ${unit}`;
}

/** A metric value for tables and tooltips: 4 significant digits. */
export function formatMetric(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return Number(value.toPrecision(4)).toString();
}

/** "0 %" … "100 %" of done / total (clamped); "—" without a total. */
export function formatPercent(done: number, total: number): string {
  if (!Number.isFinite(done) || !Number.isFinite(total) || total <= 0) return '—';
  return `${Math.round(Math.min(1, Math.max(0, done / total)) * 100)} %`;
}

/** Seconds between two ISO timestamps (the end defaults to `now`); null when either is unreadable. */
export function secondsBetween(startIso: string, endIso: string | null, now: number = Date.now()): number | null {
  const start = Date.parse(startIso);
  const end = endIso === null ? now : Date.parse(endIso);
  if (!Number.isFinite(start) || !Number.isFinite(end)) return null;
  return Math.max(0, (end - start) / 1000);
}

/** A local date and time, short: "2024-05-01 14:03". */
export function formatTimestamp(iso: string | null | undefined): string {
  if (!iso) return '—';
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return '—';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${t.getFullYear()}-${p(t.getMonth() + 1)}-${p(t.getDate())} ${p(t.getHours())}:${p(t.getMinutes())}`;
}

/** "1 image", "3 images". */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${formatNumber(count)} ${count === 1 ? one : many}`;
}

const MODEL_LABELS: Record<string, string> = {
  dcgan: 'DCGAN',
  gan: 'GAN (MLP)',
  cgan: 'Conditional GAN',
  cdcgan: 'Conditional DCGAN',
};

/** The display name of a model kind. */
export function modelLabel(kind: string): string {
  return MODEL_LABELS[kind] ?? kind;
}

const BACKEND_LABELS: Record<string, string> = {
  'tensorflow-gpu': 'GPU (CUDA)',
  tensorflow: 'CPU (native)',
  wasm: 'WebAssembly',
  cpu: 'CPU (JavaScript)',
};

/** The display name of a backend. */
export function backendLabel(name: string | null | undefined): string {
  if (!name) return '—';
  return BACKEND_LABELS[name] ?? name;
}
