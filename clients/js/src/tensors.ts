/**
 * Tensors and their commitments (specs/tensor.md).
 *
 * A request signs the input's *commitment*, not the tensor, and a record binds the
 * output by its commitment; so recomputing commitments locally is what lets a client
 * sign without trusting the node's arithmetic and check that an answer's output is the
 * one the record (and L1) commits to.
 */

import { TensorError } from "./errors.js";
import { bytesToHex, concatBytes, fixedBytes, uintBytes, type Hex } from "./hex.js";
import { keccak, merkleRoot } from "./merkle.js";

/** Element types: `i8` (code 0) and `i32` (code 1). */
export type DType = "i8" | "i32";

/** A tensor as the JSON-RPC API writes it: row-major elements as integers. */
export interface Tensor {
  dtype: DType;
  shape: number[];
  data: number[];
}

/** Most dimensions a tensor has. */
export const MAX_RANK = 6;
/** Most elements a tensor holds (2^26). */
export const MAX_ELEMENTS = 1 << 26;
/** Domain byte of a tensor commitment. */
const COMMITMENT_DOMAIN = 0x02;

const DTYPES: Record<DType, { code: number; size: number; min: number; max: number }> = {
  i8: { code: 0, size: 1, min: -128, max: 127 },
  i32: { code: 1, size: 4, min: -2147483648, max: 2147483647 },
};

/** The canonical code and element size of a dtype. */
export function dtypeInfo(dtype: DType): { code: number; size: number } {
  const info = DTYPES[dtype];
  if (info === undefined) throw new TensorError(`unknown dtype ${JSON.stringify(dtype)} (i8 or i32)`);
  return info;
}

/** The number of elements of `shape`, checking the shape rules (1 to 6 dims, each ≥ 1). */
export function elementCount(shape: readonly number[]): number {
  if (!Array.isArray(shape) || shape.length < 1 || shape.length > MAX_RANK) {
    throw new TensorError(`a shape has 1 to ${MAX_RANK} dimensions, got ${JSON.stringify(shape)}`);
  }
  let count = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 1 || d > 0xffffffff) {
      throw new TensorError(`every dimension is an integer of at least 1, got ${JSON.stringify(shape)}`);
    }
    count *= d;
    if (count > MAX_ELEMENTS) throw new TensorError(`shape ${JSON.stringify(shape)} holds more than 2^26 elements`);
  }
  return count;
}

/** Checks `t` against the tensor rules; returns it for chaining. */
export function checkTensor(t: Tensor): Tensor {
  if (t === null || typeof t !== "object") throw new TensorError("a tensor is an object {dtype, shape, data}");
  const info = DTYPES[t.dtype];
  if (info === undefined) throw new TensorError(`unknown dtype ${JSON.stringify(t.dtype)} (i8 or i32)`);
  const count = elementCount(t.shape);
  if (!Array.isArray(t.data) || t.data.length !== count) {
    throw new TensorError(`shape ${JSON.stringify(t.shape)} holds ${count} elements, data has ${Array.isArray(t.data) ? t.data.length : "none"}`);
  }
  for (const [i, v] of t.data.entries()) {
    if (!Number.isInteger(v) || v < info.min || v > info.max) {
      throw new TensorError(`element ${i} (${v}) is not an ${t.dtype} value`);
    }
  }
  return t;
}

/** The elements' canonical bytes: i8 as one byte, i32 as 4 bytes big-endian, two's complement. */
export function elementBytes(t: Tensor): Uint8Array {
  checkTensor(t);
  if (t.dtype === "i8") {
    return Uint8Array.from(t.data, (v) => v & 0xff);
  }
  const out = new Uint8Array(t.data.length * 4);
  const view = new DataView(out.buffer);
  t.data.forEach((v, i) => view.setInt32(4 * i, v, false));
  return out;
}

/** The element bytes cut into 32-byte chunks, the last padded with zeros: the Merkle leaves. */
export function chunks(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += 32) {
    const chunk = new Uint8Array(32);
    chunk.set(bytes.subarray(at, at + 32));
    out.push(chunk);
  }
  return out;
}

/** The Merkle root over the tensor's chunks. */
export function dataRoot(t: Tensor): Hex {
  return merkleRoot(chunks(elementBytes(t)));
}

/** `dtype(1) ‖ rank(1) ‖ dims (u32 BE each)`: the header both the commitment and the encoding start with. */
function header(t: Tensor): Uint8Array {
  const { code } = dtypeInfo(t.dtype);
  return concatBytes(Uint8Array.of(code, t.shape.length), ...t.shape.map((d) => uintBytes(d, 4, "dimension")));
}

/**
 * `keccak(0x02 ‖ dtype ‖ rank ‖ dims ‖ data_root)`: binds type and shape to the data, so
 * `[2,3]` and `[3,2]` with the same elements differ, and the zero padding of the last
 * chunk cannot be mistaken for elements.
 */
export function commitment(t: Tensor): Hex {
  const root = dataRoot(t);
  return bytesToHex(keccak(Uint8Array.of(COMMITMENT_DOMAIN), header(t), fixedBytes(root, 32, "data root")));
}

/** The canonical encoding inside model files and batch data: header then element bytes. */
export function encodeTensor(t: Tensor): Uint8Array {
  return concatBytes(header(checkTensor(t)), elementBytes(t));
}

/** Whether two tensors are the same dtype, shape and elements. */
export function sameTensor(a: Tensor, b: Tensor): boolean {
  return (
    a.dtype === b.dtype &&
    a.shape.length === b.shape.length &&
    a.shape.every((d, i) => d === b.shape[i]) &&
    a.data.length === b.data.length &&
    a.data.every((v, i) => v === b.data[i])
  );
}
