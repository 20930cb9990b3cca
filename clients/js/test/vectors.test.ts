/**
 * The shared vectors of specs/vectors (tensors, Merkle trees, batch headers, the L2
 * blocks of state.json): this client computes every digest the Rust and Solidity
 * implementations compute, byte for byte.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { recoverTypedDataAddress } from "viem";
import {
  batchHeaderBytes,
  batchHeaderHash,
  blockHash,
  blockHeaderBytes,
  bytesToHex,
  chunks,
  commitment,
  dataRoot,
  elementBytes,
  encodeTensor,
  genesisHash,
  hexToBytes,
  leafHash,
  merkleProof,
  merkleRoot,
  recordHash,
  REQUEST_TYPES,
  requestDigest,
  rootOfHashes,
  signingDomain,
  toQuantity,
  verifyProof,
  withdrawalLeaf,
  WITHDRAWAL_TYPES,
  type BlockHeader,
  type Hex,
  type Tensor,
} from "../dist/index.js";
import { vector } from "./helpers.js";

describe("tensors.json", () => {
  const cases = vector<any[]>("tensors.json");
  it("has cases", () => assert.ok(cases.length >= 10));
  for (const c of cases) {
    const t = c.tensor as Tensor;
    const name = `${t.dtype}[${t.shape.join("x")}]`;
    it(`${name}: element bytes, data root and commitment`, () => {
      assert.equal(bytesToHex(elementBytes(t)), c.element_bytes);
      assert.equal(dataRoot(t), c.data_root);
      assert.equal(commitment(t), c.commitment);
    });
    it(`${name}: element and row openings prove against the data root`, () => {
      const leaves = chunks(elementBytes(t));
      for (const o of c.element_openings) {
        assert.equal(o.data_root, c.data_root);
        assert.equal(t.data[o.index], o.value);
        const size = t.dtype === "i8" ? 1 : 4;
        assert.equal(o.proof.index, Math.floor((o.index * size) / 32));
        assert.equal(bytesToHex(leaves[o.proof.index]!), o.chunk);
        assert.ok(verifyProof(leafHash(hexToBytes(o.chunk)), o.proof.index, o.proof.siblings, c.data_root));
        assert.deepEqual(merkleProof(leaves, o.proof.index), o.proof);
      }
      const row = c.row_opening;
      for (const ch of row.chunks) {
        assert.ok(verifyProof(leafHash(hexToBytes(ch.chunk)), ch.proof.index, ch.proof.siblings, row.data_root));
      }
      assert.deepEqual(t.data.slice(row.start, row.start + row.values.length), row.values);
    });
    it(`${name}: canonical encoding is header then element bytes`, () => {
      const enc = encodeTensor(t);
      assert.equal(enc[0], t.dtype === "i8" ? 0 : 1);
      assert.equal(enc[1], t.shape.length);
      assert.equal(bytesToHex(enc.subarray(2 + 4 * t.shape.length)), c.element_bytes);
    });
  }
  it("the worked example of specs/tensor.md", () => {
    const t: Tensor = { dtype: "i8", shape: [1], data: [127] };
    assert.ok(dataRoot(t).startsWith("0xcb408d03"));
    assert.ok(commitment(t).startsWith("0xf7bc8e58"));
  });
  it("the shape binds the commitment but not the data root", () => {
    const a: Tensor = { dtype: "i8", shape: [2, 3], data: [1, 2, 3, 4, 5, 6] };
    const b: Tensor = { dtype: "i8", shape: [3, 2], data: [1, 2, 3, 4, 5, 6] };
    assert.equal(dataRoot(a), dataRoot(b));
    assert.notEqual(commitment(a), commitment(b));
  });
});

describe("merkle.json", () => {
  const cases = vector<any[]>("merkle.json");
  it("has cases", () => assert.ok(cases.length >= 9));
  for (const c of cases) {
    it(`${c.leaves.length} leaves: root and every proof`, () => {
      const leaves = (c.leaves as Hex[]).map((l) => hexToBytes(l));
      assert.equal(merkleRoot(leaves), c.root);
      c.proofs.forEach((p: { index: number; siblings: Hex[] }, i: number) => {
        assert.deepEqual(merkleProof(leaves, i), p);
        assert.ok(verifyProof(leafHash(leaves[i]!), p.index, p.siblings, c.root));
        // the same leaf at another index, or with an index bit above the depth, fails
        assert.ok(!verifyProof(leafHash(leaves[i]!), p.index + (1 << p.siblings.length), p.siblings, c.root));
        if (leaves.length > 1) assert.ok(!verifyProof(leafHash(leaves[i]!), p.index ^ 1, p.siblings, c.root));
      });
    });
  }
  it("the empty tree's root is EMPTY and keccak('') is Ethereum's", () => {
    assert.equal(rootOfHashes([]), `0x${"00".repeat(32)}`);
    assert.equal(merkleRoot([]), `0x${"00".repeat(32)}`);
  });
});

describe("batches.json", () => {
  const { headers } = vector<{ headers: any[] }>("batches.json");
  it("has headers", () => assert.ok(headers.length > 0));
  headers.forEach((c, i) => {
    it(`batch header ${i}: 177-byte encoding and hash`, () => {
      const h = c.header;
      const header = {
        index: BigInt(h.index),
        firstBlock: BigInt(h.first_block),
        lastBlock: BigInt(h.last_block),
        parentRoot: h.parent_root,
        outputRoot: h.output_root,
        dataHash: h.data_hash,
        depositsStart: BigInt(h.deposits_start),
        depositsEnd: BigInt(h.deposits_end),
        depositAccumulator: h.deposit_accumulator,
        l1Block: BigInt(h.l1_block),
      };
      assert.equal(bytesToHex(batchHeaderBytes(header)), c.encoded);
      assert.equal(batchHeaderHash(header), c.hash);
    });
  });
});

/** Reads big-endian fields off batch data (test-only: the client never decodes batches). */
class Reader {
  at = 0;
  constructor(readonly bytes: Uint8Array) {}
  take(n: number): Uint8Array {
    if (this.at + n > this.bytes.length) throw new Error("batch data too short");
    const out = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  hex(n: number): Hex {
    return bytesToHex(this.take(n));
  }
  uint(n: number): bigint {
    return BigInt(this.hex(n));
  }
  tensor(): Tensor {
    const [code, rank] = this.take(2);
    const shape = Array.from({ length: rank! }, () => Number(this.uint(4)));
    const count = shape.reduce((a, b) => a * b, 1);
    const size = code === 0 ? 1 : 4;
    const raw = this.take(count * size);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const data = Array.from({ length: count }, (_, i) => (size === 1 ? view.getInt8(i) : view.getInt32(4 * i, false)));
    return { dtype: code === 0 ? "i8" : "i32", shape, data };
  }
}

describe("state.json (real signed blocks)", () => {
  const state = vector<any>("state.json");
  const domain = signingDomain(state.chain_id, state.rollup);
  it("the genesis hash is keccak of the zero header", () => {
    const parent = state.cases[0].header.parent_hash;
    assert.equal(state.cases[0].header.number, 1);
    assert.equal(genesisHash(), parent);
  });
  for (const c of state.cases) {
    it(`${c.name}: header encoding, records and withdrawals roots, signatures`, async () => {
      const data = hexToBytes(c.batch_data);
      const h = c.header;
      const header: Omit<BlockHeader, "hash"> = {
        number: toQuantity(h.number),
        parentHash: h.parent_hash,
        timestamp: toQuantity(h.timestamp),
        recordsRoot: h.records_root,
        stateRoot: h.state_root,
        depositsConsumed: toQuantity(h.deposits_consumed),
        withdrawalsRoot: h.withdrawals_root,
        recordCount: toQuantity(h.record_count),
        withdrawalCount: toQuantity(h.withdrawal_count),
        l1Origin: toQuantity(h.l1_origin),
      };
      assert.equal(data[0], 3, "batch data version 3");
      assert.equal(bytesToHex(data.subarray(5, 5 + 169)), bytesToHex(blockHeaderBytes(header)));
      assert.equal(blockHash(header).length, 66);
      // the body: inferences, then withdrawals
      const r = new Reader(data);
      r.at = 5 + 173;
      const records: Hex[] = [];
      for (let i = 0; i < h.record_count; i++) {
        const sender = r.hex(20);
        const nonce = r.uint(8);
        const modelId = r.hex(32);
        const maxFee = r.uint(16);
        const input = r.tensor();
        const signature = r.hex(65);
        const output = r.tensor();
        const fee = r.uint(16);
        const message = { sender, nonce, modelId, input: commitment(input), maxFee };
        const digestSigner = await recoverTypedDataAddress({
          domain: { ...domain },
          types: REQUEST_TYPES,
          primaryType: "InferenceRequest",
          message,
          signature,
        });
        if (c.rejected === null) assert.equal(digestSigner.toLowerCase(), sender, "the request signature recovers to its sender");
        records.push(
          recordHash({
            requestHash: requestDigest(message, domain),
            sender,
            modelId,
            inputRoot: commitment(input),
            outputRoot: commitment(output),
            fee,
          }),
        );
      }
      const withdrawals: Hex[] = [];
      for (let i = 0; i < h.withdrawal_count; i++) {
        const w = { sender: r.hex(20), nonce: r.uint(8), recipient: r.hex(20), amount: r.uint(16) };
        const signature = r.hex(65);
        const signer = await recoverTypedDataAddress({ domain: { ...domain }, types: WITHDRAWAL_TYPES, primaryType: "Withdrawal", message: w, signature });
        if (c.rejected === null) assert.equal(signer.toLowerCase(), w.sender, "the withdrawal signature recovers to its sender");
        withdrawals.push(withdrawalLeaf(w));
      }
      assert.equal(r.at, data.length, "the body is read to its end");
      assert.equal(rootOfHashes(records), h.records_root);
      assert.equal(rootOfHashes(withdrawals), h.withdrawals_root);
    });
  }
});
