//! An in-process EVM (revm; Cancun rules by default, as the contracts are compiled for)
//! holding Verdict's contracts, for differential
//! tests of the Solidity code against `verdict-specs` and for gas measurements. No
//! JSON-RPC, no blocks beyond a settable block number: calls and transactions straight
//! into revm, with the gas each one used.

use alloy::primitives::{Address, Bytes, Log, TxKind, U256};
use alloy::sol_types::SolCall;
use revm::context::result::ExecutionResult;
use revm::context::{CfgEnv, Context, TxEnv};
use revm::database::{CacheDB, EmptyDB};
use revm::handler::{MainBuilder, MainContext, MainnetContext, MainnetEvm};
use revm::primitives::hardfork::SpecId;
use revm::state::AccountInfo;
use revm::{ExecuteCommitEvm, ExecuteEvm};

/// Errors of the local EVM.
#[derive(Debug, thiserror::Error)]
pub enum LocalEvmError {
    /// revm refused the transaction (nonce, balance, gas limit…).
    #[error("the EVM refused the transaction: {0}")]
    Invalid(String),
    /// The call reverted; the revert data is described.
    #[error("{call} reverted: {reason}")]
    Reverted { call: String, reason: String },
    /// The call ran out of gas or hit an invalid opcode.
    #[error("{call} halted: {reason}")]
    Halted { call: String, reason: String },
    /// The output did not decode as the call's return type.
    #[error("{call} returned undecodable data: {message}")]
    Decode { call: String, message: String },
}

/// The outcome of a committed transaction.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Gas charged to the sender (intrinsic and calldata included, refunds applied).
    pub gas_used: u64,
    pub logs: Vec<Log>,
    pub output: Bytes,
}

/// An EVM with an in-memory state.
pub struct LocalEvm {
    evm: MainnetEvm<MainnetContext<CacheDB<EmptyDB>>>,
    gas_limit: u64,
}

impl std::fmt::Debug for LocalEvm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalEvm").finish_non_exhaustive()
    }
}

/// Gas limit of every transaction by default: a 30M-gas block's worth.
pub const DEFAULT_GAS_LIMIT: u64 = 30_000_000;

impl Default for LocalEvm {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalEvm {
    /// An empty chain at block 1 under Cancun rules, base fee 0 (gas is counted, not
    /// paid), transactions up to [`DEFAULT_GAS_LIMIT`].
    pub fn new() -> Self {
        Self::with_rules(SpecId::CANCUN, DEFAULT_GAS_LIMIT)
    }

    /// An empty chain under the rules of `spec` (Prague adds EIP-7623's calldata floor),
    /// with transactions up to `gas_limit`.
    pub fn with_rules(spec: SpecId, gas_limit: u64) -> Self {
        let mut cfg = CfgEnv::new_with_spec(spec);
        // Measurements may exceed mainnet limits on purpose; the caller reports them.
        cfg.limit_contract_code_size = Some(usize::MAX);
        cfg.tx_gas_limit_cap = Some(u64::MAX);
        let mut evm = Context::mainnet()
            .with_db(CacheDB::<EmptyDB>::default())
            .with_cfg(cfg)
            .build_mainnet();
        evm.ctx.modify_block(|block| {
            block.number = U256::from(1);
            block.gas_limit = gas_limit;
            block.basefee = 0;
        });
        Self { evm, gas_limit }
    }

    /// Gives `account` `balance` wei.
    pub fn fund(&mut self, account: Address, balance: U256) {
        let db = &mut self.evm.ctx.journaled_state.database;
        let mut info = db
            .cache
            .accounts
            .get(&account)
            .map(|a| a.info.clone())
            .unwrap_or_default();
        info.balance = balance;
        db.insert_account_info(account, AccountInfo { ..info });
    }

    /// Sets the block number later transactions see.
    pub fn set_block_number(&mut self, number: u64) {
        self.evm
            .ctx
            .modify_block(|block| block.number = U256::from(number));
    }

    /// The current block number.
    pub fn block_number(&self) -> u64 {
        self.evm.ctx.block.number.saturating_to()
    }

    /// Deploys `creation_code` from `from`; returns the address and the gas used.
    pub fn deploy(
        &mut self,
        from: Address,
        creation_code: Vec<u8>,
    ) -> Result<(Address, u64), LocalEvmError> {
        let tx = self.tx(from, TxKind::Create, creation_code, U256::ZERO);
        let result = self
            .evm
            .transact_commit(tx)
            .map_err(|e| LocalEvmError::Invalid(format!("{e:?}")))?;
        let address = result.created_address();
        let gas = result.tx_gas_used();
        let outcome = outcome("deploy".to_string(), result)?;
        address.map(|a| (a, gas)).ok_or_else(|| {
            LocalEvmError::Invalid(format!(
                "no contract created ({} bytes out)",
                outcome.output.len()
            ))
        })
    }

    /// Calls `call` on `to` without committing anything; returns the decoded result.
    pub fn call<C: SolCall>(&mut self, to: Address, call: C) -> Result<C::Return, LocalEvmError> {
        let tx = self.tx(
            Address::ZERO,
            TxKind::Call(to),
            call.abi_encode(),
            U256::ZERO,
        );
        let result = self
            .evm
            .transact(tx)
            .map_err(|e| LocalEvmError::Invalid(format!("{e:?}")))?
            .result;
        let outcome = outcome(C::SIGNATURE.to_string(), result)?;
        C::abi_decode_returns(&outcome.output).map_err(|e| LocalEvmError::Decode {
            call: C::SIGNATURE.to_string(),
            message: e.to_string(),
        })
    }

    /// Runs raw `calldata` against `to` without committing; the outcome (gas included)
    /// or the revert.
    pub fn call_raw(&mut self, to: Address, calldata: Vec<u8>) -> Result<Outcome, LocalEvmError> {
        let tx = self.tx(Address::ZERO, TxKind::Call(to), calldata, U256::ZERO);
        let result = self
            .evm
            .transact(tx)
            .map_err(|e| LocalEvmError::Invalid(format!("{e:?}")))?
            .result;
        outcome("raw call".to_string(), result)
    }

    /// Sends `call` to `to` from `from` with `value` wei and commits it.
    pub fn send<C: SolCall>(
        &mut self,
        from: Address,
        to: Address,
        call: C,
        value: U256,
    ) -> Result<Outcome, LocalEvmError> {
        let tx = self.tx(from, TxKind::Call(to), call.abi_encode(), value);
        let result = self
            .evm
            .transact_commit(tx)
            .map_err(|e| LocalEvmError::Invalid(format!("{e:?}")))?;
        outcome(C::SIGNATURE.to_string(), result)
    }

    fn tx(&mut self, from: Address, kind: TxKind, data: Vec<u8>, value: U256) -> TxEnv {
        let nonce = self
            .evm
            .ctx
            .journaled_state
            .database
            .cache
            .accounts
            .get(&from)
            .map(|a| a.info.nonce)
            .unwrap_or_default();
        TxEnv::builder()
            .caller(from)
            .kind(kind)
            .data(Bytes::from(data))
            .value(value)
            .nonce(nonce)
            .gas_limit(self.gas_limit)
            .gas_price(0)
            .build_fill()
    }
}

fn outcome(call: String, result: ExecutionResult) -> Result<Outcome, LocalEvmError> {
    match result {
        ExecutionResult::Success { .. } => {
            let gas_used = result.tx_gas_used();
            let logs = result.logs().to_vec();
            let output = result.into_output().unwrap_or_default();
            Ok(Outcome {
                gas_used,
                logs,
                output,
            })
        }
        ExecutionResult::Revert { output, .. } => Err(LocalEvmError::Reverted {
            call,
            reason: verdict_l1::client::describe_revert(&output),
        }),
        ExecutionResult::Halt { reason, .. } => Err(LocalEvmError::Halted {
            call,
            reason: format!("{reason:?}"),
        }),
    }
}
