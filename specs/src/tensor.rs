//! Tensors, their canonical bytes and their commitments.
//!
//! Canonical bytes of a tensor's elements: row-major; an `i8` is one byte (two's
//! complement), an `i32` four bytes big-endian. The elements are cut into 32-byte
//! chunks (the last padded with zero bytes) and committed as a Merkle tree
//! ([`crate::merkle`]) whose leaves are the chunks. The tensor commitment binds the
//! element type and shape to that root:
//!
//! `commitment = keccak(0x02 || dtype || rank || dim_0 .. dim_{r-1} (u32 BE) || data_root)`
//!
//! so one element or one row can be opened with a short proof. See `specs/tensor.md`.

use crate::encoding::{DecodeError, Reader, Writer};
use crate::hash::{Hash, keccak};
use crate::merkle::{self, MerkleProof};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Bytes per Merkle leaf of a tensor.
pub const CHUNK_BYTES: usize = 32;
/// Domain byte of a tensor commitment.
pub const TENSOR_DOMAIN: u8 = 0x02;
/// Highest rank a tensor may have.
pub const MAX_RANK: usize = 6;
/// Most elements one tensor may hold (2^26), so a forged shape cannot exhaust memory.
pub const MAX_ELEMENTS: usize = 1 << 26;

/// Element type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    /// Signed 8-bit; activations and weights, in `[-127, 127]`.
    I8,
    /// Signed 32-bit; biases, accumulators, indices and labels.
    I32,
}

impl DType {
    /// Byte in canonical encodings.
    pub fn code(self) -> u8 {
        match self {
            DType::I8 => 0,
            DType::I32 => 1,
        }
    }
    /// The lowercase name used in JSON: `i8` or `i32`.
    pub fn name(self) -> &'static str {
        match self {
            DType::I8 => "i8",
            DType::I32 => "i32",
        }
    }
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::I8 => 1,
            DType::I32 => 4,
        }
    }
    /// The dtype of a code (0: i8, 1: i32).
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(DType::I8),
            1 => Some(DType::I32),
            _ => None,
        }
    }
}

impl std::fmt::Display for DType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DType::I8 => "i8",
            DType::I32 => "i32",
        })
    }
}

/// A tensor shape: 1 to [`MAX_RANK`] dimensions, each at least 1.
pub type Shape = Vec<u32>;

/// Number of elements of `shape`, or `None` when the shape is not allowed.
pub fn element_count(shape: &[u32]) -> Option<usize> {
    if shape.is_empty() || shape.len() > MAX_RANK || shape.contains(&0) {
        return None;
    }
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d as usize))
        .filter(|&n| n <= MAX_ELEMENTS)
}

/// Formats a shape as `[a, b, c]`.
pub fn shape_string(shape: &[u32]) -> String {
    format!("{shape:?}")
}

/// Element storage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TensorData {
    /// `i8` elements.
    I8(Vec<i8>),
    /// `i32` elements.
    I32(Vec<i32>),
}

impl TensorData {
    /// Element type.
    pub fn dtype(&self) -> DType {
        match self {
            TensorData::I8(_) => DType::I8,
            TensorData::I32(_) => DType::I32,
        }
    }
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            TensorData::I8(v) => v.len(),
            TensorData::I32(v) => v.len(),
        }
    }
    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Element `i` widened to i64.
    pub fn get(&self, i: usize) -> Option<i64> {
        match self {
            TensorData::I8(v) => v.get(i).map(|&x| i64::from(x)),
            TensorData::I32(v) => v.get(i).map(|&x| i64::from(x)),
        }
    }
}

/// Why a tensor could not be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TensorError {
    /// Shape has rank 0, rank above [`MAX_RANK`], a zero dimension, or too many elements.
    #[error(
        "shape {0:?} is not allowed (rank 1..={MAX_RANK}, dims >= 1, at most {MAX_ELEMENTS} elements)"
    )]
    BadShape(Shape),
    /// Element count differs from the shape's.
    #[error("shape {shape:?} holds {expected} elements but {actual} were given")]
    LengthMismatch {
        /// The shape.
        shape: Shape,
        /// Elements the shape holds.
        expected: usize,
        /// Elements given.
        actual: usize,
    },
}

/// A shaped tensor of integers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "TensorJson", into = "TensorJson")]
pub struct Tensor {
    shape: Shape,
    data: TensorData,
}

/// JSON form: `{"dtype": "i8", "shape": [2, 3], "data": [..]}`.
#[derive(Serialize, Deserialize)]
struct TensorJson {
    dtype: DType,
    shape: Shape,
    data: Vec<i64>,
}

impl TryFrom<TensorJson> for Tensor {
    type Error = String;
    fn try_from(json: TensorJson) -> Result<Self, String> {
        let data = match json.dtype {
            DType::I8 => TensorData::I8(
                json.data
                    .iter()
                    .map(|&x| i8::try_from(x).map_err(|_| format!("{x} is not an i8")))
                    .collect::<Result<_, _>>()?,
            ),
            DType::I32 => TensorData::I32(
                json.data
                    .iter()
                    .map(|&x| i32::try_from(x).map_err(|_| format!("{x} is not an i32")))
                    .collect::<Result<_, _>>()?,
            ),
        };
        Tensor::new(json.shape, data).map_err(|e| e.to_string())
    }
}

impl From<Tensor> for TensorJson {
    fn from(t: Tensor) -> Self {
        let data = (0..t.data.len()).filter_map(|i| t.data.get(i)).collect();
        TensorJson {
            dtype: t.dtype(),
            shape: t.shape,
            data,
        }
    }
}

impl Tensor {
    /// A tensor, checked: allowed shape and matching length.
    pub fn new(shape: Shape, data: TensorData) -> Result<Self, TensorError> {
        let expected = element_count(&shape).ok_or_else(|| TensorError::BadShape(shape.clone()))?;
        if data.len() != expected {
            return Err(TensorError::LengthMismatch {
                shape,
                expected,
                actual: data.len(),
            });
        }
        Ok(Self { shape, data })
    }
    /// An `i8` tensor.
    pub fn from_i8(shape: Shape, data: Vec<i8>) -> Result<Self, TensorError> {
        Self::new(shape, TensorData::I8(data))
    }
    /// An `i32` tensor.
    pub fn from_i32(shape: Shape, data: Vec<i32>) -> Result<Self, TensorError> {
        Self::new(shape, TensorData::I32(data))
    }
    /// The shape.
    pub fn shape(&self) -> &[u32] {
        &self.shape
    }
    /// The element type.
    pub fn dtype(&self) -> DType {
        self.data.dtype()
    }
    /// The elements.
    pub fn data(&self) -> &TensorData {
        &self.data
    }
    /// Takes the elements.
    pub fn into_data(self) -> TensorData {
        self.data
    }
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }
    /// Always false: a tensor holds at least one element.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
    /// `i8` elements, if that is the type.
    pub fn as_i8(&self) -> Option<&[i8]> {
        match &self.data {
            TensorData::I8(v) => Some(v),
            TensorData::I32(_) => None,
        }
    }
    /// `i32` elements, if that is the type.
    pub fn as_i32(&self) -> Option<&[i32]> {
        match &self.data {
            TensorData::I32(v) => Some(v),
            TensorData::I8(_) => None,
        }
    }
    /// Same elements under another shape with the same element count.
    pub fn reshaped(&self, shape: Shape) -> Result<Self, TensorError> {
        Self::new(shape, self.data.clone())
    }

    /// Canonical bytes of the elements (no header): what the Merkle tree commits to.
    pub fn element_bytes(&self) -> Vec<u8> {
        match &self.data {
            TensorData::I8(v) => v.iter().map(|&x| x as u8).collect(),
            TensorData::I32(v) => v.iter().flat_map(|x| x.to_be_bytes()).collect(),
        }
    }

    /// A tensor from its dtype, shape and canonical element bytes (as a reveal in a
    /// dispute game carries them); an error when the bytes are not that many elements.
    pub fn from_element_bytes(
        dtype: DType,
        shape: Shape,
        bytes: &[u8],
    ) -> Result<Self, TensorError> {
        let data = match dtype {
            DType::I8 => TensorData::I8(bytes.iter().map(|&b| b as i8).collect()),
            DType::I32 => TensorData::I32(
                bytes
                    .chunks_exact(4)
                    .map(|c| i32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            ),
        };
        if !bytes.len().is_multiple_of(dtype.size()) {
            return Err(TensorError::LengthMismatch {
                expected: element_count(&shape).unwrap_or(0),
                actual: bytes.len() / dtype.size(),
                shape,
            });
        }
        Self::new(shape, data)
    }

    /// Hashes of the 32-byte chunk leaves.
    fn chunk_leaves(&self) -> Vec<Hash> {
        chunk_leaves(&self.element_bytes())
    }

    /// Merkle root over the element chunks.
    pub fn data_root(&self) -> Hash {
        data_root_of(&self.element_bytes())
    }

    /// The tensor commitment (see the module docs).
    pub fn commitment(&self) -> Hash {
        commitment_from_root(self.dtype(), &self.shape, &self.data_root())
    }

    /// Opening of element `index` (row-major flat index).
    pub fn open_element(&self, index: usize) -> Option<ElementOpening> {
        let value = self.data.get(index)?;
        let chunk_index = index * self.dtype().size() / CHUNK_BYTES;
        let bytes = self.element_bytes();
        let leaves = self.chunk_leaves();
        Some(ElementOpening {
            index: index as u64,
            value,
            chunk: chunk_at(&bytes, chunk_index),
            proof: merkle::prove(&leaves, chunk_index)?,
            data_root: merkle::root(&leaves),
        })
    }

    /// Opening of the elements `[start, start + len)`, e.g. one row of a weight matrix:
    /// every chunk they touch, each with its proof.
    pub fn open_range(&self, start: usize, len: usize) -> Option<RangeOpening> {
        let end = start.checked_add(len)?;
        if len == 0 || end > self.len() {
            return None;
        }
        let size = self.dtype().size();
        let first = start * size / CHUNK_BYTES;
        let last = (end * size - 1) / CHUNK_BYTES;
        let bytes = self.element_bytes();
        let leaves = self.chunk_leaves();
        let chunks = (first..=last)
            .map(|c| {
                Some(ChunkProof {
                    chunk: chunk_at(&bytes, c),
                    proof: merkle::prove(&leaves, c)?,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(RangeOpening {
            start: start as u64,
            values: (start..end).filter_map(|i| self.data.get(i)).collect(),
            chunks,
            data_root: merkle::root(&leaves),
        })
    }

    /// Canonical encoding with header: dtype, rank, dims, then the element bytes.
    pub fn encode(&self, w: &mut Writer) {
        w.u8(self.dtype().code());
        w.u8(self.shape.len() as u8);
        for &d in &self.shape {
            w.u32(d);
        }
        w.raw(&self.element_bytes());
    }

    /// Decodes [`Tensor::encode`]'s output from untrusted bytes.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.offset();
        let code = r.field("dtype", |r| r.u8())?;
        let dtype = DType::from_code(code)
            .ok_or_else(|| r.error_at(at, format!("unknown dtype code {code}")))?;
        let shape_at = r.offset();
        let rank = r.field("rank", |r| r.u8())? as usize;
        let shape = r.field("shape", |r| {
            (0..rank).map(|_| r.u32()).collect::<Result<Shape, _>>()
        })?;
        let count = element_count(&shape)
            .ok_or_else(|| r.error_at(shape_at, format!("shape {shape:?} is not allowed")))?;
        let data_at = r.offset();
        let bytes = r.field("data", |r| r.take(count * dtype.size()))?;
        Self::from_element_bytes(dtype, shape, bytes)
            .map_err(|e| r.error_at(data_at, e.to_string()))
    }
}

/// Element bytes cut into 32-byte chunks, the last one padded with zeros.
pub fn chunks(bytes: &[u8]) -> Vec<[u8; CHUNK_BYTES]> {
    bytes
        .chunks(CHUNK_BYTES)
        .map(|c| {
            let mut chunk = [0u8; CHUNK_BYTES];
            chunk[..c.len()].copy_from_slice(c);
            chunk
        })
        .collect()
}

fn chunk_leaves(bytes: &[u8]) -> Vec<Hash> {
    chunks(bytes).iter().map(|c| merkle::leaf_hash(c)).collect()
}

/// The data root of canonical element bytes: the Merkle root over their chunks.
pub fn data_root_of(bytes: &[u8]) -> Hash {
    merkle::root(&chunk_leaves(bytes))
}

fn chunk_at(bytes: &[u8], chunk_index: usize) -> [u8; CHUNK_BYTES] {
    let start = chunk_index * CHUNK_BYTES;
    let end = (start + CHUNK_BYTES).min(bytes.len());
    let mut chunk = [0u8; CHUNK_BYTES];
    chunk[..end - start].copy_from_slice(&bytes[start..end]);
    chunk
}

/// Commitment from a data root and the header fields.
pub fn commitment_from_root(dtype: DType, shape: &[u32], data_root: &Hash) -> Hash {
    let mut header = Vec::with_capacity(2 + 4 * shape.len());
    header.push(TENSOR_DOMAIN);
    header.push(dtype.code());
    header.push(shape.len() as u8);
    for d in shape {
        header.extend_from_slice(&d.to_be_bytes());
    }
    keccak(&[&header, data_root])
}

/// Reads element `index` of `dtype` out of its chunk (the chunk that holds byte
/// `index * size`), or `None` if the element would cross the chunk's end.
pub fn element_in_chunk(dtype: DType, chunk: &[u8; CHUNK_BYTES], index: usize) -> Option<i64> {
    let size = dtype.size();
    let offset = (index * size) % CHUNK_BYTES;
    let bytes = chunk.get(offset..offset + size)?;
    Some(match dtype {
        DType::I8 => i64::from(bytes[0] as i8),
        DType::I32 => i64::from(i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])),
    })
}

/// One chunk with its Merkle proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkProof {
    /// The 32 bytes of the chunk.
    #[serde(with = "crate::hash::serde_hex")]
    pub chunk: [u8; CHUNK_BYTES],
    /// Its proof; `proof.index` is the chunk index.
    pub proof: MerkleProof,
}

/// Proof of one element's value under a tensor commitment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElementOpening {
    /// Row-major flat index.
    pub index: u64,
    /// The value, widened.
    pub value: i64,
    /// The chunk holding it.
    #[serde(with = "crate::hash::serde_hex")]
    pub chunk: [u8; CHUNK_BYTES],
    /// Proof of that chunk.
    pub proof: MerkleProof,
    /// Root over all chunks (hashed with the header into the commitment).
    #[serde(with = "crate::hash::serde_hex")]
    pub data_root: Hash,
}

impl ElementOpening {
    /// Whether this opening shows `value` at `index` of the tensor committed as
    /// `commitment` with this dtype and shape.
    pub fn verify(&self, dtype: DType, shape: &[u32], commitment: &Hash) -> bool {
        let Some(count) = element_count(shape) else {
            return false;
        };
        let index = self.index as usize;
        index < count
            && commitment_from_root(dtype, shape, &self.data_root) == *commitment
            && self.proof.index as usize == index * dtype.size() / CHUNK_BYTES
            && self.proof.siblings.len()
                == merkle::depth((count * dtype.size()).div_ceil(CHUNK_BYTES))
            && element_in_chunk(dtype, &self.chunk, index) == Some(self.value)
            && self
                .proof
                .verify(merkle::leaf_hash(&self.chunk), &self.data_root)
    }
}

/// Proof of a run of consecutive elements (a row) under a tensor commitment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeOpening {
    /// Flat index of the first element.
    pub start: u64,
    /// The values, widened.
    pub values: Vec<i64>,
    /// Every chunk the run touches, in order.
    pub chunks: Vec<ChunkProof>,
    /// Root over all chunks.
    #[serde(with = "crate::hash::serde_hex")]
    pub data_root: Hash,
}

impl RangeOpening {
    /// Whether this opening shows `values` from `start` on in the committed tensor.
    pub fn verify(&self, dtype: DType, shape: &[u32], commitment: &Hash) -> bool {
        let Some(count) = element_count(shape) else {
            return false;
        };
        let size = dtype.size();
        let start = self.start as usize;
        let Some(end) = start.checked_add(self.values.len()) else {
            return false;
        };
        if self.values.is_empty() || end > count {
            return false;
        }
        if commitment_from_root(dtype, shape, &self.data_root) != *commitment {
            return false;
        }
        let first = start * size / CHUNK_BYTES;
        let last = (end * size - 1) / CHUNK_BYTES;
        let depth = merkle::depth((count * size).div_ceil(CHUNK_BYTES));
        if self.chunks.len() != last - first + 1 {
            return false;
        }
        let chunks_ok = self.chunks.iter().enumerate().all(|(k, c)| {
            c.proof.index as usize == first + k
                && c.proof.siblings.len() == depth
                && c.proof.verify(merkle::leaf_hash(&c.chunk), &self.data_root)
        });
        chunks_ok
            && self.values.iter().enumerate().all(|(k, &v)| {
                let index = start + k;
                let chunk = &self.chunks[index * size / CHUNK_BYTES - first].chunk;
                element_in_chunk(dtype, chunk, index) == Some(v)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bad_shapes_are_refused() {
        assert!(Tensor::from_i8(vec![], vec![]).is_err());
        assert!(Tensor::from_i8(vec![2, 0], vec![]).is_err());
        assert!(Tensor::from_i8(vec![2, 2], vec![1, 2, 3]).is_err());
        assert!(Tensor::from_i8(vec![1; 7], vec![1]).is_err());
    }

    #[test]
    fn i32_bytes_are_big_endian() {
        let t = Tensor::from_i32(vec![2], vec![1, -1]).expect("valid");
        assert_eq!(t.element_bytes(), vec![0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]);
    }

    #[test]
    fn shape_is_bound_into_the_commitment() {
        let a = Tensor::from_i8(vec![2, 3], vec![1, 2, 3, 4, 5, 6]).expect("valid");
        let b = a.reshaped(vec![3, 2]).expect("same count");
        assert_eq!(a.data_root(), b.data_root());
        assert_ne!(a.commitment(), b.commitment());
    }

    #[test]
    fn json_round_trip() {
        let t = Tensor::from_i32(vec![1, 2], vec![-7, 9]).expect("valid");
        let json = serde_json::to_string(&t).expect("serializes");
        assert_eq!(json, r#"{"dtype":"i32","shape":[1,2],"data":[-7,9]}"#);
        assert_eq!(serde_json::from_str::<Tensor>(&json).expect("parses"), t);
        assert!(
            serde_json::from_str::<Tensor>(r#"{"dtype":"i8","shape":[1],"data":[300]}"#).is_err()
        );
    }

    fn tensor_strategy() -> impl Strategy<Value = Tensor> {
        (prop::collection::vec(1u32..5, 1..4), any::<bool>()).prop_flat_map(|(shape, wide)| {
            let n = element_count(&shape).expect("small shape");
            if wide {
                prop::collection::vec(any::<i32>(), n)
                    .prop_map(move |d| Tensor::from_i32(shape.clone(), d).expect("sized"))
                    .boxed()
            } else {
                prop::collection::vec(any::<i8>(), n)
                    .prop_map(move |d| Tensor::from_i8(shape.clone(), d).expect("sized"))
                    .boxed()
            }
        })
    }

    proptest! {
        #[test]
        fn encode_decode_round_trip(t in tensor_strategy()) {
            let mut w = Writer::new();
            t.encode(&mut w);
            let bytes = w.finish();
            let mut r = Reader::new(&bytes);
            prop_assert_eq!(Tensor::decode(&mut r).expect("decodes"), t);
            prop_assert!(r.finish().is_ok());
        }

        #[test]
        fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = Tensor::decode(&mut Reader::new(&bytes));
        }

        #[test]
        fn every_element_opens_and_lies_fail(t in tensor_strategy(), pick in any::<prop::sample::Index>()) {
            let c = t.commitment();
            let i = pick.index(t.len());
            let opening = t.open_element(i).expect("in range");
            prop_assert!(opening.verify(t.dtype(), t.shape(), &c));
            let mut lie = opening.clone();
            lie.value += 1;
            prop_assert!(!lie.verify(t.dtype(), t.shape(), &c));
            let mut moved = opening.clone();
            moved.index = ((i + 1) % t.len()) as u64;
            let same = t.data().get((i + 1) % t.len()) == Some(opening.value);
            prop_assert!(!moved.verify(t.dtype(), t.shape(), &c) || same);
        }

        #[test]
        fn ranges_open_and_lies_fail(t in tensor_strategy(), a in any::<prop::sample::Index>(), b in any::<prop::sample::Index>()) {
            let c = t.commitment();
            let start = a.index(t.len());
            let len = 1 + b.index(t.len() - start);
            let opening = t.open_range(start, len).expect("in range");
            prop_assert!(opening.verify(t.dtype(), t.shape(), &c));
            let mut lie = opening.clone();
            lie.values[len - 1] ^= 1;
            prop_assert!(!lie.verify(t.dtype(), t.shape(), &c));
        }
    }
}
