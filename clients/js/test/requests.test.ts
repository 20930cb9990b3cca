/**
 * specs/vectors/requests.json: EIP-712 requests and withdrawals signed by known keys, and
 * float features quantized for known models. Every digest, every signature (RFC 6979 is
 * deterministic, so a signature from the same key must be the same bytes), the typed data
 * a wallet is shown, the record hash and each quantized tensor must come out as the Rust
 * implementation wrote them. Skipped only while the file does not exist yet.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hashTypedData, recoverTypedDataAddress } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import {
  commitment,
  domainSeparator,
  quantize,
  recordHash,
  REQUEST_TYPES,
  requestDigest,
  requestStructHash,
  requestTypedData,
  sameTypedData,
  signingDomain,
  signRequestFields,
  signWithdrawal,
  withdrawalDigest,
  withdrawalLeaf,
  withdrawalStructHash,
  WITHDRAWAL_TYPES,
  type Hex,
  type Tensor,
} from "../dist/index.js";
import { hasVector, VECTORS, vector } from "./helpers.js";

const FILE = "requests.json";
const present = hasVector(FILE);

if (!present) {
  it(FILE, { skip: `${VECTORS}/${FILE} does not exist yet` }, () => {});
} else {
  describe(FILE, () => {
    const v = vector<any>(FILE);
    const domain = signingDomain(BigInt(v.domain.chainId), v.domain.verifyingContract);

    it("the domain and its separator", () => {
      assert.equal(v.domain.name, "Verdict");
      assert.equal(String(v.domain.version), "1");
      assert.equal(domainSeparator(domain), v.domain_separator.toLowerCase());
    });

    it("has requests, withdrawals and quantization cases", () => {
      assert.ok(v.requests.length > 0, "requests");
      assert.ok(v.withdrawals.length > 0, "withdrawals");
      assert.ok(v.quantization.length > 0, "quantization");
    });

    (v.requests as any[]).forEach((r, i) => {
      it(`request ${i}: commitment, struct hash, digest, signature, typed data, record hash`, async () => {
        const account = privateKeyToAccount(r.key as Hex);
        assert.equal(account.address.toLowerCase(), r.sender.toLowerCase());
        const input = r.input as Tensor;
        assert.equal(commitment(input), r.input_commitment.toLowerCase());
        const fields = { sender: r.sender, nonce: BigInt(r.nonce), modelId: r.model_id, input: commitment(input), maxFee: BigInt(r.max_fee) };
        assert.equal(requestStructHash(fields), r.struct_hash.toLowerCase());
        assert.equal(requestDigest(fields, domain), r.request_hash.toLowerCase());
        const signature = await signRequestFields(account, fields, domain);
        assert.equal(signature.toLowerCase(), r.signature.toLowerCase());
        const signer = await recoverTypedDataAddress({ domain: { ...domain }, types: REQUEST_TYPES, primaryType: "InferenceRequest", message: fields, signature: r.signature });
        assert.equal(signer.toLowerCase(), r.sender.toLowerCase());
        // What a wallet is shown: the same typed data, and it hashes to the digest as it is.
        assert.ok(sameTypedData(requestTypedData(fields, domain), r.typed_data), "typed data");
        const td = r.typed_data;
        const asWallet = hashTypedData({
          domain: { ...td.domain, chainId: BigInt(td.domain.chainId) },
          types: td.types,
          primaryType: td.primaryType,
          message: { ...td.message, nonce: BigInt(td.message.nonce), maxFee: BigInt(td.message.maxFee) },
        });
        assert.equal(asWallet, r.request_hash.toLowerCase());
        const output = r.output as Tensor;
        assert.equal(
          recordHash({
            requestHash: r.request_hash,
            sender: r.sender,
            modelId: r.model_id,
            inputRoot: r.input_commitment,
            outputRoot: commitment(output),
            fee: BigInt(r.fee),
          }),
          r.record_hash.toLowerCase(),
        );
      });
    });

    (v.withdrawals as any[]).forEach((w, i) => {
      it(`withdrawal ${i}: struct hash, digest, signature`, async () => {
        const account = privateKeyToAccount(w.key as Hex);
        assert.equal(account.address.toLowerCase(), w.sender.toLowerCase());
        const fields = { sender: w.sender, nonce: BigInt(w.nonce), recipient: w.recipient, amount: BigInt(w.amount) };
        assert.equal(withdrawalStructHash(fields), w.struct_hash.toLowerCase());
        // `signing_hash` is the EIP-712 digest the sender signs; `withdrawal_hash` is the
        // leaf, the API's `withdrawalHash` and Bridge.claimed's key.
        assert.equal(withdrawalDigest(fields, domain), w.signing_hash.toLowerCase());
        assert.equal(withdrawalLeaf(fields), w.withdrawal_hash.toLowerCase());
        const signer = await recoverTypedDataAddress({ domain: { ...domain }, types: WITHDRAWAL_TYPES, primaryType: "Withdrawal", message: fields, signature: w.signature });
        assert.equal(signer.toLowerCase(), w.sender.toLowerCase());
        const signed = await signWithdrawal(account, fields, domain);
        assert.equal(signed.signature, w.signature.toLowerCase());
      });
    });

    (v.quantization as any[]).forEach((q, i) => {
      it(`quantization ${i}: ${q.model.inputDtype}[${q.model.inputShape.join("x")}]${q.model.inputFeatures ? " per feature" : ""}`, () => {
        const t = quantize(q.model, q.features);
        assert.deepEqual(t, q.tensor);
      });
    });
  });
}
