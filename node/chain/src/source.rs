//! The derivation's L1 inputs read from a real L1 through [`VerdictL1`], with the
//! process-long cache of [`L1StateInputs`] (neither the queue nor a `feeAt` answer
//! changes once on L1).

use std::collections::HashMap;

use verdict_l1::client::L1Error;
use verdict_l1::contracts::VerdictL1;
use verdict_l1::state_inputs::L1StateInputs;
use verdict_specs::Hash;
use verdict_specs::bridge::Deposit;

use crate::derive::L1Inputs;

/// L1 as the derivation sees it: the contracts, the cache, and how far L1 may be read.
pub struct L1Source<'a> {
    /// The contracts.
    pub l1: &'a VerdictL1,
    /// What has been read so far.
    pub cache: &'a mut L1StateInputs,
    /// The last L1 block to read the deposit queue up to.
    pub latest: u64,
}

impl L1Inputs for L1Source<'_> {
    type Error = L1Error;

    async fn deposits(&mut self, from: u64, to: u64) -> Result<Option<Vec<Deposit>>, L1Error> {
        Ok(self
            .cache
            .deposits(self.l1, from, to, self.latest)
            .await?
            .map(<[Deposit]>::to_vec))
    }

    fn queue_len(&self) -> u64 {
        self.cache.queue_len() as u64
    }

    async fn fees(
        &mut self,
        models: &[Hash],
        l1_origin: u64,
    ) -> Result<HashMap<Hash, Option<u128>>, L1Error> {
        self.cache.block_fees(self.l1, models, l1_origin).await
    }
}
