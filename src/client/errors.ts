// Every error the client raises, in one place: one class per server ERR code, plus the client's
// own failures (cannot connect, connection lost, timeout, a reply it cannot read).

/** The base of every error this client raises. */
export class OspreyError extends Error {
  override name = "OspreyError";
}

/** The server answered `ERR <code> <message>`. Subclasses name each known code. */
export class ServerError extends OspreyError {
  override name = "ServerError";
  /** The wire code, e.g. "VER". */
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** `ERR BADREQ`: a malformed request (also raised locally for a key the protocol cannot carry). */
export class BadRequestError extends ServerError {
  override name = "BadRequestError";
}
/** `ERR TOOLARGE`: a key longer than max_key_bytes, or a value (or MSET total) over the limit. */
export class TooLargeError extends ServerError {
  override name = "TooLargeError";
}
/** `ERR EXISTS`: SET with `nx` on a live key. */
export class KeyExistsError extends ServerError {
  override name = "KeyExistsError";
}
/** `ERR NEXISTS`: SET with `xx` on a key that is not live. */
export class KeyNotFoundError extends ServerError {
  override name = "KeyNotFoundError";
}
/** `ERR VER`: SET with `ver` and the key's current version differs. */
export class VersionMismatchError extends ServerError {
  override name = "VersionMismatchError";
}
/** `ERR TYPE`: INCR/DECR on a value that is not a 64-bit integer, or a result that would overflow. */
export class TypeMismatchError extends ServerError {
  override name = "TypeMismatchError";
}
/** `ERR BUSY`: the server is at max_clients; it closes the connection after this reply. */
export class BusyError extends ServerError {
  override name = "BusyError";
}
/** `ERR OOM`: a write that needs memory while the server is at max_memory_bytes and cannot evict; nothing was applied. */
export class OutOfMemoryError extends ServerError {
  override name = "OutOfMemoryError";
}
/** `ERR INTERNAL`: a failure inside the server, not caused by the request. */
export class InternalServerError extends ServerError {
  override name = "InternalServerError";
}

/** `ERR NOAUTH`: the server needs AUTH first (set `password`, and `user`), or the password was wrong. */
export class AuthenticationError extends ServerError {
  override name = "AuthenticationError";
}
/** `ERR NOPERM`: the user may not run this command or reach this key. */
export class PermissionError extends ServerError {
  override name = "PermissionError";
}

/** Cannot connect, or the connection was lost before the reply came (the request may or may not have run). */
export class ConnectionError extends OspreyError {
  override name = "ConnectionError";
}
/** The client was closed: no more requests can be sent on it. */
export class ClientClosedError extends ConnectionError {
  override name = "ClientClosedError";
}
/** No reply within the request timeout. The connection is then closed; the next call reconnects. */
export class TimeoutError extends OspreyError {
  override name = "TimeoutError";
}
/** The server sent something this client cannot read as the reply it expected. */
export class ProtocolError extends OspreyError {
  override name = "ProtocolError";
}

const byCode: Record<string, new (code: string, message: string) => ServerError> = {
  BADREQ: BadRequestError,
  TOOLARGE: TooLargeError,
  EXISTS: KeyExistsError,
  NEXISTS: KeyNotFoundError,
  VER: VersionMismatchError,
  TYPE: TypeMismatchError,
  BUSY: BusyError,
  OOM: OutOfMemoryError,
  INTERNAL: InternalServerError,
  NOAUTH: AuthenticationError,
  NOPERM: PermissionError,
};

/** The error for one `ERR <code> <message>` line (its text after "ERR "); unknown codes give a plain ServerError. */
export function serverError(rest: string): ServerError {
  const space = rest.indexOf(" ");
  const code = space < 0 ? rest : rest.slice(0, space);
  const message = space < 0 ? "" : rest.slice(space + 1);
  const Class = byCode[code] ?? ServerError;
  return new Class(code, message);
}
