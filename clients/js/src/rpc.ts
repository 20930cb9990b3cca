/**
 * JSON-RPC 2.0 over HTTP to a Verdict node: one POST per call.
 *
 * Kept separate from the Ethereum client (viem) because the `verdict_*` namespace has its
 * own error codes, and a caller needs them exactly: an error answer becomes a
 * {@link VerdictRpcError} with the node's code, message and data; anything that is not a
 * JSON-RPC answer (a refused connection, HTTP 429 in plain text, a body that is not
 * JSON) becomes a {@link VerdictTransportError} with the HTTP status when there was one.
 */

import { VerdictRpcError, VerdictTransportError } from "./errors.js";
import type { Method } from "./types.js";

/** How to reach a node. */
export interface RpcOptions {
  /** The node's HTTP URL, e.g. `http://127.0.0.1:8645`. */
  url: string;
  /** Per-call time limit in milliseconds (default 30 000). */
  timeoutMs?: number;
  /** Extra HTTP headers. */
  headers?: Record<string, string>;
  /** A `fetch` to use instead of the global one. */
  fetch?: typeof fetch;
}

/** Calls methods on one node. */
export class RpcClient {
  readonly url: string;
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;
  private readonly fetchImpl: typeof fetch;
  private nextId = 1;

  constructor(options: RpcOptions | string) {
    const o = typeof options === "string" ? { url: options } : options;
    if (!/^https?:\/\//.test(o.url)) {
      throw new VerdictTransportError("connect", `the node URL must be http:// or https://, got ${JSON.stringify(o.url)}`);
    }
    this.url = o.url;
    this.timeoutMs = o.timeoutMs ?? 30_000;
    this.headers = { "content-type": "application/json", ...o.headers };
    this.fetchImpl = o.fetch ?? globalThis.fetch;
  }

  /** Calls `method` with positional `params` and returns the result (`null` included). */
  async call<T>(method: Method, params: unknown[] = []): Promise<T> {
    const id = this.nextId++;
    const body = JSON.stringify({ jsonrpc: "2.0", id, method, params });
    let response: Response;
    try {
      response = await this.fetchImpl(this.url, {
        method: "POST",
        headers: this.headers,
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      const why = (e as Error).name === "TimeoutError" ? `no answer within ${this.timeoutMs} ms` : `cannot reach ${this.url}: ${describe(e)}`;
      throw new VerdictTransportError(method, why, undefined, e);
    }
    const text = await response.text().catch((e: unknown) => {
      throw new VerdictTransportError(method, `reading the answer: ${describe(e)}`, response.status, e);
    });
    let answer: unknown;
    try {
      answer = JSON.parse(text);
    } catch {
      throw new VerdictTransportError(method, `HTTP ${response.status}: ${text.slice(0, 200).trim() || "(empty body)"}`, response.status);
    }
    if (answer === null || typeof answer !== "object" || Array.isArray(answer)) {
      throw new VerdictTransportError(method, `HTTP ${response.status}: not a JSON-RPC answer`, response.status);
    }
    const a = answer as { error?: { code?: unknown; message?: unknown; data?: unknown }; result?: unknown };
    if (a.error !== undefined && a.error !== null) {
      const code = typeof a.error.code === "number" ? a.error.code : Number.NaN;
      const message = typeof a.error.message === "string" ? a.error.message : JSON.stringify(a.error);
      throw new VerdictRpcError(method, code, message, a.error.data);
    }
    if (!("result" in a)) {
      throw new VerdictTransportError(method, `HTTP ${response.status}: a JSON-RPC answer without result or error`, response.status);
    }
    return a.result as T;
  }
}

function describe(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as { cause?: unknown }).cause;
    return cause instanceof Error ? `${e.message} (${cause.message})` : e.message;
  }
  return String(e);
}
