/** dist/cli.js as the Rust integration test calls it, against a fake node. */

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { DEV_KEY, fakeSequencer, mockNode, PACKAGE_ROOT } from "./helpers.js";

const CLI = resolve(PACKAGE_ROOT, "dist/cli.js");
const dir = mkdtempSync(join(tmpdir(), "verdict-cli-"));
const features = join(dir, "features.json");
writeFileSync(features, JSON.stringify([0.5, -1, 2, 100]));
const notJson = join(dir, "bad.json");
writeFileSync(notJson, "[0.5, ");

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((ok) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      ok({ code, stdout, stderr });
    });
  });
}

const closers: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of closers) await c();
});

describe("verdict-client", () => {
  it("no command: usage and exit 2; --help: exit 0", async () => {
    const none = await run([]);
    assert.equal(none.code, 2);
    assert.match(none.stdout, /verdict-client infer --rpc URL/);
    assert.equal((await run(["--help"])).code, 0);
  });

  it("bad usage exits 2 with a message", async () => {
    const r = await run(["infer", "--model", "toy", "--features", features, "--json"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--key is required/);
    assert.equal(JSON.parse(r.stdout).error.kind, "usage");
    assert.equal((await run(["infer", "--bogus", "1"])).code, 2);
    assert.equal((await run(["frobnicate"])).code, 2);
    assert.equal((await run(["infer", "--model", "toy", "--features", features, "--key", "0x12"])).code, 2);
  });

  it("infer --json prints the answer", async () => {
    const n = await mockNode(fakeSequencer());
    closers.push(n.close);
    for (const extra of [[], ["--via-prepare"]]) {
      const r = await run(["infer", "--rpc", n.url, "--model", "toy", "--features", features, "--key", DEV_KEY, "--json", ...extra]);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.deepEqual(out.output, { dtype: "i32", shape: [1], data: [130] });
      for (const k of ["record_hash", "request_hash", "input_commitment"]) assert.match(out[k], /^0x[0-9a-f]{64}$/, k);
      assert.equal(out.status, "pending");
      assert.equal(out.fee, "1000");
      assert.equal(out.class, 130);
      assert.equal(out.via_prepare, extra.length > 0);
    }
  });

  it("a refusal exits 1 and carries the node's code", async () => {
    const n = await mockNode(fakeSequencer({ refuse: { code: 1007, message: "fee too low", data: { fee: "0x3e8" } } }));
    closers.push(n.close);
    const r = await run(["infer", "--rpc", n.url, "--model", "toy", "--features", features, "--key", DEV_KEY, "--json"]);
    assert.equal(r.code, 1);
    const out = JSON.parse(r.stdout);
    assert.equal(out.error.code, 1007);
    assert.equal(out.error.node_message, "fee too low");
    assert.match(r.stderr, /code 1007/);
  });

  it("unreadable features, an unknown model and an unreachable node exit 1", async () => {
    const n = await mockNode(fakeSequencer());
    closers.push(n.close);
    const base = ["infer", "--rpc", n.url, "--key", DEV_KEY];
    const bad = await run([...base, "--model", "toy", "--features", notJson]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /is not JSON/);
    const unknown = await run([...base, "--model", "nope", "--features", features]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /serves no model "nope"/);
    const count = await run([...base, "--model", "toy", "--features", notJson.replace("bad", "missing")]);
    assert.equal(count.code, 1);
    const down = await run(["infer", "--rpc", "http://127.0.0.1:9", "--key", DEV_KEY, "--model", "toy", "--features", features]);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /cannot reach/);
  });
});
