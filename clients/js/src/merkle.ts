/**
 * Keccak-256 and the binary Merkle tree of specs/merkle.md.
 *
 * One tree shape serves tensors (chunks), blocks (record hashes, withdrawal leaves) and
 * batches, so a client that gets this right can check any opening the node serves. The
 * domain bytes (0x00 leaf, 0x01 node) keep leaves and inner nodes apart, and an odd
 * level is completed with EMPTY (32 zero bytes) *at that level*, which is not the same as
 * padding the leaves to a power of two.
 */

import { keccak256 } from "viem";
import { bytesToHex, concatBytes, fixedBytes, type Hex } from "./hex.js";

/** 32 zero bytes: the empty tree's root and the filler of odd levels. */
export const EMPTY: Hex = `0x${"00".repeat(32)}`;

/** Keccak-256 (Ethereum's, Solidity's `keccak256`) of the concatenated parts. */
export function keccak(...parts: Uint8Array[]): Uint8Array {
  return keccak256(concatBytes(...parts), "bytes");
}

/** `keccak(0x00 ‖ leaf)`: the hash of a leaf given as raw bytes. */
export function leafHash(leaf: Uint8Array): Uint8Array {
  return keccak(Uint8Array.of(0x00), leaf);
}

/** `keccak(0x01 ‖ left ‖ right)`. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return keccak(Uint8Array.of(0x01), left, right);
}

/** The levels of the tree over already-hashed leaves, leaf level first, root level last. */
function levels(hashes: Uint8Array[]): Uint8Array[][] {
  const out: Uint8Array[][] = [hashes];
  let level = hashes;
  const empty = new Uint8Array(32);
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) {
      next.push(nodeHash(level[i]!, level[i + 1] ?? empty));
    }
    out.push(next);
    level = next;
  }
  return out;
}

/**
 * The root over leaves that are hashes already (a block's record hashes and withdrawal
 * leaves are leaves "as they are": their own domain byte keeps them apart from nodes).
 * No leaves: EMPTY; one leaf: that leaf.
 */
export function rootOfHashes(hashes: Array<Uint8Array | Hex>): Hex {
  if (hashes.length === 0) return EMPTY;
  const asBytes = hashes.map((h, i) => (typeof h === "string" ? fixedBytes(h, 32, `leaf ${i}`) : h));
  const top = levels(asBytes).at(-1)!;
  return bytesToHex(top[0]!);
}

/** The root over raw leaf bytes: each leaf hashed with {@link leafHash} first. */
export function merkleRoot(leaves: Uint8Array[]): Hex {
  return rootOfHashes(leaves.map(leafHash));
}

/** A Merkle proof as the vectors and the node write it: siblings from the leaf level up. */
export interface MerkleProof {
  index: number;
  siblings: Hex[];
}

/** The proof of leaf `index` among already-hashed leaves. */
export function proofOfHashes(hashes: Uint8Array[], index: number): MerkleProof {
  if (!Number.isInteger(index) || index < 0 || index >= hashes.length) {
    throw new RangeError(`leaf index ${index} is outside 0..${hashes.length - 1}`);
  }
  const empty = new Uint8Array(32);
  const siblings: Hex[] = [];
  const all = levels(hashes);
  let at = index;
  for (const level of all.slice(0, -1)) {
    siblings.push(bytesToHex(level[at ^ 1] ?? empty));
    at >>= 1;
  }
  return { index, siblings };
}

/** The proof of leaf `index` among raw leaves. */
export function merkleProof(leaves: Uint8Array[], index: number): MerkleProof {
  return proofOfHashes(leaves.map(leafHash), index);
}

/** Folds `siblings` up from `leaf` at `index` (no range check; see {@link verifyProof}). */
export function rootFromProof(leaf: Uint8Array | Hex, index: number | bigint, siblings: Array<Uint8Array | Hex>): Hex {
  let running = typeof leaf === "string" ? fixedBytes(leaf, 32, "leaf") : leaf;
  let bits = BigInt(index);
  for (const [k, s] of siblings.entries()) {
    const sibling = typeof s === "string" ? fixedBytes(s, 32, `sibling ${k}`) : s;
    running = (bits & 1n) === 1n ? nodeHash(sibling, running) : nodeHash(running, sibling);
    bits >>= 1n;
  }
  return bytesToHex(running);
}

/**
 * Whether `siblings` prove `leaf` (a hash) at `index` under `root`. The index must have
 * no bits above the proof's depth, so one leaf cannot be claimed at two indices.
 */
export function verifyProof(
  leaf: Uint8Array | Hex,
  index: number | bigint,
  siblings: Array<Uint8Array | Hex>,
  root: Hex,
): boolean {
  const i = BigInt(index);
  if (i < 0n) return false;
  if (siblings.length < 64 && i >> BigInt(siblings.length) !== 0n) return false;
  return rootFromProof(leaf, i, siblings).toLowerCase() === root.toLowerCase();
}
