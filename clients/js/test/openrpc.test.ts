/**
 * src/types.ts against specs/openrpc.json: every schema's properties and required list
 * are the field tables' (which the compiler ties to the interfaces), the enums agree, and
 * every method the client calls exists with its parameters in the order the client sends.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { METHODS, SCHEMA_ENUMS, SCHEMA_FIELDS } from "../dist/index.js";
import { repoFile } from "./helpers.js";

const spec = repoFile<any>("specs/openrpc.json");
const schemas: Record<string, any> = spec.components.schemas;

describe("openrpc.json ↔ src/types.ts", () => {
  for (const [name, table] of Object.entries(SCHEMA_FIELDS)) {
    it(`${name}: the same properties, the same required ones`, () => {
      const schema = schemas[name];
      assert.ok(schema, `openrpc.json has no schema ${name}`);
      const props = Object.keys(schema.properties ?? {}).sort();
      assert.deepEqual(Object.keys(table).sort(), props, "properties");
      const required = Object.entries(table)
        .filter(([, r]) => r === "required")
        .map(([k]) => k)
        .sort();
      assert.deepEqual(required, [...(schema.required ?? [])].sort(), "required");
    });
  }

  it("every object schema of the spec is typed", () => {
    const objects = Object.entries(schemas)
      .filter(([, s]) => s.type === "object" && s.properties)
      .map(([k]) => k);
    const untyped = objects.filter((k) => !(k in SCHEMA_FIELDS));
    assert.deepEqual(untyped, []);
  });

  it("the enums agree", () => {
    assert.deepEqual([...SCHEMA_ENUMS.Status].sort(), [...schemas.Status.enum].sort());
    assert.deepEqual([...SCHEMA_ENUMS["Tensor.dtype"]].sort(), [...schemas.Tensor.properties.dtype.enum].sort());
    assert.deepEqual([...SCHEMA_ENUMS["Model.task"]].sort(), [...schemas.Model.properties.task.enum].sort());
    assert.deepEqual([...SCHEMA_ENUMS["Tensor.dtype"]].sort(), [...schemas.Model.properties.inputDtype.enum].sort());
  });

  it("every method the client calls is in the spec", () => {
    const names = new Set(spec.methods.map((m: any) => m.name));
    for (const m of METHODS) assert.ok(names.has(m), `${m} is not in openrpc.json`);
  });

  it("positional parameters are in the order the client sends them", () => {
    const sent: Record<string, string[]> = {
      verdict_getModel: ["nameOrId"],
      verdict_prepareInference: ["nameOrId", "sender", "features", "nonce", "maxFee"],
      verdict_sendInference: ["request"],
      verdict_getInference: ["recordHash"],
      verdict_getAccount: ["address"],
      verdict_chainInfo: [],
      verdict_models: [],
      verdict_blockNumber: [],
      verdict_getBlockByNumber: ["block", "full"],
      verdict_getBatch: ["index"],
      verdict_sendWithdrawal: ["withdrawal"],
      verdict_getWithdrawal: ["withdrawalHash"],
    };
    for (const [method, params] of Object.entries(sent)) {
      const m = spec.methods.find((x: any) => x.name === method);
      assert.ok(m, method);
      assert.deepEqual(
        m.params.map((p: any) => p.name),
        params,
        `${method}'s parameters`,
      );
    }
  });
});
