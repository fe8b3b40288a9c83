// Turning whatever a failed call rejected with into one line a user can read: the api's own message,
// never a stack trace or an "Error invoking remote method" prefix.

const IPC_PREFIX = /^Error invoking remote method '[^']*':\s*(?:Error:\s*)?/;

/** The user-facing message of a rejection. */
export function errorMessage(err: unknown, fallback = 'Something went wrong.'): string {
  let text: string;
  if (err instanceof Error) text = err.message;
  else if (typeof err === 'string') text = err;
  else if (typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string') {
    text = (err as { message: string }).message;
  } else text = '';
  text = text.replace(IPC_PREFIX, '');
  // Keep the first line only: anything after it is a stack or a dump.
  const firstLine = text.split('\n').find((line) => line.trim().length > 0)?.trim() ?? '';
  if (!firstLine || /^\s*at\s/.test(firstLine)) return fallback;
  const line = firstLine.charAt(0).toUpperCase() + firstLine.slice(1);
  return line.length > 400 ? `${line.slice(0, 400)}…` : line;
}
