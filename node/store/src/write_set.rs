//! [`WriteSet`]: puts and deletes that are applied together or not at all.

/// One put or delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Op {
    pub(crate) cf: &'static str,
    pub(crate) key: Vec<u8>,
    /// `None` deletes.
    pub(crate) value: Option<Vec<u8>>,
}

/// Puts and deletes in column families, applied atomically and in the order added (a later
/// op on the same key wins).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WriteSet {
    ops: Vec<Op>,
    bytes: usize,
}

impl WriteSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value` in `cf`.
    pub fn put(&mut self, cf: &'static str, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        let (key, value) = (key.into(), value.into());
        self.bytes += key.len() + value.len();
        self.ops.push(Op {
            cf,
            key,
            value: Some(value),
        });
    }

    /// Removes `key` from `cf`.
    pub fn delete(&mut self, cf: &'static str, key: impl Into<Vec<u8>>) {
        let key = key.into();
        self.bytes += key.len();
        self.ops.push(Op {
            cf,
            key,
            value: None,
        });
    }

    /// The number of puts and deletes.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether the set holds no op.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Appends `other`'s ops after this set's.
    pub fn extend(&mut self, other: WriteSet) {
        self.bytes += other.bytes;
        self.ops.extend(other.ops);
    }

    /// Key and value bytes in the set (what bounds a group write's size).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub(crate) fn ops(&self) -> &[Op] {
        &self.ops
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_ops_and_bytes_and_extends_in_order() {
        let mut a = WriteSet::new();
        assert!(a.is_empty());
        a.put("x", b"k1".to_vec(), b"value".to_vec());
        a.delete("y", b"k2".to_vec());
        let mut b = WriteSet::new();
        b.put("x", b"k1".to_vec(), b"v".to_vec());
        a.extend(b);
        assert_eq!(a.len(), 3);
        assert_eq!(a.bytes(), 2 + 5 + 2 + 2 + 1);
        let values: Vec<_> = a.ops().iter().map(|op| op.value.clone()).collect();
        assert_eq!(values, [Some(b"value".to_vec()), None, Some(b"v".to_vec())]);
    }
}
