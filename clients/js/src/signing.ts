/**
 * EIP-712 signing of inference requests and withdrawals (specs/l2.md, specs/state.md §1).
 *
 * The domain is `{name: "Verdict", version: "1", chainId: <L1 chain id>,
 * verifyingContract: <Rollup>}`: the L1 chain and the Rollup name one deployment, so a
 * signature made for one is worthless on any other. The request hash of a record *is*
 * the EIP-712 digest, so computing it here lets a client check the node's receipt.
 *
 * Two ways to sign a request: from fields computed locally ({@link signRequest}), or from
 * the typed data a node prepared ({@link signPrepared}), which is checked field by field
 * against the request it claims to be before anything is signed: a node must not be able
 * to get a wallet to sign something other than what the user asked for.
 */

import { getAddress, hashDomain, hashStruct, hashTypedData, type LocalAccount } from "viem";
import { VerdictResponseError } from "./errors.js";
import { fromQuantity, sameHex, toQuantity, type Hex } from "./hex.js";
import { commitment, sameTensor, type Tensor } from "./tensors.js";
import type { Address, ChainInfo, Hash, PreparedInference, SignedRequest, SignedWithdrawal, TypedDataJson, UnsignedRequest } from "./types.js";

/** The domain's `name`. */
export const DOMAIN_NAME = "Verdict";
/** The domain's `version`. */
export const DOMAIN_VERSION = "1";

/** The EIP-712 domain of one deployment. */
export interface SigningDomain {
  name: typeof DOMAIN_NAME;
  version: typeof DOMAIN_VERSION;
  chainId: bigint;
  verifyingContract: Address;
}

/** The typed-data struct of a request. */
export const REQUEST_TYPES = {
  InferenceRequest: [
    { name: "sender", type: "address" },
    { name: "nonce", type: "uint64" },
    { name: "modelId", type: "bytes32" },
    { name: "input", type: "bytes32" },
    { name: "maxFee", type: "uint256" },
  ],
} as const;

/** The typed-data struct of a withdrawal. */
export const WITHDRAWAL_TYPES = {
  Withdrawal: [
    { name: "sender", type: "address" },
    { name: "nonce", type: "uint64" },
    { name: "recipient", type: "address" },
    { name: "amount", type: "uint256" },
  ],
} as const;

const DOMAIN_TYPE = [
  { name: "name", type: "string" },
  { name: "version", type: "string" },
  { name: "chainId", type: "uint256" },
  { name: "verifyingContract", type: "address" },
] as const;

/** Largest `maxFee` or withdrawal amount the protocol carries (128-bit fields). */
export const MAX_U128 = (1n << 128n) - 1n;
const MAX_U64 = (1n << 64n) - 1n;

/** The domain for an L1 chain id and a Rollup address. */
export function signingDomain(chainId: bigint | number, rollup: Address): SigningDomain {
  return { name: DOMAIN_NAME, version: DOMAIN_VERSION, chainId: BigInt(chainId), verifyingContract: getAddress(rollup) };
}

/** The domain a node announces in verdict_chainInfo (`l1ChainId`, `rollup`). */
export function domainFromChainInfo(info: Pick<ChainInfo, "l1ChainId" | "rollup">): SigningDomain {
  return signingDomain(fromQuantity(info.l1ChainId, "l1ChainId"), info.rollup);
}

/** The EIP-712 domain separator. */
export function domainSeparator(domain: SigningDomain): Hash {
  return hashDomain({ domain: viemDomain(domain), types: { EIP712Domain: DOMAIN_TYPE } });
}

function viemDomain(domain: SigningDomain) {
  return { name: domain.name, version: domain.version, chainId: domain.chainId, verifyingContract: domain.verifyingContract };
}

/** A request's fields with the input given by its commitment (what is actually signed). */
export interface RequestFields {
  sender: Address;
  nonce: bigint | number;
  modelId: Hash;
  /** The input tensor's commitment (`commitment(input)`). */
  input: Hash;
  maxFee: bigint | number;
}

function requestMessage(r: RequestFields) {
  const nonce = BigInt(r.nonce);
  const maxFee = BigInt(r.maxFee);
  if (nonce < 0n || nonce > MAX_U64) throw new RangeError(`nonce ${nonce} is not a uint64`);
  if (maxFee < 0n || maxFee > MAX_U128) throw new RangeError(`maxFee ${maxFee} is above 2^128 - 1`);
  return { sender: getAddress(r.sender), nonce, modelId: r.modelId, input: r.input, maxFee };
}

/** The fields of an {@link UnsignedRequest} as signed: the input tensor by its commitment. */
export function requestFields(request: UnsignedRequest): RequestFields {
  return {
    sender: request.sender,
    nonce: fromQuantity(request.nonce, "nonce"),
    modelId: request.modelId,
    input: commitment(request.input),
    maxFee: fromQuantity(request.maxFee, "maxFee"),
  };
}

/** The EIP-712 struct hash of a request. */
export function requestStructHash(r: RequestFields): Hash {
  return hashStruct({ data: requestMessage(r), primaryType: "InferenceRequest", types: REQUEST_TYPES });
}

/** The EIP-712 digest of a request: what the wallet signs, and the record's `requestHash`. */
export function requestDigest(r: RequestFields, domain: SigningDomain): Hash {
  return hashTypedData({ domain: viemDomain(domain), types: REQUEST_TYPES, primaryType: "InferenceRequest", message: requestMessage(r) });
}

/**
 * The typed data of a request in `eth_signTypedData_v4` form, as verdict_prepareInference
 * writes it: integers as decimal strings (a uint256 may pass 2^53), `chainId` a number,
 * addresses checksummed, hashes lowercase.
 */
export function requestTypedData(r: RequestFields, domain: SigningDomain): TypedDataJson {
  const m = requestMessage(r);
  return {
    types: {
      EIP712Domain: DOMAIN_TYPE.map((f) => ({ ...f })),
      InferenceRequest: REQUEST_TYPES.InferenceRequest.map((f) => ({ ...f })),
    },
    primaryType: "InferenceRequest",
    domain: {
      name: domain.name,
      version: domain.version,
      chainId: Number(domain.chainId),
      verifyingContract: getAddress(domain.verifyingContract),
    },
    message: {
      sender: m.sender,
      nonce: m.nonce.toString(),
      modelId: m.modelId.toLowerCase(),
      input: m.input.toLowerCase(),
      maxFee: m.maxFee.toString(),
    },
  };
}

/** Signs a request's digest with a local account: 65 bytes `r ‖ s ‖ v`, v = 27/28, low s. */
export async function signRequestFields(account: LocalAccount, r: RequestFields, domain: SigningDomain): Promise<Hex> {
  if (!sameHex(account.address, r.sender)) {
    throw new RangeError(`the request's sender ${r.sender} is not the signing account ${account.address}`);
  }
  return account.signTypedData({ domain: viemDomain(domain), types: REQUEST_TYPES, primaryType: "InferenceRequest", message: requestMessage(r) });
}

/** Signs `request` (whose sender must be `account`) for `domain`, ready for verdict_sendInference. */
export async function signRequest(account: LocalAccount, request: UnsignedRequest, domain: SigningDomain): Promise<SignedRequest> {
  const signature = await signRequestFields(account, requestFields(request), domain);
  return { ...request, signature: signature.toLowerCase() as Hex };
}

/** What {@link checkPrepared} compares a node's prepared request with. */
export interface PreparedExpectations {
  /** The domain the client trusts (from chainInfo, or pinned). */
  domain: SigningDomain;
  /** The account that will sign. */
  sender: Address;
  /** The model id the user asked for. */
  modelId?: Hash;
  /** The input the client quantized itself: the node's must be the same tensor. */
  input?: Tensor;
  /** The fee cap the user asked for. */
  maxFee?: bigint;
}

/**
 * Checks that a node's verdict_prepareInference answer is what it claims: its typed
 * data is exactly the typed data of its `request` under the expected domain, its
 * commitment is the commitment of `request.input`, its `requestHash` is the digest, and
 * the request is for the expected sender (and model, input and fee when given). Returns
 * the request's fields; throws {@link VerdictResponseError} at the first difference.
 */
export function checkPrepared(prepared: PreparedInference, expect: PreparedExpectations): RequestFields {
  const fail = (what: string): never => {
    throw new VerdictResponseError(`the prepared request does not hold: ${what}`);
  };
  const fields = requestFields(prepared.request);
  if (!sameHex(fields.sender, expect.sender)) fail(`its sender is ${fields.sender}, not ${expect.sender}`);
  if (expect.modelId !== undefined && !sameHex(fields.modelId, expect.modelId)) fail(`its model is ${fields.modelId}, not ${expect.modelId}`);
  if (expect.maxFee !== undefined && BigInt(fields.maxFee) !== expect.maxFee) fail(`its maxFee is ${fields.maxFee}, not ${expect.maxFee}`);
  if (expect.input !== undefined && !sameTensor(prepared.request.input, expect.input)) {
    fail("its input tensor differs from the local quantization of the same features");
  }
  if (!sameHex(prepared.inputCommitment, fields.input)) fail("inputCommitment is not the commitment of request.input");
  const digest = requestDigest(fields, expect.domain);
  if (!sameHex(prepared.requestHash, digest)) fail("requestHash is not the EIP-712 digest of the request");
  const mine = requestTypedData(fields, expect.domain);
  if (!sameTypedData(prepared.typedData, mine)) fail("typedData is not the typed data of the request under the expected domain");
  return fields;
}

/** Deep equality of typed data, reading hex and addresses case-insensitively. */
export function sameTypedData(a: unknown, b: unknown): boolean {
  if (typeof a === "string" && typeof b === "string") {
    return a.startsWith("0x") && b.startsWith("0x") ? sameHex(a, b) : a === b;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => sameTypedData(v, b[i]));
  }
  if (a !== null && b !== null && typeof a === "object" && typeof b === "object") {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return (
      ka.length === kb.length &&
      ka.every((k, i) => k === kb[i] && sameTypedData((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
    );
  }
  return a === b;
}

/**
 * Signs a node's prepared request after {@link checkPrepared}: the signature is made over
 * the locally rebuilt typed data, which the check proved equal to what the node showed.
 */
export async function signPrepared(account: LocalAccount, prepared: PreparedInference, expect: Omit<PreparedExpectations, "sender">): Promise<SignedRequest> {
  const fields = checkPrepared(prepared, { ...expect, sender: account.address });
  const signature = await signRequestFields(account, fields, expect.domain);
  return { ...prepared.request, signature: signature.toLowerCase() as Hex };
}

// ---- withdrawals ----

/** A withdrawal as signed (specs/state.md §1). */
export interface WithdrawalFields {
  sender: Address;
  nonce: bigint | number;
  recipient: Address;
  amount: bigint | number;
}

function withdrawalMessage(w: WithdrawalFields) {
  const nonce = BigInt(w.nonce);
  const amount = BigInt(w.amount);
  if (nonce < 0n || nonce > MAX_U64) throw new RangeError(`nonce ${nonce} is not a uint64`);
  if (amount < 1n || amount > MAX_U128) throw new RangeError(`a withdrawal amount is 1 to 2^128 - 1 wei, got ${amount}`);
  return { sender: getAddress(w.sender), nonce, recipient: getAddress(w.recipient), amount };
}

/** The EIP-712 struct hash of a withdrawal. */
export function withdrawalStructHash(w: WithdrawalFields): Hash {
  return hashStruct({ data: withdrawalMessage(w), primaryType: "Withdrawal", types: WITHDRAWAL_TYPES });
}

/** The digest a withdrawal's sender signs (not its id: that is the leaf, `withdrawalLeaf`). */
export function withdrawalDigest(w: WithdrawalFields, domain: SigningDomain): Hash {
  return hashTypedData({ domain: viemDomain(domain), types: WITHDRAWAL_TYPES, primaryType: "Withdrawal", message: withdrawalMessage(w) });
}

/** Signs a withdrawal, ready for verdict_sendWithdrawal. */
export async function signWithdrawal(account: LocalAccount, w: WithdrawalFields, domain: SigningDomain): Promise<SignedWithdrawal> {
  if (!sameHex(account.address, w.sender)) {
    throw new RangeError(`the withdrawal's sender ${w.sender} is not the signing account ${account.address}`);
  }
  const m = withdrawalMessage(w);
  const signature = await account.signTypedData({ domain: viemDomain(domain), types: WITHDRAWAL_TYPES, primaryType: "Withdrawal", message: m });
  return {
    sender: m.sender.toLowerCase() as Address,
    nonce: toQuantity(m.nonce),
    recipient: m.recipient.toLowerCase() as Address,
    amount: toQuantity(m.amount),
    signature: signature.toLowerCase() as Hex,
  };
}
