/**
 * The JSON-RPC objects of the `verdict_*` API, exactly as they travel (specs/openrpc.json).
 *
 * Quantities stay `0x` hex strings and hashes stay hex here, as the node sends them: a
 * client that converts on the way in loses the ability to re-hash exactly what it was
 * given. Convert with `fromQuantity` where a number is needed.
 *
 * Each interface has a field table below it (`*_FIELDS`) naming every property and
 * whether it is required. The tables are typed so that the compiler rejects one that
 * misses a property, names one the interface lacks, or disagrees on required; and
 * `test/openrpc.test.ts` compares the tables with the schemas in specs/openrpc.json. So
 * the interfaces, the tables and the spec cannot drift apart unnoticed.
 */

import type { Hex } from "./hex.js";
import type { DType, Tensor } from "./tensors.js";

export type { DType, Tensor } from "./tensors.js";

/** A `0x` hex quantity (`Uint64`, `Uint256`): no leading zeros. */
export type Quantity = Hex;
/** 32 bytes as `0x` and 64 hex digits. */
export type Hash = Hex;
/** 20 bytes as `0x` and 40 hex digits. */
export type Address = Hex;

/** Where a record, block or batch stands on L1. */
export type Status = "pending" | "posted" | "finalized" | "reverted";
/** Every {@link Status}, in the order a record goes through them (reverted aside). */
export const STATUSES: readonly Status[] = ["pending", "posted", "finalized", "reverted"];

/** `latest`, `earliest` or a block number. */
export type BlockTag = "latest" | "earliest" | Quantity;

/** One feature's input quantization: `q = clamp(floor((x − offset) / scale + 1/2), −m, m)`. */
export interface FeatureQuant {
  scale: number;
  offset: number;
}

/** A registered model (verdict_getModel, verdict_models). */
export interface Model {
  id: Hash;
  name: string;
  graphHash: Hash;
  weightsRoot: Hash;
  opCount: Quantity;
  inputShape: number[];
  inputDtype: DType;
  outputShape: number[];
  outputDtype: DType;
  task: "classification" | "regression";
  outputScale: number;
  inputScale: number;
  /** How many float features one inference takes (the input's element count). */
  featureCount: number;
  /** Absent (or null) when `inputScale` holds for every feature. */
  inputFeatures?: FeatureQuant[] | null;
  feePerInference: Quantity;
}

/** The rollup a node serves (verdict_chainInfo): the EIP-712 domain and the L1 contracts. */
export interface ChainInfo {
  l1ChainId: Quantity;
  rollup: Address;
  bridge: Address;
  modelRegistry: Address;
  sequencer: Address;
  disputeWindow: Quantity;
  genesisHash: Hash;
  maxBlockRecords: Quantity;
}

/** An L2 account (verdict_getAccount). */
export interface Account {
  balance: Quantity;
  nonce: Quantity;
}

/** A request before its signature. */
export interface UnsignedRequest {
  sender: Address;
  nonce: Quantity;
  modelId: Hash;
  input: Tensor;
  maxFee: Quantity;
}

/** A signed inference request (verdict_sendInference's parameter). */
export interface SignedRequest extends UnsignedRequest {
  signature: Hex;
}

/** The EIP-712 typed data in `eth_signTypedData_v4` form. */
export interface TypedDataJson {
  types: Record<string, Array<{ name: string; type: string }>>;
  primaryType: string;
  domain: Record<string, unknown>;
  message: Record<string, unknown>;
}

/** verdict_prepareInference's answer: a request from float features, ready to sign. */
export interface PreparedInference {
  request: UnsignedRequest;
  inputCommitment: Hash;
  requestHash: Hash;
  typedData: TypedDataJson;
}

/** verdict_sendInference's answer, sent once the record is durable. */
export interface InferenceReceipt {
  recordHash: Hash;
  requestHash: Hash;
  output: Tensor;
  blockNumber: Quantity;
  index: Quantity;
  fee: Quantity;
}

/** A committed record: one executed inference. */
export interface Record_ {
  recordHash: Hash;
  requestHash: Hash;
  sender: Address;
  nonce: Quantity;
  modelId: Hash;
  inputRoot: Hash;
  outputRoot: Hash;
  output: Tensor;
  fee: Quantity;
}
/** A committed record (the schema's name; `Record` is TypeScript's own utility type). */
export type InferenceRecord = Record_;

/** An L2 block header; its hash is keccak of the 169-byte encoding (specs/state.md §2). */
export interface BlockHeader {
  number: Quantity;
  hash: Hash;
  parentHash: Hash;
  timestamp: Quantity;
  recordsRoot: Hash;
  stateRoot: Hash;
  depositsConsumed: Quantity;
  withdrawalsRoot: Hash;
  recordCount: Quantity;
  withdrawalCount: Quantity;
  l1Origin: Quantity;
}

/** Proof that a record is in the chain up to a batch's output root. */
export interface InclusionProof {
  recordProof: Hash[];
  index: Quantity;
  block: BlockHeader;
  laterHeaders: BlockHeader[];
  outputRoot: Hash;
  batchIndex: Quantity;
}

/** verdict_getInference's answer: a record and where it stands. */
export interface Inference {
  record: Record_;
  blockNumber: Quantity;
  blockHash: Hash | null;
  index: Quantity;
  status: Status;
  batchIndex: Quantity | null;
  proof: InclusionProof | null;
}

/** A sealed block (verdict_getBlockByNumber / ByHash); `records` holds hashes or whole records. */
export interface Block extends BlockHeader {
  depositCount: Quantity;
  records: Array<Hash | Record_>;
  status: Status;
}

/** A batch of L2 blocks posted to L1 (verdict_getBatch). */
export interface Batch {
  index: Quantity;
  firstBlock: Quantity;
  lastBlock: Quantity;
  outputRoot: Hash;
  dataHash: Hash;
  l1Transaction: Hash;
  l1Block: Quantity;
  windowEnd: Quantity;
  status: Status;
}

/** A signed withdrawal (verdict_sendWithdrawal's parameter). */
export interface SignedWithdrawal {
  sender: Address;
  nonce: Quantity;
  recipient: Address;
  amount: Quantity;
  signature: Hex;
}

/** verdict_sendWithdrawal's answer. */
export interface WithdrawalReceipt {
  withdrawalHash: Hash;
  blockNumber: Quantity;
  index: Quantity;
}

/** Proof that a withdrawal is in the chain up to a batch's output root. */
export interface WithdrawalInclusion {
  proof: Hash[];
  index: Quantity;
  block: BlockHeader;
  laterHeaders: BlockHeader[];
  outputRoot: Hash;
  batchIndex: Quantity;
}

/** verdict_getWithdrawal's answer. */
export interface Withdrawal {
  withdrawalHash: Hash;
  sender: Address;
  nonce: Quantity;
  recipient: Address;
  amount: Quantity;
  blockNumber: Quantity;
  index: Quantity;
  status: Status;
  batchIndex: Quantity | null;
  proof: WithdrawalInclusion | null;
}

/** Part of a model file (verdict_getModelFile). */
export interface ModelFileChunk {
  id: Hash;
  totalBytes: Quantity;
  offset: Quantity;
  data: Hex;
  nextOffset: Quantity | null;
}

/** Where an upload stands (verdict_uploadModelFile). */
export interface ModelUpload {
  modelId: Hash;
  receivedBytes: Quantity;
  totalBytes: Quantity;
  complete: boolean;
}

// ---- field tables, checked by the compiler here and against the spec by the tests ----

type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];

/** Every property of `T`, marked as the interface declares it. */
export type FieldTable<T> = { readonly [K in keyof T]-?: K extends RequiredKeys<T> ? "required" : "optional" };

const BLOCK_HEADER_FIELDS_: FieldTable<BlockHeader> = {
  number: "required",
  hash: "required",
  parentHash: "required",
  timestamp: "required",
  recordsRoot: "required",
  stateRoot: "required",
  depositsConsumed: "required",
  withdrawalsRoot: "required",
  recordCount: "required",
  withdrawalCount: "required",
  l1Origin: "required",
};

/** The field tables, by the schema name in specs/openrpc.json. */
export const SCHEMA_FIELDS = {
  Tensor: { dtype: "required", shape: "required", data: "required" } satisfies FieldTable<Tensor>,
  Model: {
    id: "required",
    name: "required",
    graphHash: "required",
    weightsRoot: "required",
    opCount: "required",
    inputShape: "required",
    inputDtype: "required",
    outputShape: "required",
    outputDtype: "required",
    task: "required",
    outputScale: "required",
    inputScale: "required",
    featureCount: "required",
    inputFeatures: "optional",
    feePerInference: "required",
  } satisfies FieldTable<Model>,
  ChainInfo: {
    l1ChainId: "required",
    rollup: "required",
    bridge: "required",
    modelRegistry: "required",
    sequencer: "required",
    disputeWindow: "required",
    genesisHash: "required",
    maxBlockRecords: "required",
  } satisfies FieldTable<ChainInfo>,
  Account: { balance: "required", nonce: "required" } satisfies FieldTable<Account>,
  UnsignedRequest: {
    sender: "required",
    nonce: "required",
    modelId: "required",
    input: "required",
    maxFee: "required",
  } satisfies FieldTable<UnsignedRequest>,
  SignedRequest: {
    sender: "required",
    nonce: "required",
    modelId: "required",
    input: "required",
    maxFee: "required",
    signature: "required",
  } satisfies FieldTable<SignedRequest>,
  PreparedInference: {
    request: "required",
    inputCommitment: "required",
    requestHash: "required",
    typedData: "required",
  } satisfies FieldTable<PreparedInference>,
  InferenceReceipt: {
    recordHash: "required",
    requestHash: "required",
    output: "required",
    blockNumber: "required",
    index: "required",
    fee: "required",
  } satisfies FieldTable<InferenceReceipt>,
  Record: {
    recordHash: "required",
    requestHash: "required",
    sender: "required",
    nonce: "required",
    modelId: "required",
    inputRoot: "required",
    outputRoot: "required",
    output: "required",
    fee: "required",
  } satisfies FieldTable<Record_>,
  BlockHeader: BLOCK_HEADER_FIELDS_,
  InclusionProof: {
    recordProof: "required",
    index: "required",
    block: "required",
    laterHeaders: "required",
    outputRoot: "required",
    batchIndex: "required",
  } satisfies FieldTable<InclusionProof>,
  Inference: {
    record: "required",
    blockNumber: "required",
    blockHash: "required",
    index: "required",
    status: "required",
    batchIndex: "required",
    proof: "required",
  } satisfies FieldTable<Inference>,
  Block: {
    ...BLOCK_HEADER_FIELDS_,
    depositCount: "required",
    records: "required",
    status: "required",
  } satisfies FieldTable<Block>,
  Batch: {
    index: "required",
    firstBlock: "required",
    lastBlock: "required",
    outputRoot: "required",
    dataHash: "required",
    l1Transaction: "required",
    l1Block: "required",
    windowEnd: "required",
    status: "required",
  } satisfies FieldTable<Batch>,
  SignedWithdrawal: {
    sender: "required",
    nonce: "required",
    recipient: "required",
    amount: "required",
    signature: "required",
  } satisfies FieldTable<SignedWithdrawal>,
  WithdrawalReceipt: {
    withdrawalHash: "required",
    blockNumber: "required",
    index: "required",
  } satisfies FieldTable<WithdrawalReceipt>,
  WithdrawalInclusion: {
    proof: "required",
    index: "required",
    block: "required",
    laterHeaders: "required",
    outputRoot: "required",
    batchIndex: "required",
  } satisfies FieldTable<WithdrawalInclusion>,
  Withdrawal: {
    withdrawalHash: "required",
    sender: "required",
    nonce: "required",
    recipient: "required",
    amount: "required",
    blockNumber: "required",
    index: "required",
    status: "required",
    batchIndex: "required",
    proof: "required",
  } satisfies FieldTable<Withdrawal>,
  ModelFileChunk: {
    id: "required",
    totalBytes: "required",
    offset: "required",
    data: "required",
    nextOffset: "required",
  } satisfies FieldTable<ModelFileChunk>,
  ModelUpload: {
    modelId: "required",
    receivedBytes: "required",
    totalBytes: "required",
    complete: "required",
  } satisfies FieldTable<ModelUpload>,
} as const;

/** The string enums the types spell out, by schema name (checked against the spec too). */
export const SCHEMA_ENUMS = {
  Status: STATUSES,
  "Tensor.dtype": ["i8", "i32"] as const satisfies readonly DType[],
  "Model.task": ["classification", "regression"] as const satisfies readonly Model["task"][],
} as const;

/** The methods this client calls; each must be one the spec defines. */
export const METHODS = [
  "verdict_sendInference",
  "verdict_prepareInference",
  "verdict_getInference",
  "verdict_sendWithdrawal",
  "verdict_getWithdrawal",
  "verdict_blockNumber",
  "verdict_getBlockByNumber",
  "verdict_getBlockByHash",
  "verdict_getBatch",
  "verdict_getModel",
  "verdict_getModelFile",
  "verdict_models",
  "verdict_getAccount",
  "verdict_chainInfo",
] as const;

/** A method name this client calls. */
export type Method = (typeof METHODS)[number];
