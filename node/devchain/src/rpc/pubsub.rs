//! `eth_subscribe` over WebSocket: `newHeads` (one header per mined block) and `logs`
//! (each matching log of each mined block, optionally filtered by address and topics).
//! Notifications go out as `eth_subscription` messages; `eth_unsubscribe` ends one.
//!
//! A subscriber that falls more than a thousand blocks behind skips the missed blocks
//! (logged) rather than holding the chain back.

use super::RpcContext;
use super::convert;
use super::error::invalid_params;
use super::logs::matching_logs;
use alloy::rpc::types::Filter;
use jsonrpsee::RpcModule;
use jsonrpsee::server::{
    PendingSubscriptionSink, RegisterMethodError, SubscriptionMessage, SubscriptionSink,
};
use serde::Serialize;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

pub(super) fn register(module: &mut RpcModule<RpcContext>) -> Result<(), RegisterMethodError> {
    module.register_subscription(
        "eth_subscribe",
        "eth_subscription",
        "eth_unsubscribe",
        |params, pending, ctx, _| async move {
            let mut params = params.sequence();
            let kind: String = match params.next() {
                Ok(kind) => kind,
                Err(error) => {
                    pending.reject(error).await;
                    return;
                }
            };
            match kind.as_str() {
                "newHeads" => follow(pending, ctx, None).await,
                "logs" => match params.optional_next::<Filter>() {
                    Ok(filter) => follow(pending, ctx, Some(filter.unwrap_or_default())).await,
                    Err(error) => pending.reject(error).await,
                },
                other => {
                    pending
                        .reject(invalid_params(format!(
                            "unsupported subscription kind `{other}` (supported: newHeads, logs)"
                        )))
                        .await;
                }
            }
        },
    )?;
    Ok(())
}

/// Streams headers (`logs` is `None`) or matching logs of every new block until the
/// client unsubscribes or disconnects.
async fn follow(pending: PendingSubscriptionSink, ctx: Arc<RpcContext>, logs: Option<Filter>) {
    // Subscribe before accepting, so no block mined in between is missed.
    let mut blocks = ctx.chain.block_events();
    let Ok(sink) = pending.accept().await else {
        return;
    };
    loop {
        let block = tokio::select! {
            received = blocks.recv() => match received {
                Ok(block) => block,
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "subscriber fell behind; skipping blocks");
                    continue;
                }
                Err(RecvError::Closed) => return,
            },
            () = sink.closed() => return,
        };
        let sent = match &logs {
            None => send(&sink, &convert::header(&block)).await,
            Some(filter) => {
                let mut sent = true;
                for log in matching_logs(filter, std::slice::from_ref(&block)) {
                    sent = send(&sink, &log).await;
                    if !sent {
                        break;
                    }
                }
                sent
            }
        };
        if !sent {
            return;
        }
    }
}

/// Sends one notification; `false` once the client is gone.
async fn send(sink: &SubscriptionSink, item: &impl Serialize) -> bool {
    match serde_json::value::to_raw_value(item) {
        Ok(raw) => sink.send(SubscriptionMessage::from(raw)).await.is_ok(),
        Err(error) => {
            tracing::error!(%error, "cannot serialise a subscription item");
            false
        }
    }
}
