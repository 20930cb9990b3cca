/** The hand-written L1 ABI of src/l1.ts against the contracts' build artifacts. */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toEventSelector, toFunctionSelector, type AbiFunction, type AbiEvent, type AbiParameter } from "viem";
import { BRIDGE_ABI, ROLLUP_ABI } from "../dist/index.js";
import { repoFile } from "./helpers.js";

function canonical(p: readonly AbiParameter[]): string {
  return p
    .map((x) => ("components" in x && x.components ? `(${canonical(x.components)})${x.type.slice(5)}` : x.type))
    .join(",");
}

for (const [name, abi] of [
  ["Rollup", ROLLUP_ABI],
  ["Bridge", BRIDGE_ABI],
] as const) {
  describe(`${name} ABI`, () => {
    const artifact = repoFile<{ abi: Array<AbiFunction | AbiEvent> }>(`node/l1/artifacts/${name}.json`).abi;
    for (const item of abi) {
      if (item.type !== "function" && item.type !== "event") continue;
      it(`${item.type} ${item.name} matches the artifact`, () => {
        const theirs = artifact.filter((x) => x.type === item.type && x.name === item.name);
        assert.equal(theirs.length, 1, `the artifact has one ${item.type} ${item.name}`);
        const t = theirs[0]!;
        if (item.type === "function") {
          const f = t as AbiFunction;
          assert.equal(toFunctionSelector(item), toFunctionSelector(f));
          assert.equal(canonical(item.outputs), canonical(f.outputs));
          assert.equal(item.stateMutability, f.stateMutability);
        } else {
          const e = t as AbiEvent;
          assert.equal(toEventSelector(item), toEventSelector(e));
          assert.deepEqual(
            (item.inputs as readonly AbiParameter[]).map((x) => Boolean((x as { indexed?: boolean }).indexed)),
            e.inputs.map((x) => Boolean(x.indexed)),
            "indexed",
          );
        }
      });
    }
  });
}
