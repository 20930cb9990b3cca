/** Float features → input tensors (specs/quantize.md): the spec's examples, f32 scales, errors. */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { QuantizeError, quantize, quantizeFeature } from "../dist/index.js";

const i8 = (scale: number, n = 1) => ({ inputDtype: "i8" as const, inputShape: [n], inputScale: scale });

describe("quantize", () => {
  it("rounds half up and saturates (scale 0.5)", () => {
    assert.deepEqual(quantize(i8(0.5, 4), [0.25, -0.25, 1000, -1000]).data, [1, 0, 127, -127]);
  });

  it("per feature: (2, 10) and (0.1, 0) as in the spec", () => {
    const model = { ...i8(1, 2), inputFeatures: [{ scale: 2, offset: 10 }, { scale: 0.1, offset: 0 }] };
    assert.deepEqual(quantize(model, [14, -0.3]).data, [2, -3]);
  });

  it("i32 inputs keep fine steps and clamp to ±(2^31 - 1)", () => {
    const model = { inputDtype: "i32" as const, inputShape: [3], inputScale: 1, inputFeatures: Array(3).fill({ scale: 2 ** -20, offset: 4 }) };
    const t = quantize(model, [5.5, 1e9, -1e9]);
    assert.equal(t.dtype, "i32");
    assert.deepEqual(t.data, [1572864, 2147483647, -2147483647]);
  });

  it("scales are the model's f32, not the double their decimal names", () => {
    // 0.1 as an f32 is 0.100000001490116…: 0.25 / it + 0.5 is just below 3.
    assert.deepEqual(quantize(i8(0.1), [0.25]).data, [2]);
    assert.equal(Math.floor(0.25 / 0.1 + 0.5), 3, "the double 0.1 would give 3");
    assert.equal(quantizeFeature(0.25, 0.1, 0, "i8"), 2);
  });

  it("keeps the model's shape and gives no negative zero", () => {
    const t = quantize({ inputDtype: "i8", inputShape: [1, 2, 2], inputScale: 1 }, [-0.4, -0.0, 0.4, -0.5]);
    assert.deepEqual(t.shape, [1, 2, 2]);
    assert.ok(t.data.every((v) => !Object.is(v, -0)));
    assert.deepEqual(t.data, [0, 0, 0, 0]);
  });

  it("inputFeatures null or empty means one scale for all", () => {
    assert.deepEqual(quantize({ ...i8(0.5, 2), inputFeatures: null }, [1, 2]).data, [2, 4]);
    assert.deepEqual(quantize({ ...i8(0.5, 2), inputFeatures: [] }, [1, 2]).data, [2, 4]);
  });
});

describe("quantize errors", () => {
  const kind = (k: string) => (e: unknown) => e instanceof QuantizeError && e.kind === k;
  it("a wrong feature count", () => {
    assert.throws(() => quantize(i8(1, 3), [1, 2]), kind("count"));
    assert.throws(() => quantize(i8(1, 3), [1, 2]), /expected 3 input features .*got 2/);
  });
  it("NaN and infinities", () => {
    assert.throws(() => quantize(i8(1, 2), [1, Number.NaN]), kind("not_finite"));
    assert.throws(() => quantize(i8(1, 1), [Number.POSITIVE_INFINITY]), /feature 0 is Infinity/);
    assert.throws(() => quantize(i8(1, 1), ["1" as unknown as number]), kind("not_finite"));
  });
  it("a model description that cannot be used", () => {
    assert.throws(() => quantize({ ...i8(1, 2), inputFeatures: [{ scale: 1, offset: 0 }] }, [1, 2]), kind("model"));
    assert.throws(() => quantize({ inputDtype: "f32" as never, inputShape: [1], inputScale: 1 }, [1]), kind("model"));
    assert.throws(() => quantize(i8(0), [1]), kind("model"));
    assert.throws(() => quantize(i8(-1), [1]), kind("model"));
    assert.throws(() => quantize({ inputDtype: "i8", inputShape: [], inputScale: 1 }, []), kind("model"));
    assert.throws(() => quantize({ ...i8(1, 1), inputFeatures: [{ scale: 1, offset: Number.NaN }] }, [1]), kind("model"));
  });
});
