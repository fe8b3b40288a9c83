// The one error type the dataset importers throw for bad input (a missing path, a corrupt IDX
// file, a folder with no usable image). Its message is a single line meant for the user as is:
// hosts show it without a stack trace (CLI: "error: <message>", UI: a toast).

export class DataError extends Error {
  override readonly name = 'DataError';

  constructor(message: string, options?: { cause?: unknown }) {
    // Keep it to one line whatever the cause said.
    super(message.replace(/\s*\n\s*/g, ' ').trim(), options);
  }
}

/** True for a DataError, also across module copies (checks the name, not the prototype). */
export function isDataError(err: unknown): err is DataError {
  return err instanceof DataError || (err instanceof Error && err.name === 'DataError');
}
