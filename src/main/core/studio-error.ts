// The core's user-facing error, in a module of its own so that every service can throw it without
// importing the Studio facade (which imports the services).

/** A user-facing error: bad input or a request that cannot be met. Hosts print its message. */
export class StudioError extends Error {
  override name = 'StudioError';
  constructor(
    message: string,
    readonly code: 'not-found' | 'invalid' | 'data' | 'conflict' | 'unsupported' | 'internal' = 'invalid',
  ) {
    super(message);
  }
}
