/**
 * `VerdictClient`: the whole round trip of an inference, from float features to an
 * answer verified on L1, and moving ETH between L1 and L2.
 *
 * The L2 endpoint is used for what only it can do (run the model, serve records and
 * proofs) and checked wherever it can be: the receipt's request hash and record hash are
 * recomputed from what was sent and what came back, prepared typed data is checked before
 * it is signed, and `verify` trusts only L1. Addresses of the L1 contracts come from
 * verdict_chainInfo unless pinned (`rollup`, `bridge`): pin them when the L2 endpoint is
 * not yours, since a lying endpoint could name contracts of its own.
 */

import { createPublicClient, createWalletClient, defineChain, http, parseEventLogs, type LocalAccount } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { ConfigError, NotFoundError, VerdictError, VerdictResponseError, WaitError } from "./errors.js";
import { fromQuantity, sameHex, toQuantity, type Hex } from "./hex.js";
import { BRIDGE_ABI, type L1Reader } from "./l1.js";
import { quantize } from "./quantize.js";
import { recordHash as hashRecord, headerHex, withdrawalLeaf } from "./records.js";
import { RpcClient, type RpcOptions } from "./rpc.js";
import {
  domainFromChainInfo,
  MAX_U128,
  requestDigest,
  signPrepared,
  signRequestFields,
  signWithdrawal,
  type SigningDomain,
} from "./signing.js";
import { commitment, type Tensor } from "./tensors.js";
import type {
  Account,
  Address,
  Batch,
  Block,
  BlockTag,
  ChainInfo,
  Hash,
  Inference,
  InferenceReceipt,
  Model,
  PreparedInference,
  SignedRequest,
  SignedWithdrawal,
  Status,
  Withdrawal,
  WithdrawalReceipt,
} from "./types.js";
import { checkRecord, checkWithdrawal, isVerified, type CheckedWithdrawal, type Verdict } from "./verify.js";

/** A signer: a viem local account, or a `0x` private key. */
export type Signer = LocalAccount | Hex;

/** How to build a {@link VerdictClient}. */
export interface VerdictClientOptions {
  /** The L2 node's JSON-RPC URL (or full transport options). */
  rpc: string | RpcOptions;
  /** The L1 JSON-RPC URL: needed by `verify`, `deposit` and `claimWithdrawal`. */
  l1Rpc?: string;
  /** The Rollup's address, pinned (otherwise taken from verdict_chainInfo). */
  rollup?: Address;
  /** The Bridge's address, pinned (otherwise taken from verdict_chainInfo). */
  bridge?: Address;
  /** The default signer for `infer`, `deposit`, `withdraw` and `claimWithdrawal`. */
  account?: Signer;
  /** How often to poll while waiting, in milliseconds (default 250). */
  pollIntervalMs?: number;
}

/** Options of {@link VerdictClient.infer}. */
export interface InferOptions {
  /** The most to pay, in wei (default: the model's fee). */
  maxFee?: bigint;
  /** The nonce to use (default: the account's next nonce, from verdict_getAccount). */
  nonce?: bigint;
  /**
   * Let the node quantize and prepare the typed data (verdict_prepareInference), then
   * check it against the local quantization and sign it; otherwise everything is local.
   */
  viaPrepare?: boolean;
}

/** What {@link VerdictClient.infer} returns. */
export interface InferResult {
  model: Model;
  /** The request as sent, signature included. */
  request: SignedRequest;
  inputCommitment: Hash;
  requestHash: Hash;
  recordHash: Hash;
  /** The model's output, as the node answered. */
  output: Tensor;
  /** Wei charged. */
  fee: bigint;
  receipt: InferenceReceipt;
}

/** What {@link VerdictClient.verify} returns. */
export interface VerifyResult {
  recordHash: Hash;
  verified: boolean;
  verdict: Verdict;
  /** What the L2 endpoint served (checked as far as the verdict says). */
  inference: Inference | null;
  /** The Rollup checked against, and whether it was pinned rather than named by the L2 endpoint. */
  rollup: Address;
  rollupPinned: boolean;
}

/** A deposit queued on L1. */
export interface DepositResult {
  /** Its position in the Bridge's queue. */
  index: bigint;
  /** The L1 block that queued it. */
  l1Block: bigint;
  l1Transaction: Hash;
  recipient: Address;
  amount: bigint;
  /** The L2 balance once credited (with `waitForCredit`). */
  l2Balance?: bigint;
}

/** A withdrawal paid out on L1. */
export interface ClaimResult {
  withdrawalHash: Hash;
  recipient: Address;
  amount: bigint;
  l1Transaction: Hash;
}

const STATUS_RANK: Record<Status, number> = { pending: 0, posted: 1, finalized: 2, reverted: -1 };

function toAccount(signer: Signer): LocalAccount {
  return typeof signer === "string" ? privateKeyToAccount(signer) : signer;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A client of one Verdict rollup: an L2 node and, optionally, its L1. */
export class VerdictClient {
  /** The L2 JSON-RPC transport. */
  readonly rpc: RpcClient;
  private readonly options: VerdictClientOptions;
  private readonly pollMs: number;
  private info: Promise<ChainInfo> | undefined;
  private l1Reader: L1Reader | undefined;

  constructor(options: VerdictClientOptions) {
    this.options = options;
    this.rpc = new RpcClient(options.rpc);
    this.pollMs = options.pollIntervalMs ?? 250;
  }

  // ---- the API, as the node serves it ----

  /** A model by name or id; null when the node serves no such model. */
  getModel(nameOrId: string): Promise<Model | null> {
    return this.rpc.call("verdict_getModel", [nameOrId]);
  }

  /** A model by name or id; throws {@link NotFoundError} when the node serves none. */
  async model(nameOrId: string): Promise<Model> {
    const m = await this.getModel(nameOrId);
    if (m === null) throw new NotFoundError(`the node serves no model ${JSON.stringify(nameOrId)} (see verdict_models)`);
    return m;
  }

  /** Every model the node serves. */
  models(): Promise<Model[]> {
    return this.rpc.call("verdict_models", []);
  }

  /** The rollup the node serves (cached: it does not change while the node runs). */
  chainInfo(): Promise<ChainInfo> {
    if (this.info === undefined) {
      this.info = this.rpc.call<ChainInfo>("verdict_chainInfo", []);
      this.info.catch(() => (this.info = undefined));
    }
    return this.info;
  }

  /** An L2 account's balance and next nonce. */
  account(address: Address): Promise<Account> {
    return this.rpc.call("verdict_getAccount", [address]);
  }

  /** The latest sealed L2 block's number. */
  async blockNumber(): Promise<bigint> {
    return fromQuantity(await this.rpc.call<string>("verdict_blockNumber", []), "block number");
  }

  /** A sealed block by number or tag; null when not sealed yet. */
  getBlock(block: BlockTag | bigint, full = false): Promise<Block | null> {
    const tag = typeof block === "bigint" ? toQuantity(block) : block;
    return this.rpc.call("verdict_getBlockByNumber", [tag, full]);
  }

  /** A batch by its L1 index; null when not posted (or not seen) yet. */
  getBatch(index: bigint | number): Promise<Batch | null> {
    return this.rpc.call("verdict_getBatch", [toQuantity(index)]);
  }

  /** A record, its status and (once posted) its inclusion proof; null for an unknown hash. */
  getInference(recordHash: Hash): Promise<Inference | null> {
    return this.rpc.call("verdict_getInference", [recordHash]);
  }

  /** A withdrawal, its status and (once posted) its inclusion proof; null for an unknown hash. */
  getWithdrawal(withdrawalHash: Hash): Promise<Withdrawal | null> {
    return this.rpc.call("verdict_getWithdrawal", [withdrawalHash]);
  }

  /** verdict_prepareInference as it is (check the answer with `checkPrepared` before signing it). */
  prepareInference(
    nameOrId: string,
    sender: Address,
    features: readonly number[],
    options: { nonce?: bigint; maxFee?: bigint } = {},
  ): Promise<PreparedInference> {
    const params: unknown[] = [nameOrId, sender, features];
    if (options.nonce !== undefined || options.maxFee !== undefined) {
      params.push(options.nonce === undefined ? null : toQuantity(options.nonce));
    }
    if (options.maxFee !== undefined) params.push(toQuantity(options.maxFee));
    return this.rpc.call("verdict_prepareInference", params);
  }

  /** verdict_sendInference as it is. */
  sendInference(request: SignedRequest): Promise<InferenceReceipt> {
    return this.rpc.call("verdict_sendInference", [request]);
  }

  /** verdict_sendWithdrawal as it is. */
  sendWithdrawal(withdrawal: SignedWithdrawal): Promise<WithdrawalReceipt> {
    return this.rpc.call("verdict_sendWithdrawal", [withdrawal]);
  }

  // ---- the round trip ----

  /** The EIP-712 domain requests are signed for; a pinned Rollup must be the one the node serves. */
  async domain(): Promise<SigningDomain> {
    const info = await this.chainInfo();
    if (this.options.rollup !== undefined && !sameHex(this.options.rollup, info.rollup)) {
      throw new ConfigError(`the node serves Rollup ${info.rollup}, not the pinned ${this.options.rollup}`);
    }
    return domainFromChainInfo(info);
  }

  private signer(signer: Signer | undefined): LocalAccount {
    const s = signer ?? this.options.account;
    if (s === undefined) throw new ConfigError("no account to sign with: pass one, or set `account` on the client");
    return toAccount(s);
  }

  /**
   * Quantizes `features` with the model's input quantization, signs the request, sends
   * it and checks the receipt against what was sent. `model` is a name, an id or a Model
   * already fetched; `features` may also be an input tensor, sent as it is.
   */
  async infer(model: string | Model, features: readonly number[] | Tensor, account?: Signer, options: InferOptions = {}): Promise<InferResult> {
    const signer = this.signer(account);
    const m = typeof model === "string" ? await this.model(model) : model;
    const [domain, state] = await Promise.all([
      this.domain(),
      options.nonce === undefined ? this.account(signer.address) : Promise.resolve(undefined),
    ]);
    const nonce = options.nonce ?? fromQuantity(state!.nonce, "nonce");
    const maxFee = options.maxFee ?? fromQuantity(m.feePerInference, "feePerInference");
    if (maxFee < 0n || maxFee > MAX_U128) throw new RangeError(`maxFee ${maxFee} is outside 0..2^128 - 1`);
    const input = Array.isArray(features) ? quantize(m, features as readonly number[]) : (features as Tensor);
    let request: SignedRequest;
    if (options.viaPrepare) {
      if (!Array.isArray(features)) throw new VerdictError("viaPrepare takes float features, not a tensor");
      const prepared = await this.prepareInference(m.id, signer.address, features as readonly number[], { nonce, maxFee });
      request = await signPrepared(signer, prepared, { domain, modelId: m.id, input, maxFee });
    } else {
      const fields = { sender: signer.address, nonce, modelId: m.id, input: commitment(input), maxFee };
      const signature = await signRequestFields(signer, fields, domain);
      request = {
        sender: signer.address.toLowerCase() as Address,
        nonce: toQuantity(nonce),
        modelId: m.id,
        input,
        maxFee: toQuantity(maxFee),
        signature: signature.toLowerCase() as Hex,
      };
    }
    const inputCommitment = commitment(request.input);
    const requestHash = requestDigest({ sender: signer.address, nonce, modelId: m.id, input: inputCommitment, maxFee }, domain);
    const receipt = await this.sendInference(request);
    // The receipt must be the record of *this* request with *this* output.
    if (!sameHex(receipt.requestHash, requestHash)) {
      throw new VerdictResponseError(`the receipt's requestHash ${receipt.requestHash} is not the digest signed (${requestHash})`);
    }
    const fee = fromQuantity(receipt.fee, "fee");
    if (fee > maxFee) throw new VerdictResponseError(`the node charged ${fee} wei, above maxFee ${maxFee}`);
    const expected = hashRecord({
      requestHash,
      sender: signer.address,
      modelId: m.id,
      inputRoot: inputCommitment,
      outputRoot: commitment(receipt.output),
      fee,
    });
    if (!sameHex(receipt.recordHash, expected)) {
      throw new VerdictResponseError(`the receipt's recordHash ${receipt.recordHash} is not the record of this request and output (${expected})`);
    }
    return { model: m, request, inputCommitment, requestHash, recordHash: expected, output: receipt.output, fee, receipt };
  }

  /**
   * Polls the record until its status is at least `until` (posted, or finalized);
   * throws {@link WaitError} on timeout or when its batch is reverted.
   */
  async wait(recordHash: Hash, until: "posted" | "finalized", timeoutMs = 600_000): Promise<Inference> {
    const deadline = Date.now() + timeoutMs;
    let last: Status | undefined;
    for (;;) {
      const found = await this.getInference(recordHash);
      if (found !== null) {
        last = found.status;
        if (found.status === "reverted") throw new WaitError(`the batch of record ${recordHash} was reverted on L1`, last);
        if (STATUS_RANK[found.status] >= STATUS_RANK[until]) return found;
      }
      if (Date.now() >= deadline) {
        throw new WaitError(`timed out after ${timeoutMs} ms waiting for record ${recordHash} to be ${until} (last status: ${last ?? "unknown"})`, last);
      }
      await sleep(this.pollMs);
    }
  }

  // ---- L1 ----

  /** The viem public client of L1 (needs `l1Rpc`). */
  l1(): L1Reader {
    if (this.l1Reader === undefined) {
      if (this.options.l1Rpc === undefined) throw new ConfigError("this needs an L1 endpoint: set `l1Rpc` on the client");
      this.l1Reader = createPublicClient({ transport: http(this.options.l1Rpc), pollingInterval: this.pollMs }) as L1Reader;
    }
    return this.l1Reader;
  }

  private async rollupAddress(): Promise<{ rollup: Address; pinned: boolean }> {
    if (this.options.rollup !== undefined) return { rollup: this.options.rollup, pinned: true };
    return { rollup: (await this.chainInfo()).rollup, pinned: false };
  }

  private async bridgeAddress(): Promise<Address> {
    return this.options.bridge ?? (await this.chainInfo()).bridge;
  }

  private async requireCode(address: Address, what: string): Promise<void> {
    const code = await this.l1().getCode({ address });
    if (code === undefined || code === "0x") {
      throw new ConfigError(`there is no ${what} contract at ${address} on L1 (chain ${await this.l1().getChainId()})`);
    }
  }

  /**
   * Is this answer backed by L1? Fetches the record and proof from the L2 endpoint and
   * checks everything against the Rollup on L1 (see `checkRecord`). Throws only when L1
   * cannot be read; a lying endpoint gives `verified: false` with the reason.
   */
  async verify(recordHash: Hash): Promise<VerifyResult> {
    const { rollup, pinned } = await this.rollupAddress();
    await this.requireCode(rollup, "Rollup");
    const inference = await this.getInference(recordHash);
    const verdict = await checkRecord(inference, recordHash, this.l1(), rollup);
    return { recordHash, verified: isVerified(verdict), verdict, inference, rollup, rollupPinned: pinned };
  }

  private async wallet(account: LocalAccount) {
    const l1 = this.l1();
    const id = await l1.getChainId();
    const chain = defineChain({
      id,
      name: `L1 ${id}`,
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [this.options.l1Rpc!] } },
    });
    return createWalletClient({ account, chain, transport: http(this.options.l1Rpc) });
  }

  /**
   * Deposits `amountWei` from the signer's L1 account to an L2 account (default: the
   * signer's own) through the Bridge; with `waitForCredit`, returns once the sequencer has
   * credited it on L2.
   */
  async deposit(
    amountWei: bigint,
    options: { to?: Address; account?: Signer; waitForCredit?: boolean; timeoutMs?: number } = {},
  ): Promise<DepositResult> {
    if (amountWei < 1n || amountWei > MAX_U128) throw new RangeError(`a deposit is 1 to 2^128 - 1 wei, got ${amountWei}`);
    const signer = this.signer(options.account);
    const recipient = (options.to ?? signer.address) as Address;
    const bridge = await this.bridgeAddress();
    await this.requireCode(bridge, "Bridge");
    const before = options.waitForCredit ? fromQuantity((await this.account(recipient)).balance, "balance") : 0n;
    const wallet = await this.wallet(signer);
    const tx = await wallet.writeContract({ address: bridge, abi: BRIDGE_ABI, functionName: "deposit", args: [recipient], value: amountWei });
    const receipt = await this.l1().waitForTransactionReceipt({ hash: tx, pollingInterval: this.pollMs });
    if (receipt.status !== "success") throw new VerdictError(`the deposit transaction ${tx} reverted`);
    const [queued] = parseEventLogs({ abi: BRIDGE_ABI, logs: receipt.logs, eventName: "DepositQueued" });
    if (queued === undefined) throw new VerdictResponseError(`the deposit transaction ${tx} queued no deposit`);
    const result: DepositResult = {
      index: queued.args.index,
      l1Block: queued.args.l1Block,
      l1Transaction: tx,
      recipient,
      amount: amountWei,
    };
    if (options.waitForCredit) {
      const deadline = Date.now() + (options.timeoutMs ?? 300_000);
      for (;;) {
        const balance = fromQuantity((await this.account(recipient)).balance, "balance");
        if (balance >= before + amountWei) {
          result.l2Balance = balance;
          break;
        }
        if (Date.now() >= deadline) throw new WaitError(`timed out waiting for deposit ${result.index} to be credited on L2`);
        await sleep(this.pollMs);
      }
    }
    return result;
  }

  /**
   * Withdraws `amountWei` from the signer's L2 balance to `recipient` on L1 (default: the
   * signer's own address): signs the EIP-712 withdrawal and sends it. The L1 payout
   * follows once its batch is final (`claimWithdrawal`).
   */
  async withdraw(amountWei: bigint, recipient?: Address, options: { account?: Signer; nonce?: bigint } = {}): Promise<WithdrawalReceipt> {
    const signer = this.signer(options.account);
    const to = (recipient ?? signer.address) as Address;
    const [domain, state] = await Promise.all([this.domain(), this.account(signer.address)]);
    const nonce = options.nonce ?? fromQuantity(state.nonce, "nonce");
    const signed = await signWithdrawal(signer, { sender: signer.address, nonce, recipient: to, amount: amountWei }, domain);
    const receipt = await this.sendWithdrawal(signed);
    const leaf = withdrawalLeaf({ sender: signer.address, nonce, recipient: to, amount: amountWei });
    if (!sameHex(receipt.withdrawalHash, leaf)) {
      throw new VerdictResponseError(`the receipt's withdrawalHash ${receipt.withdrawalHash} is not this withdrawal's leaf (${leaf})`);
    }
    return receipt;
  }

  /** Where a withdrawal stands, everything the L2 endpoint says checked against L1. */
  async withdrawalStatus(withdrawalHash: Hash): Promise<CheckedWithdrawal> {
    const { rollup } = await this.rollupAddress();
    const bridge = await this.bridgeAddress();
    const found = await this.getWithdrawal(withdrawalHash);
    return checkWithdrawal(found, withdrawalHash, this.l1(), rollup, bridge);
  }

  /**
   * Claims a withdrawal on L1 once its batch is final: submits its inclusion proof to
   * `Bridge.finalizeWithdrawal`, which pays the recipient once. With `wait`, waits for
   * finality first; otherwise a withdrawal that is not ready is an error.
   */
  async claimWithdrawal(withdrawalHash: Hash, options: { wait?: boolean; timeoutMs?: number; account?: Signer } = {}): Promise<ClaimResult> {
    const signer = this.signer(options.account);
    const deadline = Date.now() + (options.timeoutMs ?? 600_000);
    let checked: CheckedWithdrawal;
    for (;;) {
      checked = await this.withdrawalStatus(withdrawalHash);
      const s = checked.state.status;
      if (s === "ready_to_claim") break;
      if (s === "claimed") throw new VerdictError(`withdrawal ${withdrawalHash} was already claimed`);
      const waitable = s === "waiting_for_batch" || s === "in_dispute_window";
      if (!waitable || !options.wait) throw new WaitError(`cannot claim withdrawal ${withdrawalHash} yet: ${JSON.stringify(checked.state)}`, s);
      if (Date.now() >= deadline) throw new WaitError(`timed out waiting for withdrawal ${withdrawalHash} to be final`, s);
      await sleep(this.pollMs);
    }
    const { batch, inclusion } = checked.claim!;
    const w = checked.withdrawal!;
    const bridge = await this.bridgeAddress();
    const wallet = await this.wallet(signer);
    const tx = await wallet.writeContract({
      address: bridge,
      abi: BRIDGE_ABI,
      functionName: "finalizeWithdrawal",
      args: [
        batch,
        {
          proof: inclusion.proof,
          index: fromQuantity(inclusion.index, "index"),
          blockHeader: headerHex(inclusion.block),
          laterHeaders: inclusion.laterHeaders.map(headerHex),
        },
        w.sender,
        fromQuantity(w.nonce, "nonce"),
        w.recipient,
        fromQuantity(w.amount, "amount"),
      ],
    });
    const receipt = await this.l1().waitForTransactionReceipt({ hash: tx, pollingInterval: this.pollMs });
    if (receipt.status !== "success") throw new VerdictError(`the claim transaction ${tx} reverted`);
    const [paid] = parseEventLogs({ abi: BRIDGE_ABI, logs: receipt.logs, eventName: "WithdrawalFinalized" });
    if (paid === undefined) throw new VerdictResponseError(`the claim transaction ${tx} paid nothing`);
    return { withdrawalHash, recipient: paid.args.recipient, amount: paid.args.amount, l1Transaction: tx };
  }
}
