/**
 * `@verdict/client`: a TypeScript client of Verdict, the optimistic rollup for ML
 * inference. Start with {@link VerdictClient}; the modules below it are exported for
 * callers that need one step (quantize, commit, sign, verify) on its own.
 */

export * from "./errors.js";
export * from "./hex.js";
export * from "./merkle.js";
export * from "./tensors.js";
export * from "./quantize.js";
export * from "./signing.js";
export * from "./records.js";
export * from "./types.js";
export * from "./rpc.js";
export * from "./l1.js";
export * from "./verify.js";
export * from "./client.js";
