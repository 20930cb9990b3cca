//! Ops that only move elements: Transpose, Concat, Slice, and the broadcast read of
//! Mul's second operand. Each output element is one input element; these functions say
//! which (row-major flat indices throughout).

/// The coordinates of flat index `index` in a row-major tensor of `shape`.
pub fn unravel(mut index: usize, shape: &[u32]) -> Vec<usize> {
    let mut coords = vec![0; shape.len()];
    for (c, &d) in coords.iter_mut().zip(shape).rev() {
        let d = d as usize;
        *c = index % d;
        index /= d;
    }
    coords
}

/// The flat index of `coords` in a row-major tensor of `shape`.
pub fn ravel(coords: &[usize], shape: &[u32]) -> usize {
    coords
        .iter()
        .zip(shape)
        .fold(0, |flat, (&c, &d)| flat * d as usize + c)
}

/// The shape `Transpose` with `perm` gives `shape`: dimension `i` of the output is
/// dimension `perm[i]` of the input.
pub fn transposed_shape(shape: &[u32], perm: &[u8]) -> Vec<u32> {
    perm.iter().map(|&p| shape[p as usize]).collect()
}

/// Whether `perm` names each of `rank` axes exactly once (a valid Transpose).
pub fn is_permutation(perm: &[u8], rank: usize) -> bool {
    let mut seen = vec![false; rank];
    perm.len() == rank
        && perm.iter().all(|&p| match seen.get_mut(p as usize) {
            Some(s) if !*s => {
                *s = true;
                true
            }
            _ => false,
        })
}

/// The shape of `Concat(a, b)` along `axis`: `None` when the ranks differ, the axis is
/// out of range, another dimension differs, or the joined length passes `u32`. (The
/// element count is the caller's to bound.)
pub fn concat_shape(a: &[u32], b: &[u32], axis: usize) -> Option<Vec<u32>> {
    let joins = a.len() == b.len()
        && axis < a.len()
        && a.iter()
            .zip(b)
            .enumerate()
            .all(|(i, (x, y))| i == axis || x == y);
    if !joins {
        return None;
    }
    let mut shape = a.to_vec();
    shape[axis] = a[axis].checked_add(b[axis])?;
    Some(shape)
}

/// Whether the window `start .. start + len` (every length at least 1) lies inside
/// `shape`, with one entry per axis (a valid Slice).
pub fn slice_fits(shape: &[u32], start: &[u32], len: &[u32]) -> bool {
    start.len() == shape.len()
        && len.len() == shape.len()
        && start
            .iter()
            .zip(len)
            .zip(shape)
            .all(|((&s, &l), &d)| l >= 1 && u64::from(s) + u64::from(l) <= u64::from(d))
}

/// The input element output element `j` of a Transpose is: output coordinate `i` is
/// input coordinate `perm[i]`.
pub fn transpose_source(j: usize, input_shape: &[u32], perm: &[u8]) -> usize {
    let out = unravel(j, &transposed_shape(input_shape, perm));
    let mut coords = vec![0; input_shape.len()];
    for (i, &p) in perm.iter().enumerate() {
        coords[p as usize] = out[i];
    }
    ravel(&coords, input_shape)
}

/// Where output element `j` of `Concat(a, b)` along `axis` comes from: `(0, i)` for
/// element `i` of `a`, `(1, i)` for element `i` of `b`.
pub fn concat_source(j: usize, a_shape: &[u32], b_shape: &[u32], axis: usize) -> (usize, usize) {
    let mut out_shape = a_shape.to_vec();
    out_shape[axis] += b_shape[axis];
    let mut coords = unravel(j, &out_shape);
    let a_len = a_shape[axis] as usize;
    if coords[axis] < a_len {
        (0, ravel(&coords, a_shape))
    } else {
        coords[axis] -= a_len;
        (1, ravel(&coords, b_shape))
    }
}

/// The input element output element `j` of a Slice is: output coordinate `i` plus
/// `start[i]`.
pub fn slice_source(j: usize, input_shape: &[u32], start: &[u32], out_shape: &[u32]) -> usize {
    let mut coords = unravel(j, out_shape);
    for (c, &s) in coords.iter_mut().zip(start) {
        *c += s as usize;
    }
    ravel(&coords, input_shape)
}

/// Whether `b` broadcasts to `a`: the same rank, each dimension equal or 1.
pub fn broadcasts_to(b: &[u32], a: &[u32]) -> bool {
    b.len() == a.len() && b.iter().zip(a).all(|(&db, &da)| db == da || db == 1)
}

/// The element of `b` (of a shape that [`broadcasts_to`] `a_shape`) that element `j` of
/// `a` meets: coordinates along `b`'s length-1 dimensions are 0.
pub fn broadcast_source(j: usize, a_shape: &[u32], b_shape: &[u32]) -> usize {
    if a_shape == b_shape {
        return j;
    }
    let mut coords = unravel(j, a_shape);
    for (c, &d) in coords.iter_mut().zip(b_shape) {
        if d == 1 {
            *c = 0;
        }
    }
    ravel(&coords, b_shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transpose_of_a_matrix_and_of_three_axes() {
        // [[0, 1, 2], [3, 4, 5]]ᵀ = [[0, 3], [1, 4], [2, 5]]
        let sources: Vec<usize> = (0..6)
            .map(|j| transpose_source(j, &[2, 3], &[1, 0]))
            .collect();
        assert_eq!(sources, [0, 3, 1, 4, 2, 5]);
        // [T=2, F=3] per example to [F, T] is the same; [1, 2, 3] with perm [0, 2, 1]:
        let sources: Vec<usize> = (0..6)
            .map(|j| transpose_source(j, &[1, 2, 3], &[0, 2, 1]))
            .collect();
        assert_eq!(sources, [0, 3, 1, 4, 2, 5]);
        assert_eq!(transposed_shape(&[4, 5, 6], &[2, 0, 1]), [6, 4, 5]);
    }

    #[test]
    fn concat_along_an_inner_axis() {
        // a = [[0, 1], [2, 3]], b = [[10], [11]] along axis 1: [[0, 1, 10], [2, 3, 11]]
        let sources: Vec<(usize, usize)> = (0..6)
            .map(|j| concat_source(j, &[2, 2], &[2, 1], 1))
            .collect();
        assert_eq!(sources, [(0, 0), (0, 1), (1, 0), (0, 2), (0, 3), (1, 1)]);
    }

    #[test]
    fn a_slice_takes_a_window() {
        // x = [[0..5], [5..10]], start [1, 2], shape [1, 3]: [7, 8, 9]
        let sources: Vec<usize> = (0..3)
            .map(|j| slice_source(j, &[2, 5], &[1, 2], &[1, 3]))
            .collect();
        assert_eq!(sources, [7, 8, 9]);
    }

    #[test]
    fn broadcasting_a_column() {
        assert!(broadcasts_to(&[3, 1], &[3, 4]) && !broadcasts_to(&[4], &[3, 4]));
        let sources: Vec<usize> = (0..6)
            .map(|j| broadcast_source(j, &[3, 2], &[3, 1]))
            .collect();
        assert_eq!(sources, [0, 0, 1, 1, 2, 2]);
    }
}
