//! Fault injection for tests and demos: a sequencer that answers some requests wrongly
//! and defends its wrong answers, so challengers and the dispute game can be seen to work.
//!
//! Which requests are faulty is a pure function of the request hash
//! (`keccak("verdict-fault" ‖ request_hash) < rate · 2^256`), so the builder that writes a
//! wrong record and the defender that later plays its game agree without sharing state,
//! also across restarts.
//!
//! The state faults (`fee`, `deposit`, `withdrawal`) leave every output right and break
//! the state transition instead (specs/state.md §3), so a challenger must win a state
//! game. Deposit `q` is faulty when
//! `is_faulty(keccak("verdict-fault-deposit" ‖ q as 8 bytes big-endian))`.

use std::str::FromStr;

use alloy::primitives::B256;
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use verdict_specs::game::Claims;
use verdict_specs::l2::Address;
use verdict_specs::l2::request::SigningDomain;
use verdict_specs::l2::withdrawal::{SignedWithdrawal, Withdrawal};
use verdict_specs::tensor::{Tensor, TensorData};
use verdict_specs::{Hash, Model, hash::keccak};

/// What a faulty sequencer gets wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultMode {
    /// The final output is wrong; every intermediate value is right.
    Output,
    /// One intermediate value is wrong and flows on to the output (the dispute then ends
    /// at that node, so every op kind's one-step verification is exercised).
    Intermediate,
    /// The output is wrong and the sequencer makes no move in its games (it loses on the
    /// clock).
    Silent,
    /// The output is right, but the request is charged the registered fee + 1 wei (when
    /// its `max_fee` allows): the record and the state both say so.
    Fee,
    /// A faulty deposit is credited 1 wei more than its amount (the stored deposit stays
    /// the one L1 queued).
    Deposit,
    /// After a faulty request the block carries a withdrawal of 1 wei from its sender to
    /// the sequencer that the sender never signed.
    Withdrawal,
    /// The drain attack of the security review: every block is right, but a faulty batch
    /// is posted with its last header committing to one more withdrawal than its body
    /// holds — the whole [`DRAIN_WEI`] to the sequencer's L1 address. A data fault proof
    /// reverts it (specs/batch.md).
    Drain,
}

/// What a `drain` fault's unbacked withdrawal claims: 100 ether, far beyond anything
/// the sequencer holds on L2.
pub const DRAIN_WEI: u128 = 100_000_000_000_000_000_000;

impl FaultMode {
    /// Every mode, in `--fault-mode` order.
    pub const ALL: [FaultMode; 7] = [
        Self::Output,
        Self::Intermediate,
        Self::Silent,
        Self::Fee,
        Self::Deposit,
        Self::Withdrawal,
        Self::Drain,
    ];

    /// Whether a faulty request gets a wrong output (the inference game's faults).
    pub fn wrong_output(self) -> bool {
        matches!(self, Self::Output | Self::Intermediate | Self::Silent)
    }

    /// Whether the fault is in the state transition (state games).
    pub fn is_state_fault(self) -> bool {
        matches!(self, Self::Fee | Self::Deposit | Self::Withdrawal)
    }

    /// Whether the fault is in the posted batch data (data fault proofs).
    pub fn is_data_fault(self) -> bool {
        self == Self::Drain
    }
}

impl FromStr for FaultMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|mode| mode.to_string() == s)
            .ok_or_else(|| {
                format!(
                    "unknown fault mode {s:?}; expected output, intermediate, silent, fee, \
                     deposit, withdrawal or drain"
                )
            })
    }
}

impl std::fmt::Display for FaultMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Output => "output",
            Self::Intermediate => "intermediate",
            Self::Silent => "silent",
            Self::Fee => "fee",
            Self::Deposit => "deposit",
            Self::Withdrawal => "withdrawal",
            Self::Drain => "drain",
        })
    }
}

/// Which requests a faulty sequencer gets wrong, and how.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FaultPlan {
    /// Fraction of requests answered wrongly, in `[0, 1]`.
    pub rate: f64,
    /// What goes wrong.
    pub mode: FaultMode,
}

impl FaultPlan {
    /// Whether the request with `request_hash` is answered wrongly.
    pub fn is_faulty(&self, request_hash: &Hash) -> bool {
        let draw = keccak(&[b"verdict-fault", request_hash]);
        let top = u64::from_be_bytes(draw[..8].try_into().expect("8 bytes"));
        self.rate >= 1.0 || (top as f64) < self.rate * 18_446_744_073_709_551_616.0
    }

    /// The fee a request with `request_hash` is charged when `fee` is registered: one wei
    /// more for a faulty request in `fee` mode when `max_fee` allows it.
    pub fn charged_fee(&self, request_hash: &Hash, fee: u128, max_fee: u128) -> u128 {
        match fee.checked_add(1) {
            Some(more)
                if self.mode == FaultMode::Fee
                    && more <= max_fee
                    && self.is_faulty(request_hash) =>
            {
                more
            }
            _ => fee,
        }
    }

    /// Whether deposit `index` is credited wrongly (`deposit` mode).
    pub fn is_faulty_deposit(&self, index: u64) -> bool {
        self.mode == FaultMode::Deposit
            && self.is_faulty(&keccak(&[b"verdict-fault-deposit", &index.to_be_bytes()]))
    }

    /// Whether the batch starting at L2 block `first_block` is posted with an unbacked
    /// withdrawal (`drain` mode).
    pub fn drains(&self, first_block: u64) -> bool {
        self.mode == FaultMode::Drain
            && self.is_faulty(&keccak(&[
                b"verdict-fault-drain",
                &first_block.to_be_bytes(),
            ]))
    }

    /// Whether the request with `request_hash` is followed by a forged withdrawal
    /// (`withdrawal` mode).
    pub fn forges_withdrawal(&self, request_hash: &Hash) -> bool {
        self.mode == FaultMode::Withdrawal && self.is_faulty(request_hash)
    }

    /// The values a faulty sequencer claims for this request (input first, its wrong
    /// output last); `None` when `input` does not fit the model, or in a mode that leaves
    /// outputs right.
    pub fn claims(&self, model: &Model, input: &Tensor, request_hash: &Hash) -> Option<Claims> {
        let n = model.graph().nodes.len();
        let seed = keccak(&[b"verdict-fault-at", request_hash]);
        let pick = |i: usize, modulo: usize| seed[i] as usize % modulo.max(1);
        let honest = verdict_specs::interpreter::trace(model, input).ok()?;
        let mut values = match self.mode {
            FaultMode::Output | FaultMode::Silent => honest.clone(),
            FaultMode::Fee | FaultMode::Deposit | FaultMode::Withdrawal | FaultMode::Drain => {
                return None;
            }
            FaultMode::Intermediate => {
                // Any node but the last when there are two or more.
                let node = if n > 1 { pick(0, n - 1) } else { 0 };
                verdict_specs::interpreter::trace_with(model, input, |i, out| {
                    if i == node {
                        *out = scrambled(model, i, out, seed[1]);
                    }
                })
                .ok()?
            }
        };
        // A fault masked by later nodes (an ArgMax that still picks the same class) would
        // leave a correct record: make the output wrong too, so there is something to
        // dispute. The game still ends at the first wrong node.
        let last = values.len() - 1;
        if values[last] == honest[last] {
            values[last] = scrambled(model, n - 1, &values[last], seed[2]);
        }
        Some(Claims::new(values))
    }
}

/// A withdrawal of 1 wei from `sender` (at `nonce`) to `recipient`, signed by a fixed key
/// that is not the sender's: valid-looking, but no honest state transition accepts it.
pub fn forged_withdrawal(
    domain: &SigningDomain,
    sender: Address,
    nonce: u64,
    recipient: Address,
) -> SignedWithdrawal {
    let withdrawal = Withdrawal {
        sender,
        nonce,
        recipient,
        amount: 1,
    };
    let forger = PrivateKeySigner::from_bytes(&B256::from(keccak(&[b"verdict-fault-forger"])))
        .expect("a keccak digest is a valid secp256k1 key but with negligible odds");
    let signature = forger
        .sign_hash_sync(&B256::from(withdrawal.signing_hash(domain)))
        .expect("signing with a local key does not fail")
        .as_bytes();
    SignedWithdrawal {
        withdrawal,
        signature,
    }
}

/// The `drain` fault on the last block of a batch about to be posted: its header's
/// withdrawals root and count are made to commit to one more withdrawal than
/// `withdrawals` (the block's real ones) — [`DRAIN_WEI`] from the sequencer to its own L1
/// address `to` — which the body does not hold. The body stays honest, so the data is
/// well framed and only a data fault proof shows the header unbacked. Returns the
/// withdrawal the header now claims.
pub fn drain(
    header: &mut verdict_specs::l2::block::BlockHeader,
    withdrawals: &[SignedWithdrawal],
    to: Address,
) -> Withdrawal {
    let claimed = Withdrawal {
        sender: to,
        nonce: u64::MAX,
        recipient: to,
        amount: DRAIN_WEI,
    };
    let mut leaves: Vec<Hash> = withdrawals.iter().map(|w| w.withdrawal.leaf()).collect();
    leaves.push(claimed.leaf());
    header.withdrawals_root = verdict_specs::merkle::root(&leaves);
    header.withdrawal_count += 1;
    claimed
}

/// Node `node`'s output `t` with every element moved, staying in the range later nodes
/// accept (int8 values in [-127, 127], class indices below the class count).
fn scrambled(model: &Model, node: usize, t: &Tensor, salt: u8) -> Tensor {
    let shift = i64::from(salt % 100) + 1;
    if let Some(verdict_specs::model::Op::ArgMax { input }) = model.graph().nodes.get(node) {
        let classes = model.value_types()[*input as usize]
            .shape
            .last()
            .copied()
            .unwrap_or(1)
            .max(2) as i64;
        let shift = shift % (classes - 1) + 1;
        if let TensorData::I32(v) = t.data() {
            let moved = v
                .iter()
                .map(|&x| ((i64::from(x) + shift) % classes) as i32)
                .collect();
            return Tensor::new(t.shape().to_vec(), TensorData::I32(moved)).expect("same shape");
        }
    }
    let data = match t.data() {
        TensorData::I8(v) => TensorData::I8(
            v.iter()
                .map(|&x| (((i64::from(x) + 127 + shift) % 255) - 127) as i8)
                .collect(),
        ),
        TensorData::I32(v) => {
            TensorData::I32(v.iter().map(|&x| x.wrapping_add(shift as i32)).collect())
        }
    };
    Tensor::new(t.shape().to_vec(), data).expect("same shape")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_modes() {
        let plan = FaultPlan {
            rate: 0.25,
            mode: FaultMode::Output,
        };
        let hits = (0u32..4000)
            .filter(|i| plan.is_faulty(&keccak(&[&i.to_be_bytes()])))
            .count();
        assert!((850..1150).contains(&hits), "{hits}");
        assert_eq!("silent".parse(), Ok(FaultMode::Silent));
        assert!("loud".parse::<FaultMode>().is_err());
        for mode in FaultMode::ALL {
            assert_eq!(mode.to_string().parse(), Ok(mode));
        }
        assert_eq!("fee".parse(), Ok(FaultMode::Fee));
        assert_eq!("deposit".parse(), Ok(FaultMode::Deposit));
        assert_eq!("withdrawal".parse(), Ok(FaultMode::Withdrawal));
        let serde: FaultMode = serde_json::from_str("\"withdrawal\"").unwrap();
        assert_eq!(serde, FaultMode::Withdrawal);
    }

    #[test]
    fn state_faults_leave_outputs_alone() {
        let all = |mode| FaultPlan { rate: 1.0, mode };
        let case = &verdict_specs::vectors::model_cases()[0];
        let model =
            Model::new(case.graph.clone(), case.weights.clone(), Default::default()).unwrap();
        for mode in [FaultMode::Fee, FaultMode::Deposit, FaultMode::Withdrawal] {
            assert!(mode.is_state_fault() && !mode.wrong_output());
            assert!(all(mode).claims(&model, &case.input, &[1; 32]).is_none());
        }
        // The fee: one wei more, only in fee mode and only within the max fee.
        assert_eq!(all(FaultMode::Fee).charged_fee(&[1; 32], 10, 11), 11);
        assert_eq!(all(FaultMode::Fee).charged_fee(&[1; 32], 10, 10), 10);
        assert_eq!(all(FaultMode::Output).charged_fee(&[1; 32], 10, 11), 10);
        assert_eq!(
            all(FaultMode::Fee).charged_fee(&[1; 32], u128::MAX, u128::MAX),
            u128::MAX
        );
        assert!(all(FaultMode::Deposit).is_faulty_deposit(3));
        assert!(!all(FaultMode::Fee).is_faulty_deposit(3));
        let half = FaultPlan {
            rate: 0.5,
            mode: FaultMode::Deposit,
        };
        let hits = (0..1000).filter(|&q| half.is_faulty_deposit(q)).count();
        assert!((400..600).contains(&hits), "{hits}");
        assert!(all(FaultMode::Withdrawal).forges_withdrawal(&[1; 32]));
        assert!(!all(FaultMode::Fee).forges_withdrawal(&[1; 32]));
    }

    #[test]
    fn a_forged_withdrawal_is_signed_by_someone_else() {
        let domain = SigningDomain {
            chain_id: 31337,
            rollup: [9; 20],
        };
        let forged = forged_withdrawal(&domain, [1; 20], 4, [2; 20]);
        assert_eq!(forged.withdrawal.amount, 1);
        assert_eq!(forged.withdrawal.nonce, 4);
        let signer = verdict_specs::l2::signature::recover_signer(
            &forged.signature,
            &forged.withdrawal.signing_hash(&domain),
        )
        .expect("a well-formed signature");
        assert_ne!(signer, [1; 20]);
    }

    #[test]
    fn every_mode_gives_a_wrong_output_of_the_right_type() {
        for case in verdict_specs::vectors::model_cases() {
            let model = Model::new(case.graph, case.weights, Default::default()).unwrap();
            let honest = verdict_specs::interpreter::run(&model, &case.input).unwrap();
            for mode in [
                FaultMode::Output,
                FaultMode::Intermediate,
                FaultMode::Silent,
            ] {
                let plan = FaultPlan { rate: 1.0, mode };
                let claims = plan.claims(&model, &case.input, &[7; 32]).unwrap();
                let wrong = claims.values().last().unwrap();
                assert_ne!(wrong, &honest, "{} {mode}", case.name);
                assert_eq!(wrong.shape(), honest.shape());
                assert_eq!(wrong.dtype(), honest.dtype());
            }
        }
    }
}
