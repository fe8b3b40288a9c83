// Numbers and durations in words, for every host and the renderer: plain functions, no node:.

/** Thousands separators, rounded to a whole number: "4,000". */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** A friendly, coarse duration: "45 s", "3 min", "1 h 20 min"; "—" for a value that is not a finite, non-negative number. */
export function formatDurationWords(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '—';
  if (seconds < 60) return `${Math.max(0, Math.round(seconds))} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}
