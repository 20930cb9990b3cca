/**
 * Against a live devnet, when one is named (skipped otherwise):
 *
 *   VERDICT_DEVNET_RPC=http://127.0.0.1:PORT VERDICT_DEVNET_L1_RPC=http://127.0.0.1:PORT \
 *   [VERDICT_DEVNET_KEY=0x…] [VERDICT_BIN=target/release/verdict] npm test
 *
 * The node's own quantization, digest and typed data (verdict_prepareInference) equal
 * the client's for every demo model; inferences sent locally and via prepare come back
 * with `verdict model run`'s output (with VERDICT_BIN), get posted, finalized and
 * verified against L1; a deposit is credited, a withdrawal is paid out on L1.
 */

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, it } from "node:test";
import { privateKeyToAccount } from "viem/accounts";
import { checkPrepared, commitment, fromQuantity, quantize, sameTensor, VerdictClient, type Hex } from "../dist/index.js";
import { REPO_ROOT } from "./helpers.js";

const rpc = process.env.VERDICT_DEVNET_RPC;
const l1Rpc = process.env.VERDICT_DEVNET_L1_RPC;
// Dev account 5 of the devnet (a public test key) unless told otherwise.
const key = (process.env.VERDICT_DEVNET_KEY ?? "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba") as Hex;
const bin = process.env.VERDICT_BIN;

const DEMOS: Array<[string, string, string]> = [
  ["digits-mlp", "models/digits/digits-mlp.vdm", "examples/inputs/test-row-0.json"],
  ["digits-cnn", "models/digits/digits-cnn.vdm", "examples/inputs/test-row-1.json"],
  ["diabetes-ridge", "models/sklearn/diabetes-ridge.vdm", "examples/inputs/diabetes-row-0.json"],
  ["breast-cancer-gbt", "models/sklearn/breast-cancer-gbt.vdm", "examples/inputs/breast-cancer-row-0.json"],
  ["co2-tcn", "models/timeseries/co2-tcn.vdm", "examples/inputs/co2-window-0.json"],
];

const features = (path: string): number[] => JSON.parse(readFileSync(resolve(REPO_ROOT, path), "utf8"));

function modelRun(vdm: string, input: string): unknown {
  const out = execFileSync(bin!, ["model", "run", resolve(REPO_ROOT, vdm), "--input", resolve(REPO_ROOT, input), "--json"], { encoding: "utf8" });
  return (JSON.parse(out) as { output: unknown }).output;
}

if (rpc === undefined || l1Rpc === undefined) {
  it("devnet", { skip: "set VERDICT_DEVNET_RPC and VERDICT_DEVNET_L1_RPC to run against a devnet" }, () => {});
} else {
  describe("devnet", { timeout: 300_000 }, () => {
    const account = privateKeyToAccount(key);
    const client = new VerdictClient({ rpc, l1Rpc, account });
    const served = async (name: string) => (await client.getModel(name)) !== null;

    for (const [name, , input] of DEMOS) {
      it(`${name}: the node's quantization, commitment, digest and typed data are the client's`, async (t) => {
        if (!(await served(name))) return t.skip(`the devnet serves no ${name}`);
        const model = await client.model(name);
        const x = features(input);
        const prepared = await client.prepareInference(name, account.address, x);
        const mine = quantize(model, x);
        assert.ok(sameTensor(mine, prepared.request.input), "quantization");
        assert.equal(commitment(mine), prepared.inputCommitment);
        checkPrepared(prepared, { domain: await client.domain(), sender: account.address, modelId: model.id, input: mine });
      });
    }

    for (const viaPrepare of [false, true]) {
      for (const [name, vdm, input] of DEMOS) {
        it(`${name}${viaPrepare ? " via prepare" : ""}: the answer is the model's`, async (t) => {
          if (!(await served(name))) return t.skip(`the devnet serves no ${name}`);
          const r = await client.infer(name, features(input), undefined, { viaPrepare });
          if (bin !== undefined) assert.deepEqual(r.output, modelRun(vdm, input));
          assert.equal(r.fee, fromQuantity(r.model.feePerInference));
        });
      }
    }

    it("posted, then finalized, verified against L1 both times", async () => {
      const r = await client.infer("digits-mlp", features("examples/inputs/test-row-2.json"));
      await client.wait(r.recordHash, "posted", 120_000);
      const posted = await client.verify(r.recordHash);
      assert.ok(posted.verified, JSON.stringify(posted.verdict));
      assert.ok(["pending", "final"].includes(posted.verdict.status));
      await client.wait(r.recordHash, "finalized", 240_000);
      const final = await client.verify(r.recordHash);
      assert.deepEqual(final.verdict.status, "final");
      const pinned = new VerdictClient({ rpc, l1Rpc, rollup: final.rollup });
      assert.ok((await pinned.verify(r.recordHash)).rollupPinned);
      const unknown = await client.verify(`0x${"00".repeat(32)}`);
      assert.equal(unknown.verified, false);
    });

    it("deposit, withdraw, claim on L1", async () => {
      const d = await client.deposit(10n ** 15n, { waitForCredit: true, timeoutMs: 120_000 });
      assert.ok(d.l2Balance !== undefined && d.l2Balance >= 10n ** 15n);
      const w = await client.withdraw(5n * 10n ** 14n);
      const paid = await client.claimWithdrawal(w.withdrawalHash, { wait: true, timeoutMs: 240_000 });
      assert.equal(paid.amount, 5n * 10n ** 14n);
      assert.equal(paid.recipient.toLowerCase(), account.address.toLowerCase());
      assert.equal((await client.withdrawalStatus(w.withdrawalHash)).state.status, "claimed");
    });
  });
}
