//! The sequencer's writes through the `verdict` API: `sendInference` and
//! `sendWithdrawal` admitted on the RPC threads and handed to the builder, answered once
//! durable. Reads are the chain's ([`verdict_chain::api::ChainApi`]).

use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::Instant;

use jsonrpsee::core::{RpcResult, async_trait};
use jsonrpsee::types::ErrorObjectOwned;
use tokio::sync::oneshot;
use verdict_chain::api::{Submit, count_send_inference};
use verdict_chain::view::ChainView;
use verdict_models::ModelSet;
use verdict_rpc::metrics as m;
use verdict_rpc::types::{
    InferenceReceipt, SignedRequestJson, SignedWithdrawalJson, WithdrawalReceipt,
};
use verdict_rpc::{ErrorCode, RpcError};
use verdict_specs::l2::request::SigningDomain;

use crate::admission::{admit, admit_withdrawal};
use crate::builder::BuilderMsg;

/// Admission in front of the builder.
pub struct SequencerSubmit {
    /// The builder's inbox.
    pub builder: Sender<BuilderMsg>,
    /// The models served.
    pub models: Arc<ModelSet>,
    /// The chain's signing domain.
    pub domain: SigningDomain,
    /// The chain (its `failed` flag stops writes).
    pub chain: Arc<ChainView>,
}

const STORAGE_FAILED: &str =
    "the sequencer stopped taking requests after a storage failure; see its log";
const SHUTTING_DOWN: &str = "the sequencer is shutting down";

fn unavailable(why: &str) -> ErrorObjectOwned {
    RpcError::new(ErrorCode::Unavailable, why.to_string()).into()
}

impl SequencerSubmit {
    fn storage_failed(&self) -> bool {
        self.chain.failed.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[async_trait]
impl Submit for SequencerSubmit {
    async fn send_inference(&self, request: SignedRequestJson) -> RpcResult<InferenceReceipt> {
        let started = Instant::now();
        if self.storage_failed() {
            count_send_inference(Err(ErrorCode::Unavailable.code()));
            return Err(unavailable(STORAGE_FAILED));
        }
        let admitted = match admit(&request, &self.models, &self.domain) {
            Ok(a) => a,
            Err(e) => {
                count_send_inference(Err(e.code.code()));
                return Err(e.into());
            }
        };
        let (reply, answer) = oneshot::channel();
        if self
            .builder
            .send(BuilderMsg::Inference(Box::new(admitted), reply))
            .is_err()
        {
            count_send_inference(Err(ErrorCode::Unavailable.code()));
            return Err(unavailable(SHUTTING_DOWN));
        }
        let result = answer.await.map_err(|_| unavailable(SHUTTING_DOWN))?;
        count_send_inference(result.as_ref().map(|_| ()).map_err(|e| e.code.code()));
        metrics::histogram!(m::REQUEST_SECONDS, m::LABEL_METHOD => "sendInference")
            .record(started.elapsed().as_secs_f64());
        result.map_err(Into::into)
    }

    async fn send_withdrawal(
        &self,
        withdrawal: SignedWithdrawalJson,
    ) -> RpcResult<WithdrawalReceipt> {
        if self.storage_failed() {
            return Err(unavailable(STORAGE_FAILED));
        }
        let signed = admit_withdrawal(&withdrawal, &self.domain)?;
        let (reply, answer) = oneshot::channel();
        self.builder
            .send(BuilderMsg::Withdrawal(signed, reply))
            .map_err(|_| unavailable(SHUTTING_DOWN))?;
        let result = answer.await.map_err(|_| unavailable(SHUTTING_DOWN))?;
        metrics::counter!(m::REQUESTS_TOTAL, m::LABEL_METHOD => "sendWithdrawal", m::LABEL_OUTCOME => match &result {
            Ok(_) => "ok".to_string(),
            Err(e) => e.code.code().to_string(),
        })
        .increment(1);
        result.map_err(Into::into)
    }
}
