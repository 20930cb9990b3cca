//! The per-transaction rules of the state transition (specs/state.md §3): a block's
//! transactions in trace order ([`block_txs`]: its deposits, then its inferences, then
//! its withdrawals), each applied to the state by the complete rules ([`StateTx::apply`]:
//! signature, nonce, fee as registered at the block's L1 origin, balance), and a block's
//! state trace `S_0 … S_n` ([`state_trace`], [`apply_trace`]). [`super::transition`]
//! holds the state and the account rules these stand on; the state game proves one step
//! of this trace (`crate::game::state_step`).

use crate::bridge::Deposit;
use crate::hash::{Hash, keccak};
use crate::l2::Address;
use crate::l2::account::Account;
use crate::l2::record::{InferenceRecord, InferenceTx};
use crate::l2::request::{SignatureBytes, SigningDomain, struct_hash};
use crate::l2::signature::{SignatureError, recover_signer};
use crate::l2::transition::{State, TransitionError};
use crate::l2::withdrawal::SignedWithdrawal;

/// The state an honest party gives every step after an invalid transaction: it matches
/// no real root, so the party disagrees with every state past the bad step.
pub fn invalid_state() -> Hash {
    keccak(&[b"verdict.state.invalid"])
}

/// An inference as the state trace sees it: the record's fields plus what the record
/// only hashes (nonce, max fee) and the signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InferenceStep {
    /// The paying account.
    pub sender: Address,
    /// The request's nonce.
    pub nonce: u64,
    /// The model.
    pub model_id: Hash,
    /// The input's commitment.
    pub input_root: Hash,
    /// The most the sender agreed to pay.
    pub max_fee: u128,
    /// The output's commitment.
    pub output_root: Hash,
    /// The fee charged.
    pub fee: u128,
    /// The request's signature.
    pub signature: SignatureBytes,
}

/// Bytes of an inference step's `tx`.
pub const INFERENCE_TX_BYTES: usize = 20 + 8 + 32 + 32 + 16 + 32 + 16;
/// Bytes of a deposit step's `tx`.
pub const DEPOSIT_TX_BYTES: usize = 20 + 20 + 32 + 8;
/// Bytes of a withdrawal step's `tx`.
pub const WITHDRAWAL_TX_BYTES: usize = 64;

impl InferenceStep {
    /// The step of a batch-data inference.
    pub fn of(tx: &InferenceTx) -> Self {
        let request = &tx.signed.request;
        Self {
            sender: request.sender,
            nonce: request.nonce,
            model_id: request.model_id,
            input_root: request.input.commitment(),
            max_fee: request.max_fee,
            output_root: tx.output.commitment(),
            fee: tx.fee,
            signature: tx.signed.signature,
        }
    }

    /// The EIP-712 digest of the request (the record's `request_hash`).
    pub fn request_hash(&self, domain: &SigningDomain) -> Hash {
        let inner = struct_hash(
            &self.sender,
            self.nonce,
            &self.model_id,
            &self.input_root,
            self.max_fee,
        );
        keccak(&[&[0x19, 0x01], &domain.separator(), &inner])
    }

    /// The record this inference commits to.
    pub fn record(&self, domain: &SigningDomain) -> InferenceRecord {
        InferenceRecord {
            request_hash: self.request_hash(domain),
            sender: self.sender,
            model_id: self.model_id,
            input_root: self.input_root,
            output_root: self.output_root,
            fee: self.fee,
        }
    }

    /// `sender ‖ nonce ‖ model_id ‖ input_root ‖ max_fee ‖ output_root ‖ fee`.
    pub fn tx_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(INFERENCE_TX_BYTES);
        out.extend_from_slice(&self.sender);
        out.extend_from_slice(&self.nonce.to_be_bytes());
        out.extend_from_slice(&self.model_id);
        out.extend_from_slice(&self.input_root);
        out.extend_from_slice(&self.max_fee.to_be_bytes());
        out.extend_from_slice(&self.output_root);
        out.extend_from_slice(&self.fee.to_be_bytes());
        out
    }
}

/// One transaction of a block, in state-trace order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateTx {
    /// A deposit from the L1 queue.
    Deposit(Deposit),
    /// An inference paying its fee.
    Inference(InferenceStep),
    /// A withdrawal.
    Withdrawal(SignedWithdrawal),
}

/// A block's transactions in trace order.
pub fn block_txs(
    deposits: &[Deposit],
    inferences: &[InferenceTx],
    withdrawals: &[SignedWithdrawal],
) -> Vec<StateTx> {
    deposits
        .iter()
        .map(|d| StateTx::Deposit(*d))
        .chain(
            inferences
                .iter()
                .map(|tx| StateTx::Inference(InferenceStep::of(tx))),
        )
        .chain(withdrawals.iter().map(|w| StateTx::Withdrawal(*w)))
        .collect()
}

/// What the rules of a step need from L1 and from the block.
#[derive(Clone, Copy)]
pub struct StepRules<'a> {
    /// The rollup's signing domain.
    pub domain: SigningDomain,
    /// The Rollup's sequencer, paid every fee.
    pub sequencer: Address,
    /// The block's `l1_origin`.
    pub l1_origin: u64,
    /// The L1 block of the batch that posts the block.
    pub batch_l1_block: u64,
    /// `ModelRegistry.feeAt(model, l1_block)`: `None` when not registered then.
    pub fee_at: &'a dyn Fn(&Hash, u64) -> Option<u128>,
}

/// Why a transaction is invalid: the block holding it is invalid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    /// The signature is invalid.
    #[error("signature: {0}")]
    Signature(#[from] SignatureError),
    /// The signature is valid but by someone else.
    #[error("signed by 0x{}, not by the sender", hex::encode(signer))]
    WrongSigner {
        /// Who signed.
        signer: Address,
    },
    /// The block's `l1_origin` is after the L1 block that posted it.
    #[error("the block's l1 origin {origin} is after its batch's L1 block {batch}")]
    OriginAfterBatch {
        /// `l1_origin`.
        origin: u64,
        /// The batch's L1 block.
        batch: u64,
    },
    /// The model was not registered at `l1_origin`.
    #[error("the model was not registered at L1 block {0}")]
    UnknownModel(u64),
    /// The fee is not the registered one.
    #[error("fee {charged} wei is not the registered fee {registered} wei")]
    WrongFee {
        /// What the record charged.
        charged: u128,
        /// `feeAt(model, l1_origin)`.
        registered: u128,
    },
    /// A rule of the state transition.
    #[error(transparent)]
    Transition(#[from] TransitionError),
}

impl StateTx {
    /// Checks the transaction against `state` and the rules, then applies it. On an
    /// error the state is unchanged.
    pub fn apply(&self, state: &mut State, rules: &StepRules<'_>) -> Result<(), StepError> {
        self.check(state, rules)?;
        self.apply_unchecked(state, rules)
    }

    fn apply_unchecked(&self, state: &mut State, rules: &StepRules<'_>) -> Result<(), StepError> {
        match self {
            StateTx::Deposit(deposit) => state.apply_deposit(deposit)?,
            StateTx::Inference(step) => state.apply_inference(
                &step.sender,
                step.nonce,
                step.fee,
                step.max_fee,
                &rules.sequencer,
            )?,
            StateTx::Withdrawal(signed) => state.apply_withdrawal(&signed.withdrawal)?,
        }
        Ok(())
    }

    /// The new value of touched account `index` (see [`Self::touched`]) given its value
    /// just before; `None` when a balance would overflow.
    pub fn updated(&self, index: usize, before: Account) -> Option<Account> {
        let mut after = before;
        match (self, index) {
            (StateTx::Deposit(d), _) => after.balance = before.balance.checked_add(d.amount)?,
            (StateTx::Inference(step), 0) => {
                after.balance = before.balance.checked_sub(step.fee)?;
                after.nonce = before.nonce.checked_add(1)?;
            }
            (StateTx::Inference(step), _) => {
                after.balance = before.balance.checked_add(step.fee)?
            }
            (StateTx::Withdrawal(w), _) => {
                after.balance = before.balance.checked_sub(w.withdrawal.amount)?;
                after.nonce = before.nonce.checked_add(1)?;
            }
        }
        Some(after)
    }

    /// Checks the transaction's rules against `state` without changing it: signatures,
    /// the registered fee, nonces and balances. A deposit always applies (an overflow
    /// shows when it is applied).
    pub fn check(&self, state: &State, rules: &StepRules<'_>) -> Result<(), StepError> {
        self.check_signature(&rules.domain)?;
        self.check_rules(state, rules)
    }

    /// Checks the signature alone (deposits have none): the costly part of a check, which
    /// callers may run in parallel over a block before [`Self::apply_verified`].
    pub fn check_signature(&self, domain: &SigningDomain) -> Result<(), StepError> {
        match self {
            StateTx::Deposit(_) => Ok(()),
            StateTx::Inference(step) => {
                check_signer(&step.signature, &step.request_hash(domain), &step.sender)
            }
            StateTx::Withdrawal(signed) => {
                let w = &signed.withdrawal;
                check_signer(&signed.signature, &w.signing_hash(domain), &w.sender)
            }
        }
    }

    /// [`Self::apply`] for a transaction whose signature [`Self::check_signature`]
    /// accepted already.
    pub fn apply_verified(
        &self,
        state: &mut State,
        rules: &StepRules<'_>,
    ) -> Result<(), StepError> {
        self.check_rules(state, rules)?;
        self.apply_unchecked(state, rules)
    }

    /// Every rule but the signature.
    fn check_rules(&self, state: &State, rules: &StepRules<'_>) -> Result<(), StepError> {
        match self {
            StateTx::Deposit(_) => {}
            StateTx::Inference(step) => {
                if rules.l1_origin > rules.batch_l1_block {
                    return Err(StepError::OriginAfterBatch {
                        origin: rules.l1_origin,
                        batch: rules.batch_l1_block,
                    });
                }
                let registered = (rules.fee_at)(&step.model_id, rules.l1_origin)
                    .ok_or(StepError::UnknownModel(rules.l1_origin))?;
                if registered != step.fee {
                    return Err(StepError::WrongFee {
                        charged: step.fee,
                        registered,
                    });
                }
                state.check_inference(&step.sender, step.nonce, step.fee, step.max_fee)?;
            }
            StateTx::Withdrawal(signed) => state.check_withdrawal(&signed.withdrawal)?,
        }
        Ok(())
    }

    /// The accounts the transaction updates, in update order.
    pub fn touched(&self, sequencer: &Address) -> Vec<Address> {
        match self {
            StateTx::Deposit(d) => vec![d.recipient],
            StateTx::Inference(step) => vec![step.sender, *sequencer],
            StateTx::Withdrawal(w) => vec![w.withdrawal.sender],
        }
    }

    /// The `tx` bytes of a one-step proof.
    pub fn tx_bytes(&self) -> Vec<u8> {
        match self {
            StateTx::Deposit(d) => {
                let mut out = Vec::with_capacity(DEPOSIT_TX_BYTES);
                out.extend_from_slice(&d.sender);
                out.extend_from_slice(&d.recipient);
                out.extend_from_slice(&[0u8; 16]);
                out.extend_from_slice(&d.amount.to_be_bytes());
                out.extend_from_slice(&d.l1_block.to_be_bytes());
                out
            }
            StateTx::Inference(step) => step.tx_bytes(),
            StateTx::Withdrawal(w) => w.withdrawal.fields().to_vec(),
        }
    }

    /// The signature a proof carries (empty for deposits).
    pub fn signature(&self) -> Vec<u8> {
        match self {
            StateTx::Deposit(_) => Vec::new(),
            StateTx::Inference(step) => step.signature.to_vec(),
            StateTx::Withdrawal(w) => w.signature.to_vec(),
        }
    }
}

fn check_signer(
    signature: &SignatureBytes,
    digest: &Hash,
    sender: &Address,
) -> Result<(), StepError> {
    let signer = recover_signer(signature, digest)?;
    if signer != *sender {
        return Err(StepError::WrongSigner { signer });
    }
    Ok(())
}

/// The trace of a block: `S_0 … S_n`, with every state after an invalid transaction
/// set to [`invalid_state`]; also the first invalid transaction, if any.
pub fn state_trace(
    parent: &State,
    txs: &[StateTx],
    rules: &StepRules<'_>,
) -> (Vec<Hash>, Option<(usize, StepError)>) {
    apply_trace(&mut parent.clone(), txs, rules)
}

/// [`state_trace`] applied to `state` itself, which ends as the state after the block
/// (after the last valid transaction, when one is invalid), so a follower applies each
/// transaction once.
pub fn apply_trace(
    state: &mut State,
    txs: &[StateTx],
    rules: &StepRules<'_>,
) -> (Vec<Hash>, Option<(usize, StepError)>) {
    let mut states = Vec::with_capacity(txs.len() + 1);
    states.push(state.root());
    for (k, tx) in txs.iter().enumerate() {
        if let Err(error) = tx.apply(state, rules) {
            states.resize(txs.len() + 1, invalid_state());
            return (states, Some((k, error)));
        }
        states.push(state.root());
    }
    (states, None)
}
