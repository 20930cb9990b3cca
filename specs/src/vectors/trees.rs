//! Random decision-tree ensembles for vectors and differential tests.

use super::SplitMix64;
use crate::ops::TreeChild;
use crate::tensor::Tensor;

/// How [`random_ensemble`] draws an ensemble.
#[derive(Clone, Copy, Debug)]
pub struct EnsembleShape {
    /// Input elements a node may compare.
    pub features: usize,
    /// Trees, the last one a constant (a root that is a leaf, like `base_values`).
    pub trees: usize,
    /// Values per leaf.
    pub targets: usize,
    /// Most comparisons on a walk.
    pub max_depth: usize,
    /// Thresholds are drawn from `[-threshold_bound, threshold_bound]`.
    pub threshold_bound: i64,
    /// Leaf values are drawn from `[-leaf_bound, leaf_bound]`.
    pub leaf_bound: i64,
}

/// `nodes`, `leaves` and `roots` of a random valid ensemble: trees of random shape (each
/// node a leaf early with probability 1/4), every child a later row.
pub fn random_ensemble(rng: &mut SplitMix64, shape: EnsembleShape) -> [Tensor; 3] {
    let mut nodes: Vec<[i32; 4]> = Vec::new();
    let mut leaves: Vec<i32> = Vec::new();
    let mut roots = Vec::new();
    for tree in 0..shape.trees {
        let depth = if tree + 1 == shape.trees {
            0
        } else {
            shape.max_depth
        };
        roots.push(grow(rng, &shape, depth, &mut nodes, &mut leaves));
    }
    let rows = nodes.len() as u32;
    let flat: Vec<i32> = nodes.into_iter().flatten().collect();
    let leaf_rows = (leaves.len() / shape.targets) as u32;
    [
        // A model whose trees are all constants has no node rows; keep one unused row so
        // the tensor has a valid shape.
        if rows == 0 {
            Tensor::from_i32(vec![1, 4], vec![0, 0, -1, -1])
        } else {
            Tensor::from_i32(vec![rows, 4], flat)
        }
        .expect("sized"),
        Tensor::from_i32(vec![leaf_rows, shape.targets as u32], leaves).expect("sized"),
        Tensor::from_i32(vec![roots.len() as u32], roots).expect("sized"),
    ]
}

fn grow(
    rng: &mut SplitMix64,
    shape: &EnsembleShape,
    depth: usize,
    nodes: &mut Vec<[i32; 4]>,
    leaves: &mut Vec<i32>,
) -> i32 {
    if depth == 0 || rng.range(0, 3) == 0 {
        let leaf = leaves.len() / shape.targets;
        for _ in 0..shape.targets {
            let v = match rng.range(0, 5) {
                0 => shape.leaf_bound,
                1 => -shape.leaf_bound,
                _ => rng.range(-shape.leaf_bound, shape.leaf_bound),
            };
            leaves.push(v as i32);
        }
        return TreeChild::Leaf(leaf).encode().expect("small");
    }
    let at = nodes.len();
    nodes.push([0; 4]);
    let feature = rng.range(0, shape.features as i64 - 1) as i32;
    let threshold = rng.range(-shape.threshold_bound, shape.threshold_bound) as i32;
    let if_true = grow(rng, shape, depth - 1, nodes, leaves);
    let if_false = grow(rng, shape, depth - 1, nodes, leaves);
    nodes[at] = [feature, threshold, if_true, if_false];
    TreeChild::Node(at).encode().expect("small")
}

/// Values that hit the thresholds of `nodes`: each feature takes, with equal odds, a
/// threshold some node compares it with, that threshold plus one, or a random value in
/// `[-bound, bound]`; ties (`x == threshold`) are where a wrong comparison shows.
pub fn features_near_thresholds(
    rng: &mut SplitMix64,
    nodes: &Tensor,
    features: usize,
    bound: i64,
) -> Vec<i64> {
    let rows = nodes.as_i32().unwrap_or_default();
    (0..features)
        .map(|f| {
            let thresholds: Vec<i64> = rows
                .chunks(4)
                .filter(|r| r[0] as usize == f)
                .map(|r| i64::from(r[1]))
                .collect();
            let pick = rng.range(0, 2);
            if thresholds.is_empty() || pick == 2 {
                return rng.range(-bound, bound);
            }
            let t = thresholds[rng.range(0, thresholds.len() as i64 - 1) as usize];
            (t + pick).clamp(-bound, bound)
        })
        .collect()
}
