/**
 * The parts of the L1 contracts a client touches: the Rollup (what a batch is, whether it
 * is current and final) and the Bridge (deposits, withdrawal claims).
 *
 * Written as human-readable ABI so the library does not ship the whole build artifacts;
 * `test/l1.test.ts` checks every selector and event topic here against
 * node/l1/artifacts/{Rollup,Bridge}.json, so a contract change cannot slip past.
 */

import { parseAbi, type PublicClient, type Transport, type Chain } from "viem";
import type { BatchHeader } from "./records.js";

const HEADER_STRUCT =
  "struct Header { uint64 index; uint64 firstBlock; uint64 lastBlock; bytes32 parentRoot; bytes32 outputRoot; bytes32 dataHash; uint64 depositsStart; uint64 depositsEnd; bytes32 depositAccumulator; uint64 l1Block; }";

/** The Rollup's reads and its batch events. */
export const ROLLUP_ABI = parseAbi([
  HEADER_STRUCT,
  "function head() view returns (uint64 batchCount, uint64 finalizedCount, uint64 nextBlock, uint64 depositsConsumed)",
  "function batchHashes(uint256 index) view returns (bytes32)",
  "function disputeWindow() view returns (uint64)",
  "function openDisputes(bytes32 headerHash) view returns (uint256)",
  "function isFinalized(uint64 index) view returns (bool)",
  "function isCurrent(Header header) view returns (bool)",
  "function headerHash(Header header) pure returns (bytes32)",
  "function finalize(Header header)",
  "event BatchPosted(uint64 indexed index, bytes32 indexed headerHash, Header header)",
  "event BatchFinalized(uint64 indexed index, bytes32 indexed headerHash, bytes32 outputRoot)",
]);

/** The Bridge's deposit and withdrawal calls and events. */
export const BRIDGE_ABI = parseAbi([
  HEADER_STRUCT,
  "struct WithdrawalInclusion { bytes32[] proof; uint256 index; bytes blockHeader; bytes[] laterHeaders; }",
  "function deposit(address recipient) payable returns (uint64 index)",
  "function depositCount() view returns (uint256)",
  "function claimed(bytes32 leaf) view returns (bool)",
  "function rollup() view returns (address)",
  "function finalizeWithdrawal(Header batch, WithdrawalInclusion inclusion, address sender, uint64 nonce, address recipient, uint256 amount) returns (bytes32 leaf)",
  "event DepositQueued(uint64 indexed index, address indexed sender, address indexed recipient, uint256 amount, uint64 l1Block, bytes32 depositHash, bytes32 accumulator)",
  "event WithdrawalFinalized(bytes32 indexed leaf, address indexed sender, address indexed recipient, uint256 amount)",
]);

/** A viem public client on any chain. */
export type L1Reader = PublicClient<Transport, Chain | undefined>;

/** The Rollup's head: batches posted and finalized. */
export async function rollupHead(l1: L1Reader, rollup: `0x${string}`): Promise<{ batchCount: bigint; finalizedCount: bigint }> {
  const [batchCount, finalizedCount] = await l1.readContract({ address: rollup, abi: ROLLUP_ABI, functionName: "head" });
  return { batchCount, finalizedCount };
}

/** Every `BatchPosted` event for batch `index` (an index is reused after a revert). */
export async function batchesPostedAt(l1: L1Reader, rollup: `0x${string}`, index: bigint): Promise<BatchHeader[]> {
  const logs = await l1.getContractEvents({
    address: rollup,
    abi: ROLLUP_ABI,
    eventName: "BatchPosted",
    args: { index },
    fromBlock: 0n,
    toBlock: "latest",
  });
  const out: BatchHeader[] = [];
  for (const log of logs) {
    const h = log.args.header;
    if (h === undefined) continue;
    out.push({ ...h });
  }
  return out;
}
