/**
 * Byte and quantity helpers for the wire formats Verdict shares with Ethereum.
 *
 * Every hash the protocol defines is keccak over a fixed concatenation of big-endian
 * fields (specs/l2.md, specs/state.md), so the encoders only ever need "a big-endian
 * integer of n bytes", "these bytes as given" and concatenation. Quantities on the
 * JSON-RPC wire are `0x` hex without leading zeros (docs/rpc.md, Conventions); they are
 * parsed strictly here so that a malformed answer is caught where it enters, not later as
 * a wrong hash.
 */

import { VerdictError } from "./errors.js";

/** `0x`-prefixed hex text. */
export type Hex = `0x${string}`;

const HEX_BYTES = /^0x([0-9a-fA-F]{2})*$/;
const QUANTITY = /^0x(0|[1-9a-fA-F][0-9a-fA-F]*)$/;

/** Decodes `0x` hex (an even number of digits, any case) into bytes. */
export function hexToBytes(hex: string, what = "hex"): Uint8Array {
  if (!HEX_BYTES.test(hex)) {
    throw new VerdictError(`${what} is not 0x hex bytes: ${JSON.stringify(hex)}`);
  }
  const out = new Uint8Array((hex.length - 2) / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(hex.slice(2 + 2 * i, 4 + 2 * i), 16);
  }
  return out;
}

/** Encodes bytes as lowercase `0x` hex (the form the node answers with). */
export function bytesToHex(bytes: Uint8Array): Hex {
  let out = "0x";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out as Hex;
}

/** Decodes exactly `n` bytes of hex (a hash: 32, an address: 20). */
export function fixedBytes(hex: string, n: number, what: string): Uint8Array {
  const bytes = hexToBytes(hex, what);
  if (bytes.length !== n) {
    throw new VerdictError(`${what} must be ${n} bytes, got ${bytes.length}`);
  }
  return bytes;
}

/** Concatenates byte strings. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * `value` as an unsigned big-endian integer of `size` bytes; refuses values that do not
 * fit, because a silently truncated field would hash to something nobody else computes.
 */
export function uintBytes(value: bigint | number, size: number, what = "value"): Uint8Array {
  let v = BigInt(value);
  if (v < 0n || v >= 1n << BigInt(8 * size)) {
    throw new VerdictError(`${what} ${v} does not fit ${size} unsigned bytes`);
  }
  const out = new Uint8Array(size);
  for (let i = size - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** Parses a JSON-RPC quantity (`0x` hex, no leading zeros) strictly. */
export function fromQuantity(q: string, what = "quantity"): bigint {
  if (typeof q !== "string" || !QUANTITY.test(q)) {
    throw new VerdictError(`${what} is not a hex quantity: ${JSON.stringify(q)}`);
  }
  return BigInt(q);
}

/** Parses a quantity that must fit a JavaScript number exactly (heights, indices). */
export function quantityToNumber(q: string, what = "quantity"): number {
  const v = fromQuantity(q, what);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new VerdictError(`${what} ${v} is above 2^53`);
  }
  return Number(v);
}

/** Formats a non-negative integer as a JSON-RPC quantity. */
export function toQuantity(value: bigint | number): Hex {
  const v = BigInt(value);
  if (v < 0n) throw new VerdictError(`a quantity cannot be negative: ${v}`);
  return `0x${v.toString(16)}`;
}

/** Whether two hex strings name the same bytes (addresses come back lowercase). */
export function sameHex(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
