/**
 * The errors this library throws, as classes a caller can tell apart with `instanceof`.
 *
 * The node's error codes are stable and grouped by what to do (docs/rpc.md, Errors):
 * 1xxx never succeeds as sent, 2xxx may succeed later, 3xxx is the node's fault. A
 * caller decides retries from the code, so {@link VerdictRpcError} keeps the node's code,
 * message and data exactly as answered, and says which group it is in.
 */

/** Base class of every error this library throws. */
export class VerdictError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Verdict's own error codes (docs/rpc.md, "Verdict's codes"). */
export const ErrorCode = {
  BadRequest: 1000,
  InvalidSignature: 1001,
  NonceTooLow: 1002,
  NonceTooHigh: 1003,
  UnknownModel: 1004,
  InputShape: 1005,
  InputRange: 1006,
  FeeTooLow: 1007,
  ModelFileRejected: 1008,
  InsufficientBalance: 2001,
  Unavailable: 2002,
  Internal: 3000,
  /** JSON-RPC: wrong parameter count, names or types. */
  InvalidParams: -32602,
  /** JSON-RPC: no such method. */
  MethodNotFound: -32601,
} as const;

/** The node answered a call with a JSON-RPC error object. */
export class VerdictRpcError extends VerdictError {
  /** The node's stable error code. */
  readonly code: number;
  /** The node's machine-readable details, when it sent any. */
  readonly data: unknown;
  /** The method that was called. */
  readonly method: string;
  /** The message exactly as the node wrote it (for people; it may change). */
  readonly nodeMessage: string;

  constructor(method: string, code: number, message: string, data?: unknown) {
    super(`${method} refused (code ${code}): ${message}`);
    this.method = method;
    this.code = code;
    this.nodeMessage = message;
    this.data = data;
  }

  /** 1xxx: the request can never succeed as sent; fix it, do not retry. */
  get isPermanent(): boolean {
    return this.code >= 1000 && this.code < 2000;
  }

  /** 2xxx and 3xxx: it may succeed later (after a deposit, elsewhere, or once the node recovers). */
  get isRetryable(): boolean {
    return this.code >= 2000 && this.code < 4000;
  }
}

/**
 * The node could not be reached, or answered with something that is not a JSON-RPC
 * answer (HTTP 429, 413, 415 and 405 come as plain text: docs/rpc.md).
 */
export class VerdictTransportError extends VerdictError {
  /** The HTTP status, when there was an HTTP answer. */
  readonly status: number | undefined;
  /** The method that was called. */
  readonly method: string;

  constructor(method: string, message: string, status?: number, cause?: unknown) {
    super(`${method}: ${message}`, { cause });
    this.method = method;
    this.status = status;
  }
}

/**
 * The node answered, but what it said does not hold: a receipt that does not match the
 * request sent, typed data that is not the request, a malformed object. Nothing the L2
 * endpoint says is believed without a check, and this is what a failed check throws.
 */
export class VerdictResponseError extends VerdictError {}

/** Float features could not be turned into the model's input tensor. */
export class QuantizeError extends VerdictError {
  /** What went wrong: the feature count, a non-finite feature, or the model's description. */
  readonly kind: "count" | "not_finite" | "model";
  constructor(kind: "count" | "not_finite" | "model", message: string) {
    super(message);
    this.kind = kind;
  }
}

/** A tensor breaks the rules of specs/tensor.md (shape, dtype, element range). */
export class TensorError extends VerdictError {}

/** An inclusion proof does not hold (specs/l2.md): the record is not where the endpoint says. */
export class ProofError extends VerdictError {}

/** Waiting for a record or balance ran out of time, or the record's batch was reverted. */
export class WaitError extends VerdictError {
  /** The last status seen, if any. */
  readonly lastStatus: string | undefined;
  constructor(message: string, lastStatus?: string) {
    super(message);
    this.lastStatus = lastStatus;
  }
}

/** Something needs an L1 endpoint or a signing account that the client was not given. */
export class ConfigError extends VerdictError {}

/** The node serves no such model (or knows no such record or withdrawal). */
export class NotFoundError extends VerdictError {}
