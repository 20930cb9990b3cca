//! `batch_data.json`: batch data against the two rules L1 enforces on it
//! (specs/batch.md): the frame rules `Rollup.postBatch` checks at posting, and the body
//! rule a data fault proof (`BatchDataVerifier`) checks per block. Each case states its
//! verdict, so Solidity and any other implementation can be held to the same answers.

use serde::{Deserialize, Serialize};

use crate::encoding::Writer;
use crate::hash::Hash;
use crate::l2::batch_data::{
    self, BlockBody, BodyFault, ENTRY_BYTES, FrameError, PREFIX_BYTES, Tip,
};
use crate::l2::block::{BlockHeader, records_root};
use crate::l2::record::InferenceTx;
use crate::l2::request::{InferenceRequest, SignedRequest, SigningDomain};
use crate::l2::withdrawal::{SignedWithdrawal, Withdrawal, withdrawals_root};
use crate::tensor::Tensor;

use super::SplitMix64;

/// The rollup every case's requests are signed for.
pub const VECTOR_DOMAIN: SigningDomain = SigningDomain {
    // Foundry's default chain id, so forge tests use the domain as it is.
    chain_id: 31337,
    rollup: [0x52; 20],
};

/// All cases of `batch_data.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchDataVectors {
    /// The chain id of the signing domain.
    pub chain_id: u64,
    /// The rollup address of the signing domain, hex.
    pub rollup: String,
    /// The cases.
    pub cases: Vec<BatchDataVectorCase>,
}

/// Where the rollup stands when a case is posted (`frame::Tip`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TipCase {
    /// `head.nextBlock`.
    pub next_block: u64,
    /// The rollup's tip.
    #[serde(with = "crate::hash::serde_hex")]
    pub parent_root: Hash,
    /// `head.depositsConsumed`.
    pub deposits_consumed: u64,
    /// The posting L1 block.
    pub l1_block: u64,
}

/// One case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchDataVectorCase {
    /// What it exercises.
    pub name: String,
    /// The batch data, hex.
    pub data: String,
    /// The rollup's state at the post.
    pub tip: TipCase,
    /// The frame rule the data breaks (the `FrameError` / Solidity error name), or `""`
    /// when the frame holds.
    pub frame_error: String,
    /// When the frame holds: what the post records.
    pub derived: Option<Derived>,
    /// When the frame holds: each block's body verdict, `"ok"` or the `BodyFault`
    /// (`Malformed`, `RecordsRoot`, `WithdrawalsRoot`, the Solidity `Fault` names).
    pub bodies: Vec<String>,
}

/// What `postBatch` derives from a valid frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Derived {
    /// The last block.
    pub last_block: u64,
    /// Its hash.
    #[serde(with = "crate::hash::serde_hex")]
    pub output_root: Hash,
    /// Deposits consumed after it.
    pub deposits_end: u64,
}

/// The name of a frame error, as Solidity's `BatchData` errors are named.
pub fn frame_error_name(e: &FrameError) -> &'static str {
    match e {
        FrameError::TooShort { .. } => "DataTooShort",
        FrameError::Version(_) => "WrongVersion",
        FrameError::NoBlocks => "NoBlocks",
        FrameError::Entries { .. } => "EntriesBeyondData",
        FrameError::HeaderDomain { .. } => "NotBlockHeader",
        FrameError::BodyEnd { .. } => "BodyEndsBeforeStart",
        FrameError::BodyTooLarge { .. } => "BodyTooLarge",
        FrameError::DataEnd { .. } => "DataEndMismatch",
        FrameError::WrongFirstBlock { .. } => "WrongFirstBlock",
        FrameError::BrokenChain { .. } => "BrokenChain",
        FrameError::WrongParent { .. } => "WrongParent",
        FrameError::DepositsWentBack { .. } => "DepositsWentBack",
        FrameError::OriginAhead { .. } => "OriginAhead",
    }
}

/// The name of a body verdict, as Solidity's `BatchDataVerifier.Fault` names it.
pub fn body_verdict_name(verdict: &Result<(), BodyFault>) -> &'static str {
    match verdict {
        Ok(()) => "ok",
        Err(BodyFault::Malformed(_)) => "Malformed",
        Err(BodyFault::RecordsRoot) => "RecordsRoot",
        Err(BodyFault::WithdrawalsRoot) => "WithdrawalsRoot",
    }
}

/// Judges `data` by the Rust rules: what the vectors record.
pub fn judge(
    data: &[u8],
    tip: &TipCase,
    domain: &SigningDomain,
) -> (String, Option<Derived>, Vec<String>) {
    let frame = match batch_data::read_frame(data).and_then(|f| {
        f.check_chain(&Tip {
            next_block: tip.next_block,
            parent_root: tip.parent_root,
            deposits_consumed: tip.deposits_consumed,
            l1_block: tip.l1_block,
        })
        .map(|()| f)
    }) {
        Ok(frame) => frame,
        Err(e) => return (frame_error_name(&e).to_string(), None, vec![]),
    };
    let bodies = frame
        .headers
        .iter()
        .zip(&frame.bodies)
        .map(|(h, range)| {
            let verdict = batch_data::check_body(h, &data[range.clone()], domain).map(|_| ());
            body_verdict_name(&verdict).to_string()
        })
        .collect();
    let derived = Derived {
        last_block: frame.last_block(),
        output_root: frame.output_root(),
        deposits_end: frame.deposits_end(),
    };
    (String::new(), Some(derived), bodies)
}

/// Generates the cases.
pub fn batch_data_cases() -> BatchDataVectors {
    let mut rng = SplitMix64::new(0xda7a);
    let genesis = BlockHeader::genesis().hash();
    let tip = TipCase {
        next_block: 1,
        parent_root: genesis,
        deposits_consumed: 0,
        l1_block: 100,
    };
    let blocks = honest_blocks(&mut rng, genesis);
    let bodies: Vec<Vec<u8>> = blocks.iter().map(batch_data::encode_body).collect();
    let headers: Vec<BlockHeader> = blocks.iter().map(|b| b.header).collect();
    let mut cases: Vec<(String, Vec<u8>, TipCase)> = Vec::new();
    let mut case = |name: &str, data: Vec<u8>, tip: TipCase| cases.push((name.into(), data, tip));

    case("three backed blocks", batch_data::encode(&blocks), tip);
    case(
        "one empty block",
        batch_data::encode(
            &blocks[1..2]
                .iter()
                .cloned()
                .map(|mut b| {
                    b.header.parent_hash = genesis;
                    b.header.number = 1;
                    b
                })
                .collect::<Vec<_>>(),
        ),
        TipCase {
            deposits_consumed: 1,
            ..tip
        },
    );

    // ---- frame rules
    case("empty data", vec![], tip);
    case("garbage", vec![0xde, 0xad, 0xbe, 0xef, 0xca, 0xfe], tip);
    case("version 2", vec![2, 0, 0, 0, 1, 0], tip);
    case("no blocks", vec![3, 0, 0, 0, 0], tip);
    case("entries past the end", vec![3, 0, 0, 0, 2, 7], tip);
    let good = batch_data::encode(&blocks);
    let mut bad = good.clone();
    bad[PREFIX_BYTES + ENTRY_BYTES] = 0x05;
    case("a header without the block domain", bad, tip);
    case(
        "another first block",
        good.clone(),
        TipCase {
            next_block: 2,
            ..tip
        },
    );
    case(
        "another parent",
        good.clone(),
        TipCase {
            parent_root: [7; 32],
            ..tip
        },
    );
    case(
        "deposits going back",
        good.clone(),
        TipCase {
            deposits_consumed: 9,
            ..tip
        },
    );
    case(
        "an origin after the posting block",
        good.clone(),
        TipCase {
            l1_block: 40,
            ..tip
        },
    );
    let mut broken = headers.clone();
    broken[2].parent_hash = [9; 32];
    case("a broken chain", raw(&broken, &bodies), tip);
    let mut skipped = headers.clone();
    skipped[2].number = 4;
    case("a skipped number", raw(&skipped, &bodies), tip);
    let mut bad = good.clone();
    let end_at = PREFIX_BYTES + ENTRY_BYTES + crate::l2::block::HEADER_BYTES;
    bad[end_at..end_at + 4].copy_from_slice(&1u32.to_be_bytes());
    case("a body ending before it starts", bad, tip);
    case(
        "a byte after the last body",
        [good.clone(), vec![0]].concat(),
        tip,
    );
    // A body above MAX_BLOCK_BODY_BYTES (BodyTooLarge) is left to the unit and forge
    // tests: its 128 KiB would dwarf this file.

    // ---- body rules (the frame holds: data fault proofs)
    let mut wrong = headers.clone();
    wrong[0].records_root = [1; 32];
    case("a made-up records root", rechain(&wrong, &bodies), tip);
    let mut wrong = headers.clone();
    wrong[0].withdrawals_root = [1; 32];
    case(
        "a made-up withdrawals root (the drain attack)",
        rechain(&wrong, &bodies),
        tip,
    );
    let mut wrong = headers.clone();
    wrong[1].withdrawal_count = 1;
    wrong[1].withdrawals_root = [2; 32];
    case(
        "a withdrawal the body does not hold",
        rechain(&wrong, &bodies),
        tip,
    );
    let mut wrong = headers.clone();
    wrong[0].record_count = u32::MAX;
    case(
        "a record count far above the body",
        rechain(&wrong, &bodies),
        tip,
    );
    let mut junk = bodies.clone();
    junk[0].push(0);
    case(
        "a byte after the transactions",
        rechain(&headers, &junk),
        tip,
    );
    let mut junk = bodies.clone();
    let len = junk[0].len();
    junk[0].truncate(len - 1);
    case("a truncated withdrawal", rechain(&headers, &junk), tip);
    for (name, offset, value) in [
        ("an input of unknown dtype", 76, 2u8),
        ("an input of rank 0", 77, 0),
        ("an input of rank 7", 77, 7),
        ("an input with a zero dimension", 81, 0),
    ] {
        let mut junk = bodies.clone();
        junk[0][offset] = value;
        case(name, rechain(&headers, &junk), tip);
    }
    let mut huge = bodies.clone();
    // The first input is i8 [4, 10]: dims at 78..86; 2^13 × 2^14 elements > 2^26 allowed.
    huge[0][78..82].copy_from_slice(&(1u32 << 13).to_be_bytes());
    huge[0][82..86].copy_from_slice(&(1u32 << 14).to_be_bytes());
    case(
        "an input above 2^26 elements",
        rechain(&headers, &huge),
        tip,
    );
    let mut flipped = bodies.clone();
    flipped[2][100] ^= 1;
    case("one input byte changed", rechain(&headers, &flipped), tip);

    let domain = VECTOR_DOMAIN;
    BatchDataVectors {
        chain_id: domain.chain_id,
        rollup: format!("0x{}", hex::encode(domain.rollup)),
        cases: cases
            .into_iter()
            .map(|(name, data, tip)| {
                let (frame_error, derived, bodies) = judge(&data, &tip, &domain);
                BatchDataVectorCase {
                    name,
                    data: format!("0x{}", hex::encode(&data)),
                    tip,
                    frame_error,
                    derived,
                    bodies,
                }
            })
            .collect(),
    }
}

/// Three blocks after `genesis`, each backed by its body: two inferences and a
/// withdrawal; nothing (one deposit consumed); one inference with a 40-byte input.
fn honest_blocks(rng: &mut SplitMix64, genesis: Hash) -> Vec<BlockBody> {
    let mut inference = |nonce: u64, shape: Vec<u32>, outputs: usize| {
        let count: u32 = shape.iter().product();
        InferenceTx {
            signed: SignedRequest {
                request: InferenceRequest {
                    sender: [0x11; 20],
                    nonce,
                    model_id: [0x22; 32],
                    input: Tensor::from_i8(shape, rng.i8s(count as usize)).expect("tensor"),
                    max_fee: 1_000,
                },
                signature: [0x33; 65],
            },
            output: Tensor::from_i32(
                vec![outputs as u32],
                (0..outputs)
                    .map(|_| rng.range(-1 << 20, 1 << 20) as i32)
                    .collect(),
            )
            .expect("tensor"),
            fee: 7,
        }
    };
    let inferences = [
        vec![inference(0, vec![4, 10], 3), inference(1, vec![64], 10)],
        vec![],
        vec![inference(2, vec![40], 1)],
    ];
    let withdrawals = [
        vec![SignedWithdrawal {
            withdrawal: Withdrawal {
                sender: [0x11; 20],
                nonce: 3,
                recipient: [0x44; 20],
                amount: 5,
            },
            signature: [0x55; 65],
        }],
        vec![],
        vec![],
    ];
    let mut parent = genesis;
    let mut out = Vec::new();
    for (i, (infs, ws)) in inferences.into_iter().zip(withdrawals).enumerate() {
        let header = BlockHeader {
            number: i as u64 + 1,
            parent_hash: parent,
            timestamp: 1_000 + i as u64,
            records_root: records_root(&infs, &VECTOR_DOMAIN),
            state_root: [0xab; 32],
            deposits_consumed: if i == 0 { 0 } else { 1 },
            withdrawals_root: withdrawals_root(&ws),
            record_count: infs.len() as u32,
            withdrawal_count: ws.len() as u32,
            l1_origin: 50 + i as u64,
        };
        parent = header.hash();
        out.push(BlockBody {
            header,
            inferences: infs,
            withdrawals: ws,
        });
    }
    out
}

/// Version 3 data from headers as given and raw bodies.
fn raw(headers: &[BlockHeader], bodies: &[Vec<u8>]) -> Vec<u8> {
    let mut w = Writer::new();
    w.u8(batch_data::VERSION);
    w.u32(headers.len() as u32);
    let mut end = PREFIX_BYTES + ENTRY_BYTES * headers.len();
    for (h, body) in headers.iter().zip(bodies) {
        end += body.len();
        w.raw(&h.encode());
        w.u32(end as u32);
    }
    for body in bodies {
        w.raw(body);
    }
    w.finish()
}

/// [`raw`] after re-linking each header's parent to the one before, so a changed header
/// still makes a valid frame (the genesis hash first).
fn rechain(headers: &[BlockHeader], bodies: &[Vec<u8>]) -> Vec<u8> {
    let mut linked = headers.to_vec();
    let mut parent = BlockHeader::genesis().hash();
    for h in &mut linked {
        h.parent_hash = parent;
        parent = h.hash();
    }
    raw(&linked, bodies)
}
