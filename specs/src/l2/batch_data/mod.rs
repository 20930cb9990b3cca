//! Batch data: the bytes `Rollup.postBatch` carries in calldata, from which anyone can
//! rebuild every block of the batch (deposits come from the L1 queue itself).
//!
//! ```text
//! data    = version(u8 = 3) ‖ block_count(u32) ‖ entry_0 ‖ … ‖ entry_{n-1} ‖ body_0 ‖ … ‖ body_{n-1}
//! entry_i = header_i (169 bytes, block::BlockHeader) ‖ body_end_i (u32)
//! body_i  = data[body_end_{i-1} .. body_end_i]  (body_0 starts right after the entries)
//!         = inference … (record_count of them) ‖ withdrawal … (withdrawal_count of them)
//! ```
//!
//! The layout is what makes a batch's output root follow from public data
//! (`specs/batch.md`): the headers sit at fixed offsets, so `Rollup.postBatch` reads them
//! itself and derives the block range, the output root and the deposits consumed from
//! them ([`frame`]); nobody states those. The bodies are plain bytes, so a *data fault
//! proof* can re-read one block's body on L1 and show that it does not back its header
//! ([`body`]). Nothing is compressed: a compressed body could not be opened on L1.

pub mod body;
pub mod frame;

pub use body::{BodyFault, check_body, decode_body};
pub use frame::{
    ENTRY_BYTES, Frame, FrameError, MAX_BLOCK_BODY_BYTES, PREFIX_BYTES, Tip, VERSION, read_frame,
};

use crate::encoding::{DecodeError, Writer};

use super::block::BlockHeader;
use super::record::InferenceTx;
use super::withdrawal::SignedWithdrawal;

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
    /// The entries (headers and body offsets) are malformed.
    #[error("batch data: {0}")]
    Frame(#[from] FrameError),
    /// A block's body does not decode.
    #[error("block {number}'s body: {error}")]
    Body {
        /// The block's number.
        number: u64,
        /// What is wrong.
        error: DecodeError,
    },
}

/// The bytes of one block's body: its inferences, then its withdrawals.
pub fn encode_body(block: &BlockBody) -> Vec<u8> {
    let mut w = Writer::new();
    for tx in &block.inferences {
        tx.encode(&mut w);
    }
    for withdrawal in &block.withdrawals {
        withdrawal.encode(&mut w);
    }
    w.finish()
}

/// Batch data for `blocks` (at least one, as every post has). The bodies are written as
/// given, whether or not they back their headers: a body that does not is a data fault
/// ([`check_body`]), which tests and fault injection build on purpose.
pub fn encode(blocks: &[BlockBody]) -> Vec<u8> {
    let bodies: Vec<Vec<u8>> = blocks.iter().map(encode_body).collect();
    let mut w = Writer::new();
    w.u8(VERSION);
    w.u32(blocks.len() as u32);
    let mut end = PREFIX_BYTES + ENTRY_BYTES * blocks.len();
    for (block, body) in blocks.iter().zip(&bodies) {
        end += body.len();
        w.raw(&block.header.encode());
        w.u32(u32::try_from(end).expect("batch data is far below 4 GiB"));
    }
    for body in &bodies {
        w.raw(body);
    }
    w.finish()
}

/// Length of [`encode`]'s output without building it: what a block adds to a batch.
pub fn encoded_len(body_bytes: impl IntoIterator<Item = usize>) -> usize {
    body_bytes
        .into_iter()
        .fold(PREFIX_BYTES, |total, body| total + ENTRY_BYTES + body)
}

/// `count` blocks after `parent` without transactions, each having consumed
/// `deposits_consumed` deposits and keeping the parent's state root: valid batch data for
/// tests and tools that need a chain, not its contents (a block that consumes deposits
/// without crediting them is a state fault, which the state game catches).
pub fn empty_blocks(parent: &BlockHeader, count: u64, deposits_consumed: u64) -> Vec<BlockBody> {
    let mut previous = *parent;
    (0..count)
        .map(|_| {
            let header = BlockHeader {
                number: previous.number + 1,
                parent_hash: previous.hash(),
                timestamp: previous.timestamp,
                records_root: crate::merkle::EMPTY_LEAF,
                state_root: previous.state_root,
                deposits_consumed,
                withdrawals_root: [0; 32],
                record_count: 0,
                withdrawal_count: 0,
                l1_origin: previous.l1_origin,
            };
            previous = header;
            BlockBody {
                header,
                inferences: vec![],
                withdrawals: vec![],
            }
        })
        .collect()
}

/// Decodes batch data from untrusted bytes (L1 calldata): the frame and every body. The
/// roots in the headers are not checked here ([`check_body`] does).
pub fn decode(data: &[u8]) -> Result<Vec<BlockBody>, BatchDataError> {
    let frame = read_frame(data)?;
    frame
        .headers
        .iter()
        .zip(&frame.bodies)
        .map(|(header, range)| {
            let (inferences, withdrawals) =
                decode_body(header, &data[range.clone()]).map_err(|error| {
                    BatchDataError::Body {
                        number: header.number,
                        error,
                    }
                })?;
            Ok(BlockBody {
                header: *header,
                inferences,
                withdrawals,
            })
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::l2::request::{InferenceRequest, SignedRequest};
    use crate::l2::withdrawal::Withdrawal;
    use crate::tensor::Tensor;

    pub(crate) fn inference(nonce: u64) -> InferenceTx {
        InferenceTx {
            signed: SignedRequest {
                request: InferenceRequest {
                    sender: [1; 20],
                    nonce,
                    model_id: [2; 32],
                    input: Tensor::from_i8(vec![3], vec![1, 2, 3]).expect("tensor"),
                    max_fee: 10,
                },
                signature: [3; 65],
            },
            output: Tensor::from_i32(vec![2], vec![5, -6]).expect("tensor"),
            fee: 7,
        }
    }

    pub(crate) fn blocks() -> Vec<BlockBody> {
        let withdrawal = SignedWithdrawal {
            withdrawal: Withdrawal {
                sender: [1; 20],
                nonce: 2,
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
                inferences: vec![inference(0), inference(1)],
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
    fn batch_data_round_trips() {
        let data = encode(&blocks());
        assert_eq!(decode(&data).expect("decodes"), blocks());
        let bodies = blocks()
            .iter()
            .map(|b| encode_body(b).len())
            .collect::<Vec<_>>();
        assert_eq!(encoded_len(bodies), data.len());
    }

    #[test]
    fn headers_sit_at_fixed_offsets() {
        let data = encode(&blocks());
        for (i, block) in blocks().iter().enumerate() {
            let at = PREFIX_BYTES + ENTRY_BYTES * i;
            assert_eq!(
                &data[at..at + crate::l2::block::HEADER_BYTES],
                &block.header.encode()[..]
            );
        }
    }

    #[test]
    fn bad_data_is_an_error_not_a_panic() {
        assert!(matches!(
            decode(&[]),
            Err(BatchDataError::Frame(FrameError::TooShort { .. }))
        ));
        assert!(matches!(
            decode(&[2, 0, 0, 0, 1]),
            Err(BatchDataError::Frame(FrameError::Version(2)))
        ));
        let mut data = encode(&blocks());
        data.push(0);
        assert!(decode(&data).is_err());
        data.truncate(data.len() - 10);
        assert!(decode(&data).is_err());
    }
}
