/**
 * Where the shared vectors are, and a mock Verdict node for tests that need an
 * endpoint but no devnet.
 */

import { existsSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { recoverTypedDataAddress } from "viem";
import {
  commitment,
  quantize,
  recordHash,
  REQUEST_TYPES,
  requestDigest,
  requestFields,
  requestTypedData,
  signingDomain,
  toQuantity,
  type Model,
  type Tensor,
} from "../dist/index.js";

/** The package root (dist-test/ is one level below it). */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The repository root the package lives in (clients/js is two levels below it). */
export const REPO_ROOT = resolve(PACKAGE_ROOT, "../..");

/** specs/vectors, or VERDICT_VECTORS when set. */
export const VECTORS = process.env.VERDICT_VECTORS ?? resolve(PACKAGE_ROOT, "../../specs/vectors");

/**
 * Reads a vector file. Integers of 16 digits or more (u64 extremes) become strings, so
 * that `BigInt(value)` reads them exactly instead of as the nearest double.
 */
export function vector<T = any>(name: string): T {
  const text = readFileSync(resolve(VECTORS, name), "utf8");
  return JSON.parse(text.replace(/([:[,]\s*)(-?\d{16,})(?=\s*[,\]}])/g, '$1"$2"')) as T;
}

/** Whether a vector file exists. */
export function hasVector(name: string): boolean {
  return existsSync(resolve(VECTORS, name));
}

/** A file of the repository (specs/openrpc.json, node/l1/artifacts/…). */
export function repoFile<T = any>(path: string): T {
  return JSON.parse(readFileSync(resolve(REPO_ROOT, path), "utf8")) as T;
}

/** What a mock method answers: a result, or an error object, or an HTTP reply of its own. */
export type MockAnswer =
  | { result: unknown }
  | { error: { code: number; message: string; data?: unknown } }
  | { http: { status: number; body: string; type?: string } };

/** A JSON-RPC node answering from `handlers`; unknown methods get -32601. */
export async function mockNode(
  handlers: Record<string, (params: any[]) => MockAnswer | Promise<MockAnswer>>,
): Promise<{ url: string; calls: Array<{ method: string; params: any[] }>; close: () => Promise<void> }> {
  const calls: Array<{ method: string; params: any[] }> = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", async () => {
      let call: { id: number; method: string; params: any[] };
      try {
        call = JSON.parse(body);
      } catch {
        res.writeHead(400, { "content-type": "text/plain" }).end("Parse error");
        return;
      }
      calls.push({ method: call.method, params: call.params });
      const handler = handlers[call.method];
      const answer: MockAnswer = handler
        ? await handler(call.params)
        : { error: { code: -32601, message: "Method not found" } };
      if ("http" in answer) {
        res.writeHead(answer.http.status, { "content-type": answer.http.type ?? "text/plain" }).end(answer.http.body);
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ jsonrpc: "2.0", id: call.id, ...answer }));
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

// ---- a fake sequencer, honest unless told to lie ----


export const ROLLUP = "0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0" as const;
export const DEV_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d" as const;
export const DEV_ADDRESS = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8" as const;

export const TEST_MODEL: Model = {
  id: `0x${"ab".repeat(32)}`,
  name: "toy",
  graphHash: `0x${"01".repeat(32)}`,
  weightsRoot: `0x${"02".repeat(32)}`,
  opCount: "0x1",
  inputShape: [4],
  inputDtype: "i8",
  outputShape: [1],
  outputDtype: "i32",
  task: "classification",
  outputScale: 0,
  inputScale: 0.5,
  featureCount: 4,
  inputFeatures: null,
  feePerInference: "0x3e8",
};

/** Ways the fake sequencer lies. */
export interface Lies {
  recordHash?: boolean;
  requestHash?: boolean;
  fee?: bigint;
  preparedSender?: string;
  preparedInput?: Tensor;
  preparedDomainChain?: number;
  unknownModel?: boolean;
  refuse?: { code: number; message: string; data?: unknown };
}

/** A fake sequencer: runs "sum of the inputs" and answers as the real node would. */
export function fakeSequencer(lies: Lies = {}) {
  const domain = signingDomain(31337, ROLLUP);
  const model = TEST_MODEL;
  let nonce = 0n;
  const records = new Map<string, unknown>();
  return {
    verdict_getInference: ([hash]: any[]) => ({ result: records.get(hash) ?? null }),
    verdict_chainInfo: () => ({
      result: {
        l1ChainId: "0x7a69",
        rollup: ROLLUP,
        bridge: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
        modelRegistry: "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",
        sequencer: "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
        disputeWindow: "0xa",
        genesisHash: `0x${"dd".repeat(32)}`,
        maxBlockRecords: "0x400",
      },
    }),
    verdict_getModel: ([name]: any[]) => ({ result: lies.unknownModel || (name !== model.name && name !== model.id) ? null : model }),
    verdict_getAccount: () => ({ result: { balance: "0xde0b6b3a7640000", nonce: toQuantity(nonce) } }),
    verdict_prepareInference: ([, sender, features, n, maxFee]: any[]) => {
      const input = lies.preparedInput ?? quantize(model, features);
      const request = {
        sender: (lies.preparedSender ?? sender).toLowerCase(),
        nonce: n ?? toQuantity(nonce),
        modelId: model.id,
        input,
        maxFee: maxFee ?? model.feePerInference,
      };
      const d = lies.preparedDomainChain ? signingDomain(lies.preparedDomainChain, ROLLUP) : domain;
      const fields = requestFields(request);
      return {
        result: { request, inputCommitment: commitment(input), requestHash: requestDigest(fields, d), typedData: requestTypedData(fields, d) },
      };
    },
    verdict_sendInference: async ([req]: any[]) => {
      if (lies.refuse) return { error: lies.refuse };
      const fields = requestFields(req);
      const signer = await recoverTypedDataAddress({ domain: { ...domain }, types: REQUEST_TYPES, primaryType: "InferenceRequest", message: fields as any, signature: req.signature });
      if (signer.toLowerCase() !== req.sender.toLowerCase()) return { error: { code: 1001, message: "invalid signature" } };
      nonce++;
      const output: Tensor = { dtype: "i32", shape: [1], data: [req.input.data.reduce((a: number, b: number) => a + b, 0)] };
      const requestHash = lies.requestHash ? (`0x${"ee".repeat(32)}` as const) : requestDigest(fields, domain);
      const fee = lies.fee ?? 1000n;
      const hash = recordHash({ requestHash, sender: req.sender, modelId: req.modelId, inputRoot: commitment(req.input), outputRoot: commitment(output), fee });
      records.set(hash, {
        record: { recordHash: hash, requestHash, sender: req.sender, nonce: req.nonce, modelId: req.modelId, inputRoot: commitment(req.input), outputRoot: commitment(output), output, fee: toQuantity(fee) },
        blockNumber: "0x2",
        blockHash: null,
        index: "0x0",
        status: "pending",
        batchIndex: null,
        proof: null,
      });
      return {
        result: {
          recordHash: lies.recordHash ? `0x${"ff".repeat(32)}` : hash,
          requestHash,
          output,
          blockNumber: "0x2",
          index: "0x0",
          fee: toQuantity(fee),
        },
      };
    },
  } satisfies Record<string, (params: any[]) => MockAnswer | Promise<MockAnswer>>;
}
