/**
 * The hashes a block and a batch commit to: records, withdrawal leaves, L2 block headers
 * and L1 batch headers (specs/l2.md, specs/state.md, specs/batch.md).
 *
 * These are what make an answer checkable without trusting the endpoint that served it:
 * the record hash binds the request digest and the output commitment; the header hash
 * chains a block to the batch's output root; the batch header hash is the one word the
 * Rollup stores per batch. Each is a fixed concatenation of big-endian fields.
 */

import { bytesToHex, concatBytes, fixedBytes, fromQuantity, uintBytes, type Hex } from "./hex.js";
import { keccak } from "./merkle.js";
import type { WithdrawalFields } from "./signing.js";
import type { Address, BlockHeader, Hash } from "./types.js";

/** Domain bytes (specs/l2.md, specs/state.md, specs/batch.md). */
export const DOMAIN = { batchHeader: 0x05, record: 0x06, block: 0x07, withdrawal: 0x09 } as const;

/** What a record commits to. */
export interface RecordFields {
  requestHash: Hash;
  sender: Address;
  modelId: Hash;
  /** The input tensor's commitment. */
  inputRoot: Hash;
  /** The output tensor's commitment. */
  outputRoot: Hash;
  /** Wei, at most 2^128 − 1. */
  fee: bigint | number;
}

/** `keccak(0x06 ‖ request_hash ‖ sender ‖ model_id ‖ input_root ‖ output_root ‖ fee(16))` (165 bytes in). */
export function recordHash(r: RecordFields): Hash {
  return bytesToHex(
    keccak(
      Uint8Array.of(DOMAIN.record),
      fixedBytes(r.requestHash, 32, "requestHash"),
      fixedBytes(r.sender, 20, "sender"),
      fixedBytes(r.modelId, 32, "modelId"),
      fixedBytes(r.inputRoot, 32, "inputRoot"),
      fixedBytes(r.outputRoot, 32, "outputRoot"),
      uintBytes(r.fee, 16, "fee"),
    ),
  );
}

/** `keccak(0x09 ‖ sender ‖ nonce(8) ‖ recipient ‖ amount(16))`: the withdrawal's id everywhere. */
export function withdrawalLeaf(w: WithdrawalFields): Hash {
  return bytesToHex(
    keccak(
      Uint8Array.of(DOMAIN.withdrawal),
      fixedBytes(w.sender, 20, "sender"),
      uintBytes(w.nonce, 8, "nonce"),
      fixedBytes(w.recipient, 20, "recipient"),
      uintBytes(w.amount, 16, "amount"),
    ),
  );
}

/** The 169-byte canonical encoding of an L2 block header (what L1 contracts take). */
export function blockHeaderBytes(h: Omit<BlockHeader, "hash">): Uint8Array {
  const q = (v: string, what: string) => fromQuantity(v, what);
  return concatBytes(
    Uint8Array.of(DOMAIN.block),
    uintBytes(q(h.number, "number"), 8, "number"),
    fixedBytes(h.parentHash, 32, "parentHash"),
    uintBytes(q(h.timestamp, "timestamp"), 8, "timestamp"),
    fixedBytes(h.recordsRoot, 32, "recordsRoot"),
    fixedBytes(h.stateRoot, 32, "stateRoot"),
    uintBytes(q(h.depositsConsumed, "depositsConsumed"), 8, "depositsConsumed"),
    fixedBytes(h.withdrawalsRoot, 32, "withdrawalsRoot"),
    uintBytes(q(h.recordCount, "recordCount"), 4, "recordCount"),
    uintBytes(q(h.withdrawalCount, "withdrawalCount"), 4, "withdrawalCount"),
    uintBytes(q(h.l1Origin, "l1Origin"), 8, "l1Origin"),
  );
}

/**
 * The block's hash recomputed from its fields. The `hash` field the node sends is never
 * used: a proof is checked against hashes the client computed.
 */
export function blockHash(h: Omit<BlockHeader, "hash">): Hash {
  return bytesToHex(keccak(blockHeaderBytes(h)));
}

/** The L2 genesis hash: keccak of the all-zero header after its domain byte. */
export function genesisHash(): Hash {
  return bytesToHex(keccak(Uint8Array.of(DOMAIN.block), new Uint8Array(168)));
}

/** A batch as the Rollup records it (`BatchData.Header`, the `BatchPosted` event). */
export interface BatchHeader {
  index: bigint;
  firstBlock: bigint;
  lastBlock: bigint;
  parentRoot: Hash;
  outputRoot: Hash;
  dataHash: Hash;
  depositsStart: bigint;
  depositsEnd: bigint;
  depositAccumulator: Hash;
  l1Block: bigint;
}

/** `abi.encodePacked(bytes1(0x05), index, firstBlock, lastBlock, parentRoot, outputRoot, dataHash, depositsStart, depositsEnd, depositAccumulator, l1Block)` (177 bytes). */
export function batchHeaderBytes(b: BatchHeader): Uint8Array {
  return concatBytes(
    Uint8Array.of(DOMAIN.batchHeader),
    uintBytes(b.index, 8, "index"),
    uintBytes(b.firstBlock, 8, "firstBlock"),
    uintBytes(b.lastBlock, 8, "lastBlock"),
    fixedBytes(b.parentRoot, 32, "parentRoot"),
    fixedBytes(b.outputRoot, 32, "outputRoot"),
    fixedBytes(b.dataHash, 32, "dataHash"),
    uintBytes(b.depositsStart, 8, "depositsStart"),
    uintBytes(b.depositsEnd, 8, "depositsEnd"),
    fixedBytes(b.depositAccumulator, 32, "depositAccumulator"),
    uintBytes(b.l1Block, 8, "l1Block"),
  );
}

/** The one word the Rollup stores per batch (`batchHashes(index)`). */
export function batchHeaderHash(b: BatchHeader): Hash {
  return bytesToHex(keccak(batchHeaderBytes(b)));
}

/** Hex of bytes, for contract calls that take a header's encoding. */
export function headerHex(h: Omit<BlockHeader, "hash">): Hex {
  return bytesToHex(blockHeaderBytes(h));
}
