#!/usr/bin/env node
/**
 * `verdict-client`: the library from a shell, for scripts and for the Rust integration
 * tests that check this client against a live devnet.
 *
 *   verdict-client infer --rpc URL [--l1-rpc URL] --model NAME_OR_ID --features FILE.json
 *                  --key 0xKEY [--wait answer|posted|finalized] [--via-prepare] [--verify] [--json]
 *   verdict-client verify RECORD_HASH --rpc URL --l1-rpc URL [--rollup ADDR] [--json]
 *   verdict-client deposit --amount ETH --key 0xKEY --rpc URL --l1-rpc URL [--to ADDR] [--wait] [--json]
 *   verdict-client withdraw --amount ETH --key 0xKEY --rpc URL [--to ADDR] [--json]
 *   verdict-client withdrawal-status HASH --rpc URL --l1-rpc URL [--json]
 *   verdict-client claim HASH --key 0xKEY --rpc URL --l1-rpc URL [--wait] [--json]
 *   verdict-client models --rpc URL [--json]
 *
 * With --json each command prints one JSON object on stdout (integers above 2^53 as
 * decimal strings); a failure prints {"error": {...}} there too, and the message on
 * stderr. Exit status: 0 done, 1 failed (or, with --verify / verify, not verified),
 * 2 bad usage.
 */

import { readFileSync } from "node:fs";
import { formatEther, parseEther } from "viem";
import { VerdictClient, type InferResult } from "./client.js";
import { VerdictError, VerdictRpcError, VerdictTransportError, WaitError } from "./errors.js";
import type { Hex } from "./hex.js";
import type { Tensor } from "./tensors.js";
import type { Address, Hash, Inference } from "./types.js";

class UsageError extends Error {}

type Flags = Record<string, string | boolean>;

/** Flags that take no value. */
const BOOLEAN_FLAGS = new Set(["via-prepare", "verify", "json", "help", "no-wait"]);

const HELP = `verdict-client: send and verify Verdict inferences from a shell

  verdict-client infer --rpc URL [--l1-rpc URL] --model NAME_OR_ID --features FILE.json --key 0xKEY
                 [--wait answer|posted|finalized] [--via-prepare] [--verify] [--max-fee WEI]
                 [--rollup ADDRESS] [--timeout SECONDS] [--json]
      FILE.json is a JSON array of float features in the model's input order (or - for stdin);
      they are quantized with the model's input quantization (verdict_getModel). --via-prepare
      lets the node prepare the typed data (verdict_prepareInference) and checks it before
      signing. --verify checks the answer against L1 (it waits for the batch to be posted first).
  verdict-client verify RECORD_HASH --rpc URL --l1-rpc URL [--rollup ADDRESS] [--json]
  verdict-client deposit --amount ETH --key 0xKEY --rpc URL --l1-rpc URL [--to L2_ADDRESS] [--wait] [--json]
  verdict-client withdraw --amount ETH --key 0xKEY --rpc URL [--to L1_ADDRESS] [--json]
  verdict-client withdrawal-status WITHDRAWAL_HASH --rpc URL --l1-rpc URL [--json]
  verdict-client claim WITHDRAWAL_HASH --key 0xKEY --rpc URL --l1-rpc URL [--wait] [--json]
  verdict-client models --rpc URL [--json]

Defaults: --rpc http://127.0.0.1:8645, --l1-rpc http://127.0.0.1:8545, --timeout 600.
Exit status: 0 done, 1 failed or not verified, 2 bad usage.
`;

function parseArgs(argv: string[]): { command: string | undefined; positional: string[]; flags: Flags } {
  const flags: Flags = {};
  const positional: string[] = [];
  let command: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      if (BOOLEAN_FLAGS.has(name) || (name === "wait" && eq === -1 && !waitValue(argv[i + 1]))) {
        if (eq !== -1) throw new UsageError(`--${name} takes no value`);
        flags[name] = true;
        continue;
      }
      const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      flags[name] = value;
    } else if (command === undefined) {
      command = arg;
    } else {
      positional.push(arg);
    }
  }
  return { command, positional, flags };
}

function waitValue(v: string | undefined): boolean {
  return v === "answer" || v === "posted" || v === "finalized" || v === "final";
}

function str(flags: Flags, name: string, fallback?: string): string {
  const v = flags[name];
  if (typeof v === "string") return v;
  if (fallback !== undefined) return fallback;
  throw new UsageError(`--${name} is required`);
}

function optional(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  return typeof v === "string" ? v : undefined;
}

function hexArg(value: string, bytes: number, what: string): Hex {
  if (!new RegExp(`^0x[0-9a-fA-F]{${2 * bytes}}$`).test(value)) throw new UsageError(`${what} must be 0x and ${2 * bytes} hex digits`);
  return value as Hex;
}

function known(flags: Flags, names: string[]): void {
  for (const k of Object.keys(flags)) {
    if (!names.includes(k) && k !== "help") throw new UsageError(`unknown option --${k}`);
  }
}

function readFeatures(path: string): number[] | Tensor {
  let text: string;
  try {
    text = readFileSync(path === "-" ? 0 : path, "utf8");
  } catch (e) {
    throw new VerdictError(`reading ${path}: ${(e as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new VerdictError(`${path} is not JSON: ${(e as Error).message}`);
  }
  if (Array.isArray(value)) {
    value.forEach((x, i) => {
      if (typeof x !== "number") throw new VerdictError(`${path}: feature ${i} is ${JSON.stringify(x)}, not a number`);
    });
    return value as number[];
  }
  if (value !== null && typeof value === "object" && "dtype" in value) return value as Tensor;
  throw new VerdictError(`${path} must hold a JSON array of float features`);
}

function amountWei(flags: Flags): bigint {
  const wei = optional(flags, "amount-wei");
  const eth = optional(flags, "amount");
  if ((wei === undefined) === (eth === undefined)) throw new UsageError("give the amount as --amount ETH or --amount-wei WEI");
  let value: bigint;
  try {
    value = wei !== undefined ? BigInt(wei) : parseEther(eth!);
  } catch {
    throw new UsageError(`the amount ${wei ?? eth} is not a number`);
  }
  if (value <= 0n) throw new UsageError("the amount must be more than 0");
  return value;
}

/** JSON with bigints as decimal strings. */
function json(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2);
}

/** A classifier's class: the single label, or the index of the largest score (first on ties). */
function classOf(output: Tensor): number | null {
  if (output.data.length === 1) return output.data[0]!;
  if (output.data.length === 0) return null;
  let best = 0;
  output.data.forEach((v, i) => {
    if (v > output.data[best]!) best = i;
  });
  return best;
}

function client(flags: Flags, needsL1: boolean): VerdictClient {
  const rollup = optional(flags, "rollup");
  const bridge = optional(flags, "bridge");
  const l1Rpc = needsL1 || flags["l1-rpc"] !== undefined ? str(flags, "l1-rpc", "http://127.0.0.1:8545") : undefined;
  return new VerdictClient({
    rpc: str(flags, "rpc", "http://127.0.0.1:8645"),
    ...(l1Rpc !== undefined ? { l1Rpc } : {}),
    ...(rollup !== undefined ? { rollup: hexArg(rollup, 20, "--rollup") } : {}),
    ...(bridge !== undefined ? { bridge: hexArg(bridge, 20, "--bridge") } : {}),
    ...(flags.key !== undefined ? { account: hexArg(str(flags, "key"), 32, "--key") } : {}),
  });
}

function timeoutMs(flags: Flags): number {
  const s = Number(str(flags, "timeout", "600"));
  if (!Number.isFinite(s) || s <= 0) throw new UsageError("--timeout must be a positive number of seconds");
  return s * 1000;
}

const out = (line: string) => process.stdout.write(`${line}\n`);

async function infer(flags: Flags): Promise<number> {
  known(flags, ["rpc", "l1-rpc", "model", "features", "input", "key", "wait", "via-prepare", "verify", "max-fee", "rollup", "timeout", "json"]);
  const asJson = flags.json === true;
  const verify = flags.verify === true;
  const waitFlag = flags.wait === true ? "posted" : str(flags, "wait", "answer");
  const wait = waitFlag === "final" ? "finalized" : waitFlag;
  if (wait !== "answer" && wait !== "posted" && wait !== "finalized") throw new UsageError("--wait is answer, posted or finalized");
  const model = str(flags, "model");
  const featuresPath = optional(flags, "features") ?? optional(flags, "input");
  if (featuresPath === undefined) throw new UsageError("--features is required");
  if (flags.key === undefined) throw new UsageError("--key is required");
  const maxFeeText = optional(flags, "max-fee");
  let maxFee: bigint | undefined;
  if (maxFeeText !== undefined) {
    try {
      maxFee = BigInt(maxFeeText);
    } catch {
      throw new UsageError("--max-fee is an integer number of wei");
    }
  }
  const timeout = timeoutMs(flags);
  const features = readFeatures(featuresPath);
  const c = client(flags, verify);
  const started = Date.now();
  const result: InferResult = await c.infer(model, features, undefined, {
    viaPrepare: flags["via-prepare"] === true,
    ...(maxFee !== undefined ? { maxFee } : {}),
  });
  const answeredMs = Date.now() - started;
  if (!asJson) {
    out(`output       ${result.output.dtype}[${result.output.shape.join("x")}] [${result.output.data.join(", ")}]`);
    out(`record       ${result.recordHash}`);
    out(`request      ${result.requestHash}`);
    out(`fee          ${result.fee} wei`);
  }
  // --verify needs the batch on L1, so it waits at least for posted.
  const until = wait === "answer" && verify ? "posted" : wait;
  let found: Inference | null;
  if (until === "answer") {
    found = await c.getInference(result.recordHash);
  } else {
    if (!asJson) out(`status       pending, waiting for ${until}`);
    found = await c.wait(result.recordHash, until, timeout);
  }
  const waitedMs = Date.now() - started;
  const status = found?.status ?? "pending";
  if (!asJson) out(`status       ${status}${found?.batchIndex ? ` (batch ${BigInt(found.batchIndex)})` : ""}`);
  let verified: Awaited<ReturnType<VerdictClient["verify"]>> | undefined;
  if (verify) {
    verified = await c.verify(result.recordHash);
    if (!asJson) out(`verified     ${verified.verified ? "yes" : "NO"}: ${json(verified.verdict).replace(/\s+/g, " ")}`);
  }
  const m = result.model;
  const value = m.task === "regression" ? result.output.data.map((v) => v * Math.fround(m.outputScale)) : null;
  if (asJson) {
    out(
      json({
        output: result.output,
        record_hash: result.recordHash,
        request_hash: result.requestHash,
        input_commitment: result.inputCommitment,
        input: result.request.input,
        status,
        fee: result.fee.toString(),
        model: m.name,
        model_id: m.id,
        task: m.task,
        class: m.task === "classification" ? classOf(result.output) : null,
        value,
        sender: result.request.sender,
        nonce: BigInt(result.request.nonce).toString(),
        block: Number(BigInt(result.receipt.blockNumber)),
        index: Number(BigInt(result.receipt.index)),
        batch: found?.batchIndex ? Number(BigInt(found.batchIndex)) : null,
        via_prepare: flags["via-prepare"] === true,
        answer_ms: answeredMs,
        wait_ms: waitedMs,
        ...(verified !== undefined
          ? { verified: verified.verified, verdict: verified.verdict, rollup: verified.rollup, rollup_pinned: verified.rollupPinned }
          : {}),
      }),
    );
  }
  return verified === undefined || verified.verified ? 0 : 1;
}

async function verifyCommand(positional: string[], flags: Flags): Promise<number> {
  known(flags, ["rpc", "l1-rpc", "rollup", "json"]);
  const hash = hexArg(positional[0] ?? "", 32, "the record hash") as Hash;
  const c = client(flags, true);
  const r = await c.verify(hash);
  if (flags.json === true) {
    out(json({ recordHash: r.recordHash, verified: r.verified, verdict: r.verdict, rollup: r.rollup, rollupPinned: r.rollupPinned, output: r.inference?.record.output ?? null }));
  } else {
    if (!r.rollupPinned) process.stderr.write(`warning: the Rollup address ${r.rollup} came from the L2 endpoint; pass --rollup to pin it\n`);
    if (r.verified && r.inference) out(`output     ${JSON.stringify(r.inference.record.output)}`);
    const v = r.verdict;
    switch (v.status) {
      case "final":
        out(`VERIFIED: final on L1 (batch ${v.batchIndex} is finalized)`);
        break;
      case "pending":
        out(`VERIFIED, PENDING: in batch ${v.batchIndex} on L1; its dispute window ends at L1 block ${v.windowEnd} (now ${v.l1Block})${v.openDisputes > 0 ? `; ${v.openDisputes} dispute game(s) open` : ""}`);
        break;
      case "reverted":
        out(`NOT VERIFIED: batch ${v.batchIndex}, which held this record, was reverted on L1`);
        break;
      case "not_posted":
        out(`NOT VERIFIED YET: the L2 endpoint puts it in block ${v.block}, which is in no batch on L1 yet`);
        break;
      case "not_verified":
        out(`NOT VERIFIED: ${v.reason}`);
        break;
    }
  }
  return r.verified ? 0 : 1;
}

async function deposit(flags: Flags): Promise<number> {
  known(flags, ["rpc", "l1-rpc", "bridge", "key", "amount", "amount-wei", "to", "wait", "timeout", "json"]);
  if (flags.key === undefined) throw new UsageError("--key is required");
  const amount = amountWei(flags);
  const to = optional(flags, "to");
  const c = client(flags, true);
  const r = await c.deposit(amount, {
    waitForCredit: flags.wait !== undefined,
    timeoutMs: timeoutMs(flags),
    ...(to !== undefined ? { to: hexArg(to, 20, "--to") as Address } : {}),
  });
  if (flags.json === true) out(json(r));
  else {
    out(`deposited  ${formatEther(r.amount)} ETH to L2 account ${r.recipient}`);
    out(`queue      index ${r.index} (L1 block ${r.l1Block}, tx ${r.l1Transaction})`);
    if (r.l2Balance !== undefined) out(`credited   L2 balance is now ${formatEther(r.l2Balance)} ETH`);
  }
  return 0;
}

async function withdraw(flags: Flags): Promise<number> {
  known(flags, ["rpc", "l1-rpc", "key", "amount", "amount-wei", "to", "json"]);
  if (flags.key === undefined) throw new UsageError("--key is required");
  const amount = amountWei(flags);
  const to = optional(flags, "to");
  const c = client(flags, false);
  const r = await c.withdraw(amount, to !== undefined ? (hexArg(to, 20, "--to") as Address) : undefined);
  if (flags.json === true) out(json(r));
  else {
    out(`withdrawal ${formatEther(amount)} ETH`);
    out(`hash       ${r.withdrawalHash}`);
    out(`block      ${BigInt(r.blockNumber)} (index ${BigInt(r.index)})`);
    out(`next       once its batch is final: verdict-client claim ${r.withdrawalHash}`);
  }
  return 0;
}

async function withdrawalStatus(positional: string[], flags: Flags): Promise<number> {
  known(flags, ["rpc", "l1-rpc", "rollup", "bridge", "json"]);
  const hash = hexArg(positional[0] ?? "", 32, "the withdrawal hash") as Hash;
  const r = await client(flags, true).withdrawalStatus(hash);
  if (flags.json === true) out(json({ withdrawalHash: hash, state: r.state, withdrawal: r.withdrawal }));
  else out(`status     ${json(r.state).replace(/\s+/g, " ")}`);
  return 0;
}

async function claim(positional: string[], flags: Flags): Promise<number> {
  known(flags, ["rpc", "l1-rpc", "rollup", "bridge", "key", "wait", "timeout", "json"]);
  const hash = hexArg(positional[0] ?? "", 32, "the withdrawal hash") as Hash;
  if (flags.key === undefined) throw new UsageError("--key is required");
  const r = await client(flags, true).claimWithdrawal(hash, { wait: flags.wait !== undefined, timeoutMs: timeoutMs(flags) });
  if (flags.json === true) out(json(r));
  else out(`claimed    ${formatEther(r.amount)} ETH paid to ${r.recipient} on L1 (tx ${r.l1Transaction})`);
  return 0;
}

async function models(flags: Flags): Promise<number> {
  known(flags, ["rpc", "json"]);
  const list = await client(flags, false).models();
  if (flags.json === true) out(json(list));
  else for (const m of list) out(`${m.name.padEnd(20)} ${m.id}  input ${m.inputDtype}[${m.inputShape.join("x")}]  fee ${BigInt(m.feePerInference)} wei`);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  let asJson = argv.includes("--json");
  try {
    const { command, positional, flags } = parseArgs(argv);
    asJson = flags.json === true;
    if (command === undefined || command === "help" || flags.help === true) {
      process.stdout.write(HELP);
      return command === undefined && flags.help !== true ? 2 : 0;
    }
    switch (command) {
      case "infer":
        return await infer(flags);
      case "verify":
        return await verifyCommand(positional, flags);
      case "deposit":
        return await deposit(flags);
      case "withdraw":
        return await withdraw(flags);
      case "withdrawal-status":
        return await withdrawalStatus(positional, flags);
      case "claim":
        return await claim(positional, flags);
      case "models":
        return await models(flags);
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)} (infer, verify, deposit, withdraw, withdrawal-status, claim, models)`);
    }
  } catch (e) {
    const usage = e instanceof UsageError;
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`verdict-client: ${message}${usage ? "\n(see verdict-client --help)" : ""}\n`);
    if (asJson) {
      const error: Record<string, unknown> = { message, kind: usage ? "usage" : e instanceof Error ? e.name : "Error" };
      if (e instanceof VerdictRpcError) Object.assign(error, { code: e.code, node_message: e.nodeMessage, data: e.data ?? null });
      if (e instanceof VerdictTransportError && e.status !== undefined) error.http_status = e.status;
      if (e instanceof WaitError && e.lastStatus !== undefined) error.last_status = e.lastStatus;
      out(json({ error }));
    }
    return usage ? 2 : 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`verdict-client: ${String(e)}\n`);
    process.exitCode = 1;
  },
);
