//! Decision trees and sums: the integer rules of `TreeEnsemble` and `ReduceSum`.
//!
//! A tree is rows of `[feature, threshold, if_true, if_false]`; a walk compares one
//! integer feature with one integer threshold per row (`x <= threshold` goes to
//! `if_true`), so the float threshold of the source model becomes an exact comparison
//! in the quantized domain (`specs/ops.md`, TreeEnsemble). The walk is written over
//! fallible accessors so the reference interpreter, the one-step verifier and the
//! executor's checks run the same code.

/// Most comparisons on any root-to-leaf path; bounds the gas of one tree step.
pub const MAX_TREE_DEPTH: usize = 64;

/// Columns of a `nodes` row.
pub const TREE_NODE_WIDTH: usize = 4;

/// Where a child (or root) index leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TreeChild {
    /// Row of `nodes`.
    Node(usize),
    /// Row of `leaves`.
    Leaf(usize),
}

impl TreeChild {
    /// Decodes `c`: `c >= 0` is node `c`, `c < 0` is leaf `-1 - c`.
    pub fn decode(c: i64) -> Self {
        if c >= 0 {
            TreeChild::Node(c as usize)
        } else {
            TreeChild::Leaf((-1 - c) as usize)
        }
    }

    /// The encoding of this child, if it fits in i32.
    pub fn encode(self) -> Option<i32> {
        match self {
            TreeChild::Node(i) => i32::try_from(i).ok(),
            TreeChild::Leaf(i) => i32::try_from(i).ok().map(|i| -1 - i),
        }
    }
}

/// One row of `nodes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeNode {
    /// Flat index of the feature compared.
    pub feature: i64,
    /// `x[feature] <= threshold` goes to `if_true`.
    pub threshold: i64,
    /// Child on a true comparison.
    pub if_true: i64,
    /// Child on a false comparison.
    pub if_false: i64,
}

impl TreeNode {
    /// Row `i` of a `nodes` weight (`i32 [M, 4]`, flat), if it exists.
    pub fn row(rows: &[i32], i: usize) -> Option<Self> {
        let r = rows
            .get(i.checked_mul(TREE_NODE_WIDTH)?..)?
            .get(..TREE_NODE_WIDTH)?;
        Some(TreeNode {
            feature: r[0].into(),
            threshold: r[1].into(),
            if_true: r[2].into(),
            if_false: r[3].into(),
        })
    }

    /// The child a feature value `x` leads to.
    pub fn next(&self, x: i64) -> i64 {
        if x <= self.threshold {
            self.if_true
        } else {
            self.if_false
        }
    }
}

/// Why a walk stopped before a leaf.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WalkError<E> {
    /// An accessor failed (a missing opening, an index out of range).
    Read(E),
    /// A child pointed backwards (to its own row or an earlier one).
    Backwards {
        /// The row.
        from: usize,
        /// The child it names.
        to: usize,
    },
    /// More than [`MAX_TREE_DEPTH`] comparisons.
    TooDeep,
}

/// What a walk reads: rows of `nodes` and features of the input.
pub trait TreeSource {
    /// Why a read failed.
    type Error;
    /// Row `i` of `nodes`.
    fn node(&mut self, i: usize) -> Result<TreeNode, Self::Error>;
    /// Feature `f` (a flat index; negative indices of bad weights arrive as huge ones).
    fn feature(&mut self, f: usize) -> Result<i64, Self::Error>;
}

/// The most comparisons a walk starting at each row makes, for a `nodes` weight (flat)
/// whose node children are later rows and in range (what validation checks first).
pub fn walk_depths(rows: &[i32]) -> Vec<usize> {
    let m = rows.len() / TREE_NODE_WIDTH;
    let mut depth = vec![0usize; m];
    for i in (0..m).rev() {
        let row = &rows[i * TREE_NODE_WIDTH..(i + 1) * TREE_NODE_WIDTH];
        let below = |c: i32| match TreeChild::decode(i64::from(c)) {
            TreeChild::Node(n) => depth.get(n).copied().unwrap_or(0),
            TreeChild::Leaf(_) => 0,
        };
        depth[i] = 1 + below(row[2]).max(below(row[3]));
    }
    depth
}

/// A walk over a flat `nodes` weight and integer features in memory.
#[derive(Clone, Copy, Debug)]
pub struct TreeRows<'a> {
    /// The `nodes` weight, flat.
    pub rows: &'a [i32],
    /// The example's features.
    pub features: &'a [i64],
}

impl TreeSource for TreeRows<'_> {
    type Error = ();
    fn node(&mut self, i: usize) -> Result<TreeNode, ()> {
        TreeNode::row(self.rows, i).ok_or(())
    }
    fn feature(&mut self, f: usize) -> Result<i64, ()> {
        self.features.get(f).copied().ok_or(())
    }
}

/// Walks one tree from `root` to its leaf and returns the leaf index. Validation makes
/// every walk of a registered model end at a leaf within [`MAX_TREE_DEPTH`] forward steps;
/// the checks here keep a walk over untrusted data (the one-step verifier's) bounded too.
pub fn walk_tree<S: TreeSource>(root: i64, src: &mut S) -> Result<usize, WalkError<S::Error>> {
    let mut at = TreeChild::decode(root);
    for _ in 0..=MAX_TREE_DEPTH {
        let index = match at {
            TreeChild::Leaf(leaf) => return Ok(leaf),
            TreeChild::Node(index) => index,
        };
        let row = src.node(index).map_err(WalkError::Read)?;
        let x = src
            .feature(usize::try_from(row.feature).unwrap_or(usize::MAX))
            .map_err(WalkError::Read)?;
        let next = TreeChild::decode(row.next(x));
        if let TreeChild::Node(to) = next
            && to <= index
        {
            return Err(WalkError::Backwards { from: index, to });
        }
        at = next;
    }
    Err(WalkError::TooDeep)
}

/// Largest magnitude a `ReduceSum` output takes: sums saturate to `[-SUM_MAX, SUM_MAX]`.
pub const SUM_MAX: i64 = i32::MAX as i64;

/// One `ReduceSum` output: the exact sum of `values`, saturated to `[-(2^31 - 1), 2^31 - 1]`.
/// (At most 2^32 terms of at most 2^31 each, so the i64 sum itself cannot overflow.)
pub fn sum_element(values: impl IntoIterator<Item = i64>) -> i32 {
    let sum: i64 = values.into_iter().sum();
    sum.clamp(-SUM_MAX, SUM_MAX) as i32
}

/// Flat indices of the elements `ReduceSum` over `axis` adds for output element `j`:
/// `outer * len * inner + i * inner + rest` for `i in 0..len`, where `j = outer * inner +
/// rest` (the output has the axis at length 1).
pub fn reduce_positions(shape: &[u32], axis: usize, j: usize) -> impl Iterator<Item = usize> {
    let inner: usize = shape[axis + 1..].iter().map(|&d| d as usize).product();
    let len = shape[axis] as usize;
    let (outer, rest) = (j / inner, j % inner);
    (0..len).map(move |i| (outer * len + i) * inner + rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `x0 <= 5 ? (x1 <= -2 ? leaf 0 : leaf 1) : leaf 2`.
    fn tree() -> Vec<TreeNode> {
        vec![
            TreeNode {
                feature: 0,
                threshold: 5,
                if_true: 1,
                if_false: -3,
            },
            TreeNode {
                feature: 1,
                threshold: -2,
                if_true: -1,
                if_false: -2,
            },
        ]
    }

    struct Slices<'a>(&'a [TreeNode], &'a [i64]);

    impl TreeSource for Slices<'_> {
        type Error = ();
        fn node(&mut self, i: usize) -> Result<TreeNode, ()> {
            self.0.get(i).copied().ok_or(())
        }
        fn feature(&mut self, f: usize) -> Result<i64, ()> {
            self.1.get(f).copied().ok_or(())
        }
    }

    fn walk(nodes: &[TreeNode], root: i64, x: &[i64]) -> Result<usize, WalkError<()>> {
        walk_tree(root, &mut Slices(nodes, x))
    }

    #[test]
    fn a_walk_compares_with_less_or_equal() {
        let nodes = tree();
        assert_eq!(walk(&nodes, 0, &[5, -2]), Ok(0)); // both ties go true
        assert_eq!(walk(&nodes, 0, &[5, -1]), Ok(1));
        assert_eq!(walk(&nodes, 0, &[6, -100]), Ok(2));
        assert_eq!(walk(&nodes, -4, &[0, 0]), Ok(3)); // a constant tree
    }

    #[test]
    fn backward_children_and_endless_walks_stop() {
        let mut nodes = tree();
        nodes[1].if_true = 1;
        assert_eq!(
            walk(&nodes, 0, &[0, -5]),
            Err(WalkError::Backwards { from: 1, to: 1 })
        );
        let chain: Vec<TreeNode> = (0..=MAX_TREE_DEPTH as i64)
            .map(|i| TreeNode {
                feature: 0,
                threshold: 0,
                if_true: i + 1,
                if_false: -1,
            })
            .collect();
        assert_eq!(walk(&chain, 0, &[0]), Err(WalkError::TooDeep));
        assert_eq!(walk(&chain[1..], 0, &[0]), Err(WalkError::Read(())));
    }

    #[test]
    fn child_codes_round_trip() {
        for c in [-5i64, -1, 0, 7] {
            assert_eq!(TreeChild::decode(c).encode(), Some(c as i32));
        }
    }

    #[test]
    fn sums_saturate_and_positions_follow_the_axis() {
        assert_eq!(sum_element([i64::from(i32::MAX), 5]), i32::MAX);
        assert_eq!(sum_element([-SUM_MAX, -SUM_MAX]), -i32::MAX);
        assert_eq!(sum_element([3, -1, 4]), 6);
        // [2, 3, 4] over axis 1: output [2, 1, 4]; element 5 is (1, 0, 1).
        let p: Vec<usize> = reduce_positions(&[2, 3, 4], 1, 5).collect();
        assert_eq!(p, vec![13, 17, 21]);
        let last: Vec<usize> = reduce_positions(&[2, 3], 1, 1).collect();
        assert_eq!(last, vec![3, 4, 5]);
    }
}
