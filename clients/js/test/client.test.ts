/**
 * The client against a fake node: typed errors for every way a call fails, the checks on
 * receipts and prepared requests (a lying node is caught before anything is signed or
 * believed), waiting, and the L1 verification logic against a fake L1.
 */

import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { privateKeyToAccount } from "viem/accounts";
import {
  batchHeaderHash,
  blockHash,
  checkRecord,
  commitment,
  ConfigError,
  NotFoundError,
  ProofError,
  proofOfHashes,
  recordHash,
  rootOfHashes,
  RpcClient,
  toQuantity,
  VerdictClient,
  VerdictResponseError,
  VerdictRpcError,
  VerdictTransportError,
  verifyInclusion,
  WaitError,
  type BatchHeader,
  type BlockHeader,
  type Hex,
  type Inference,
  type L1Reader,
  type Tensor,
} from "../dist/index.js";
import { DEV_ADDRESS, DEV_KEY, fakeSequencer, mockNode, ROLLUP, TEST_MODEL, type MockAnswer } from "./helpers.js";

const closers: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of closers) await c();
});

async function node(handlers: Record<string, (p: any[]) => MockAnswer | Promise<MockAnswer>>) {
  const n = await mockNode(handlers);
  closers.push(n.close);
  return n;
}

describe("transport errors", () => {
  it("a JSON-RPC error keeps the node's code, message and data", async () => {
    const n = await node({ verdict_getAccount: () => ({ error: { code: 1007, message: "fee too low", data: { fee: "0x3e8" } } }) });
    const c = new RpcClient(n.url);
    await assert.rejects(c.call("verdict_getAccount", [DEV_ADDRESS]), (e: unknown) => {
      assert.ok(e instanceof VerdictRpcError);
      assert.equal(e.code, 1007);
      assert.equal(e.nodeMessage, "fee too low");
      assert.deepEqual(e.data, { fee: "0x3e8" });
      assert.equal(e.method, "verdict_getAccount");
      assert.ok(e.isPermanent && !e.isRetryable);
      assert.match(e.message, /code 1007/);
      return true;
    });
  });

  it("2xxx and 3xxx are retryable", () => {
    assert.ok(new VerdictRpcError("m", 2001, "balance").isRetryable);
    assert.ok(new VerdictRpcError("m", 3000, "internal").isRetryable);
    assert.ok(!new VerdictRpcError("m", -32602, "params").isPermanent);
  });

  it("an unknown method is -32601", async () => {
    const n = await node({});
    await assert.rejects(new RpcClient(n.url).call("verdict_models"), (e: unknown) => e instanceof VerdictRpcError && e.code === -32601);
  });

  it("a plain-text refusal (HTTP 429) is a transport error with the status", async () => {
    const n = await node({ verdict_models: () => ({ http: { status: 429, body: "Too many connections" } }) });
    await assert.rejects(new RpcClient(n.url).call("verdict_models"), (e: unknown) => {
      assert.ok(e instanceof VerdictTransportError);
      assert.equal(e.status, 429);
      assert.match(e.message, /Too many connections/);
      return true;
    });
  });

  it("a body that is no JSON-RPC answer", async () => {
    const n = await node({ verdict_models: () => ({ http: { status: 200, body: "[1,2]", type: "application/json" } }) });
    await assert.rejects(new RpcClient(n.url).call("verdict_models"), VerdictTransportError);
  });

  it("an unreachable node", async () => {
    const n = await node({});
    await n.close();
    closers.pop();
    await assert.rejects(new RpcClient(n.url).call("verdict_models"), (e: unknown) => e instanceof VerdictTransportError && e.status === undefined);
  });

  it("a node that does not answer in time", async () => {
    const n = await node({ verdict_models: () => new Promise((ok) => setTimeout(() => ok({ result: [] }), 500)) });
    await assert.rejects(new RpcClient({ url: n.url, timeoutMs: 50 }).call("verdict_models"), /no answer within 50 ms/);
  });

  it("a URL that is not http(s)", () => {
    assert.throws(() => new RpcClient("ws://127.0.0.1:1"), VerdictTransportError);
  });
});

describe("infer", () => {
  const features = [0.5, -1, 2, 100];

  it("signs locally, sends, and checks the receipt", async () => {
    const n = await node(fakeSequencer());
    const c = new VerdictClient({ rpc: n.url, account: DEV_KEY });
    const r = await c.infer("toy", features);
    assert.deepEqual(r.request.input, { dtype: "i8", shape: [4], data: [1, -2, 4, 127] });
    assert.deepEqual(r.output, { dtype: "i32", shape: [1], data: [130] });
    assert.equal(r.fee, 1000n);
    assert.equal(r.inputCommitment, commitment(r.request.input));
    assert.equal(r.recordHash, r.receipt.recordHash);
    assert.equal(r.request.nonce, "0x0");
    assert.equal(r.request.maxFee, "0x3e8");
    const again = await c.infer(TEST_MODEL, features, undefined, { maxFee: 5000n });
    assert.equal(again.request.nonce, "0x1");
    assert.equal(again.request.maxFee, "0x1388");
  });

  it("via the node's prepared typed data, checked before signing", async () => {
    const n = await node(fakeSequencer());
    const c = new VerdictClient({ rpc: n.url, account: privateKeyToAccount(DEV_KEY) });
    const r = await c.infer("toy", features, undefined, { viaPrepare: true });
    assert.deepEqual(r.output.data, [130]);
    assert.ok(n.calls.some((x) => x.method === "verdict_prepareInference"));
  });

  for (const [what, lies] of [
    ["another sender", { preparedSender: "0x1111111111111111111111111111111111111111" }],
    ["another input", { preparedInput: { dtype: "i8", shape: [4], data: [1, 1, 1, 1] } as Tensor }],
    ["another domain", { preparedDomainChain: 1 }],
  ] as const) {
    it(`refuses prepared typed data for ${what}, and sends nothing`, async () => {
      const n = await node(fakeSequencer(lies));
      const c = new VerdictClient({ rpc: n.url, account: DEV_KEY });
      await assert.rejects(c.infer("toy", features, undefined, { viaPrepare: true }), VerdictResponseError);
      assert.ok(!n.calls.some((x) => x.method === "verdict_sendInference"));
    });
  }

  for (const [what, lies, pattern] of [
    ["a record hash that is not this request's", { recordHash: true }, /recordHash/],
    ["a request hash that is not the digest signed", { requestHash: true }, /requestHash/],
    ["a fee above maxFee", { fee: 2000n }, /above maxFee/],
  ] as const) {
    it(`refuses a receipt with ${what}`, async () => {
      const n = await node(fakeSequencer(lies));
      const c = new VerdictClient({ rpc: n.url, account: DEV_KEY });
      await assert.rejects(c.infer("toy", features), (e: unknown) => e instanceof VerdictResponseError && pattern.test(e.message));
    });
  }

  it("the node's refusal comes back typed", async () => {
    const n = await node(fakeSequencer({ refuse: { code: 2001, message: "insufficient balance" } }));
    const c = new VerdictClient({ rpc: n.url, account: DEV_KEY });
    await assert.rejects(c.infer("toy", features), (e: unknown) => e instanceof VerdictRpcError && e.code === 2001 && e.isRetryable);
  });

  it("an unknown model, wrong features, no account, a pinned Rollup the node does not serve", async () => {
    const n = await node(fakeSequencer());
    const c = new VerdictClient({ rpc: n.url, account: DEV_KEY });
    await assert.rejects(c.infer("nope", features), NotFoundError);
    await assert.rejects(c.infer("toy", [1, 2]), /expected 4 input features/);
    await assert.rejects(new VerdictClient({ rpc: n.url }).infer("toy", features), ConfigError);
    const pinned = new VerdictClient({ rpc: n.url, account: DEV_KEY, rollup: "0x0000000000000000000000000000000000000001" });
    await assert.rejects(pinned.infer("toy", features), ConfigError);
    await assert.rejects(new VerdictClient({ rpc: n.url }).verify(`0x${"00".repeat(32)}`), ConfigError);
  });
});

describe("wait", () => {
  const inference = (status: string) => ({ record: {}, blockNumber: "0x2", blockHash: null, index: "0x0", status, batchIndex: null, proof: null });

  it("polls until the status is reached", async () => {
    const seq = ["pending", "pending", "posted", "finalized"];
    let i = 0;
    const n = await node({ verdict_getInference: () => ({ result: inference(seq[Math.min(i++, seq.length - 1)]!) }) });
    const c = new VerdictClient({ rpc: n.url, pollIntervalMs: 5 });
    assert.equal((await c.wait(`0x${"11".repeat(32)}`, "posted", 5000)).status, "posted");
    assert.equal((await c.wait(`0x${"11".repeat(32)}`, "finalized", 5000)).status, "finalized");
  });

  it("a reverted batch and a timeout are WaitErrors", async () => {
    const n = await node({ verdict_getInference: ([h]: any[]) => ({ result: h.endsWith("22") ? inference("reverted") : inference("pending") }) });
    const c = new VerdictClient({ rpc: n.url, pollIntervalMs: 5 });
    await assert.rejects(c.wait(`0x${"22".repeat(32)}`, "posted", 1000), (e: unknown) => e instanceof WaitError && e.lastStatus === "reverted");
    await assert.rejects(c.wait(`0x${"33".repeat(32)}`, "posted", 50), (e: unknown) => e instanceof WaitError && /timed out/.test(e.message));
  });
});

// ---- verification against a fake L1 ----

const Z = `0x${"00".repeat(32)}` as Hex;

function header(number: number, parentHash: Hex, recordsRoot: Hex, recordCount: number): Omit<BlockHeader, "hash"> {
  return {
    number: toQuantity(number),
    parentHash,
    timestamp: "0x6650f0a0",
    recordsRoot,
    stateRoot: `0x${"5a".repeat(32)}`,
    depositsConsumed: "0x0",
    withdrawalsRoot: Z,
    recordCount: toQuantity(recordCount),
    withdrawalCount: "0x0",
    l1Origin: "0x20",
  };
}

/** A batch of two blocks, the first holding three records; the answer is record 1. */
function scenario() {
  const output: Tensor = { dtype: "i32", shape: [1, 3], data: [-1022, 4113, 87] };
  const record = {
    requestHash: `0x${"f1".repeat(32)}` as Hex,
    sender: DEV_ADDRESS as Hex,
    nonce: "0x7" as Hex,
    modelId: TEST_MODEL.id,
    inputRoot: `0x${"12".repeat(32)}` as Hex,
    outputRoot: commitment(output),
    output,
    fee: "0x3e8" as Hex,
  };
  const hash = recordHash({ ...record, fee: 1000n });
  const leaves = [`0x${"a1".repeat(32)}`, hash, `0x${"a3".repeat(32)}`].map((h) => Uint8Array.from(Buffer.from(h.slice(2), "hex")));
  const block = header(5, `0x${"9c".repeat(32)}`, rootOfHashes(leaves), 3);
  const next = header(6, blockHash(block), Z, 0);
  const outputRoot = blockHash(next);
  const batch: BatchHeader = {
    index: 2n,
    firstBlock: 5n,
    lastBlock: 6n,
    parentRoot: `0x${"9c".repeat(32)}`,
    outputRoot,
    dataHash: `0x${"da".repeat(32)}`,
    depositsStart: 0n,
    depositsEnd: 0n,
    depositAccumulator: Z,
    l1Block: 40n,
  };
  const inference: Inference = {
    record: { recordHash: hash, ...record },
    blockNumber: "0x5",
    blockHash: blockHash(block),
    index: "0x1",
    status: "posted",
    batchIndex: "0x2",
    proof: {
      recordProof: proofOfHashes(leaves, 1).siblings,
      index: "0x1",
      block: { ...block, hash: blockHash(block) },
      laterHeaders: [{ ...next, hash: outputRoot }],
      outputRoot,
      batchIndex: "0x2",
    },
  };
  return { hash, inference, batch };
}

/** An L1 that holds `posted` headers, `stored` as the current word, `finalized` batches. */
function fakeL1(posted: BatchHeader[], stored: Hex, batchCount: bigint, finalizedCount: bigint): L1Reader {
  const l1 = {
    getContractEvents: async () => posted.map((header) => ({ args: { header } })),
    readContract: async ({ functionName }: { functionName: string }) => {
      switch (functionName) {
        case "batchHashes":
          return stored;
        case "head":
          return [batchCount, finalizedCount, 7n, 0n];
        case "disputeWindow":
          return 10n;
        case "openDisputes":
          return 0n;
        default:
          throw new Error(functionName);
      }
    },
    getBlockNumber: async () => 45n,
  };
  return l1 as unknown as L1Reader;
}

const noL1 = new Proxy({}, { get: () => () => assert.fail("L1 must not be read") }) as L1Reader;

describe("verification", () => {
  it("an honest proof leads to the output root", () => {
    const { hash, inference } = scenario();
    assert.equal(verifyInclusion(hash, inference.proof!), inference.proof!.outputRoot);
  });

  it("pending, final, reverted and never held, as L1 says", async () => {
    const { hash, inference, batch } = scenario();
    const word = batchHeaderHash(batch);
    assert.deepEqual(await checkRecord(inference, hash, fakeL1([batch], word, 3n, 2n), ROLLUP), {
      status: "pending",
      batchIndex: 2,
      windowEnd: 50,
      l1Block: 45,
      openDisputes: 0,
    });
    assert.deepEqual(await checkRecord(inference, hash, fakeL1([batch], word, 3n, 3n), ROLLUP), { status: "final", batchIndex: 2 });
    assert.deepEqual(await checkRecord(inference, hash, fakeL1([batch], `0x${"77".repeat(32)}`, 3n, 0n), ROLLUP), { status: "reverted", batchIndex: 2 });
    const other = { ...batch, outputRoot: `0x${"66".repeat(32)}` as Hex };
    const v = await checkRecord(inference, hash, fakeL1([other], batchHeaderHash(other), 3n, 0n), ROLLUP);
    assert.equal(v.status, "not_verified");
    const elsewhere = { ...batch, firstBlock: 6n };
    const w = await checkRecord(inference, hash, fakeL1([elsewhere], batchHeaderHash(elsewhere), 3n, 0n), ROLLUP);
    assert.ok(w.status === "not_verified" && /not in batch/.test(w.reason));
  });

  it("a lying endpoint is not verified, without asking L1", async () => {
    const { hash, inference } = scenario();
    const lie = (f: (i: Inference) => void) => {
      const copy = structuredClone(inference);
      f(copy);
      return copy;
    };
    const cases: Array<[string, Inference | null, RegExp]> = [
      ["unknown", null, /does not know/],
      ["a record that is not the hash", lie((i) => (i.record.fee = "0x3e9")), /does not hash/],
      ["an output that is not the record's", lie((i) => (i.record.output.data[0] = 0)), /not the output/],
      ["a wrong sibling", lie((i) => (i.proof!.recordProof[0] = Z)), /inclusion proof is false/],
      ["an index beyond the count", lie((i) => (i.proof!.block.recordCount = "0x1")), /inclusion proof is false/],
      ["a broken header chain", lie((i) => (i.proof!.laterHeaders[0]!.parentHash = Z)), /does not follow/],
      ["a wrong output root", lie((i) => (i.proof!.outputRoot = Z)), /not the output root/],
      ["a malformed quantity", lie((i) => (i.proof!.batchIndex = "0x02")), /malformed/],
    ];
    for (const [what, found, reason] of cases) {
      const v = await checkRecord(found, hash, noL1, ROLLUP);
      assert.ok(v.status === "not_verified" && reason.test(v.reason), `${what}: ${JSON.stringify(v)}`);
    }
    const unposted = lie((i) => (i.proof = null));
    assert.deepEqual(await checkRecord(unposted, hash, noL1, ROLLUP), { status: "not_posted", block: 5 });
  });

  it("verifyInclusion throws ProofError", () => {
    const { hash, inference } = scenario();
    assert.throws(() => verifyInclusion(`0x${"01".repeat(32)}`, inference.proof!), ProofError);
    assert.throws(() => verifyInclusion(hash, { ...inference.proof!, index: "0x2" }), ProofError);
  });
});
