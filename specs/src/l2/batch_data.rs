//! Batch data: the bytes `Rollup.postBatch` carries in calldata, from which anyone can
//! rebuild every block of the batch (deposits come from the L1 queue itself).
//!
//! ```text
//! data    = format(u8) ‖ body
//! format  = 0x00: body is the payload; 0x01: body is the payload compressed with raw
//!           DEFLATE (RFC 1951)
//! payload = version(u8 = 2) ‖ block_count(u32) ‖ block_0 ‖ … (block::encode_body each)
//! ```
//!
//! A decoder refuses a payload above [`MAX_PAYLOAD_BYTES`] once inflated, so a small
//! post cannot make a verifier allocate without bound.

use crate::encoding::{DecodeError, Reader, Writer};

use super::block::{BlockHeader, decode_body, encode_body};
use super::record::InferenceTx;
use super::withdrawal::SignedWithdrawal;

/// Payload layout version.
pub const VERSION: u8 = 2;
/// Format byte: uncompressed payload.
pub const FORMAT_RAW: u8 = 0x00;
/// Format byte: raw-DEFLATE-compressed payload.
pub const FORMAT_DEFLATE: u8 = 0x01;
/// Largest payload a decoder inflates (64 MiB).
pub const MAX_PAYLOAD_BYTES: usize = 64 << 20;
/// The DEFLATE level writers use (any level decodes the same; this one is what the
/// sequencer's figures are measured with).
pub const DEFLATE_LEVEL: u8 = 6;

/// One block as batch data carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockBody {
    /// The block's header.
    pub header: BlockHeader,
    /// Its inferences, in order (`header.record_count` of them).
    pub inferences: Vec<InferenceTx>,
    /// Its withdrawals, in order (`header.withdrawal_count` of them).
    pub withdrawals: Vec<SignedWithdrawal>,
}

/// Why batch data does not decode.
#[derive(Debug, thiserror::Error)]
pub enum BatchDataError {
    /// Empty data.
    #[error("batch data is empty")]
    Empty,
    /// An unknown format byte.
    #[error("unknown batch data format {0:#04x}")]
    Format(u8),
    /// An unknown payload version.
    #[error("unknown batch payload version {0}")]
    Version(u8),
    /// The DEFLATE stream is broken or inflates past the limit.
    #[error("batch data does not inflate: {0}")]
    Inflate(String),
    /// The payload's bytes are malformed.
    #[error("batch payload: {0}")]
    Decode(#[from] DecodeError),
}

/// The uncompressed payload of `blocks`.
pub fn encode_payload(blocks: &[BlockBody]) -> Vec<u8> {
    let mut w = Writer::new();
    w.u8(VERSION);
    w.u32(blocks.len() as u32);
    for block in blocks {
        encode_body(&block.header, &block.inferences, &block.withdrawals, &mut w);
    }
    w.finish()
}

/// Batch data for `blocks`, compressed (`compress`) or not.
pub fn encode(blocks: &[BlockBody], compress: bool) -> Vec<u8> {
    let payload = encode_payload(blocks);
    if compress {
        let mut out = vec![FORMAT_DEFLATE];
        out.extend(miniz_oxide::deflate::compress_to_vec(
            &payload,
            DEFLATE_LEVEL,
        ));
        out
    } else {
        let mut out = Vec::with_capacity(payload.len() + 1);
        out.push(FORMAT_RAW);
        out.extend(payload);
        out
    }
}

/// Decodes batch data from untrusted bytes (L1 calldata).
pub fn decode(data: &[u8]) -> Result<Vec<BlockBody>, BatchDataError> {
    let (&format, body) = data.split_first().ok_or(BatchDataError::Empty)?;
    let inflated;
    let payload = match format {
        FORMAT_RAW => body,
        FORMAT_DEFLATE => {
            inflated = miniz_oxide::inflate::decompress_to_vec_with_limit(body, MAX_PAYLOAD_BYTES)
                .map_err(|e| BatchDataError::Inflate(format!("{e:?}")))?;
            &inflated
        }
        other => return Err(BatchDataError::Format(other)),
    };
    let mut r = Reader::new(payload);
    let version = r.field("version", |r| r.u8())?;
    if version != VERSION {
        return Err(BatchDataError::Version(version));
    }
    let count = r.field("block count", |r| r.count(super::block::HEADER_BYTES))?;
    let blocks = (0..count)
        .map(|i| {
            r.field(format!("block {i}"), decode_body)
                .map(|(header, inferences, withdrawals)| BlockBody {
                    header,
                    inferences,
                    withdrawals,
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    r.finish()?;
    Ok(blocks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::l2::request::{InferenceRequest, SignedRequest};
    use crate::tensor::Tensor;

    fn blocks() -> Vec<BlockBody> {
        let tx = InferenceTx {
            signed: SignedRequest {
                request: InferenceRequest {
                    sender: [1; 20],
                    nonce: 0,
                    model_id: [2; 32],
                    input: Tensor::from_i8(vec![3], vec![1, 2, 3]).expect("tensor"),
                    max_fee: 10,
                },
                signature: [3; 65],
            },
            output: Tensor::from_i32(vec![2], vec![5, -6]).expect("tensor"),
            fee: 7,
        };
        let withdrawal = SignedWithdrawal {
            withdrawal: crate::l2::withdrawal::Withdrawal {
                sender: [1; 20],
                nonce: 1,
                recipient: [4; 20],
                amount: 9,
            },
            signature: [5; 65],
        };
        let mut header = BlockHeader::genesis();
        header.number = 1;
        header.record_count = 2;
        header.withdrawal_count = 1;
        vec![
            BlockBody {
                header,
                inferences: vec![tx.clone(), tx],
                withdrawals: vec![withdrawal],
            },
            BlockBody {
                header: BlockHeader {
                    number: 2,
                    record_count: 0,
                    withdrawal_count: 0,
                    ..header
                },
                inferences: vec![],
                withdrawals: vec![],
            },
        ]
    }

    #[test]
    fn both_formats_round_trip() {
        for compress in [false, true] {
            let data = encode(&blocks(), compress);
            assert_eq!(decode(&data).expect("decodes"), blocks());
        }
    }

    #[test]
    fn bad_data_is_an_error_not_a_panic() {
        assert!(matches!(decode(&[]), Err(BatchDataError::Empty)));
        assert!(matches!(decode(&[7, 1]), Err(BatchDataError::Format(7))));
        assert!(matches!(decode(&[0, 9]), Err(BatchDataError::Version(9))));
        assert!(matches!(
            decode(&[1, 0xff, 0xff]),
            Err(BatchDataError::Inflate(_))
        ));
        let mut data = encode(&blocks(), false);
        data.push(0);
        assert!(matches!(decode(&data), Err(BatchDataError::Decode(_))));
        data.truncate(data.len() - 10);
        assert!(matches!(decode(&data), Err(BatchDataError::Decode(_))));
    }
}
