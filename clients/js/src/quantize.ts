/**
 * Float features → the model's integer input tensor (specs/quantize.md).
 *
 * `q = clamp(floor((x − offset) / scale + 1/2), −m, m)`, m = 127 for an `i8` input and
 * 2^31 − 1 for an `i32` one, in IEEE double precision from the feature as parsed and the
 * model's f32 scale and offset widened to double. The node writes each f32 as its
 * shortest decimal (0.011729415), which parses to a *double* that is not the f32; so
 * every scale and offset goes through `Math.fround` first, or a feature that sits on a
 * rounding boundary lands one step off and the commitment differs from everyone else's.
 *
 * Only the client runs this rule (the chain commits to the integers), so it must be
 * reproducible, not provable; this is the same arithmetic as specs/src/quantize.rs.
 */

import { QuantizeError } from "./errors.js";
import { elementCount, type DType, type Tensor } from "./tensors.js";
import type { FeatureQuant, Model } from "./types.js";

/** What quantization needs from a model: verdict_getModel's input fields. */
export type InputSpec = Pick<Model, "inputDtype" | "inputShape" | "inputScale"> & {
  inputFeatures?: FeatureQuant[] | null | undefined;
};

/** The largest magnitude an input of `dtype` takes. */
export function inputMax(dtype: DType): number {
  switch (dtype) {
    case "i8":
      return 127;
    case "i32":
      return 2147483647;
    default:
      throw new QuantizeError("model", `the model's input dtype ${JSON.stringify(dtype)} is not i8 or i32`);
  }
}

/** Quantizes one feature with an f32 `scale` and `offset` (as numbers; rounded to f32 here). */
export function quantizeFeature(x: number, scale: number, offset: number, dtype: DType): number {
  const max = inputMax(dtype);
  const q = Math.floor((x - Math.fround(offset)) / Math.fround(scale) + 0.5);
  const clamped = Math.min(max, Math.max(-max, q));
  return clamped === 0 ? 0 : clamped; // no -0 in a tensor
}

function checkQuant(scale: unknown, offset: unknown, where: string): void {
  if (typeof scale !== "number" || !Number.isFinite(scale) || !(Math.fround(scale) > 0)) {
    throw new QuantizeError("model", `the model's ${where} scale ${String(scale)} is not a positive finite number`);
  }
  if (typeof offset !== "number" || !Number.isFinite(offset)) {
    throw new QuantizeError("model", `the model's ${where} offset ${String(offset)} is not a finite number`);
  }
}

/**
 * Quantizes the float features of one example (row-major, in the model's input order)
 * into the input tensor a request carries. Throws {@link QuantizeError} for a wrong
 * feature count, a NaN or infinite feature, or a model description that cannot be used.
 */
export function quantize(model: InputSpec, features: readonly number[]): Tensor {
  const dtype = model.inputDtype;
  inputMax(dtype);
  let count: number;
  try {
    count = elementCount(model.inputShape);
  } catch (e) {
    throw new QuantizeError("model", `the model's input shape is unusable: ${(e as Error).message}`);
  }
  if (!Array.isArray(features)) {
    throw new QuantizeError("count", "features must be an array of numbers");
  }
  if (features.length !== count) {
    throw new QuantizeError(
      "count",
      `expected ${count} input features (input shape ${JSON.stringify(model.inputShape)}), got ${features.length}`,
    );
  }
  features.forEach((x, i) => {
    if (typeof x !== "number" || !Number.isFinite(x)) {
      throw new QuantizeError("not_finite", `feature ${i} is ${String(x)}, not a finite number`);
    }
  });
  const perFeature = model.inputFeatures ?? [];
  if (perFeature.length !== 0 && perFeature.length !== count) {
    throw new QuantizeError(
      "model",
      `the model lists ${perFeature.length} per-feature quantizations for an input of ${count} elements`,
    );
  }
  let data: number[];
  if (perFeature.length === 0) {
    checkQuant(model.inputScale, 0, "input");
    data = features.map((x) => quantizeFeature(x, model.inputScale, 0, dtype));
  } else {
    data = features.map((x, i) => {
      const q = perFeature[i]!;
      checkQuant(q.scale, q.offset, `feature ${i}`);
      return quantizeFeature(x, q.scale, q.offset, dtype);
    });
  }
  return { dtype, shape: [...model.inputShape], data };
}
