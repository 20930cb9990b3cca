/**
 * Checking an answer against L1, trusting only L1 (as `verdict verify` does).
 *
 * The L2 endpoint serves a record and its inclusion proof; none of it is believed. The
 * record hash is recomputed from the record's fields, the output's commitment from the
 * output, the block hash from the header's fields, and the proof is folded up to the
 * batch's output root. That root is then looked up in the Rollup's own `BatchPosted`
 * events and compared with the word the Rollup stores for the batch (`batchHashes`), and
 * the batch's standing (final, pending, reverted) is read from the Rollup. An endpoint
 * that lies makes the answer "not verified" with a reason, never "verified".
 *
 * Withdrawals are checked the same way, over the block's withdrawals root, and the check
 * yields what `Bridge.finalizeWithdrawal` needs.
 */

import { ProofError } from "./errors.js";
import { fromQuantity, quantityToNumber, sameHex, type Hex } from "./hex.js";
import { batchesPostedAt, rollupHead, ROLLUP_ABI, BRIDGE_ABI, type L1Reader } from "./l1.js";
import { verifyProof } from "./merkle.js";
import { batchHeaderHash, blockHash, recordHash as hashRecord, withdrawalLeaf, type BatchHeader } from "./records.js";
import { checkTensor, commitment } from "./tensors.js";
import type { BlockHeader, Hash, Inference, InclusionProof, Withdrawal, WithdrawalInclusion } from "./types.js";

/** Where a verified answer stands on L1, or why it is not verified. */
export type Verdict =
  /** In a batch L1 finalized: the answer is final. */
  | { status: "final"; batchIndex: number }
  /** In a batch L1 holds, inside its dispute window: it may still be disputed. */
  | { status: "pending"; batchIndex: number; windowEnd: number; l1Block: number; openDisputes: number }
  /** The batch that held it was reverted on L1 (a lost dispute). */
  | { status: "reverted"; batchIndex: number }
  /** On L2, in no batch on L1 yet: nothing to verify against. */
  | { status: "not_posted"; block: number }
  /** What the L2 endpoint said does not hold. */
  | { status: "not_verified"; reason: string };

/** Whether a verdict backs the answer with L1 (final, or pending in a current batch). */
export function isVerified(v: Verdict): boolean {
  return v.status === "final" || v.status === "pending";
}

/** The header chain of a proof: block, then later headers; returns the last hash (the output root). */
function chainToOutputRoot(block: BlockHeader, later: BlockHeader[], outputRoot: Hash): Hash {
  let hash = blockHash(block);
  let number = fromQuantity(block.number, "block.number");
  for (const h of later) {
    const n = fromQuantity(h.number, "header number");
    if (!sameHex(h.parentHash, hash) || n !== number + 1n) {
      throw new ProofError(`header ${n} does not follow the previous header`);
    }
    hash = blockHash(h);
    number = n;
  }
  if (!sameHex(hash, outputRoot)) {
    throw new ProofError(`the headers end at hash ${hash}, not the output root ${outputRoot}`);
  }
  return hash;
}

/**
 * Checks a record's inclusion proof: the record hash under `block.recordsRoot` at
 * `index` (below the block's record count), and the headers chaining to `outputRoot`.
 * Returns the output root, which the caller compares with L1's; throws {@link ProofError}.
 */
export function verifyInclusion(record: Hash, proof: InclusionProof): Hash {
  const index = fromQuantity(proof.index, "proof.index");
  if (index >= fromQuantity(proof.block.recordCount, "recordCount") || !verifyProof(record, index, proof.recordProof, proof.block.recordsRoot)) {
    throw new ProofError(`the record is not in block ${fromQuantity(proof.block.number, "number")} at index ${index}`);
  }
  return chainToOutputRoot(proof.block, proof.laterHeaders, proof.outputRoot);
}

/** {@link verifyInclusion} for a withdrawal leaf under the block's withdrawals root. */
export function verifyWithdrawalInclusion(leaf: Hash, proof: WithdrawalInclusion): Hash {
  const index = fromQuantity(proof.index, "proof.index");
  if (index >= fromQuantity(proof.block.withdrawalCount, "withdrawalCount") || !verifyProof(leaf, index, proof.proof, proof.block.withdrawalsRoot)) {
    throw new ProofError(`the withdrawal is not in block ${fromQuantity(proof.block.number, "number")} at index ${index}`);
  }
  return chainToOutputRoot(proof.block, proof.laterHeaders, proof.outputRoot);
}

/**
 * The batch `index` that L1 posted with `outputRoot`, and whether it is still the
 * current batch at that index (an index is reused after a revert); null if L1 never held
 * that output root for that index.
 */
export async function findBatch(
  l1: L1Reader,
  rollup: Hex,
  index: bigint,
  outputRoot: Hash,
): Promise<{ header: BatchHeader; current: boolean } | null> {
  const [posted, stored, head] = await Promise.all([
    batchesPostedAt(l1, rollup, index),
    l1.readContract({ address: rollup, abi: ROLLUP_ABI, functionName: "batchHashes", args: [index] }),
    rollupHead(l1, rollup),
  ]);
  let found: { header: BatchHeader; current: boolean } | null = null;
  for (const header of posted) {
    if (header.index !== index || !sameHex(header.outputRoot, outputRoot)) continue;
    const current = index < head.batchCount && sameHex(batchHeaderHash(header), stored);
    if (current) return { header, current };
    found = { header, current };
  }
  return found;
}

/**
 * Verifies `found` (what an L2 endpoint answered for `recordHash`, or null) against the
 * Rollup at `rollup` on `l1`. Throws only when L1 cannot be read; an endpoint's lie is a
 * `not_verified` verdict.
 */
export async function checkRecord(found: Inference | null, record: Hash, l1: L1Reader, rollup: Hex): Promise<Verdict> {
  const no = (reason: string): Verdict => ({ status: "not_verified", reason });
  if (found === null) return no("the L2 endpoint does not know this record");
  let outputRoot: Hash;
  let index: bigint;
  let blockNumber: bigint;
  try {
    // 1. The record is what its hash says, and the output is what the record commits to.
    const r = found.record;
    const recomputed = hashRecord({
      requestHash: r.requestHash,
      sender: r.sender,
      modelId: r.modelId,
      inputRoot: r.inputRoot,
      outputRoot: r.outputRoot,
      fee: fromQuantity(r.fee, "fee"),
    });
    if (!sameHex(recomputed, record)) return no("the record served does not hash to the record hash asked for");
    if (!sameHex(commitment(checkTensor(r.output)), r.outputRoot)) {
      return no("the output served is not the output the record commits to");
    }
    // 2. The proof leads to an output root.
    if (found.proof === null || found.proof === undefined) {
      return { status: "not_posted", block: quantityToNumber(found.blockNumber, "blockNumber") };
    }
    try {
      outputRoot = verifyInclusion(record, found.proof);
    } catch (e) {
      return no(`the inclusion proof is false: ${(e as Error).message}`);
    }
    index = fromQuantity(found.proof.batchIndex, "batchIndex");
    blockNumber = fromQuantity(found.proof.block.number, "block number");
  } catch (e) {
    return no(`the L2 endpoint's answer is malformed: ${(e as Error).message}`);
  }
  // 3. L1 holds that output root for that batch, for a range holding the block.
  const batch = await findBatch(l1, rollup, index, outputRoot);
  if (batch === null) return no(`L1 never held output root ${outputRoot} for batch ${index}`);
  const { header } = batch;
  if (blockNumber < header.firstBlock || blockNumber > header.lastBlock) {
    return no(`block ${blockNumber} is not in batch ${index} (blocks ${header.firstBlock}..=${header.lastBlock})`);
  }
  const batchIndex = Number(index);
  if (!batch.current) return { status: "reverted", batchIndex };
  const head = await rollupHead(l1, rollup);
  if (index < head.finalizedCount) return { status: "final", batchIndex };
  const [window, open, l1Block] = await Promise.all([
    l1.readContract({ address: rollup, abi: ROLLUP_ABI, functionName: "disputeWindow" }),
    l1.readContract({ address: rollup, abi: ROLLUP_ABI, functionName: "openDisputes", args: [batchHeaderHash(header)] }),
    l1.getBlockNumber(),
  ]);
  return {
    status: "pending",
    batchIndex,
    windowEnd: Number(header.l1Block + window),
    l1Block: Number(l1Block),
    openDisputes: Number(open),
  };
}

/** Where a withdrawal stands, as L1 confirms it (the states of `verdict bridge status`). */
export type WithdrawalState =
  | { status: "unknown" }
  | { status: "waiting_for_batch"; block: number }
  | { status: "in_dispute_window"; batchIndex: number; windowEnd: number; l1Block: number }
  | { status: "ready_to_claim"; batchIndex: number }
  | { status: "claimed"; batchIndex: number }
  | { status: "reverted"; batchIndex: number }
  | { status: "not_verified"; reason: string };

/** A checked withdrawal: its state and, once posted in a current batch, what a claim needs. */
export interface CheckedWithdrawal {
  state: WithdrawalState;
  withdrawal: Withdrawal | null;
  claim: { batch: BatchHeader; inclusion: WithdrawalInclusion } | null;
}

/** Checks what an L2 endpoint answered for withdrawal `leaf` against the Rollup and the Bridge. */
export async function checkWithdrawal(
  found: Withdrawal | null,
  leaf: Hash,
  l1: L1Reader,
  rollup: Hex,
  bridge: Hex,
): Promise<CheckedWithdrawal> {
  const no = (reason: string): CheckedWithdrawal => ({ state: { status: "not_verified", reason }, withdrawal: found, claim: null });
  if (found === null) return { state: { status: "unknown" }, withdrawal: null, claim: null };
  let outputRoot: Hash;
  let index: bigint;
  try {
    const recomputed = withdrawalLeaf({
      sender: found.sender,
      nonce: fromQuantity(found.nonce, "nonce"),
      recipient: found.recipient,
      amount: fromQuantity(found.amount, "amount"),
    });
    if (!sameHex(recomputed, leaf)) return no("the withdrawal served does not hash to the hash asked for");
    if (found.proof === null || found.proof === undefined) {
      return { state: { status: "waiting_for_batch", block: quantityToNumber(found.blockNumber, "blockNumber") }, withdrawal: found, claim: null };
    }
    try {
      outputRoot = verifyWithdrawalInclusion(leaf, found.proof);
    } catch (e) {
      return no(`the inclusion proof is false: ${(e as Error).message}`);
    }
    index = fromQuantity(found.proof.batchIndex, "batchIndex");
  } catch (e) {
    return no(`the L2 endpoint's answer is malformed: ${(e as Error).message}`);
  }
  const batchIndex = Number(index);
  const batch = await findBatch(l1, rollup, index, outputRoot);
  if (batch === null) return no(`L1 never held output root ${outputRoot} for batch ${index}`);
  if (!batch.current) return { state: { status: "reverted", batchIndex }, withdrawal: found, claim: null };
  const claim = { batch: batch.header, inclusion: found.proof };
  const [claimed, finalized] = await Promise.all([
    l1.readContract({ address: bridge, abi: BRIDGE_ABI, functionName: "claimed", args: [leaf] }),
    l1.readContract({ address: rollup, abi: ROLLUP_ABI, functionName: "isFinalized", args: [index] }),
  ]);
  if (claimed) return { state: { status: "claimed", batchIndex }, withdrawal: found, claim };
  if (finalized) return { state: { status: "ready_to_claim", batchIndex }, withdrawal: found, claim };
  const [window, l1Block] = await Promise.all([
    l1.readContract({ address: rollup, abi: ROLLUP_ABI, functionName: "disputeWindow" }),
    l1.getBlockNumber(),
  ]);
  return {
    state: { status: "in_dispute_window", batchIndex, windowEnd: Number(batch.header.l1Block + window), l1Block: Number(l1Block) },
    withdrawal: found,
    claim,
  };
}
