//! The `ai.onnx.ml` ops of linear models, as scikit-learn (skl2onnx), onnxmltools and
//! other exporters write them: `Scaler`, `LinearClassifier`, `LinearRegressor`,
//! `Normalizer`, and the binary logistic head skl2onnx writes for a two-class MLP.
//!
//! - `Scaler` on the model input becomes the input's per-feature quantization (each
//!   feature keeps its own int8 resolution; the integer graph does not change); after a
//!   MatMul/Gemm it folds into that layer like any per-channel affine map.
//! - `LinearClassifier` is a Dense layer, then (for the label) ArgMax and a label lookup.
//!   Every `post_transform` (LOGISTIC, SOFTMAX, SOFTMAX_ZERO, PROBIT) is increasing in
//!   each score, so the class is the argmax of the raw scores and the transform is
//!   dropped, as a Softmax before ArgMax is. A binary model with one coefficient row
//!   scores `[-z, z]`: class 1 exactly when `z > 0`, the lowest index on a tie.
//! - `LinearRegressor` is a Dense layer whose accumulator is the output.

use super::{Attrs, ChannelAffine, NodeCtx, Parser, Val};
use crate::error::ImportResult;
use crate::float::{FloatOp, InputAffine};
use onnx_protobuf::NodeProto;
use onnx_protobuf::attribute_proto::AttributeType;
use std::collections::HashMap;
use verdict_specs::Task;

/// Op type of the synthetic node that replaces skl2onnx's binary logistic head.
pub(super) const BINARY_HEAD: &str = "VerdictBinaryLogisticScores";

impl Attrs<'_> {
    fn floats(&self, key: &str) -> ImportResult<Option<Vec<f64>>> {
        Ok(self
            .get(key, AttributeType::FLOATS)?
            .map(|a| a.floats.iter().map(|&v| f64::from(v)).collect()))
    }

    fn require_floats(&self, key: &str) -> ImportResult<Vec<f64>> {
        self.floats(key)?
            .ok_or_else(|| self.fail(format!("attribute {key} is missing")))
    }

    /// `post_transform`, default NONE.
    fn post_transform(&self) -> ImportResult<String> {
        Ok(self
            .string("post_transform")?
            .unwrap_or_else(|| "NONE".into()))
    }
}

impl Parser {
    pub(super) fn scaler(&mut self, ctx: &NodeCtx<'_>) -> ImportResult<()> {
        let a = &ctx.attrs;
        let Val::Value(id) = self.input(ctx, 0)? else {
            return Err(a.fail("input 0 is a constant"));
        };
        let width = self.graph.shape(id).last().copied().unwrap_or(0);
        let per_feature = |key: &str| -> ImportResult<Vec<f64>> {
            let v = a.floats(key)?.unwrap_or_default();
            match v.len() {
                0 => Ok(vec![if key == "scale" { 1.0 } else { 0.0 }; width]),
                1 => Ok(vec![v[0]; width]),
                n if n == width => Ok(v),
                n => Err(a.fail(format!(
                    "attribute {key} has {n} values for {width} features"
                ))),
            }
        };
        let (offset, scale) = (per_feature("offset")?, per_feature("scale")?);
        if let Some((i, v)) = offset
            .iter()
            .chain(&scale)
            .enumerate()
            .find(|(_, v)| !v.is_finite())
        {
            return Err(a.fail(format!("value {i} of offset/scale is {v}, not finite")));
        }
        let input_name = &a.node.input[0];
        if id == 0 && self.graph.input_affine.is_none() && self.readers.get(input_name) == Some(&1)
        {
            if self.graph.input_shape.len() != 1 {
                return Err(a.fail(format!(
                    "a Scaler on an input of per-example shape {:?}; only [features] is supported",
                    self.graph.input_shape
                )));
            }
            if let Some((i, s)) = scale.iter().enumerate().find(|(_, s)| **s < 0.0) {
                return Err(a.fail(format!(
                    "feature {i} has a negative scale {s}; only non-negative scales are supported"
                )));
            }
            self.graph.notes.push(format!(
                "Scaler '{}' moved into the input quantization (one scale and offset per feature)",
                a.label
            ));
            self.graph.input_affine = Some(InputAffine { offset, scale });
            self.alias(ctx, Val::Value(0));
            return Ok(());
        }
        if self.fold_target(ctx, id, 0).is_none() {
            return Err(a.fail(
                "a Scaler must read the model input or a MatMul/Gemm output nothing else reads",
            ));
        }
        let fold = ChannelAffine {
            before: Some(offset.iter().map(|o| -o).collect()),
            scale: Some(scale),
            after: None,
        };
        self.fold_affine(ctx, id, fold)
    }

    /// A Dense of `rows` coefficient rows over the input's last axis.
    fn linear(
        &mut self,
        ctx: &NodeCtx<'_>,
        coefficients: &[f64],
        intercepts: Option<Vec<f64>>,
        rows: usize,
    ) -> ImportResult<usize> {
        let a = &ctx.attrs;
        let input = self.value_input(ctx, 0)?;
        let shape = self.graph.shape(input).to_vec();
        let inner = shape.last().copied().unwrap_or(0);
        if shape.len() != 1 || rows == 0 || coefficients.len() != rows * inner {
            return Err(a.fail(format!(
                "{} coefficients for {rows} rows over an input of per-example shape {shape:?}",
                coefficients.len()
            )));
        }
        let bias = match intercepts {
            None => None,
            Some(b) if b.is_empty() => None,
            Some(b) if b.len() == rows => Some(b),
            Some(b) => {
                return Err(a.fail(format!(
                    "attribute intercepts has {} values for {rows} rows",
                    b.len()
                )));
            }
        };
        self.push(
            ctx,
            FloatOp::Dense {
                input,
                weight: coefficients.to_vec(),
                outputs: rows,
                inner,
                bias,
            },
            vec![rows],
        );
        Ok(self.graph.nodes.len())
    }

    pub(super) fn linear_regressor(&mut self, ctx: &NodeCtx<'_>) -> ImportResult<()> {
        let a = &ctx.attrs;
        let transform = a.post_transform()?;
        if transform != "NONE" {
            return Err(a.fail(format!(
                "attribute post_transform = {transform}: only NONE is supported for a regressor"
            )));
        }
        let targets = a.int("targets", 1)?;
        let rows = usize::try_from(targets)
            .ok()
            .filter(|&t| t >= 1)
            .ok_or_else(|| a.fail(format!("attribute targets = {targets}")))?;
        let coefficients = a.require_floats("coefficients")?;
        self.linear(ctx, &coefficients, a.floats("intercepts")?, rows)?;
        self.task_hint = Some(Task::Regression);
        Ok(())
    }

    pub(super) fn linear_classifier(&mut self, ctx: &NodeCtx<'_>) -> ImportResult<()> {
        let a = &ctx.attrs;
        let transform = a.post_transform()?;
        if !matches!(
            transform.as_str(),
            "NONE" | "LOGISTIC" | "SOFTMAX" | "SOFTMAX_ZERO" | "PROBIT"
        ) {
            return Err(a.fail(format!("attribute post_transform = {transform} is unknown")));
        }
        let labels = class_labels(a)?;
        let coefficients = a.require_floats("coefficients")?;
        let inner = self
            .graph
            .shape(self.value_input(ctx, 0)?)
            .last()
            .copied()
            .unwrap_or(0);
        let rows = coefficients.len().checked_div(inner).unwrap_or(0);
        let mut intercepts = a.floats("intercepts")?;
        let classes = labels.len();
        let (coefficients, rows) = if rows == 1 && classes == 2 {
            // One row scores class 1 against class 0: scores [-z, z].
            let negated: Vec<f64> = coefficients.iter().map(|w| -w).collect();
            if let Some(b) = intercepts.as_mut().filter(|b| b.len() == 1) {
                b.insert(0, -b[0]);
            }
            ([negated, coefficients].concat(), 2)
        } else {
            (coefficients, rows)
        };
        if rows != classes {
            return Err(a.fail(format!(
                "{rows} coefficient rows for {classes} class labels"
            )));
        }
        let scores_name = ctx.attrs.node.output.get(1).filter(|o| !o.is_empty());
        // The Dense is named after the scores output (if the graph names one), so reading
        // the scores imports the raw scores.
        let dense = self.linear(ctx, &coefficients, intercepts, rows)?;
        self.task_hint = Some(Task::Classification);
        if transform != "NONE" {
            self.graph.notes.push(format!(
                "{}: post_transform {transform} dropped (it does not change the class; \
                 the scores are the raw linear scores)",
                a.label
            ));
        }
        self.class_head(ctx, dense, scores_name.cloned(), labels)
    }

    /// The outputs of a classifier op whose raw class scores are value `scores`: the
    /// scores output (named `scores_name`, its argmax the class, so a Normalizer or
    /// Softmax after it may be dropped) and, if read, the label output: ArgMax, then a
    /// label lookup unless the labels are `0..n`.
    pub(super) fn class_head(
        &mut self,
        ctx: &NodeCtx<'_>,
        scores: usize,
        scores_name: Option<String>,
        labels: ClassLabels,
    ) -> ImportResult<()> {
        let a = &ctx.attrs;
        if let Some(name) = scores_name {
            self.value_names[scores] = name.clone();
            self.names.insert(name, Val::Value(scores));
            self.softmax.insert(scores);
        }
        if self.readers.get(ctx.out).copied().unwrap_or(0) > 0 {
            let label_name = ctx.out.to_string();
            self.push_named(
                &label_name,
                a.label,
                FloatOp::ArgMax { input: scores },
                vec![1],
            );
            let argmax = self.graph.nodes.len();
            match labels {
                ClassLabels::Ints(ints) if ints.iter().enumerate().all(|(i, &l)| l == i as i64) => {
                }
                ClassLabels::Ints(ints) => {
                    let labels = ints
                        .iter()
                        .map(|&l| {
                            i32::try_from(l).map_err(|_| {
                                a.fail(format!("class label {l} is not a 32-bit integer"))
                            })
                        })
                        .collect::<ImportResult<Vec<i32>>>()?;
                    self.push_named(
                        &label_name,
                        a.label,
                        FloatOp::LabelLookup {
                            input: argmax,
                            labels,
                        },
                        vec![1],
                    );
                }
                ClassLabels::Strings(names) => self.graph.notes.push(format!(
                    "{}: string class labels; the int8 model outputs the class index: {}",
                    a.label,
                    names
                        .iter()
                        .enumerate()
                        .map(|(i, n)| format!("{i} = {n}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
        }
        Ok(())
    }

    /// `Normalizer` over class probabilities (skl2onnx writes an L1 one after a
    /// multi-class LinearClassifier): it scales a row of non-negative values by one
    /// positive factor, so the class is unchanged; dropped like Softmax.
    pub(super) fn normalizer(&mut self, ctx: &NodeCtx<'_>) -> ImportResult<()> {
        let a = &ctx.attrs;
        let Val::Value(id) = self.input(ctx, 0)? else {
            return Err(a.fail("input 0 is a constant"));
        };
        if !self.softmax.contains(&id) {
            return Err(a.fail(
                "a Normalizer is supported only on class scores whose argmax is the class \
                 (after a LinearClassifier or Softmax)",
            ));
        }
        self.graph.notes.push(format!(
            "Normalizer '{}' dropped: it does not change the class",
            a.label
        ));
        self.alias(ctx, Val::Value(id));
        Ok(())
    }

    /// The rewritten binary head: `z` (a one-output Dense nothing else reads) becomes the
    /// two-column scores `[-z, z]`, whose argmax is the class that `[1 - σ(z), σ(z)]` picks.
    pub(super) fn binary_head(&mut self, ctx: &NodeCtx<'_>) -> ImportResult<()> {
        let a = &ctx.attrs;
        let Val::Value(id) = self.input(ctx, 0)? else {
            return Err(a.fail("input 0 is a constant"));
        };
        let Some((1, false)) = self.fold_target(ctx, id, 0) else {
            return Err(a.fail(
                "the binary logistic head must read a one-output MatMul/Gemm nothing else reads",
            ));
        };
        let node = &mut self.graph.nodes[id - 1];
        let FloatOp::Dense {
            weight,
            bias,
            outputs,
            ..
        } = &mut node.op
        else {
            unreachable!("fold_target checked the op")
        };
        let negated: Vec<f64> = weight.iter().map(|w| -w).collect();
        *weight = [negated, weight.clone()].concat();
        if let Some(b) = bias.as_mut() {
            *b = vec![-b[0], b[0]];
        }
        *outputs = 2;
        node.shape = vec![2];
        self.graph.notes.push(format!(
            "{}: the binary head [1 - sigmoid(z), sigmoid(z)] became the scores [-z, z] \
             (same class; the scores are logits)",
            a.label
        ));
        self.fold_into(ctx, id);
        self.softmax.insert(id);
        Ok(())
    }
}

pub(super) enum ClassLabels {
    Ints(Vec<i64>),
    Strings(Vec<String>),
}

impl ClassLabels {
    pub(super) fn len(&self) -> usize {
        match self {
            ClassLabels::Ints(v) => v.len(),
            ClassLabels::Strings(v) => v.len(),
        }
    }
}

pub(super) fn class_labels(a: &Attrs<'_>) -> ImportResult<ClassLabels> {
    // LinearClassifier names them classlabels_ints, the tree ensembles classlabels_int64s.
    for key in ["classlabels_ints", "classlabels_int64s"] {
        if let Some(ints) = a.ints(key)?.filter(|v| !v.is_empty()) {
            return Ok(ClassLabels::Ints(ints));
        }
    }
    if let Some(attr) = a.get("classlabels_strings", AttributeType::STRINGS)? {
        return Ok(ClassLabels::Strings(
            attr.strings
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect(),
        ));
    }
    Err(a.fail("attribute classlabels_ints (or _int64s) or classlabels_strings is missing"))
}

/// Replaces skl2onnx's binary MLP head — `p = Sigmoid(z)`, `n = Sub(1, p)`,
/// `Concat(n, p)` over the last axis — by one [`BINARY_HEAD`] node reading `z`, when
/// nothing else reads `p` or `n`. `initializers` resolves the constant 1.
pub(super) fn rewrite_binary_heads(
    nodes: &[NodeProto],
    is_one: &dyn Fn(&str) -> bool,
) -> Vec<NodeProto> {
    let mut readers: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, n) in nodes.iter().enumerate() {
        for input in n.input.iter().filter(|s| !s.is_empty()) {
            readers.entry(input.as_str()).or_default().push(i);
        }
    }
    let mut drop = vec![false; nodes.len()];
    let mut replace: HashMap<usize, NodeProto> = HashMap::new();
    for (i, sigmoid) in nodes.iter().enumerate() {
        if sigmoid.op_type != "Sigmoid" || !matches!(sigmoid.domain.as_str(), "" | "ai.onnx") {
            continue;
        }
        let (Some(z), Some(p)) = (sigmoid.input.first(), sigmoid.output.first()) else {
            continue;
        };
        let p_readers = readers.get(p.as_str()).cloned().unwrap_or_default();
        let [r1, r2] = p_readers.as_slice() else {
            continue;
        };
        let (sub, concat) = if nodes[*r1].op_type == "Sub" {
            (*r1, *r2)
        } else {
            (*r2, *r1)
        };
        let (s, c) = (&nodes[sub], &nodes[concat]);
        let Some(n) = s.output.first() else { continue };
        let head = s.op_type == "Sub"
            && s.input.len() == 2
            && is_one(&s.input[0])
            && s.input[1] == *p
            && c.op_type == "Concat"
            && c.input.len() == 2
            && c.input[0] == *n
            && c.input[1] == *p
            && readers.get(n.as_str()).is_some_and(|r| r == &[concat])
            && c.attribute
                .iter()
                .find(|a| a.name == "axis")
                .is_some_and(|a| a.i == 1 || a.i == -1);
        if !head {
            continue;
        }
        let mut merged = NodeProto::new();
        merged.name = if c.name.is_empty() {
            format!("{} (binary head)", sigmoid.name)
        } else {
            c.name.clone()
        };
        merged.op_type = BINARY_HEAD.into();
        merged.domain = "verdict".into();
        merged.input = vec![z.clone()];
        merged.output = c.output.clone();
        drop[i] = true;
        drop[sub] = true;
        replace.insert(concat, merged);
    }
    nodes
        .iter()
        .enumerate()
        .filter(|(i, _)| !drop[*i])
        .map(|(i, n)| replace.remove(&i).unwrap_or_else(|| n.clone()))
        .collect()
}
