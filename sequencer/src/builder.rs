//! The block builder: one thread that owns the chain's order.
//!
//! Requests arrive already admitted (signature, model, input, fee limit checked on the
//! RPC threads). The builder takes what is queued, up to the block's room, checks nonce
//! and balance against the live state in arrival order, applies them, runs each model's
//! share as one executor batch, appends the records to the open block, and hands the
//! write set to the group committer. Answers go out only when that write is durable;
//! meanwhile the builder goes on with the next requests (writes complete in order).
//!
//! A block is sealed when it holds `max_block_records` records or `max_block_bytes` of
//! batch data, or `block_time` after it opened. A block opens when there is something to
//! put in it (a request, a deposit or a withdrawal): the chain has no empty blocks.
//!
//! Withdrawals come after a block's inferences (specs/state.md §3), so a withdrawal is
//! applied at the end of the step it arrives in and seals the block at once; requests
//! that arrive after it wait for the next block, so a sender's nonces stay in order.
//!
//! With a fault plan (tests and demos only, `crate::fault`) the builder gets some
//! things wrong on purpose: outputs, or in the state modes a fee, a deposit's credit, or
//! a forged withdrawal. A request executed again after a roll-back and a deposit taken
//! again after one are always handled right.
//!
//! Any failed write stops the builder for good: after it, no answer could be trusted
//! to be durable, so every later request gets `Unavailable` until a restart.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::fault::FaultPlan;
use alloy::primitives::{B256, U64, U256};
use tokio::sync::{broadcast, oneshot};
use tracing::{error, info, warn};
use verdict_rpc::types::{InferenceReceipt, WithdrawalReceipt};
use verdict_rpc::{ErrorCode, RpcError};
use verdict_specs::bridge::Deposit;
use verdict_specs::encoding::Writer;
use verdict_specs::l2::Address;
use verdict_specs::l2::account::Account;
use verdict_specs::l2::block::BlockHeader;
use verdict_specs::l2::record::{InferenceRecord, InferenceTx};
use verdict_specs::l2::transition::{State, TransitionError};
use verdict_specs::l2::withdrawal::{SignedWithdrawal, withdrawals_root};
use verdict_specs::{Hash, Tensor, merkle};
use verdict_store::WriteSet;

use crate::admission::Admitted;
use crate::state_defence::wrong_credits;
use verdict_chain::replay::{credited, faulty_deposits};
use verdict_chain::store::{self as chain_store, ChainStore};
use verdict_chain::view::{ChainEvent, ChainView};
use verdict_rpc::metrics as m;

/// Where an admitted request's answer goes.
pub type Reply = oneshot::Sender<Result<InferenceReceipt, RpcError>>;

/// An admitted request waiting for the builder, with its reply channel.
type Pending = (Box<Admitted>, Reply);

/// Where a withdrawal's answer goes.
pub type WithdrawalReply = oneshot::Sender<Result<WithdrawalReceipt, RpcError>>;

/// An answer sent once its write is durable.
enum Answer {
    Inference(Reply, InferenceReceipt),
    Withdrawal(WithdrawalReply, WithdrawalReceipt),
}

impl Answer {
    fn send(self) {
        match self {
            Answer::Inference(reply, receipt) => {
                let _ = reply.send(Ok(receipt));
            }
            Answer::Withdrawal(reply, receipt) => {
                let _ = reply.send(Ok(receipt));
            }
        }
    }

    fn fail(self, error: RpcError) {
        match self {
            Answer::Inference(reply, _) => {
                let _ = reply.send(Err(error));
            }
            Answer::Withdrawal(reply, _) => {
                let _ = reply.send(Err(error));
            }
        }
    }
}

/// How the builder cuts blocks.
#[derive(Clone, Debug)]
pub struct BlockConfig {
    /// Longest a block stays open.
    pub block_time: Duration,
    /// Most records per block.
    pub max_block_records: usize,
    /// Most batch-data bytes per block (header and body), so one block always fits a
    /// post and no body passes `MAX_BLOCK_BODY_BYTES`.
    pub max_block_bytes: usize,
    /// Most deposits one block consumes.
    pub max_block_deposits: usize,
    /// Most requests taken from the queue in one step.
    pub max_step_requests: usize,
    /// Answer some requests wrongly (tests and demos only; see `crate::fault`).
    pub faults: Option<FaultPlan>,
}

impl Default for BlockConfig {
    fn default() -> Self {
        Self {
            block_time: Duration::from_secs(1),
            max_block_records: verdict_chain::api::DEFAULT_MAX_BLOCK_RECORDS,
            max_block_bytes: 96 * 1024,
            max_block_deposits: 256,
            max_step_requests: 256,
            faults: None,
        }
    }
}

/// Messages to the builder.
pub enum BuilderMsg {
    /// An admitted request and where to send its answer.
    Inference(Box<Admitted>, Reply),
    /// A withdrawal whose signature the RPC checked, and where to send its answer.
    Withdrawal(SignedWithdrawal, WithdrawalReply),
    /// New deposits from the L1 queue, in queue order.
    Deposits(Vec<Deposit>),
    /// Build the blocks from now on against another L1 block, whose fees (per served
    /// model) are these: the open block is sealed first (a block has one origin), and
    /// requests sent after this message wait for it.
    Origin {
        /// The new L1 origin.
        l1_origin: u64,
        /// Each served model's fee at it (a model without one is not served).
        fees: HashMap<Hash, u128>,
    },
    /// Seal what is open and stop.
    Stop,
}

struct OpenBlock {
    number: u64,
    opened_at: Instant,
    deposits: Vec<Deposit>,
    record_hashes: Vec<Hash>,
    records: usize,
    withdrawals: Vec<SignedWithdrawal>,
    bytes: usize,
    changed: BTreeSet<Address>,
}

/// The builder's state, owned by its thread.
pub struct Builder {
    store: ChainStore,
    view: Arc<ChainView>,
    config: BlockConfig,
    domain: verdict_specs::l2::request::SigningDomain,
    sequencer: Address,
    runtime: tokio::runtime::Handle,
    l1_origin: u64,
    /// Each served model's fee at `l1_origin`: what its inferences are charged.
    fees: HashMap<Hash, u128>,
    /// An origin to move to once the requests before it are in blocks.
    next_origin: Option<(u64, HashMap<Hash, u128>)>,
    open: Option<OpenBlock>,
    queued_deposits: Vec<Deposit>,
    next_deposit: u64,
    pending_withdrawals: Vec<(SignedWithdrawal, WithdrawalReply)>,
    /// Senders whose requests the `withdrawal` fault follows with a forged withdrawal.
    forged: Vec<Address>,
    /// Deposits from this queue index on are taken for the first time (those below were
    /// taken before a roll-back): only they can be credited wrongly.
    fresh_deposits: u64,
}

/// Errors starting the builder.
#[derive(Debug, thiserror::Error)]
pub enum BuilderError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] chain_store::ChainStoreError),
    /// A write failed.
    #[error("writing the chain: {0}")]
    Write(#[from] verdict_store::StoreError),
    /// What is stored does not add up.
    #[error("the stored chain is inconsistent: {0}")]
    Inconsistent(String),
}

impl Builder {
    /// Loads the chain from `store` (creating the genesis on first start) and replays
    /// the open block, so a restart continues exactly where the last durable write left.
    /// `l1_origin` is the L1 block the models' `fees` were read at (specs/state.md §2).
    pub fn recover(
        store: ChainStore,
        config: BlockConfig,
        domain: verdict_specs::l2::request::SigningDomain,
        sequencer: Address,
        l1_origin: u64,
        fees: HashMap<Hash, u128>,
        runtime: tokio::runtime::Handle,
    ) -> Result<(Self, Arc<ChainView>), BuilderError> {
        let head = store.head_or_genesis()?;
        let mut state = State::from_accounts(store.accounts()?);
        if state.root() != head.state_root {
            return Err(BuilderError::Inconsistent(format!(
                "the stored accounts hash to {}, block {} says {}",
                verdict_specs::hash::to_hex(&state.root()),
                head.number,
                verdict_specs::hash::to_hex(&head.state_root)
            )));
        }
        let fresh_deposits = store.replay_deposits()?;
        let (events, _) = broadcast::channel(1024);
        let view = Arc::new(ChainView {
            sealed: RwLock::new(head),
            state: RwLock::new(state),
            failed: AtomicBool::new(false),
            events,
        });
        let mut builder = Self {
            store,
            view: Arc::clone(&view),
            config,
            domain,
            sequencer,
            runtime,
            l1_origin,
            fees,
            next_origin: None,
            open: None,
            queued_deposits: Vec::new(),
            next_deposit: head.deposits_consumed,
            pending_withdrawals: Vec::new(),
            forged: Vec::new(),
            fresh_deposits,
        };
        builder.replay_open_block(&head)?;
        Ok((builder, view))
    }

    /// The queue index of the next deposit the chain will take.
    pub fn next_deposit(&self) -> u64 {
        self.next_deposit + self.queued_deposits.len() as u64
    }

    fn replay_open_block(&mut self, head: &BlockHeader) -> Result<(), BuilderError> {
        let number = head.number + 1;
        let deposits = self.store.block_deposits(number)?;
        let txs = self.store.txs(number)?;
        let withdrawals = self.store.withdrawals(number)?;
        if deposits.is_empty() && txs.is_empty() && withdrawals.is_empty() {
            return Ok(());
        }
        let mut open = OpenBlock::new(number);
        let mut state = self.view.state.write().unwrap_or_else(|p| p.into_inner());
        let faulty = faulty_deposits(
            Some(&wrong_credits(self.config.faults.as_ref())),
            &deposits,
            self.fresh_deposits,
        );
        for (deposit, wrong) in deposits.iter().zip(faulty) {
            // As `open_block`: a credit that would overflow credits nothing.
            if let Err(e) = state.apply_deposit(&credited(deposit, wrong)) {
                warn!(index = deposit.index, "deposit not credited: {e}");
            }
            open.changed.insert(deposit.recipient);
        }
        self.next_deposit += deposits.len() as u64;
        open.deposits = deposits;
        for tx in &txs {
            let r = &tx.signed.request;
            state
                .apply_inference(&r.sender, r.nonce, tx.fee, r.max_fee, &self.sequencer)
                .map_err(|e| {
                    BuilderError::Inconsistent(format!("replaying block {number}: {e}"))
                })?;
            open.changed.insert(r.sender);
            open.changed.insert(self.sequencer);
            open.record_hashes.push(tx.record(&self.domain).hash());
            open.records += 1;
            open.bytes += encoded_len(tx);
        }
        for w in &withdrawals {
            state.apply_withdrawal(&w.withdrawal).map_err(|e| {
                BuilderError::Inconsistent(format!("replaying a withdrawal of block {number}: {e}"))
            })?;
            open.changed.insert(w.withdrawal.sender);
            open.bytes += verdict_specs::l2::withdrawal::SIGNED_WITHDRAWAL_BYTES;
        }
        let sealed_by_withdrawal = !withdrawals.is_empty();
        open.withdrawals = withdrawals;
        drop(state);
        info!(
            block = number,
            records = txs.len(),
            deposits = open.deposits.len(),
            "replayed the open block"
        );
        self.open = Some(open);
        if sealed_by_withdrawal {
            // A withdrawal ends its block; the crash came between it and the seal.
            self.seal();
        }
        Ok(())
    }

    /// Runs until every sender is gone; seals what is open before returning.
    pub fn run(mut self, inbox: Receiver<BuilderMsg>) {
        let mut pending: Vec<Pending> = Vec::new();
        loop {
            let timeout = match &self.open {
                Some(o) => self.config.block_time.saturating_sub(o.opened_at.elapsed()),
                // Deposits left over from a full block open the next one at once.
                None if !self.queued_deposits.is_empty() => Duration::ZERO,
                None => Duration::from_secs(3600),
            };
            let mut disconnected = false;
            match inbox.recv_timeout(timeout) {
                Ok(BuilderMsg::Stop) => disconnected = true,
                Ok(msg) => self.take(msg, &mut pending),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => disconnected = true,
            }
            // Requests after a withdrawal wait for the next block (nonce order), and
            // requests after an origin change for the new origin.
            while pending.len() < self.config.max_step_requests
                && !disconnected
                && self.pending_withdrawals.is_empty()
                && self.next_origin.is_none()
            {
                match inbox.try_recv() {
                    Ok(BuilderMsg::Stop) => disconnected = true,
                    Ok(msg) => self.take(msg, &mut pending),
                    Err(_) => break,
                }
            }
            if !self.queued_deposits.is_empty() && self.open.is_none() {
                self.open_block();
            }
            while !pending.is_empty() {
                let room = self.room_for(&pending);
                if room == 0 {
                    if self.open.as_ref().is_none_or(|o| o.records == 0) {
                        // Not even an empty block takes it (model loading rules this
                        // out): refuse it rather than build a block L1 would refuse.
                        let (admitted, reply) = pending.remove(0);
                        let _ = reply.send(Err(RpcError::new(
                            ErrorCode::BadRequest,
                            format!(
                                "one inference of model {} takes {} bytes, more than a block holds",
                                admitted.model.name,
                                admitted.model.inference_bytes()
                            ),
                        )));
                        continue;
                    }
                    self.seal();
                    continue;
                }
                let step: Vec<_> = pending.drain(..pending.len().min(room)).collect();
                self.execute(step);
                if self.room() == 0 {
                    self.seal();
                }
            }
            if !self.pending_withdrawals.is_empty() || !self.forged.is_empty() {
                self.apply_withdrawals();
                self.seal();
            }
            if let Some((l1_origin, fees)) = self.next_origin.take() {
                if self.open.is_some() {
                    self.seal();
                }
                info!(
                    from = self.l1_origin,
                    to = l1_origin,
                    models = fees.len(),
                    "blocks are built against a later L1 block from now on"
                );
                self.l1_origin = l1_origin;
                self.fees = fees;
            }
            if self
                .open
                .as_ref()
                .is_some_and(|o| o.opened_at.elapsed() >= self.config.block_time)
            {
                self.seal();
            }
            if disconnected {
                if self.open.is_some() {
                    self.seal();
                }
                return;
            }
        }
    }

    fn take(&mut self, msg: BuilderMsg, pending: &mut Vec<Pending>) {
        match msg {
            BuilderMsg::Inference(admitted, reply) => pending.push((admitted, reply)),
            BuilderMsg::Withdrawal(w, reply) => self.pending_withdrawals.push((w, reply)),
            BuilderMsg::Stop => {}
            BuilderMsg::Origin { l1_origin, fees } => self.next_origin = Some((l1_origin, fees)),
            BuilderMsg::Deposits(deposits) => {
                for d in deposits {
                    // The follower may resend what it already sent after a restart.
                    let expected = self.next_deposit + self.queued_deposits.len() as u64;
                    if d.index == expected {
                        self.queued_deposits.push(d);
                    } else if d.index > expected {
                        warn!(
                            index = d.index,
                            expected, "a deposit arrived out of order; waiting for the gap"
                        );
                        break;
                    }
                }
            }
        }
    }

    /// How many of `pending`, from the front, the open block (or a new one) takes: no
    /// more than `max_block_records` records, and, by each model's inference size, no
    /// more than `max_block_bytes` bytes, so no block's body passes what L1 accepts.
    fn room_for(&self, pending: &[Pending]) -> usize {
        let (records, mut bytes) = self
            .open
            .as_ref()
            .map_or((0, verdict_specs::l2::block::HEADER_BYTES), |o| {
                (o.records, o.bytes)
            });
        let by_count = self.config.max_block_records.saturating_sub(records);
        let mut n = 0;
        for (admitted, _) in pending.iter().take(by_count) {
            bytes += admitted.model.inference_bytes();
            if bytes > self.config.max_block_bytes {
                break;
            }
            n += 1;
        }
        n
    }

    fn room(&self) -> usize {
        match &self.open {
            None => self.config.max_block_records,
            Some(o) if o.bytes >= self.config.max_block_bytes => 0,
            Some(o) => self.config.max_block_records.saturating_sub(o.records),
        }
    }

    fn failed(&self) -> bool {
        self.view.failed.load(Ordering::SeqCst)
    }

    fn open_block(&mut self) {
        let number = self.view.sealed().number + 1;
        let mut open = OpenBlock::new(number);
        let take = self
            .queued_deposits
            .len()
            .min(self.config.max_block_deposits);
        let deposits: Vec<Deposit> = self.queued_deposits.drain(..take).collect();
        if !deposits.is_empty() {
            let faulty = faulty_deposits(
                Some(&wrong_credits(self.config.faults.as_ref())),
                &deposits,
                self.fresh_deposits,
            );
            let mut state = self.view.state.write().unwrap_or_else(|p| p.into_inner());
            let mut applied = Vec::with_capacity(deposits.len());
            for (d, wrong) in deposits.into_iter().zip(faulty) {
                if wrong {
                    warn!(
                        index = d.index,
                        "fault injection: crediting the deposit 1 wei more"
                    );
                }
                match state.apply_deposit(&credited(&d, wrong)) {
                    Ok(()) => {
                        open.changed.insert(d.recipient);
                        applied.push(d);
                    }
                    Err(e) => {
                        // Only an overflow past 2^128 wei; the deposit is still consumed
                        // (the queue cannot be skipped) but credits nothing.
                        warn!(index = d.index, "deposit not credited: {e}");
                        applied.push(d);
                    }
                }
            }
            drop(state);
            self.next_deposit += applied.len() as u64;
            let mut set = WriteSet::new();
            chain_store::put_deposits(&mut set, number, &applied);
            open.deposits = applied;
            self.commit_in_background(set, Vec::new(), None);
        }
        self.open = Some(open);
    }

    /// Applies the waiting withdrawals at the end of the open block (the caller seals it),
    /// then the forged ones of the `withdrawal` fault.
    fn apply_withdrawals(&mut self) {
        let open_bytes = self
            .open
            .as_ref()
            .map_or(verdict_specs::l2::block::HEADER_BYTES, |o| o.bytes);
        // As many as the block's bytes allow; the rest wait for the next block.
        let fits = self.config.max_block_bytes.saturating_sub(open_bytes)
            / verdict_specs::l2::withdrawal::SIGNED_WITHDRAWAL_BYTES;
        let mut waiting = std::mem::take(&mut self.pending_withdrawals);
        if waiting.len() > fits {
            self.pending_withdrawals = waiting.split_off(fits);
        }
        let mut forged = std::mem::take(&mut self.forged);
        let forged_fits = fits.saturating_sub(waiting.len());
        if forged.len() > forged_fits {
            self.forged = forged.split_off(forged_fits);
        }
        if self.failed() {
            for (_, reply) in waiting {
                let _ = reply.send(Err(unavailable()));
            }
            return;
        }
        if self.open.is_none() {
            self.open_block();
        }
        let Some(open) = self.open.as_mut() else {
            return;
        };
        let mut set = WriteSet::new();
        let mut answers = Vec::new();
        let mut written = false;
        {
            let mut state = self.view.state.write().unwrap_or_else(|p| p.into_inner());
            for (signed, reply) in waiting {
                if let Err(e) = state.apply_withdrawal(&signed.withdrawal) {
                    let _ = reply.send(Err(transition_error(e)));
                    continue;
                }
                let index = open.withdrawals.len() as u32;
                chain_store::put_withdrawal(&mut set, open.number, index, &signed);
                open.changed.insert(signed.withdrawal.sender);
                open.bytes += verdict_specs::l2::withdrawal::SIGNED_WITHDRAWAL_BYTES;
                open.withdrawals.push(signed);
                let receipt = WithdrawalReceipt {
                    withdrawal_hash: B256::from(signed.withdrawal.leaf()),
                    block_number: U64::from(open.number),
                    index: U64::from(index),
                };
                answers.push(Answer::Withdrawal(reply, receipt));
                written = true;
            }
            for sender in forged {
                // At the sender's next nonce as of now, to the sequencer's own L1 address.
                let nonce = state.account(&sender).nonce;
                let signed =
                    crate::fault::forged_withdrawal(&self.domain, sender, nonce, self.sequencer);
                if let Err(e) = state.apply_withdrawal(&signed.withdrawal) {
                    warn!(sender = %alloy::primitives::Address::from(sender), "fault injection: no forged withdrawal: {e}");
                    continue;
                }
                warn!(
                    sender = %alloy::primitives::Address::from(sender),
                    nonce,
                    block = open.number,
                    "fault injection: a forged withdrawal of 1 wei to the sequencer"
                );
                let index = open.withdrawals.len() as u32;
                chain_store::put_withdrawal(&mut set, open.number, index, &signed);
                open.changed.insert(sender);
                open.bytes += verdict_specs::l2::withdrawal::SIGNED_WITHDRAWAL_BYTES;
                open.withdrawals.push(signed);
                written = true;
            }
        }
        if written {
            self.commit_in_background(set, answers, None);
        }
    }

    /// Checks, applies, executes and records one step of requests (all fit the block).
    fn execute(&mut self, step: Vec<Pending>) {
        if self.failed() {
            for (_, reply) in step {
                let _ = reply.send(Err(unavailable()));
            }
            return;
        }
        if self.open.is_none() {
            self.open_block();
        }
        let sequencer = self.sequencer;
        let faults = self.config.faults;
        let mut accepted = Vec::with_capacity(step.len());
        let mut fees = Vec::with_capacity(step.len());
        let mut before: HashMap<Address, Account> = HashMap::new();
        {
            let mut state = self.view.state.write().unwrap_or_else(|p| p.into_inner());
            for (admitted, reply) in step {
                let r = &admitted.signed.request;
                let Some(&model_fee) = self.fees.get(&r.model_id) else {
                    // Admitted just as its model was dropped (cannot happen today:
                    // models are only ever added).
                    let _ = reply.send(Err(RpcError::new(
                        ErrorCode::UnknownModel,
                        format!(
                            "model {} has no fee at this chain's L1 origin {}",
                            admitted.model.name, self.l1_origin
                        ),
                    )));
                    continue;
                };
                let fee = charged_fee(faults.as_ref(), &admitted, model_fee);
                for a in [r.sender, sequencer] {
                    before.entry(a).or_insert_with(|| state.account(&a));
                }
                match state.apply_inference(&r.sender, r.nonce, fee, r.max_fee, &sequencer) {
                    Ok(()) => {
                        accepted.push((admitted, reply));
                        fees.push(fee);
                    }
                    Err(e) => {
                        // Counted by the RPC handler, which sees this error come back.
                        let _ = reply.send(Err(transition_error(e)));
                    }
                }
            }
        }
        if accepted.is_empty() {
            return;
        }
        let outputs = match run_models(&accepted, self.config.faults.as_ref()) {
            Ok(outputs) => outputs,
            Err(e) => {
                error!("executor failed on admitted inputs: {e}");
                let mut state = self.view.state.write().unwrap_or_else(|p| p.into_inner());
                for (address, account) in before {
                    state.set_account(address, account);
                }
                for (_, reply) in accepted {
                    let _ = reply.send(Err(RpcError::new(
                        ErrorCode::Internal,
                        format!("the executor failed: {e}"),
                    )));
                }
                return;
            }
        };
        let Some(open) = self.open.as_mut() else {
            return;
        };
        let mut set = WriteSet::new();
        let mut answers = Vec::with_capacity(accepted.len());
        for (((admitted, reply), output), fee) in accepted.into_iter().zip(outputs).zip(fees) {
            let admitted = *admitted;
            if faults.is_some_and(|plan| {
                !admitted.replayed && plan.forges_withdrawal(&admitted.request_hash)
            }) {
                self.forged.push(admitted.signed.request.sender);
            }
            let record = InferenceRecord {
                request_hash: admitted.request_hash,
                sender: admitted.signed.request.sender,
                model_id: admitted.model.id,
                input_root: admitted.input_root,
                output_root: output.commitment(),
                fee,
            };
            let record_hash = record.hash();
            let tx = InferenceTx {
                signed: admitted.signed,
                output,
                fee,
            };
            let index = open.records as u32;
            open.bytes += chain_store::put_tx(&mut set, open.number, index, &tx, &record_hash);
            open.records += 1;
            open.record_hashes.push(record_hash);
            open.changed.insert(record.sender);
            open.changed.insert(sequencer);
            let receipt = InferenceReceipt {
                record_hash: B256::from(record_hash),
                request_hash: B256::from(record.request_hash),
                output: tx.output,
                block_number: U64::from(open.number),
                index: U64::from(index),
                fee: U256::from(fee),
            };
            answers.push(Answer::Inference(reply, receipt));
        }
        self.commit_in_background(set, answers, None);
    }

    fn seal(&mut self) {
        let Some(open) = self.open.take() else { return };
        if self.failed() {
            return;
        }
        let parent = self.view.sealed();
        let state_root;
        let changed: Vec<(Address, Account)>;
        {
            let mut state = self.view.state.write().unwrap_or_else(|p| p.into_inner());
            state_root = state.root();
            changed = open
                .changed
                .iter()
                .map(|a| (*a, state.account(a)))
                .collect();
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let header = BlockHeader {
            number: open.number,
            parent_hash: parent.hash(),
            timestamp: now.max(parent.timestamp),
            records_root: merkle::root(&open.record_hashes),
            state_root,
            deposits_consumed: parent.deposits_consumed + open.deposits.len() as u64,
            withdrawals_root: withdrawals_root(&open.withdrawals),
            record_count: open.records as u32,
            withdrawal_count: open.withdrawals.len() as u32,
            l1_origin: self.l1_origin,
        };
        let mut set = WriteSet::new();
        chain_store::put_seal(
            &mut set,
            &header,
            &open.record_hashes,
            changed.iter().map(|(a, acc)| (a, *acc)),
        );
        // Later blocks build on this header at once; readers see it once durable.
        *self.view.sealed.write().unwrap_or_else(|p| p.into_inner()) = header;
        let event = ChainEvent::Sealed {
            header,
            records: open.records,
            deposits: open.deposits.len(),
        };
        self.commit_in_background(set, Vec::new(), Some(event));
    }

    fn commit_in_background(
        &self,
        set: WriteSet,
        answers: Vec<Answer>,
        sealed: Option<ChainEvent>,
    ) {
        let durable = self.store.commit(set);
        let view = Arc::clone(&self.view);
        self.runtime.spawn(async move {
            match durable.await {
                Ok(()) => {
                    let count = answers
                        .iter()
                        .filter(|a| matches!(a, Answer::Inference(..)))
                        .count() as u64;
                    for answer in answers {
                        answer.send();
                    }
                    metrics::counter!(m::RECORDS_TOTAL).increment(count);
                    if let Some(event) = sealed {
                        let ChainEvent::Sealed { header, .. } = &event;
                        metrics::gauge!(m::BLOCK_HEIGHT).set(header.number as f64);
                        let _ = view.events.send(event);
                    }
                }
                Err(e) => {
                    error!("a chain write failed; the sequencer stops taking requests: {e}");
                    view.failed.store(true, Ordering::SeqCst);
                    for answer in answers {
                        answer.fail(RpcError::new(
                            ErrorCode::Internal,
                            format!("the write could not be made durable: {e}"),
                        ));
                    }
                }
            }
        });
    }
}

impl OpenBlock {
    fn new(number: u64) -> Self {
        Self {
            number,
            opened_at: Instant::now(),
            deposits: Vec::new(),
            record_hashes: Vec::new(),
            records: 0,
            withdrawals: Vec::new(),
            bytes: verdict_specs::l2::block::HEADER_BYTES,
            changed: BTreeSet::new(),
        }
    }
}

fn encoded_len(tx: &InferenceTx) -> usize {
    let mut w = Writer::new();
    tx.encode(&mut w);
    w.finish().len()
}

/// Runs each model's share of `accepted` as one batch; outputs in `accepted`'s order.
/// With a fault plan, the requests it picks get its wrong output instead (never a request
/// executed again after a roll-back: the sequencer that lost a game answers it right).
fn run_models(
    accepted: &[Pending],
    faults: Option<&FaultPlan>,
) -> Result<Vec<Tensor>, verdict_executor::ExecError> {
    let mut groups: BTreeMap<Hash, Vec<usize>> = BTreeMap::new();
    for (i, (admitted, _)) in accepted.iter().enumerate() {
        groups.entry(admitted.model.id).or_default().push(i);
    }
    let mut outputs: Vec<Option<Tensor>> = vec![None; accepted.len()];
    for positions in groups.values() {
        let model = &accepted[positions[0]].0.model;
        let inputs: Vec<Tensor> = positions
            .iter()
            .map(|&i| accepted[i].0.signed.request.input.clone())
            .collect();
        for (&i, output) in positions.iter().zip(model.run(&inputs)?) {
            let admitted = &accepted[i].0;
            let wrong = faults
                .filter(|plan| {
                    plan.mode.wrong_output()
                        && !admitted.replayed
                        && plan.is_faulty(&admitted.request_hash)
                })
                .and_then(|plan| {
                    plan.claims(
                        &model.model,
                        &admitted.signed.request.input,
                        &admitted.request_hash,
                    )
                })
                .and_then(|claims| claims.values().last().cloned());
            if wrong.is_some() {
                warn!(request = %verdict_specs::hash::to_hex(&admitted.request_hash), "fault injection: answering wrongly");
            }
            outputs[i] = Some(wrong.unwrap_or(output));
        }
    }
    outputs
        .into_iter()
        .map(|o| {
            o.ok_or_else(|| verdict_executor::ExecError::Backend("an output is missing".into()))
        })
        .collect()
}

/// The fee `admitted` is charged: the model's `fee` at the block's origin, or one wei
/// more under the `fee` fault (never for a request executed again after a roll-back).
fn charged_fee(faults: Option<&FaultPlan>, admitted: &Admitted, fee: u128) -> u128 {
    match faults {
        Some(plan) if !admitted.replayed => {
            let charged =
                plan.charged_fee(&admitted.request_hash, fee, admitted.signed.request.max_fee);
            if charged != fee {
                warn!(
                    request = %verdict_specs::hash::to_hex(&admitted.request_hash),
                    fee, charged, "fault injection: charging 1 wei above the registered fee"
                );
            }
            charged
        }
        _ => fee,
    }
}

fn unavailable() -> RpcError {
    RpcError::new(
        ErrorCode::Unavailable,
        "the sequencer stopped taking requests after a storage failure; see its log",
    )
}

fn transition_error(e: TransitionError) -> RpcError {
    match e {
        TransitionError::Nonce { expected, got } if got < expected => RpcError::new(
            ErrorCode::NonceTooLow,
            format!("nonce {got} was already used; the sender's next nonce is {expected}"),
        )
        .with_data(serde_json::json!({"expected": expected, "got": got})),
        TransitionError::Nonce { expected, got } => RpcError::new(
            ErrorCode::NonceTooHigh,
            format!("nonce {got} is ahead of the sender's next nonce {expected}; send {expected} first"),
        )
        .with_data(serde_json::json!({"expected": expected, "got": got})),
        TransitionError::InsufficientBalance { balance, fee } => RpcError::new(
            ErrorCode::InsufficientBalance,
            format!("the sender's L2 balance {balance} wei cannot pay the fee {fee} wei; deposit through the bridge first"),
        )
        .with_data(serde_json::json!({"balance": balance.to_string(), "fee": fee.to_string()})),
        TransitionError::WithdrawalAboveBalance { balance, amount } => RpcError::new(
            ErrorCode::InsufficientBalance,
            format!("the sender's L2 balance {balance} wei is below the withdrawal of {amount} wei"),
        )
        .with_data(serde_json::json!({"balance": balance.to_string(), "amount": amount.to_string()})),
        TransitionError::ZeroWithdrawal => RpcError::new(ErrorCode::BadRequest, "a withdrawal must move at least 1 wei"),
        TransitionError::FeeAboveMax { fee, max_fee } => RpcError::new(
            ErrorCode::FeeTooLow,
            format!("maxFee {max_fee} wei is below the fee {fee} wei"),
        ),
        other @ TransitionError::Overflow { .. } => RpcError::new(ErrorCode::BadRequest, other.to_string()),
    }
}
