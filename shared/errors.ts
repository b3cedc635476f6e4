/**
 * Typed errors: one class per condition, each with a stable `code`. The CLI
 * prints `error: <message>` for these; any other error is a bug and says so.
 */
export abstract class TsswarmError extends Error {
  abstract readonly code: string;
  /** HTTP status the API answers with. */
  readonly status: number = 400;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class InvalidArgumentError extends TsswarmError {
  readonly code = 'INVALID_ARGUMENT';
}

export class ComposeError extends TsswarmError {
  readonly code = 'COMPOSE_INVALID';
  constructor(
    message: string,
    readonly file: string | null = null,
    readonly line: number | null = null,
  ) {
    super(message);
  }
}

export class NotFoundError extends TsswarmError {
  readonly code: string = 'NOT_FOUND';
  override readonly status = 404;
}

export class ServiceNotFoundError extends NotFoundError {
  override readonly code = 'SERVICE_NOT_FOUND';
}

export class StackNotFoundError extends NotFoundError {
  override readonly code = 'STACK_NOT_FOUND';
}

export class NodeNotFoundError extends NotFoundError {
  override readonly code = 'NODE_NOT_FOUND';
}

export class ImageNotFoundError extends NotFoundError {
  override readonly code = 'IMAGE_NOT_FOUND';
}

export class ConflictError extends TsswarmError {
  readonly code = 'CONFLICT';
  override readonly status = 409;
}

export class StoreUnavailableError extends TsswarmError {
  readonly code = 'STORE_UNAVAILABLE';
  override readonly status = 503;
}

/** A node (its agent, or the manager holding its session) cannot be reached for what was asked of it. */
export class UnavailableError extends TsswarmError {
  readonly code = 'UNAVAILABLE';
  override readonly status = 503;
}

/**
 * A leader's write refused because its election key is gone (its lease expired while it was paused
 * or cut off, or it resigned): another manager may lead now. Not a conflict to retry: the writer
 * stops, and its manager campaigns again.
 */
export class NotLeaderError extends TsswarmError {
  readonly code = 'NOT_LEADER';
  override readonly status = 503;
  constructor(
    message: string,
    readonly electionKey: string,
  ) {
    super(message);
  }
}

export class NativeError extends TsswarmError {
  readonly code = 'NATIVE';
  override readonly status = 500;
  constructor(
    readonly errno: number,
    readonly syscall: string,
    message: string,
  ) {
    super(message);
  }
}

/** Serialised form sent over the API. */
export interface ErrorBody {
  error: { code: string; message: string };
}

export function isTsswarmError(e: unknown): e is TsswarmError {
  return e instanceof TsswarmError;
}
