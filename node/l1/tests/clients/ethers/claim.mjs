// A client this project did not write (ethers v6) claims a Verdict withdrawal on L1:
// it reads the withdrawal and its inclusion proof from the L2 JSON-RPC API, the batch
// header from the Rollup's BatchPosted event, encodes the 169-byte L2 block headers
// itself (specs/state.md §2), and calls Bridge.finalizeWithdrawal.
//
//   node claim.mjs L1_URL PRIVATE_KEY ROLLUP BRIDGE L2_URL WITHDRAWAL_HASH
//
// Prints one JSON object; exits non-zero on any failure.
import { ethers } from "ethers";

const [l1Url, key, rollupAddress, bridgeAddress, l2Url, withdrawalHash] = process.argv.slice(2);
if (!withdrawalHash) {
  console.error("usage: node claim.mjs L1_URL PRIVATE_KEY ROLLUP BRIDGE L2_URL WITHDRAWAL_HASH");
  process.exit(2);
}

const HEADER = "(uint64 index,uint64 firstBlock,uint64 lastBlock,bytes32 parentRoot,bytes32 outputRoot,bytes32 dataHash,uint64 depositsStart,uint64 depositsEnd,bytes32 depositAccumulator,uint64 l1Block)";
const provider = new ethers.JsonRpcProvider(l1Url, undefined, { staticNetwork: true, pollingInterval: 100 });
const wallet = new ethers.Wallet(key, provider);
const rollup = new ethers.Contract(
  rollupAddress,
  [`event BatchPosted(uint64 indexed index, bytes32 indexed headerHash, ${HEADER} header)`],
  provider,
);
const bridge = new ethers.Contract(
  bridgeAddress,
  [
    `function finalizeWithdrawal(${HEADER} batch, (bytes32[] proof, uint256 index, bytes blockHeader, bytes[] laterHeaders) inclusion, address sender, uint64 nonce, address recipient, uint256 amount) returns (bytes32)`,
    "function claimed(bytes32 leaf) view returns (bool)",
    "event WithdrawalFinalized(bytes32 indexed leaf, address indexed sender, address indexed recipient, uint256 amount)",
  ],
  wallet,
);

async function l2(method, params) {
  const response = await fetch(l2Url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = await response.json();
  if (body.error) throw new Error(`${method}: ${JSON.stringify(body.error)}`);
  return body.result;
}

// specs/state.md §2: the canonical header bytes; their keccak must be the served hash.
function encodeHeader(h) {
  const bytes = ethers.solidityPacked(
    ["uint8", "uint64", "bytes32", "uint64", "bytes32", "bytes32", "uint64", "bytes32", "uint32", "uint32", "uint64"],
    [7, h.number, h.parentHash, h.timestamp, h.recordsRoot, h.stateRoot, h.depositsConsumed, h.withdrawalsRoot, h.recordCount, h.withdrawalCount, h.l1Origin],
  );
  if (ethers.keccak256(bytes) !== h.hash) throw new Error(`header ${h.number} does not hash to ${h.hash}`);
  return bytes;
}

const w = await l2("verdict_getWithdrawal", [withdrawalHash]);
if (!w || !w.proof) throw new Error(`withdrawal not posted yet: ${JSON.stringify(w)}`);
const leaf = ethers.keccak256(
  ethers.solidityPacked(["uint8", "address", "uint64", "address", "uint128"], [9, w.sender, w.nonce, w.recipient, w.amount]),
);
if (leaf !== withdrawalHash) throw new Error("the served withdrawal does not hash to its hash");

const posted = await rollup.queryFilter(rollup.filters.BatchPosted(BigInt(w.proof.batchIndex)), 0, "latest");
const event = posted.reverse().find((e) => e.args.header.outputRoot === w.proof.outputRoot);
if (!event) throw new Error(`no batch ${w.proof.batchIndex} with output root ${w.proof.outputRoot} on L1`);
// A plain copy: ethers' decoded Results are frozen, and encoding walks its input.
const h = event.args.header;
const batch = {
  index: h.index,
  firstBlock: h.firstBlock,
  lastBlock: h.lastBlock,
  parentRoot: h.parentRoot,
  outputRoot: h.outputRoot,
  dataHash: h.dataHash,
  depositsStart: h.depositsStart,
  depositsEnd: h.depositsEnd,
  depositAccumulator: h.depositAccumulator,
  l1Block: h.l1Block,
};

const inclusion = {
  proof: [...w.proof.proof],
  index: BigInt(w.proof.index),
  blockHeader: encodeHeader(w.proof.block),
  laterHeaders: w.proof.laterHeaders.map(encodeHeader),
};
const before = await provider.getBalance(w.recipient);
const tx = await bridge.finalizeWithdrawal(batch, inclusion, w.sender, BigInt(w.nonce), w.recipient, BigInt(w.amount));
const receipt = await tx.wait(1, 30_000);
const finalized = receipt.logs
  .map((log) => { try { return bridge.interface.parseLog(log); } catch { return null; } })
  .filter((e) => e && e.name === "WithdrawalFinalized");

console.log(
  JSON.stringify({
    status: receipt.status,
    gasUsed: receipt.gasUsed.toString(),
    leaf: finalized[0]?.args.leaf,
    amount: finalized[0]?.args.amount.toString(),
    recipient: finalized[0]?.args.recipient,
    received: ((await provider.getBalance(w.recipient, receipt.blockNumber)) - before).toString(),
    claimed: await bridge.claimed(leaf),
  }),
);
