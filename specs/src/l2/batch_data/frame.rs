//! The frame of batch data: its block headers and where each body lies, and the rules
//! `Rollup.postBatch` checks on them before it accepts a batch (`specs/batch.md`,
//! "Posting"). A batch whose frame breaks a rule never reaches L1, so the output root,
//! block range and deposits consumed that L1 records are always those of public headers.

use std::ops::Range;

use crate::hash::Hash;

use super::super::block::{BlockHeader, HEADER_BYTES};
use crate::encoding::Reader;

/// Batch data layout version.
pub const VERSION: u8 = 3;
/// `version(1) ‖ block_count(4)`.
pub const PREFIX_BYTES: usize = 5;
/// One entry: a block header and the u32 offset just past its body.
pub const ENTRY_BYTES: usize = HEADER_BYTES + 4;
/// The largest body a block may have. It bounds the work of a data fault proof, which
/// re-reads one body on L1, so the proof of the largest block fits an L1 transaction.
pub const MAX_BLOCK_BODY_BYTES: usize = 128 * 1024;

/// The headers of batch data and the byte range of each block's body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The block headers, in order (at least one).
    pub headers: Vec<BlockHeader>,
    /// `bodies[i]` is the range of `data` that holds block `i`'s body.
    pub bodies: Vec<Range<usize>>,
}

/// What the contract knows when a batch is posted: where the chain stands on L1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tip {
    /// The L2 block the batch must start at (`head.nextBlock`).
    pub next_block: u64,
    /// The hash of the block before it: the last posted output root, or the genesis hash.
    pub parent_root: Hash,
    /// Deposits the posted batches consumed (`head.depositsConsumed`).
    pub deposits_consumed: u64,
    /// The L1 block the post lands in: no block may name a later `l1_origin`.
    pub l1_block: u64,
}

/// Why batch data breaks a frame rule (`Rollup.postBatch` refuses it with the error of
/// the same name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Fewer bytes than the prefix.
    #[error("batch data of {len} bytes is shorter than its 5-byte prefix")]
    TooShort {
        /// The data's length.
        len: usize,
    },
    /// An unknown layout version.
    #[error("unknown batch data version {0} (expected {VERSION})")]
    Version(u8),
    /// No blocks: every batch posts at least one.
    #[error("batch data holds no blocks")]
    NoBlocks,
    /// The entries do not fit the data.
    #[error("{count} block entries do not fit in {len} bytes")]
    Entries {
        /// Blocks announced.
        count: u64,
        /// The data's length.
        len: usize,
    },
    /// An entry's header does not start with the block domain `0x07`.
    #[error("entry {index}'s header is not a block header")]
    HeaderDomain {
        /// Position in the batch.
        index: usize,
    },
    /// A body ends before it starts.
    #[error("block {index}'s body ends at byte {end}, before it starts at {start}")]
    BodyEnd {
        /// Position in the batch.
        index: usize,
        /// Where it starts.
        start: usize,
        /// Where the entry says it ends.
        end: usize,
    },
    /// A body is larger than [`MAX_BLOCK_BODY_BYTES`].
    #[error("block {index}'s body has {bytes} bytes, more than {MAX_BLOCK_BODY_BYTES}")]
    BodyTooLarge {
        /// Position in the batch.
        index: usize,
        /// Its size.
        bytes: usize,
    },
    /// The last body does not end where the data does.
    #[error("the last body ends at byte {end}, the data at {len}")]
    DataEnd {
        /// Where the last entry says its body ends.
        end: usize,
        /// The data's length.
        len: usize,
    },
    /// The first block is not the next one the rollup expects.
    #[error("the batch starts at block {number}, the rollup expects {expected}")]
    WrongFirstBlock {
        /// The first header's number.
        number: u64,
        /// `head.nextBlock`.
        expected: u64,
    },
    /// A header does not follow the previous one (number or parent hash).
    #[error("block {index} of the batch does not follow its predecessor")]
    BrokenChain {
        /// Position in the batch.
        index: usize,
    },
    /// The first block does not build on the last posted output root.
    #[error("the first block's parent is {actual:?}, the rollup's tip is {expected:?}")]
    WrongParent {
        /// The tip on L1.
        expected: Hash,
        /// The first header's parent hash.
        actual: Hash,
    },
    /// A block consumes fewer deposits than the one before it.
    #[error("block {index} has consumed {consumed} deposits, fewer than the {before} before it")]
    DepositsWentBack {
        /// Position in the batch.
        index: usize,
        /// Its `deposits_consumed`.
        consumed: u64,
        /// The previous count.
        before: u64,
    },
    /// A block names an L1 origin after the L1 block that posts it.
    #[error("block {index}'s l1_origin {origin} is after the posting L1 block {l1_block}")]
    OriginAhead {
        /// Position in the batch.
        index: usize,
        /// Its `l1_origin`.
        origin: u64,
        /// The posting L1 block.
        l1_block: u64,
    },
}

/// Reads the frame of untrusted batch data: the prefix, every entry, and that the bodies
/// tile the rest of the data in order. The bodies themselves are not read.
pub fn read_frame(data: &[u8]) -> Result<Frame, FrameError> {
    if data.len() < PREFIX_BYTES {
        return Err(FrameError::TooShort { len: data.len() });
    }
    if data[0] != VERSION {
        return Err(FrameError::Version(data[0]));
    }
    let count = u32::from_be_bytes([data[1], data[2], data[3], data[4]]) as u64;
    if count == 0 {
        return Err(FrameError::NoBlocks);
    }
    let entries_end = PREFIX_BYTES as u64 + ENTRY_BYTES as u64 * count;
    if entries_end > data.len() as u64 {
        return Err(FrameError::Entries {
            count,
            len: data.len(),
        });
    }
    let mut start = entries_end as usize;
    let mut headers = Vec::with_capacity(count as usize);
    let mut bodies = Vec::with_capacity(count as usize);
    for index in 0..count as usize {
        let at = PREFIX_BYTES + ENTRY_BYTES * index;
        let entry = &data[at..at + ENTRY_BYTES];
        let header = BlockHeader::decode(&mut Reader::new(&entry[..HEADER_BYTES]))
            .map_err(|_| FrameError::HeaderDomain { index })?;
        let end_bytes = [
            entry[HEADER_BYTES],
            entry[HEADER_BYTES + 1],
            entry[HEADER_BYTES + 2],
            entry[HEADER_BYTES + 3],
        ];
        let end = u32::from_be_bytes(end_bytes) as usize;
        if end < start {
            return Err(FrameError::BodyEnd { index, start, end });
        }
        if end - start > MAX_BLOCK_BODY_BYTES {
            return Err(FrameError::BodyTooLarge {
                index,
                bytes: end - start,
            });
        }
        headers.push(header);
        bodies.push(start..end);
        start = end;
    }
    if start != data.len() {
        return Err(FrameError::DataEnd {
            end: start,
            len: data.len(),
        });
    }
    Ok(Frame { headers, bodies })
}

impl Frame {
    /// Checks the headers against where the rollup stands: they continue its chain (the
    /// next block number, the tip as first parent, each header naming the previous one),
    /// deposits consumed never go back, and no `l1_origin` is after the posting block.
    pub fn check_chain(&self, tip: &Tip) -> Result<(), FrameError> {
        let mut number = tip.next_block;
        let mut parent = tip.parent_root;
        let mut consumed = tip.deposits_consumed;
        for (index, h) in self.headers.iter().enumerate() {
            if index == 0 && h.number != number {
                return Err(FrameError::WrongFirstBlock {
                    number: h.number,
                    expected: number,
                });
            }
            if index == 0 && h.parent_hash != parent {
                return Err(FrameError::WrongParent {
                    expected: parent,
                    actual: h.parent_hash,
                });
            }
            if h.number != number || h.parent_hash != parent {
                return Err(FrameError::BrokenChain { index });
            }
            if h.deposits_consumed < consumed {
                return Err(FrameError::DepositsWentBack {
                    index,
                    consumed: h.deposits_consumed,
                    before: consumed,
                });
            }
            if h.l1_origin > tip.l1_block {
                return Err(FrameError::OriginAhead {
                    index,
                    origin: h.l1_origin,
                    l1_block: tip.l1_block,
                });
            }
            number = number.saturating_add(1);
            parent = h.hash();
            consumed = h.deposits_consumed;
        }
        Ok(())
    }

    /// The first block's number.
    pub fn first_block(&self) -> u64 {
        self.headers.first().map_or(0, |h| h.number)
    }

    /// The last block's number.
    pub fn last_block(&self) -> u64 {
        self.headers.last().map_or(0, |h| h.number)
    }

    /// The last block's hash: the batch's output root.
    pub fn output_root(&self) -> Hash {
        self.headers.last().map_or([0; 32], BlockHeader::hash)
    }

    /// Deposits consumed after the last block: the batch's `depositsEnd`.
    pub fn deposits_end(&self) -> u64 {
        self.headers.last().map_or(0, |h| h.deposits_consumed)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::blocks;
    use super::super::{encode, encode_body};
    use super::*;

    fn tip() -> Tip {
        Tip {
            next_block: 1,
            parent_root: [0; 32],
            deposits_consumed: 0,
            l1_block: 10,
        }
    }

    fn linked() -> Vec<super::super::BlockBody> {
        let mut blocks = blocks();
        blocks[0].header.parent_hash = [0; 32];
        blocks[1].header.parent_hash = blocks[0].header.hash();
        blocks
    }

    #[test]
    fn the_frame_gives_headers_and_body_ranges() {
        let data = encode(&linked());
        let frame = read_frame(&data).expect("frame");
        assert_eq!(frame.headers.len(), 2);
        let body0 = encode_body(&linked()[0]);
        assert_eq!(&data[frame.bodies[0].clone()], &body0[..]);
        assert!(frame.bodies[1].is_empty());
        frame.check_chain(&tip()).expect("continues the tip");
        assert_eq!(frame.output_root(), linked()[1].header.hash());
        assert_eq!((frame.first_block(), frame.last_block()), (1, 2));
    }

    #[test]
    fn every_frame_rule_is_enforced() {
        let data = encode(&linked());
        let frame = read_frame(&data).expect("frame");
        let end_at = |i: usize| PREFIX_BYTES + ENTRY_BYTES * i + HEADER_BYTES;

        let mut bad = data.clone();
        bad[1..5].copy_from_slice(&0u32.to_be_bytes());
        assert_eq!(read_frame(&bad), Err(FrameError::NoBlocks));
        let mut bad = data.clone();
        bad[1..5].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(read_frame(&bad), Err(FrameError::Entries { .. })));
        let mut bad = data.clone();
        bad[PREFIX_BYTES] = 0x05;
        assert_eq!(read_frame(&bad), Err(FrameError::HeaderDomain { index: 0 }));
        let mut bad = data.clone();
        bad[end_at(0)..end_at(0) + 4].copy_from_slice(&3u32.to_be_bytes());
        assert!(matches!(
            read_frame(&bad),
            Err(FrameError::BodyEnd { index: 0, .. })
        ));
        let mut longer = data.clone();
        longer.push(0);
        assert!(matches!(
            read_frame(&longer),
            Err(FrameError::DataEnd { .. })
        ));

        let mut t = tip();
        t.next_block = 2;
        assert!(matches!(
            frame.check_chain(&t),
            Err(FrameError::WrongFirstBlock { .. })
        ));
        let mut t = tip();
        t.parent_root = [1; 32];
        assert!(matches!(
            frame.check_chain(&t),
            Err(FrameError::WrongParent { .. })
        ));
        let mut t = tip();
        t.deposits_consumed = 1;
        assert!(matches!(
            frame.check_chain(&t),
            Err(FrameError::DepositsWentBack { .. })
        ));
        let mut ahead = linked();
        ahead[0].header.l1_origin = 11;
        ahead[1].header.parent_hash = ahead[0].header.hash();
        let frame = read_frame(&encode(&ahead)).expect("frame");
        assert!(matches!(
            frame.check_chain(&tip()),
            Err(FrameError::OriginAhead { .. })
        ));
        let mut broken = linked();
        broken[1].header.parent_hash = [9; 32];
        let frame = read_frame(&encode(&broken)).expect("frame");
        assert_eq!(
            frame.check_chain(&tip()),
            Err(FrameError::BrokenChain { index: 1 })
        );
    }

    #[test]
    fn a_body_above_the_limit_is_refused() {
        let mut data = encode(&linked()[1..]);
        data.resize(data.len() + MAX_BLOCK_BODY_BYTES + 1, 0);
        let len = data.len() as u32;
        let at = PREFIX_BYTES + HEADER_BYTES;
        data[at..at + 4].copy_from_slice(&len.to_be_bytes());
        assert!(matches!(
            read_frame(&data),
            Err(FrameError::BodyTooLarge { .. })
        ));
    }
}
