// The package entry (`import { connect } from "osprey"`): the TypeScript client and its errors.

export { connect, parseAddress, OspreyClient } from "./client.ts";
export type { Bytes, ConnectOptions, Entry, ParsedAddress, ReconnectOptions, ScanOptions, ScanPage, SetOptions } from "./client.ts";
export {
  AuthenticationError,
  BadRequestError,
  BusyError,
  OutOfMemoryError,
  ClientClosedError,
  ConnectionError,
  InternalServerError,
  KeyExistsError,
  KeyNotFoundError,
  OspreyError,
  PermissionError,
  ProtocolError,
  ServerError,
  TimeoutError,
  TooLargeError,
  TypeMismatchError,
  VersionMismatchError,
} from "./errors.ts";
