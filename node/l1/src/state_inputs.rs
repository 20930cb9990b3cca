//! What the L2 state transition reads from L1, cached for whoever rebuilds the state
//! from L1 alone (the full node, the challenger's state check): the bridge's deposit
//! queue and the model registry's fee history (specs/state.md §3).

use std::collections::HashMap;

use verdict_specs::Hash;
use verdict_specs::bridge::Deposit;

use crate::client::Result;
use crate::contracts::VerdictL1;

/// How many L1 blocks one `eth_getLogs` call for the queue spans.
const MAX_RANGE: u64 = 2_000;

/// The deposit queue as far as read, and the `feeAt` answers read so far (neither
/// changes once on L1, so both are kept for the life of the process).
pub struct L1StateInputs {
    deposits: Vec<Deposit>,
    scanned_to: u64,
    fees: HashMap<(Hash, u64), Option<u128>>,
}

impl L1StateInputs {
    /// Nothing read yet; the queue starts at the contracts' deployment block.
    pub fn new(deployed_at: u64) -> Self {
        Self {
            deposits: Vec::new(),
            scanned_to: deployed_at.saturating_sub(1),
            fees: HashMap::new(),
        }
    }

    /// How many queue entries have been read.
    pub fn queue_len(&self) -> usize {
        self.deposits.len()
    }

    /// Queue entries `from..to`, reading the bridge's events up to L1 block `latest` as
    /// far as needed; `None` when L1 up to `latest` holds fewer (or `from > to`).
    pub async fn deposits(
        &mut self,
        l1: &VerdictL1,
        from: u64,
        to: u64,
        latest: u64,
    ) -> Result<Option<&[Deposit]>> {
        while (self.deposits.len() as u64) < to && self.scanned_to < latest {
            let start = self.scanned_to + 1;
            let end = latest.min(start + MAX_RANGE - 1);
            self.deposits.extend(l1.deposits(start, end).await?);
            self.scanned_to = end;
        }
        Ok(self.deposits.get(from as usize..to as usize))
    }

    /// `ModelRegistry.feeAt(model, l1_block)`, cached.
    pub async fn fee_at(
        &mut self,
        l1: &VerdictL1,
        model: Hash,
        l1_block: u64,
    ) -> Result<Option<u128>> {
        if let Some(fee) = self.fees.get(&(model, l1_block)) {
            return Ok(*fee);
        }
        let fee = l1.fee_at(model.into(), l1_block).await?;
        self.fees.insert((model, l1_block), fee);
        Ok(fee)
    }

    /// The fee at `l1_origin` of every model in `models`: the lookup a block's
    /// `StepRules::fee_at` answers from (`None`: the model is not registered).
    pub async fn block_fees(
        &mut self,
        l1: &VerdictL1,
        models: &[Hash],
        l1_origin: u64,
    ) -> Result<HashMap<Hash, Option<u128>>> {
        let mut fees = HashMap::new();
        for &model in models {
            if let std::collections::hash_map::Entry::Vacant(e) = fees.entry(model) {
                e.insert(self.fee_at(l1, model, l1_origin).await?);
            }
        }
        Ok(fees)
    }
}
