//! Canonical binary encoding: big-endian integers, length-prefixed lists, and a reader
//! for untrusted bytes that never panics and names the field and offset of a fault.

use thiserror::Error;

/// Why a byte string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("at byte {offset}, field `{field}`: {reason}")]
pub struct DecodeError {
    /// Offset of the first byte of the offending field.
    pub offset: usize,
    /// Dotted path of the field being read, e.g. `graph.nodes[3].kernel`.
    pub field: String,
    /// What was wrong.
    pub reason: String,
}

/// Appends canonical encodings to a buffer.
#[derive(Default, Debug)]
pub struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }
    /// One byte.
    pub fn u8(&mut self, value: u8) {
        self.bytes.push(value);
    }
    /// Big-endian u16.
    pub fn u16(&mut self, value: u16) {
        self.bytes.extend_from_slice(&value.to_be_bytes());
    }
    /// Big-endian u32.
    pub fn u32(&mut self, value: u32) {
        self.bytes.extend_from_slice(&value.to_be_bytes());
    }
    /// Big-endian two's-complement i32.
    pub fn i32(&mut self, value: i32) {
        self.bytes.extend_from_slice(&value.to_be_bytes());
    }
    /// IEEE-754 bits of an f32, big-endian.
    pub fn f32(&mut self, value: f32) {
        self.u32(value.to_bits());
    }
    /// Raw bytes, no length prefix.
    pub fn raw(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }
    /// u32 length then the bytes.
    pub fn bytes(&mut self, bytes: &[u8]) {
        self.u32(u32::try_from(bytes.len()).expect("encoded objects are far below 4 GiB"));
        self.raw(bytes);
    }
    /// The encoding so far.
    pub fn finish(self) -> Vec<u8> {
        self.bytes
    }
}

/// Reads canonical encodings from untrusted bytes.
#[derive(Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
    path: Vec<String>,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            offset: 0,
            path: Vec::new(),
        }
    }

    /// Current offset.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.offset
    }

    /// Runs `read` with `name` pushed on the field path, so errors inside name it.
    pub fn field<T>(
        &mut self,
        name: impl Into<String>,
        read: impl FnOnce(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<T, DecodeError> {
        self.path.push(name.into());
        let result = read(self);
        self.path.pop();
        result
    }

    /// An error at `offset` for the current field.
    pub fn error_at(&self, offset: usize, reason: impl Into<String>) -> DecodeError {
        DecodeError {
            offset,
            field: self.path.join("."),
            reason: reason.into(),
        }
    }

    /// An error at the current offset for the current field.
    pub fn error(&self, reason: impl Into<String>) -> DecodeError {
        self.error_at(self.offset, reason)
    }

    /// The next `len` bytes.
    pub fn take(&mut self, len: usize) -> Result<&'a [u8], DecodeError> {
        if len > self.remaining() {
            return Err(self.error(format!("needs {len} bytes, only {} left", self.remaining())));
        }
        let slice = &self.bytes[self.offset..self.offset + len];
        self.offset += len;
        Ok(slice)
    }

    /// The next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let slice = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    /// One byte.
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }
    /// Big-endian u16.
    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }
    /// Big-endian u32.
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    /// Big-endian i32.
    pub fn i32(&mut self) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.array()?))
    }
    /// An f32 from its bits; NaN and infinities are rejected (they have no place in a model).
    pub fn f32(&mut self) -> Result<f32, DecodeError> {
        let at = self.offset;
        let value = f32::from_bits(self.u32()?);
        if value.is_finite() {
            Ok(value)
        } else {
            Err(self.error_at(at, "not a finite number"))
        }
    }
    /// A boolean byte, 0 or 1.
    pub fn bool(&mut self) -> Result<bool, DecodeError> {
        let at = self.offset;
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(self.error_at(at, format!("boolean byte must be 0 or 1, got {other}"))),
        }
    }
    /// u32 length then that many bytes.
    pub fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.u32()? as usize;
        self.take(len)
    }
    /// A u32 count, checked against the bytes left given each item's minimum size,
    /// so a forged count cannot make us allocate more than the input could hold.
    pub fn count(&mut self, min_item_bytes: usize) -> Result<usize, DecodeError> {
        let at = self.offset;
        let count = self.u32()? as usize;
        if count.saturating_mul(min_item_bytes.max(1)) > self.remaining() {
            return Err(self.error_at(
                at,
                format!(
                    "count {count} cannot fit in the {} bytes left",
                    self.remaining()
                ),
            ));
        }
        Ok(count)
    }
    /// Fails unless every byte was read.
    pub fn finish(self) -> Result<(), DecodeError> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(self.error(format!("{} trailing bytes", self.remaining())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors_name_the_field() {
        let mut w = Writer::new();
        w.u8(7);
        w.u32(0xdead_beef);
        w.i32(-5);
        w.f32(1.5);
        w.bytes(b"hi");
        let bytes = w.finish();
        let mut r = Reader::new(&bytes);
        assert_eq!(r.u8(), Ok(7));
        assert_eq!(r.u32(), Ok(0xdead_beef));
        assert_eq!(r.i32(), Ok(-5));
        assert_eq!(r.f32(), Ok(1.5));
        assert_eq!(r.bytes(), Ok(&b"hi"[..]));
        assert!(r.finish().is_ok());

        let mut r = Reader::new(&bytes[..3]);
        r.u8().expect("one byte is there");
        let err = r
            .field("graph", |r| r.field("count", |r| r.u32()))
            .unwrap_err();
        assert_eq!(err.offset, 1);
        assert_eq!(err.field, "graph.count");
    }

    #[test]
    fn forged_counts_are_refused_before_allocation() {
        let bytes = u32::MAX.to_be_bytes();
        let mut r = Reader::new(&bytes);
        assert!(r.count(1).is_err());
    }

    #[test]
    fn non_finite_floats_are_refused() {
        let bytes = f32::NAN.to_bits().to_be_bytes();
        assert!(Reader::new(&bytes).f32().is_err());
    }
}
