//! `ai.onnx.ml` `TreeEnsembleClassifier` and `TreeEnsembleRegressor`, as scikit-learn
//! (skl2onnx: DecisionTree, RandomForest, ExtraTrees, GradientBoosting,
//! HistGradientBoosting) and onnxmltools (XGBoost, LightGBM) write them.
//!
//! - Every node mode (BRANCH_LEQ, LT, GTE, GT, EQ, NEQ) is read; lowering maps each to
//!   the integer op's `q ≤ θ` (`crate::trees`).
//! - `base_values` become a constant tree; AVERAGE divides every leaf by the tree count;
//!   MIN and MAX aggregation are refused (no integer op sums them).
//! - Missing-value tracking (`nodes_missing_value_tracks_true`) only routes NaN inputs,
//!   which Verdict's quantization refuses, so it never changes a walk (noted).
//! - A classifier's `post_transform` is dropped (each one keeps the argmax, as for
//!   LinearClassifier). A binary classifier with one score per leaf (gradient boosting)
//!   scores `[-s, s]` (class 1 when `s > 0`), or `[1 - s, s]` when its weights are
//!   probabilities (all non-negative, no transform: class 1 when `s > 0.5`).
//! - A regressor's `post_transform` must be NONE.

use super::ml::class_labels;
use super::{Attrs, NodeCtx, Parser, decode_tensor};
use crate::error::ImportResult;
use crate::float::FloatOp;
use crate::trees::{BranchMode, FloatEnsemble, FloatTreeNode};
use onnx_protobuf::attribute_proto::AttributeType;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use verdict_specs::Task;

impl Attrs<'_> {
    fn strings(&self, key: &str) -> ImportResult<Option<Vec<String>>> {
        Ok(self.get(key, AttributeType::STRINGS)?.map(|a| {
            a.strings
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect()
        }))
    }

    fn require_ints(&self, key: &str) -> ImportResult<Vec<i64>> {
        self.ints(key)?
            .ok_or_else(|| self.fail(format!("attribute {key} is missing")))
    }

    /// A float list given as `key` (floats) or `key_as_tensor` (a double tensor).
    fn values(&self, key: &str) -> ImportResult<Option<Vec<f64>>> {
        if let Some(v) = self.get(key, AttributeType::FLOATS)? {
            return Ok(Some(v.floats.iter().map(|&f| f64::from(f)).collect()));
        }
        match self.get(&format!("{key}_as_tensor"), AttributeType::TENSOR)? {
            Some(a) => Ok(Some(decode_tensor(&a.t)?.data)),
            None => Ok(None),
        }
    }
}

/// The leaf votes of one node attribute family (`target_*` or `class_*`).
struct Votes {
    trees: Vec<i64>,
    nodes: Vec<i64>,
    ids: Vec<i64>,
    weights: Vec<f64>,
}

impl Parser {
    pub(super) fn tree_ensemble(
        &mut self,
        ctx: &NodeCtx<'_>,
        classifier: bool,
    ) -> ImportResult<()> {
        let a = &ctx.attrs;
        let input = self.value_input(ctx, 0)?;
        let shape = self.graph.shape(input).to_vec();
        if input != 0 || shape.len() != 1 || self.graph.input_affine.is_some() {
            return Err(a.fail(
                "a tree ensemble must read the model input directly, a vector of features \
                 (no Scaler or other op before it)",
            ));
        }
        let features = shape[0];
        let transform = a.string("post_transform")?.unwrap_or_else(|| "NONE".into());
        let prefix = if classifier { "class" } else { "target" };
        let votes = Votes {
            trees: a.require_ints(&format!("{prefix}_treeids"))?,
            nodes: a.require_ints(&format!("{prefix}_nodeids"))?,
            ids: a.require_ints(&format!("{prefix}_ids"))?,
            weights: a
                .values(&format!("{prefix}_weights"))?
                .ok_or_else(|| a.fail(format!("attribute {prefix}_weights is missing")))?,
        };
        if [votes.nodes.len(), votes.ids.len(), votes.weights.len()]
            .iter()
            .any(|&n| n != votes.trees.len())
        {
            return Err(a.fail(format!("the {prefix}_* attributes differ in length")));
        }
        let (targets, binary, labels) = if classifier {
            if !matches!(
                transform.as_str(),
                "NONE" | "LOGISTIC" | "SOFTMAX" | "SOFTMAX_ZERO" | "PROBIT"
            ) {
                return Err(a.fail(format!("attribute post_transform = {transform} is unknown")));
            }
            let labels = class_labels(a)?;
            let classes = labels.len();
            let distinct: HashSet<i64> = votes.ids.iter().copied().collect();
            let binary = classes == 2 && distinct.len() <= 1;
            (if binary { 1 } else { classes }, binary, Some(labels))
        } else {
            if transform != "NONE" {
                return Err(a.fail(format!(
                    "attribute post_transform = {transform}: only NONE is supported for a regressor"
                )));
            }
            let n = a.int("n_targets", 1)?;
            let n = usize::try_from(n)
                .ok()
                .filter(|&n| n >= 1)
                .ok_or_else(|| a.fail(format!("attribute n_targets = {n}")))?;
            (n, false, None)
        };
        let mut ensemble = self.read_trees(a, features, targets, &votes)?;
        let average = match a.string("aggregate_function")?.as_deref() {
            None | Some("SUM") => false,
            Some("AVERAGE") => true,
            Some(other) => {
                return Err(a.fail(format!(
                    "attribute aggregate_function = {other}: only SUM and AVERAGE are supported"
                )));
            }
        };
        if average {
            let trees = ensemble.roots.len() as f64;
            for node in &mut ensemble.nodes {
                if let FloatTreeNode::Leaf(values) = node {
                    values.iter_mut().for_each(|v| *v /= trees);
                }
            }
        }
        ensemble.base = match a.values("base_values")? {
            None => vec![0.0; targets],
            Some(v) if v.is_empty() => vec![0.0; targets],
            Some(v) if v.len() == targets => v,
            Some(v) => {
                return Err(a.fail(format!(
                    "attribute base_values has {} values for {targets} targets",
                    v.len()
                )));
            }
        };
        if a.ints("nodes_missing_value_tracks_true")?
            .is_some_and(|v| v.iter().any(|&t| t != 0))
        {
            self.graph.notes.push(format!(
                "{}: missing-value tracking ignored (it routes NaN features, which quantization \
                 refuses)",
                a.label
            ));
        }
        if binary {
            // One score s per leaf: scores [-s, s] (class 1 iff s > 0), or [1 - s, s] for
            // probabilities (class 1 iff s > 0.5).
            let probabilities = transform == "NONE" && votes.weights.iter().all(|&w| w >= 0.0);
            for node in &mut ensemble.nodes {
                if let FloatTreeNode::Leaf(values) = node {
                    *values = vec![-values[0], values[0]];
                }
            }
            let b = ensemble.base[0];
            ensemble.base = vec![if probabilities { 1.0 - b } else { -b }, b];
            ensemble.targets = 2;
            self.graph.notes.push(format!(
                "{}: binary scores s became [{}, s] (same class)",
                a.label,
                if probabilities { "1 - s" } else { "-s" }
            ));
        }
        let depth = ensemble
            .check()
            .map_err(|e| a.fail(format!("the trees are malformed: {e}")))?;
        if depth > verdict_specs::ops::MAX_TREE_DEPTH {
            return Err(a.fail(format!(
                "a walk takes {depth} comparisons; one dispute step checks at most {} \
                 (train with a smaller max_depth)",
                verdict_specs::ops::MAX_TREE_DEPTH
            )));
        }
        self.graph.notes.push(format!(
            "{}: {} trees, {} nodes, deepest walk {depth} comparisons",
            a.label,
            ensemble.roots.len(),
            ensemble.nodes.len()
        ));
        let outputs = ensemble.targets;
        let op = FloatOp::TreeEnsemble {
            input,
            ensemble: Arc::new(ensemble),
        };
        match labels {
            None => {
                self.push(ctx, op, vec![outputs]);
                self.task_hint = Some(Task::Regression);
            }
            Some(labels) => {
                let scores_name = a.node.output.get(1).filter(|o| !o.is_empty()).cloned();
                self.push(ctx, op, vec![outputs]);
                let scores = self.graph.nodes.len();
                self.task_hint = Some(Task::Classification);
                if transform != "NONE" {
                    self.graph.notes.push(format!(
                        "{}: post_transform {transform} dropped (it does not change the class; \
                         the scores are the raw sums)",
                        a.label
                    ));
                }
                self.class_head(ctx, scores, scores_name, labels)?;
            }
        }
        Ok(())
    }

    /// Reads the `nodes_*` attributes into trees, with the leaf votes summed per target.
    fn read_trees(
        &self,
        a: &Attrs<'_>,
        features: usize,
        targets: usize,
        votes: &Votes,
    ) -> ImportResult<FloatEnsemble> {
        let tree_ids = a.require_ints("nodes_treeids")?;
        let node_ids = a.require_ints("nodes_nodeids")?;
        let feature_ids = a.require_ints("nodes_featureids")?;
        let modes = a
            .strings("nodes_modes")?
            .ok_or_else(|| a.fail("attribute nodes_modes is missing"))?;
        let thresholds = a
            .values("nodes_values")?
            .ok_or_else(|| a.fail("attribute nodes_values is missing"))?;
        let true_ids = a.require_ints("nodes_truenodeids")?;
        let false_ids = a.require_ints("nodes_falsenodeids")?;
        let n = tree_ids.len();
        if [
            node_ids.len(),
            feature_ids.len(),
            modes.len(),
            thresholds.len(),
            true_ids.len(),
            false_ids.len(),
        ]
        .iter()
        .any(|&l| l != n)
        {
            return Err(a.fail("the nodes_* attributes differ in length"));
        }
        let mut index: HashMap<(i64, i64), usize> = HashMap::with_capacity(n);
        for (i, key) in tree_ids.iter().zip(&node_ids).enumerate() {
            if index.insert((*key.0, *key.1), i).is_some() {
                return Err(a.fail(format!("tree {} has node id {} twice", key.0, key.1)));
            }
        }
        let child = |tree: i64, id: i64, of: usize| {
            index.get(&(tree, id)).copied().ok_or_else(|| {
                a.fail(format!(
                    "node {} of tree {tree} names child {id}, which does not exist",
                    node_ids[of]
                ))
            })
        };
        let mut nodes = Vec::with_capacity(n);
        let mut is_child = vec![false; n];
        for i in 0..n {
            let mode = modes[i].as_str();
            if mode == "LEAF" {
                nodes.push(FloatTreeNode::Leaf(vec![0.0; targets]));
                continue;
            }
            let mode = BranchMode::parse(mode)
                .ok_or_else(|| a.fail(format!("attribute nodes_modes has unknown mode {mode}")))?;
            let feature = usize::try_from(feature_ids[i])
                .ok()
                .filter(|&f| f < features)
                .ok_or_else(|| {
                    a.fail(format!(
                        "node {} compares feature {}; the input has {features}",
                        node_ids[i], feature_ids[i]
                    ))
                })?;
            let threshold = thresholds[i];
            if !threshold.is_finite() {
                return Err(a.fail(format!("node {} has threshold {threshold}", node_ids[i])));
            }
            let (t, f) = (
                child(tree_ids[i], true_ids[i], i)?,
                child(tree_ids[i], false_ids[i], i)?,
            );
            is_child[t] = true;
            is_child[f] = true;
            nodes.push(FloatTreeNode::Branch {
                feature,
                mode,
                // onnxruntime compares in float32: a double threshold is rounded like one.
                threshold: threshold as f32,
                if_true: t,
                if_false: f,
            });
        }
        for v in 0..votes.trees.len() {
            let at = index.get(&(votes.trees[v], votes.nodes[v])).copied();
            let target = usize::try_from(votes.ids[v]).ok().filter(|&t| t < targets);
            let (Some(at), Some(target)) = (at, target.or((targets == 1).then_some(0))) else {
                return Err(a.fail(format!(
                    "leaf vote {v} names node {} of tree {} and target {}, which do not exist",
                    votes.nodes[v], votes.trees[v], votes.ids[v]
                )));
            };
            match &mut nodes[at] {
                FloatTreeNode::Leaf(values) => values[target] += votes.weights[v],
                FloatTreeNode::Branch { .. } => {
                    return Err(a.fail(format!(
                        "leaf vote {v} names node {} of tree {}, which is not a leaf",
                        votes.nodes[v], votes.trees[v]
                    )));
                }
            }
        }
        // One root per tree id: the tree's node no other node names as a child.
        let mut roots: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
        for i in (0..n).filter(|&i| !is_child[i]) {
            roots.entry(tree_ids[i]).or_default().push(i);
        }
        let trees: HashSet<i64> = tree_ids.iter().copied().collect();
        if roots.len() != trees.len() || roots.values().any(|r| r.len() != 1) {
            return Err(a.fail("every tree must have exactly one root (a node no other names)"));
        }
        Ok(FloatEnsemble {
            nodes,
            roots: roots.into_values().map(|r| r[0]).collect(),
            targets,
            base: vec![0.0; targets],
        })
    }
}
