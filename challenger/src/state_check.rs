//! Checking every block's state transition (specs/state.md §3): the challenger follows
//! the L2 state from L1 alone — deposits from the bridge's queue, fees from the model
//! registry's history, inferences and withdrawals from the batch data — and recomputes
//! each block's state trace. A block whose state root does not follow, or that holds an
//! invalid transaction (a forged signature, a wrong fee, an overdraft), is disputed with
//! a state game; the trace is what the challenger judges midpoints against.
//!
//! Unlike records, which are sampled, every block is checked: a transaction costs a few
//! Merkle path updates, nothing like a model run.

use std::collections::BTreeMap;

use verdict_chain::source::L1Source;
use verdict_chain::{BatchContext, BlockFault, TraceMode, derive_block};
use verdict_l1::client::{L1Error, Result};
use verdict_l1::contracts::VerdictL1;
use verdict_l1::state_inputs::L1StateInputs;
use verdict_specs::Hash;
use verdict_specs::batch::BatchHeader;
use verdict_specs::l2::block::BlockHeader;
use verdict_specs::l2::posted::PostedBatch;
use verdict_specs::l2::request::SigningDomain;
use verdict_specs::l2::step::StepError;
use verdict_specs::l2::transition::State;

/// A block whose state transition does not hold.
#[derive(Clone, Debug)]
pub struct StateFault {
    /// Position of the block in its batch.
    pub block: usize,
    /// The honest trace `S_0 … S_n` (the invalid marker after an invalid transaction).
    pub trace: Vec<Hash>,
    /// The first invalid transaction, if that is the fault.
    pub invalid: Option<(usize, StepError)>,
    /// The disputed block's parent header (what `openState` starts from).
    pub parent: BlockHeader,
}

/// The L2 state as of each checked batch, and the L1 data it needs.
pub struct StateFollower {
    domain: SigningDomain,
    sequencer: [u8; 20],
    /// After each batch that checked out: its header hash, last block, state.
    after: BTreeMap<u64, (Hash, BlockHeader, State)>,
    inputs: L1StateInputs,
}

impl StateFollower {
    /// A follower from the L2 genesis.
    pub fn new(domain: SigningDomain, sequencer: [u8; 20], deployed_at: u64) -> Self {
        Self {
            domain,
            sequencer,
            after: BTreeMap::new(),
            inputs: L1StateInputs::new(deployed_at),
        }
    }

    /// The state and last header before `batch`, if the batch before it was checked
    /// (batch 0 starts from the genesis).
    pub fn parent_of(&self, batch: &BatchHeader) -> Option<(BlockHeader, State)> {
        if batch.index == 0 {
            return Some((BlockHeader::genesis(), State::new()));
        }
        let (_, header, state) = self.after.get(&(batch.index - 1))?;
        (header.number + 1 == batch.first_block).then(|| (*header, state.clone()))
    }

    /// The state after batch `index - 1`, if known.
    pub fn parent_of_index(&self, index: u64) -> Option<&State> {
        self.after
            .get(&(index.checked_sub(1)?))
            .map(|(_, _, state)| state)
    }

    /// Forgets what was learned about batches from `index` on (L1 reverted them).
    pub fn forget_from(&mut self, index: u64) {
        self.after.split_off(&index);
    }

    /// Recomputes every block of `batch` from `parent`; records the state after it when
    /// every block holds, or returns the first block that does not.
    pub async fn check(
        &mut self,
        l1: &VerdictL1,
        batch: &PostedBatch,
        parent: (BlockHeader, State),
        latest: u64,
    ) -> Result<Option<StateFault>> {
        let (mut parent_header, mut state) = parent;
        let context = BatchContext {
            domain: self.domain,
            sequencer: self.sequencer,
            batch_l1_block: batch.header.l1_block,
        };
        let mut source = L1Source {
            l1,
            cache: &mut self.inputs,
            latest,
        };
        for (position, block) in batch.blocks.iter().enumerate() {
            // The one derivation the full node runs too; on a fault the batch is not
            // recorded, so `state` may end half-applied.
            let derived = derive_block(
                &mut source,
                &context,
                &parent_header,
                block,
                &mut state,
                TraceMode::EveryStep,
            )
            .await?;
            match derived.fault {
                None => {}
                Some(
                    BlockFault::DepositsBackwards { .. } | BlockFault::DepositsBeyondQueue { .. },
                ) => {
                    // The frame check already refused such a batch; reaching here means
                    // L1 was read short.
                    return Err(L1Error::Inconsistent(
                        derived.fault.map(|f| f.to_string()).unwrap_or_default(),
                    ));
                }
                Some(BlockFault::InvalidTransaction { .. } | BlockFault::StateRoot { .. }) => {
                    let invalid = derived.invalid();
                    return Ok(Some(StateFault {
                        block: position,
                        trace: derived.trace,
                        invalid,
                        parent: parent_header,
                    }));
                }
            }
            parent_header = block.header;
        }
        self.after.insert(
            batch.header.index,
            (batch.header.hash(), parent_header, state),
        );
        Ok(None)
    }
}
