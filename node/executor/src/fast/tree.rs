//! TreeEnsemble and ReduceSum on burn tensors.
//!
//! Trees are walked for the whole batch at once, one level per round: every `(example,
//! tree)` pair holds a position in one index space, nodes `0..M` then leaves `M..M + L`,
//! and each round gathers the position's feature, threshold and children and moves to
//! `if_true` where `x[feature] <= threshold`, else to `if_false`. A leaf's children are
//! itself, so a pair that reached its leaf stays there; after as many rounds as the
//! deepest walk (validation bounds it by `MAX_TREE_DEPTH`), every pair is at its leaf,
//! which is exactly where the reference's walk ends. Everything runs in `i64`: features,
//! thresholds and leaf values are i32, and comparisons and picks are exact.

use super::contract::int_tensor;
use super::values::{Form, Values};
use burn::tensor::{Device, Int, Tensor};
use verdict_specs::Tensor as SpecTensor;
use verdict_specs::model::ValueId;
use verdict_specs::ops::{SUM_MAX, TREE_NODE_WIDTH, TreeChild, walk_depths};

/// A prepared ensemble.
#[derive(Clone, Debug)]
pub(super) struct TreeEnsemble {
    input: ValueId,
    /// Per position (nodes, then leaves): the feature compared (0 for a leaf).
    feature: Tensor<1, Int>,
    /// Per position: the threshold (`i64::MAX` for a leaf: every comparison is true).
    threshold: Tensor<1, Int>,
    /// Per position: the position on a true and on a false comparison.
    if_true: Tensor<1, Int>,
    if_false: Tensor<1, Int>,
    /// Each tree's first position, `[1, T]`.
    roots: Tensor<2, Int>,
    /// `i64 [L, targets]`.
    leaves: Tensor<2, Int>,
    /// Index of the first leaf position (`M`).
    first_leaf: i64,
    /// Rounds: the deepest walk of any tree.
    rounds: usize,
    trees: usize,
    targets: usize,
}

impl TreeEnsemble {
    /// Prepares validated weights.
    pub(super) fn new(
        input: ValueId,
        nodes: &SpecTensor,
        leaves: &SpecTensor,
        roots: &SpecTensor,
        device: &Device,
    ) -> Self {
        let rows = nodes.as_i32().expect("validation fixed nodes as i32");
        let leaf_values = leaves.as_i32().expect("validation fixed leaves as i32");
        let root_list = roots.as_i32().expect("validation fixed roots as i32");
        let m = rows.len() / TREE_NODE_WIDTH;
        let leaf_count = leaves.shape()[0] as usize;
        let targets = leaves.shape()[1] as usize;
        let position = |c: i32| match TreeChild::decode(i64::from(c)) {
            TreeChild::Node(n) => n as i64,
            TreeChild::Leaf(l) => (m + l) as i64,
        };
        let (mut feature, mut threshold, mut if_true, mut if_false) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let depth = walk_depths(rows);
        for row in rows.chunks(TREE_NODE_WIDTH) {
            feature.push(i64::from(row[0]));
            threshold.push(i64::from(row[1]));
            if_true.push(position(row[2]));
            if_false.push(position(row[3]));
        }
        for leaf in 0..leaf_count {
            feature.push(0);
            threshold.push(i64::MAX);
            if_true.push((m + leaf) as i64);
            if_false.push((m + leaf) as i64);
        }
        let rounds = root_list
            .iter()
            .map(|&r| match TreeChild::decode(i64::from(r)) {
                TreeChild::Node(n) => depth[n],
                TreeChild::Leaf(_) => 0,
            })
            .max()
            .unwrap_or(0);
        let positions = feature.len();
        let vector = |v: Vec<i64>| int_tensor(v, [positions], device);
        Self {
            input,
            feature: vector(feature),
            threshold: vector(threshold),
            if_true: vector(if_true),
            if_false: vector(if_false),
            roots: int_tensor(
                root_list.iter().map(|&r| position(r)).collect(),
                [1, root_list.len()],
                device,
            ),
            leaves: int_tensor(
                leaf_values.iter().map(|&v| i64::from(v)).collect(),
                [leaf_count, targets],
                device,
            ),
            first_leaf: m as i64,
            rounds,
            trees: root_list.len(),
            targets,
        }
    }

    pub(super) fn run(&self, values: &mut Values<'_>, batch: usize) -> Form {
        let x = values.int(self.input);
        let pairs = batch * self.trees;
        let mut at = self.roots.clone().repeat_dim(0, batch); // [B, T]
        for _ in 0..self.rounds {
            let flat = at.clone().reshape([pairs]);
            let pick = |table: &Tensor<1, Int>| {
                table
                    .clone()
                    .select(0, flat.clone())
                    .reshape([batch, self.trees])
            };
            let features = x.clone().gather(1, pick(&self.feature));
            let goes_true = features.lower_equal(pick(&self.threshold));
            at = pick(&self.if_false).mask_where(goes_true, pick(&self.if_true));
        }
        let leaf = at.reshape([pairs]).sub_scalar(self.first_leaf);
        // [B * T, targets] -> [B, T, targets] -> [B, targets, T].
        let picked = self
            .leaves
            .clone()
            .select(0, leaf)
            .reshape([batch, self.trees, self.targets])
            .swap_dims(1, 2);
        Form::Int(picked.reshape([batch, self.targets * self.trees]))
    }
}

/// Sum along one axis, saturated to `[-(2^31 - 1), 2^31 - 1]`, exact in `i64`.
#[derive(Clone, Debug)]
pub(super) struct ReduceSum {
    input: ValueId,
    /// The input as `[outer, len, inner]` around the axis.
    outer: usize,
    len: usize,
    inner: usize,
}

impl ReduceSum {
    pub(super) fn new(input: ValueId, shape: &[u32], axis: usize) -> Self {
        let dims = |d: &[u32]| d.iter().map(|&v| v as usize).product::<usize>();
        Self {
            input,
            outer: dims(&shape[..axis]),
            len: shape[axis] as usize,
            inner: dims(&shape[axis + 1..]),
        }
    }

    pub(super) fn run(&self, values: &mut Values<'_>, batch: usize) -> Form {
        let x = values.int(self.input);
        let sum = x
            .reshape([batch * self.outer, self.len, self.inner])
            .sum_dim(1)
            .clamp(-SUM_MAX, SUM_MAX);
        Form::Int(sum.reshape([batch, self.outer * self.inner]))
    }
}
