//! Integer op semantics, one output element at a time.
//!
//! Each function computes a single output element from exactly the inputs that
//! element depends on. The reference interpreter is these functions in loops, and the
//! L1 one-step verifier recomputes one element the same way, so the rules here are
//! written for 64-bit integer arithmetic that Solidity mirrors directly. See
//! `specs/ops.md` for every rule with a worked example.
//!
//! One rounding rule is used everywhere a value is divided: **round half up**
//! (towards +infinity), i.e. `floor(v + 1/2)`, computed exactly in integers.

mod layout;
mod pool;
mod requantize;
mod softmax;
mod tree;

pub use layout::{
    broadcast_source, broadcasts_to, concat_shape, concat_source, is_permutation, ravel,
    slice_fits, slice_source, transpose_source, transposed_shape, unravel,
};
pub use pool::{
    avg_pool_element, global_avg_element, max_pool_element, round_div_half_up, window_positions,
};
pub use requantize::{add_element, mul_element, requantize};
pub use softmax::{
    SOFTMAX_EXP_MAX, SOFTMAX_ONE, SOFTMAX_TABLE_LEN, softmax_element, softmax_index, softmax_row,
};
pub use tree::{
    MAX_TREE_DEPTH, SUM_MAX, TREE_NODE_WIDTH, TreeChild, TreeNode, TreeRows, TreeSource, WalkError,
    reduce_positions, sum_element, walk_depths, walk_tree,
};

/// Smallest int8 value an activation may take; -128 is never produced or accepted.
pub const I8_MIN: i64 = -127;
/// Largest int8 value.
pub const I8_MAX: i64 = 127;

/// Clamps to `[-127, 127]`.
pub fn saturate_i8(v: i64) -> i8 {
    v.clamp(I8_MIN, I8_MAX) as i8
}

/// One MatMul output: `bias + sum_k x[k] * w[k]` over one input row and one weight row.
/// Validation guarantees the sum fits in i32 (see `MAX_ACCUMULATOR`).
pub fn dot_element(input_row: &[i8], weight_row: &[i8], bias: i32) -> i32 {
    let sum: i64 = input_row
        .iter()
        .zip(weight_row)
        .map(|(&x, &w)| i64::from(x) * i64::from(w))
        .sum();
    (sum + i64::from(bias)) as i32
}

/// Bound on `|accumulator|` that validation enforces for MatMul and Conv2d:
/// `K * 127 * 127 + max |bias| <= i32::MAX`, so the i32 result never wraps.
pub const MAX_ACCUMULATOR: i64 = i32::MAX as i64;

/// Largest `|product|` of two int8 operands: `127 * 127`. (-128 never occurs.)
pub const MAX_PRODUCT: i64 = I8_MAX * I8_MAX;

/// ReLU.
pub fn relu(x: i64) -> i64 {
    x.max(0)
}

/// Entries of a `Table` op: one per int8 value, `-128..=127`.
pub const TABLE_LEN: u32 = 256;

/// Where input `x` reads a `Table`: entry `x + 128`.
pub fn table_index(x: i64) -> usize {
    (x + 128) as usize
}

/// One `Table` output: `table[x + 128]`. `x` is an int8 activation, so the index is in
/// `1..=255` (validation fixes the table at 256 entries).
pub fn table_element(x: i8, table: &[i8]) -> i8 {
    table[table_index(i64::from(x))]
}

/// Index of the largest value; the lowest index wins a tie. `None` for an empty slice.
pub fn argmax(values: &[i64]) -> Option<usize> {
    let mut best: Option<(usize, i64)> = None;
    for (i, &v) in values.iter().enumerate() {
        if best.is_none_or(|(_, b)| v > b) {
            best = Some((i, v));
        }
    }
    best.map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_at_the_extremes() {
        let x = vec![127i8; 1024];
        let w = vec![-127i8; 1024];
        assert_eq!(dot_element(&x, &w, 5), -(1024 * 127 * 127) + 5);
    }

    #[test]
    fn table_reads_entry_x_plus_128() {
        let table: Vec<i8> = (0..256i32).map(|i| (i % 255 - 127) as i8).collect();
        assert_eq!(table_element(-127, &table), table[1]);
        assert_eq!(table_element(0, &table), table[128]);
        assert_eq!(table_element(127, &table), table[255]);
    }

    #[test]
    fn argmax_takes_the_lowest_index_on_ties() {
        assert_eq!(argmax(&[1, 5, 5, 2]), Some(1));
        assert_eq!(argmax(&[-3]), Some(0));
        assert_eq!(argmax(&[]), None);
    }
}
