//! A block's body in batch data and the rule a *data fault proof* enforces on L1
//! (`DisputeGame.proveDataFault`, `BatchDataVerifier.sol`): the body must decode as
//! exactly the header's `record_count` inferences and `withdrawal_count` withdrawals,
//! filling it, and their record hashes and withdrawal leaves must give the header's
//! `records_root` and `withdrawals_root`. Anyone who finds a block breaking it reverts
//! the batch with the data alone, no game needed (`specs/batch.md`, "Data faults").

use crate::encoding::{DecodeError, Reader};
use crate::hash::Hash;
use crate::merkle;

use super::super::block::BlockHeader;
use super::super::record::InferenceTx;
use super::super::request::SigningDomain;
use super::super::withdrawal::{SignedWithdrawal, withdrawals_root};

/// Why a block's body does not back its header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyFault {
    /// The body is not `record_count` inferences then `withdrawal_count` withdrawals.
    #[error("the body does not decode: {0}")]
    Malformed(DecodeError),
    /// The inferences' record hashes do not give the header's records root.
    #[error("the records root is not over the body's inferences")]
    RecordsRoot,
    /// The withdrawals' leaves do not give the header's withdrawals root.
    #[error("the withdrawals root is not over the body's withdrawals")]
    WithdrawalsRoot,
}

/// A body that backs its header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedBody {
    /// The inferences, in order.
    pub inferences: Vec<InferenceTx>,
    /// The withdrawals, in order.
    pub withdrawals: Vec<SignedWithdrawal>,
    /// The record hash of each inference: the leaves of the records root.
    pub record_hashes: Vec<Hash>,
}

/// Decodes a body from untrusted bytes: `header.record_count` inferences, then
/// `header.withdrawal_count` withdrawals, and nothing after them. The counts are not
/// trusted for allocation: reading stops at the first item the bytes do not hold.
pub fn decode_body(
    header: &BlockHeader,
    body: &[u8],
) -> Result<(Vec<InferenceTx>, Vec<SignedWithdrawal>), DecodeError> {
    let mut r = Reader::new(body);
    let mut inferences = Vec::new();
    for i in 0..header.record_count {
        inferences.push(r.field(format!("inference {i}"), InferenceTx::decode)?);
    }
    let mut withdrawals = Vec::new();
    for i in 0..header.withdrawal_count {
        withdrawals.push(r.field(format!("withdrawal {i}"), SignedWithdrawal::decode)?);
    }
    r.finish()?;
    Ok((inferences, withdrawals))
}

/// The data fault rule for one block: `Ok` when `body` backs `header` under `domain`
/// (the rollup requests are signed for), the fault otherwise.
pub fn check_body(
    header: &BlockHeader,
    body: &[u8],
    domain: &SigningDomain,
) -> Result<CheckedBody, BodyFault> {
    let (inferences, withdrawals) = decode_body(header, body).map_err(BodyFault::Malformed)?;
    let record_hashes: Vec<Hash> = inferences
        .iter()
        .map(|tx| tx.record(domain).hash())
        .collect();
    if merkle::root(&record_hashes) != header.records_root {
        return Err(BodyFault::RecordsRoot);
    }
    if withdrawals_root(&withdrawals) != header.withdrawals_root {
        return Err(BodyFault::WithdrawalsRoot);
    }
    Ok(CheckedBody {
        inferences,
        withdrawals,
        record_hashes,
    })
}

#[cfg(test)]
mod tests {
    use super::super::encode_body;
    use super::super::tests::blocks;
    use super::*;
    use crate::l2::block::records_root;

    const DOMAIN: SigningDomain = SigningDomain {
        chain_id: 1,
        rollup: [7; 20],
    };

    fn backed() -> super::super::BlockBody {
        let mut block = blocks().remove(0);
        block.header.records_root = records_root(&block.inferences, &DOMAIN);
        block.header.withdrawals_root = withdrawals_root(&block.withdrawals);
        block
    }

    #[test]
    fn a_backed_body_passes() {
        let block = backed();
        let checked = check_body(&block.header, &encode_body(&block), &DOMAIN).expect("backed");
        assert_eq!(checked.inferences, block.inferences);
        assert_eq!(checked.record_hashes.len(), 2);
    }

    #[test]
    fn each_fault_is_named() {
        let block = backed();
        let body = encode_body(&block);
        let mut h = block.header;
        h.records_root = [1; 32];
        assert_eq!(check_body(&h, &body, &DOMAIN), Err(BodyFault::RecordsRoot));
        let mut h = block.header;
        h.withdrawals_root = [1; 32];
        assert_eq!(
            check_body(&h, &body, &DOMAIN),
            Err(BodyFault::WithdrawalsRoot)
        );
        let other = SigningDomain {
            chain_id: 2,
            ..DOMAIN
        };
        assert_eq!(
            check_body(&block.header, &body, &other),
            Err(BodyFault::RecordsRoot)
        );
        for (record_count, withdrawal_count) in [(3, 1), (2, 0), (2, 2), (u32::MAX, 0)] {
            let h = BlockHeader {
                record_count,
                withdrawal_count,
                ..block.header
            };
            assert!(matches!(
                check_body(&h, &body, &DOMAIN),
                Err(BodyFault::Malformed(_))
            ));
        }
        assert!(matches!(
            check_body(&block.header, &body[..body.len() - 1], &DOMAIN),
            Err(BodyFault::Malformed(_))
        ));
    }
}
