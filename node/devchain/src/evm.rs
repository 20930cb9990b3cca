//! revm, set up the way this chain runs it: spec Cancun, this chain's id, a block
//! environment per block; transactions and `eth_call` requests turned into revm's
//! `TxEnv`; execution results turned into our types.
//!
//! The EVM reads state through a [`StateView`] and never writes: what it changes comes
//! back from `finalize` as revm's `EvmState`, which the chain turns into
//! [`AccountChange`](super::state::AccountChange)s and applies only once the block is
//! durable. So a rejected transaction, or a block whose journal write fails, leaves no
//! trace.

use super::block::{BlockParams, ExecutedTx};
use super::error::{CallError, DevChainError, TxError};
use super::state::StateView;
use alloy::consensus::{Transaction as _, TxEnvelope};
use alloy::primitives::{Address, Bytes, TxKind, U256};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::{Revert, SolError};
use revm::context::result::{EVMError, ExecutionResult, HaltReason, InvalidTransaction};
use revm::context::{BlockEnv, CfgEnv, Context, TxEnv};
use revm::context_interface::block::BlobExcessGasAndPrice;
use revm::database_interface::WrapDatabaseRef;
use revm::handler::{MainnetContext, MainnetEvm};
use revm::primitives::hardfork::SpecId;
use revm::state::EvmState;
use revm::{ExecuteEvm, MainBuilder, MainContext};

/// The hard fork this chain runs.
pub(crate) const SPEC: SpecId = SpecId::CANCUN;

type DevEvm<'a> = MainnetEvm<MainnetContext<WrapDatabaseRef<StateView<'a>>>>;

/// The configuration every execution shares.
pub(crate) fn cfg_env(chain_id: u64) -> CfgEnv {
    let mut cfg = CfgEnv::new_with_spec(SPEC);
    cfg.chain_id = chain_id;
    cfg
}

/// revm's view of a block.
pub(crate) fn block_env(params: &BlockParams) -> BlockEnv {
    BlockEnv {
        number: U256::from(params.number),
        beneficiary: Address::ZERO,
        timestamp: U256::from(params.timestamp),
        gas_limit: params.gas_limit,
        basefee: params.base_fee,
        difficulty: U256::ZERO,
        prevrandao: Some(params.prevrandao()),
        blob_excess_gas_and_price: Some(BlobExcessGasAndPrice::new_with_spec(0, SPEC)),
        ..BlockEnv::default()
    }
}

fn build(view: StateView<'_>, cfg: CfgEnv, block: BlockEnv) -> DevEvm<'_> {
    Context::mainnet()
        .with_ref_db(view)
        .with_cfg(cfg)
        .with_block(block)
        .build_mainnet()
}

/// revm's view of a signed transaction.
pub(crate) fn tx_env(envelope: &TxEnvelope, sender: Address) -> TxEnv {
    TxEnv {
        tx_type: envelope.tx_type() as u8,
        caller: sender,
        gas_limit: envelope.gas_limit(),
        gas_price: envelope.max_fee_per_gas(),
        kind: envelope.kind(),
        value: envelope.value(),
        data: envelope.input().clone(),
        nonce: envelope.nonce(),
        chain_id: envelope.chain_id(),
        access_list: envelope.access_list().cloned().unwrap_or_default(),
        gas_priority_fee: envelope.max_priority_fee_per_gas(),
        ..TxEnv::default()
    }
}

/// A transaction to put in a block, sender already recovered.
#[derive(Clone, Debug)]
pub(crate) struct Candidate {
    pub(crate) envelope: TxEnvelope,
    pub(crate) sender: Address,
}

/// What happened to one candidate.
pub(crate) enum Outcome {
    Included,
    /// revm refused it (stale nonce, fees, balance): nothing of it is in the block.
    Rejected(TxError),
    /// It does not fit in the gas left in this block; it may fit the next one.
    DoesNotFit,
}

/// Executes candidates one after another on top of `view` for the block `params`.
/// `next` yields the next candidate given the outcome of the previous one (so a pool can
/// pick by what was included); execution stops when it returns `None`.
pub(crate) fn execute_block(
    view: StateView<'_>,
    chain_id: u64,
    params: &BlockParams,
    mut next: impl FnMut(Option<(&Candidate, &Outcome)>) -> Option<Candidate>,
) -> Result<(Vec<ExecutedTx>, EvmState), DevChainError> {
    let mut evm = build(view, cfg_env(chain_id), block_env(params));
    let mut executed = Vec::new();
    let mut gas_left = params.gas_limit;
    let mut previous: Option<(Candidate, Outcome)> = None;
    while let Some(candidate) = next(previous.as_ref().map(|(c, o)| (c, o))) {
        if candidate.envelope.gas_limit() > gas_left {
            previous = Some((candidate, Outcome::DoesNotFit));
            continue;
        }
        let outcome = match evm.transact_one(tx_env(&candidate.envelope, candidate.sender)) {
            Ok(result) => {
                gas_left = gas_left.saturating_sub(result.tx_gas_used());
                executed.push(ExecutedTx {
                    envelope: candidate.envelope.clone(),
                    sender: candidate.sender,
                    success: result.is_success(),
                    gas_used: result.tx_gas_used(),
                    contract_address: result.created_address(),
                    logs: result.into_logs(),
                });
                Outcome::Included
            }
            Err(EVMError::Transaction(invalid)) => Outcome::Rejected(invalid_tx(invalid)),
            Err(other) => {
                return Err(DevChainError::Evm {
                    block: params.number,
                    reason: other.to_string(),
                });
            }
        };
        previous = Some((candidate, outcome));
    }
    Ok((executed, evm.finalize()))
}

/// geth's wording for what revm's validation reports.
pub(crate) fn invalid_tx(invalid: InvalidTransaction) -> TxError {
    match invalid {
        InvalidTransaction::NonceTooLow { tx, state } => TxError::NonceTooLow { next: state, tx },
        InvalidTransaction::NonceTooHigh { tx, state } => TxError::NonceTooHigh { next: state, tx },
        InvalidTransaction::LackOfFundForMaxFee { fee, balance } => TxError::InsufficientFunds {
            balance: *balance,
            cost: *fee,
        },
        InvalidTransaction::CallGasCostMoreThanGasLimit {
            initial_gas,
            gas_limit,
        } => TxError::IntrinsicGas {
            have: gas_limit,
            want: initial_gas,
        },
        InvalidTransaction::CallerGasLimitMoreThanBlock => TxError::GasLimit,
        InvalidTransaction::RejectCallerWithCode => TxError::SenderNotEoa(Address::ZERO),
        other => TxError::Evm(other.to_string()),
    }
}

/// A call as `eth_call` and `eth_estimateGas` describe it, resolved against one block.
#[derive(Clone, Debug)]
pub(crate) struct CallSpec {
    pub(crate) tx: TxEnv,
    /// The base fee revm sees: zero when the request names no fee, as geth does, so a
    /// call without fees is not rejected for paying less than the base fee.
    pub(crate) base_fee: u64,
}

/// Turns a JSON-RPC call request into revm's transaction, the way geth does: sender
/// zero when absent, gas up to the block gas limit, no nonce check, fee fields optional.
pub(crate) fn call_spec(
    request: &TransactionRequest,
    chain_id: u64,
    block: &BlockParams,
    balance_of: impl Fn(Address) -> U256,
) -> Result<CallSpec, CallError> {
    let caller = request.from.unwrap_or_default();
    let value = request.value.unwrap_or_default();
    let data = request.input.input().cloned().unwrap_or_default();
    let dynamic = request.max_fee_per_gas.is_some() || request.max_priority_fee_per_gas.is_some();
    if request.gas_price.is_some() && dynamic {
        return Err(CallError::BadRequest(
            "both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified".to_owned(),
        ));
    }
    let (tx_type, gas_price, gas_priority_fee) = if dynamic {
        let tip = request.max_priority_fee_per_gas.unwrap_or_default();
        let max_fee = request
            .max_fee_per_gas
            .unwrap_or_else(|| tip.saturating_add(u128::from(block.base_fee) * 2));
        if tip > max_fee {
            return Err(CallError::Invalid(TxError::TipAboveFeeCap { tip, max_fee }));
        }
        (2u8, max_fee, Some(tip))
    } else {
        let kind = if request.access_list.is_some() { 1 } else { 0 };
        (kind, request.gas_price.unwrap_or_default(), None)
    };
    let pays_fees = gas_price > 0;
    let mut gas_limit = request.gas.unwrap_or(block.gas_limit).min(block.gas_limit);
    if pays_fees && request.gas.is_none() {
        // geth: without a gas limit, a paying call gets as much gas as the caller can buy.
        let affordable = balance_of(caller).saturating_sub(value) / U256::from(gas_price);
        gas_limit = gas_limit.min(u64::try_from(affordable).unwrap_or(u64::MAX));
    }
    let tx = TxEnv {
        tx_type,
        caller,
        gas_limit,
        gas_price,
        kind: request.to.unwrap_or(TxKind::Create),
        value,
        data,
        nonce: 0,
        chain_id: Some(chain_id),
        access_list: request.access_list.clone().unwrap_or_default(),
        gas_priority_fee,
        ..TxEnv::default()
    };
    Ok(CallSpec {
        tx,
        base_fee: if pays_fees { block.base_fee } else { 0 },
    })
}

/// What a call that returned normally produced.
#[derive(Clone, Debug)]
pub(crate) struct CallOutput {
    pub(crate) output: Bytes,
    pub(crate) gas_used: u64,
    pub(crate) gas_refunded: u64,
}

/// Runs a call on `view` at the block `params`; nothing is kept.
pub(crate) fn call(
    view: StateView<'_>,
    chain_id: u64,
    params: &BlockParams,
    spec: &CallSpec,
) -> Result<CallOutput, CallError> {
    let mut cfg = cfg_env(chain_id);
    cfg.disable_nonce_check = true;
    // geth lets a call come "from" a contract (simulating what it would do); only
    // signed transactions must come from an account without code (EIP-3607).
    cfg.disable_eip3607 = true;
    let mut block = block_env(params);
    block.basefee = spec.base_fee;
    let mut evm = build(view, cfg, block);
    let result = match evm.transact(spec.tx.clone()) {
        Ok(result_and_state) => result_and_state.result,
        Err(EVMError::Transaction(invalid)) => return Err(CallError::Invalid(invalid_tx(invalid))),
        Err(other) => return Err(CallError::Halted(other.to_string())),
    };
    outcome(result)
}

fn outcome(result: ExecutionResult<HaltReason>) -> Result<CallOutput, CallError> {
    let gas_used = result.tx_gas_used();
    let gas_refunded = result.gas().final_refunded();
    match result {
        ExecutionResult::Success { output, .. } => Ok(CallOutput {
            output: output.into_data(),
            gas_used,
            gas_refunded,
        }),
        ExecutionResult::Revert { output, .. } => Err(CallError::Reverted {
            reason: revert_reason(&output),
            output,
        }),
        ExecutionResult::Halt { reason, .. } => Err(CallError::Halted(halt_message(&reason))),
    }
}

/// geth's words for halts where they differ from revm's.
fn halt_message(reason: &HaltReason) -> String {
    match reason {
        HaltReason::OutOfGas(_) => "out of gas".to_owned(),
        HaltReason::InvalidJump => "invalid jump destination".to_owned(),
        HaltReason::OpcodeNotFound | HaltReason::InvalidFEOpcode => "invalid opcode".to_owned(),
        HaltReason::StackUnderflow => "stack underflow".to_owned(),
        HaltReason::StackOverflow => "stack limit reached 1024".to_owned(),
        HaltReason::StateChangeDuringStaticCall => "write protection".to_owned(),
        HaltReason::CreateContractSizeLimit => "max code size exceeded".to_owned(),
        HaltReason::CreateCollision => "contract address collision".to_owned(),
        other => other.to_string(),
    }
}

/// The reason of a `revert Error(string)`, if the data is one.
pub(crate) fn revert_reason(output: &[u8]) -> Option<String> {
    Revert::abi_decode(output).ok().map(|revert| revert.reason)
}

/// `eth_estimateGas`: the smallest gas limit with which the call succeeds, found by
/// binary search as geth does (first at the cap, then an optimistic guess from the gas
/// used, then halving the interval).
pub(crate) fn estimate_gas(
    view: StateView<'_>,
    chain_id: u64,
    params: &BlockParams,
    spec: &CallSpec,
) -> Result<u64, CallError> {
    let cap = spec.tx.gas_limit;
    let run = |gas: u64| {
        let mut attempt = spec.clone();
        attempt.tx.gas_limit = gas;
        call(view, chain_id, params, &attempt)
    };
    let first = match run(cap) {
        Ok(first) => first,
        Err(CallError::Halted(reason)) if reason == "out of gas" => {
            return Err(CallError::GasRequiredExceedsAllowance(cap));
        }
        Err(error) => return Err(error),
    };
    let mut lo = first.gas_used.saturating_sub(1);
    let mut hi = cap;
    let optimistic = first
        .gas_used
        .saturating_add(first.gas_refunded)
        .saturating_add(2300)
        .saturating_mul(64)
        / 63;
    if optimistic < hi {
        if run(optimistic).is_ok() {
            hi = optimistic;
        } else {
            lo = optimistic;
        }
    }
    while lo + 1 < hi {
        // geth stops within 1.5% of the answer: one more run rarely changes a wallet's fee.
        if (hi - lo) * 1000 / hi < 15 {
            break;
        }
        let mid = lo + (hi - lo) / 2;
        if run(mid).is_ok() {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Ok(hi)
}
