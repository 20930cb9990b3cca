//! Decision-tree ensembles: the float form read from ONNX, its evaluator, and its lowering
//! to the integer `TreeEnsemble` op.
//!
//! The float form keeps ONNX's semantics: a node compares the feature, cast to `f32` as
//! onnxruntime does, with an `f32` threshold in one of six modes. Lowering maps every
//! comparison to the integer op's one rule, `q ≤ θ`, where `q` is the feature quantized
//! with its own scale and offset and `θ` the threshold quantized the same way
//! (`specs/ops.md`, TreeEnsemble): the quantization is monotone, so `v ≤ τ ⇒ q ≤ θ`, and
//! the integer walk leaves the float one only for a feature within one step of a
//! threshold. Leaf values become fixed point at one output scale.

use verdict_specs::model::FeatureQuant;
use verdict_specs::ops::{MAX_TREE_DEPTH, TreeChild};
use verdict_specs::quantize::quantize_feature;
use verdict_specs::{DType, Tensor};

/// How a node compares feature `v` with threshold `τ` (ONNX `nodes_modes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BranchMode {
    /// `v ≤ τ`.
    Leq,
    /// `v < τ`.
    Lt,
    /// `v ≥ τ`.
    Gte,
    /// `v > τ`.
    Gt,
    /// `v = τ`.
    Eq,
    /// `v ≠ τ`.
    Neq,
}

impl BranchMode {
    /// The mode of an ONNX `nodes_modes` entry (`LEAF` is not a branch).
    pub fn parse(mode: &str) -> Option<Self> {
        Some(match mode {
            "BRANCH_LEQ" => BranchMode::Leq,
            "BRANCH_LT" => BranchMode::Lt,
            "BRANCH_GTE" => BranchMode::Gte,
            "BRANCH_GT" => BranchMode::Gt,
            "BRANCH_EQ" => BranchMode::Eq,
            "BRANCH_NEQ" => BranchMode::Neq,
            _ => return None,
        })
    }

    fn holds(self, v: f32, t: f32) -> bool {
        match self {
            BranchMode::Leq => v <= t,
            BranchMode::Lt => v < t,
            BranchMode::Gte => v >= t,
            BranchMode::Gt => v > t,
            BranchMode::Eq => v == t,
            BranchMode::Neq => v != t,
        }
    }
}

/// One node of a float tree; children index [`FloatEnsemble::nodes`].
#[derive(Clone, Debug, PartialEq)]
pub enum FloatTreeNode {
    /// A comparison.
    Branch {
        /// Feature index.
        feature: usize,
        /// The comparison.
        mode: BranchMode,
        /// `τ`.
        threshold: f32,
        /// Next node when the comparison holds.
        if_true: usize,
        /// Next node otherwise.
        if_false: usize,
    },
    /// A leaf: one value per target (weights summed, AVERAGE already divided out).
    Leaf(Vec<f64>),
}

/// A float ensemble: `output[j] = base[j] + Σ_trees leaf[j]`.
#[derive(Clone, Debug, PartialEq)]
pub struct FloatEnsemble {
    /// Every tree's nodes, in one list.
    pub nodes: Vec<FloatTreeNode>,
    /// The root of each tree.
    pub roots: Vec<usize>,
    /// Values per leaf.
    pub targets: usize,
    /// Added to the sum (ONNX `base_values`), one per target.
    pub base: Vec<f64>,
}

impl FloatEnsemble {
    /// The leaf node each tree reaches for `features`.
    pub fn leaves(&self, features: &[f64]) -> Vec<usize> {
        self.roots
            .iter()
            .map(|&root| {
                let mut at = root;
                while let FloatTreeNode::Branch {
                    feature,
                    mode,
                    threshold,
                    if_true,
                    if_false,
                } = &self.nodes[at]
                {
                    let v = features.get(*feature).copied().unwrap_or(0.0) as f32;
                    at = if mode.holds(v, *threshold) {
                        *if_true
                    } else {
                        *if_false
                    };
                }
                at
            })
            .collect()
    }

    /// The ensemble's outputs for one example.
    pub fn eval(&self, features: &[f64]) -> Vec<f64> {
        let mut out = self.base.clone();
        for leaf in self.leaves(features) {
            if let FloatTreeNode::Leaf(values) = &self.nodes[leaf] {
                for (o, v) in out.iter_mut().zip(values) {
                    *o += v;
                }
            }
        }
        out
    }

    /// Checks that the trees are trees (every child in range, no node reached twice, so
    /// no cycles) and returns the deepest walk in comparisons (EQ and NEQ lower to two).
    pub fn check(&self) -> Result<usize, String> {
        let mut seen = vec![false; self.nodes.len()];
        let mut deepest = 0;
        for (tree, &root) in self.roots.iter().enumerate() {
            let mut stack = vec![(root, 0usize)];
            while let Some((at, depth)) = stack.pop() {
                let Some(node) = self.nodes.get(at) else {
                    return Err(format!("tree {tree} names node {at}, which does not exist"));
                };
                if std::mem::replace(&mut seen[at], true) {
                    return Err(format!(
                        "node {at} is reached twice (a cycle or a shared subtree)"
                    ));
                }
                match node {
                    FloatTreeNode::Leaf(values) => {
                        if values.len() != self.targets {
                            return Err(format!("leaf {at} has {} values", values.len()));
                        }
                        deepest = deepest.max(depth);
                    }
                    FloatTreeNode::Branch {
                        mode,
                        if_true,
                        if_false,
                        ..
                    } => {
                        let own = if matches!(mode, BranchMode::Eq | BranchMode::Neq) {
                            2
                        } else {
                            1
                        };
                        stack.push((*if_true, depth + own));
                        stack.push((*if_false, depth + own));
                    }
                }
            }
        }
        Ok(deepest)
    }

    /// The largest `|Σ|` any walk can produce: the base plus every tree's largest leaf.
    pub fn bound(&self) -> f64 {
        let leaf_max = |values: &Vec<f64>| values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let mut best_leaf = vec![0.0f64; self.roots.len()];
        for (tree, &root) in self.roots.iter().enumerate() {
            let mut stack = vec![root];
            while let Some(at) = stack.pop() {
                match &self.nodes[at] {
                    FloatTreeNode::Leaf(values) => {
                        best_leaf[tree] = best_leaf[tree].max(leaf_max(values));
                    }
                    FloatTreeNode::Branch {
                        if_true, if_false, ..
                    } => stack.extend([*if_true, *if_false]),
                }
            }
        }
        self.base.iter().fold(0.0f64, |m, v| m.max(v.abs())) + best_leaf.iter().sum::<f64>()
    }
}

/// An ensemble lowered to the integer op's weights.
#[derive(Clone, Debug)]
pub struct LoweredEnsemble {
    /// `i32 [M, 4]`.
    pub nodes: Tensor,
    /// `i32 [L, targets]`.
    pub leaves: Tensor,
    /// `i32 [T + 1]`: the trees, then the constant tree of the base values.
    pub roots: Tensor,
    /// The integer leaf of each float leaf node (`None` for branches).
    pub leaf_of: Vec<Option<usize>>,
}

/// Why an ensemble cannot be lowered.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum LowerError {
    /// A walk would take more comparisons than the op allows.
    #[error(
        "a tree takes {0} comparisons on one walk, more than the {MAX_TREE_DEPTH} one step may check"
    )]
    TooDeep(usize),
    /// The nodes do not form trees.
    #[error("{0}")]
    NotATree(String),
    /// The ensemble does not fit the i32 indices of the op.
    #[error("the ensemble has too many nodes for 32-bit indices")]
    TooLarge,
}

/// Lowers `ensemble` for features quantized with `quant` (one entry per feature) and
/// leaves at `output_scale`.
pub fn lower(
    ensemble: &FloatEnsemble,
    quant: &[FeatureQuant],
    output_scale: f64,
) -> Result<LoweredEnsemble, LowerError> {
    let depth = ensemble.check().map_err(LowerError::NotATree)?;
    if depth > MAX_TREE_DEPTH {
        return Err(LowerError::TooDeep(depth));
    }
    let mut b = Lowering {
        ensemble,
        quant,
        output_scale,
        rows: Vec::new(),
        leaves: Vec::new(),
        leaf_of: vec![None; ensemble.nodes.len()],
    };
    let mut roots = Vec::with_capacity(ensemble.roots.len() + 1);
    for &root in &ensemble.roots {
        roots.push(b.emit(root)?);
    }
    // The base values: a constant tree.
    let base = b.leaves.len() / ensemble.targets.max(1);
    let base_values: Vec<i32> = ensemble.base.iter().map(|&v| b.fixed(v)).collect();
    b.leaves.extend(base_values);
    roots.push(TreeChild::Leaf(base).encode().ok_or(LowerError::TooLarge)?);
    let row_count = b.rows.len();
    let (rows, row_count) = if row_count == 0 {
        (vec![[0, 0, roots[0], roots[0]]], 1)
    } else {
        (b.rows, row_count)
    };
    let size = |n: usize| u32::try_from(n).map_err(|_| LowerError::TooLarge);
    let leaf_rows = b.leaves.len() / ensemble.targets;
    Ok(LoweredEnsemble {
        nodes: Tensor::from_i32(
            vec![size(row_count)?, 4],
            rows.into_iter().flatten().collect(),
        )
        .map_err(|_| LowerError::TooLarge)?,
        leaves: Tensor::from_i32(vec![size(leaf_rows)?, size(ensemble.targets)?], b.leaves)
            .map_err(|_| LowerError::TooLarge)?,
        roots: Tensor::from_i32(vec![size(roots.len())?], roots)
            .map_err(|_| LowerError::TooLarge)?,
        leaf_of: b.leaf_of,
    })
}

struct Lowering<'a> {
    ensemble: &'a FloatEnsemble,
    quant: &'a [FeatureQuant],
    output_scale: f64,
    rows: Vec<[i32; 4]>,
    leaves: Vec<i32>,
    leaf_of: Vec<Option<usize>>,
}

impl Lowering<'_> {
    fn fixed(&self, v: f64) -> i32 {
        (v / self.output_scale + 0.5)
            .floor()
            .clamp(-f64::from(i32::MAX), f64::from(i32::MAX)) as i32
    }

    /// Emits float node `at` (children after their parent, so every child is a later
    /// row) and returns its code. `check` made the nodes a forest, so each is emitted
    /// once and the recursion is as deep as the (bounded) walks.
    fn emit(&mut self, at: usize) -> Result<i32, LowerError> {
        let code = match &self.ensemble.nodes[at] {
            FloatTreeNode::Leaf(values) => {
                let leaf = self.leaves.len() / self.ensemble.targets;
                let fixed: Vec<i32> = values.iter().map(|&v| self.fixed(v)).collect();
                self.leaves.extend(fixed);
                self.leaf_of[at] = Some(leaf);
                TreeChild::Leaf(leaf).encode().ok_or(LowerError::TooLarge)?
            }
            FloatTreeNode::Branch {
                feature,
                mode,
                threshold,
                if_true,
                if_false,
            } => {
                let (feature, mode, (t, f)) = (*feature, *mode, (*if_true, *if_false));
                let q = self.quant[feature];
                // θ = q(τ): the threshold quantized like its feature.
                let theta = quantize_feature(f64::from(*threshold), q, DType::I32);
                let below = (theta - 1).max(i64::from(i32::MIN)) as i32;
                let theta = theta as i32;
                let feature = feature as i32;
                match mode {
                    // v ≤ τ ⇔ q ≤ θ; v > τ is its negation.
                    BranchMode::Leq | BranchMode::Gt => {
                        let row = self.reserve();
                        let (a, b) = (self.emit(t)?, self.emit(f)?);
                        let (yes, no) = if mode == BranchMode::Leq {
                            (a, b)
                        } else {
                            (b, a)
                        };
                        self.rows[row] = [feature, theta, yes, no];
                        row as i32
                    }
                    // v < τ ⇔ q ≤ θ − 1; v ≥ τ is its negation.
                    BranchMode::Lt | BranchMode::Gte => {
                        let row = self.reserve();
                        let (a, b) = (self.emit(t)?, self.emit(f)?);
                        let (yes, no) = if mode == BranchMode::Lt {
                            (a, b)
                        } else {
                            (b, a)
                        };
                        self.rows[row] = [feature, below, yes, no];
                        row as i32
                    }
                    // v = τ ⇔ not (q ≤ θ − 1) and q ≤ θ: two rows.
                    BranchMode::Eq | BranchMode::Neq => {
                        let first = self.reserve();
                        let second = self.reserve();
                        let (a, b) = (self.emit(t)?, self.emit(f)?);
                        let (equal, differ) = if mode == BranchMode::Eq {
                            (a, b)
                        } else {
                            (b, a)
                        };
                        self.rows[first] = [feature, below, differ, second as i32];
                        self.rows[second] = [feature, theta, equal, differ];
                        first as i32
                    }
                }
            }
        };
        Ok(code)
    }

    fn reserve(&mut self) -> usize {
        self.rows.push([0; 4]);
        self.rows.len() - 1
    }
}

/// How many of the walks of one example end at another leaf in the integer ensemble
/// (`nodes`/`roots` weights, `leaf_of` from [`lower`]) than in the float one: the
/// decisions quantization moved. `q` is the example's quantized input.
pub fn moved_walks(
    ensemble: &FloatEnsemble,
    leaf_of: &[Option<usize>],
    nodes: &[i32],
    roots: &[i32],
    features: &[f64],
    q: &[i64],
) -> usize {
    ensemble
        .leaves(features)
        .iter()
        .zip(roots)
        .filter(|(float_leaf, root)| {
            let mut rows = verdict_specs::ops::TreeRows {
                rows: nodes,
                features: q,
            };
            let int_leaf = verdict_specs::ops::walk_tree(i64::from(**root), &mut rows);
            int_leaf.ok() != leaf_of[**float_leaf]
        })
        .count()
}

/// A feature's quantization for a tree model: `[lo, hi]` (the calibrated range widened to
/// every threshold on the feature) over `2^30` steps either side of its midpoint. Every
/// threshold then quantizes without saturating, so a feature beyond the range still
/// compares right with all of them (the clamp keeps the order), and a step is
/// `2^-31` of the range.
pub fn wide_feature_quant(lo: f64, hi: f64) -> FeatureQuant {
    const STEPS: f64 = (1u64 << 30) as f64;
    let (lo, hi) = if lo.is_finite() && hi.is_finite() && lo <= hi {
        (lo, hi)
    } else {
        (0.0, 0.0)
    };
    let mid = (lo + hi) / 2.0;
    let half = (hi - lo) / 2.0;
    // A constant feature still needs a step: take its magnitude (or 1) as the range.
    let half = if half > 0.0 { half } else { mid.abs().max(1.0) };
    // Rounding the scale and offset to f32 moves the range by a few steps; the slack of
    // 2^30 of 2^31 - 1 covers it.
    FeatureQuant {
        scale: (half / STEPS) as f32,
        offset: mid as f32,
    }
}

impl FloatEnsemble {
    /// The smallest and largest threshold compared with `feature`, if any.
    pub fn threshold_range(&self, feature: usize) -> Option<(f64, f64)> {
        self.nodes
            .iter()
            .filter_map(|n| match n {
                FloatTreeNode::Branch {
                    feature: f,
                    threshold,
                    ..
                } if *f == feature => Some(f64::from(*threshold)),
                _ => None,
            })
            .fold(None, |r, t| {
                Some(r.map_or((t, t), |(lo, hi): (f64, f64)| (lo.min(t), hi.max(t))))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use verdict_specs::ops::{TreeRows, walk_tree};

    /// One tree per mode: `x0 <mode> 2.5 ? leaf 1.0 : leaf -1.0`.
    fn ensemble(mode: BranchMode) -> FloatEnsemble {
        FloatEnsemble {
            nodes: vec![
                FloatTreeNode::Branch {
                    feature: 0,
                    mode,
                    threshold: 2.5,
                    if_true: 1,
                    if_false: 2,
                },
                FloatTreeNode::Leaf(vec![1.0]),
                FloatTreeNode::Leaf(vec![-1.0]),
            ],
            roots: vec![0],
            targets: 1,
            base: vec![0.5],
        }
    }

    #[test]
    fn every_mode_lowers_to_the_same_decisions_off_and_on_the_threshold() {
        let quant = [wide_feature_quant(0.0, 10.0)];
        for mode in [
            BranchMode::Leq,
            BranchMode::Lt,
            BranchMode::Gte,
            BranchMode::Gt,
            BranchMode::Eq,
            BranchMode::Neq,
        ] {
            let e = ensemble(mode);
            let low = lower(&e, &quant, 1e-6).expect("lowers");
            let rows = low.nodes.as_i32().expect("i32").to_vec();
            let roots = low.roots.as_i32().expect("i32").to_vec();
            for x in [0.0, 2.0, 2.4999, 2.5, 2.5001, 3.0, 10.0] {
                let q = quantize_feature(x, quant[0], DType::I32);
                let float_leaf = e.leaves(&[x])[0];
                let mut walk = TreeRows {
                    rows: &rows,
                    features: &[q],
                };
                let int_leaf = walk_tree(i64::from(roots[0]), &mut walk).expect("walks");
                assert_eq!(low.leaf_of[float_leaf], Some(int_leaf), "{mode:?} at {x}");
            }
            // The base values are the last, constant tree.
            assert_eq!(roots.len(), 2);
            assert_eq!(low.leaves.as_i32().expect("i32")[2], 500_000);
        }
    }

    #[test]
    fn depth_counts_two_comparisons_for_equality() {
        assert_eq!(ensemble(BranchMode::Leq).check(), Ok(1));
        assert_eq!(ensemble(BranchMode::Eq).check(), Ok(2));
        let mut cyclic = ensemble(BranchMode::Leq);
        cyclic.nodes[0] = FloatTreeNode::Branch {
            feature: 0,
            mode: BranchMode::Leq,
            threshold: 0.0,
            if_true: 0,
            if_false: 1,
        };
        assert!(cyclic.check().is_err());
        assert_eq!(ensemble(BranchMode::Leq).bound(), 1.5);
    }

    #[test]
    fn wide_quantization_spans_the_range_with_headroom() {
        let q = wide_feature_quant(6.0, 28.0);
        let at = |x: f64| quantize_feature(x, q, DType::I32);
        assert_eq!(at(17.0), 0);
        assert!((at(28.0) - (1 << 30)).abs() <= 64);
        assert!(at(6.0) < 0 && at(6.0) > -(1 << 31));
        assert_eq!(at(1e6), i64::from(i32::MAX));
        assert_eq!(wide_feature_quant(3.0, 3.0).offset, 3.0);
    }
}
