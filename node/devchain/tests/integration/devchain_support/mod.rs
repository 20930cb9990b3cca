//! Shared by the `devchain_*` tests: a chain served on a loopback port, alloy clients,
//! raw signed transactions, and a tiny hand-assembled contract.

#![allow(dead_code, unreachable_pub)]

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope, TxLegacy};
use alloy::eips::eip2718::Encodable2718;
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::{RpcError, TransportErrorKind};
use verdict_devchain::{DevChain, DevChainConfig, DevChainServer};

/// A chain and its server on `127.0.0.1:<free port>`.
pub struct Harness {
    pub chain: DevChain,
    pub server: DevChainServer,
}

impl Harness {
    pub async fn start(config: DevChainConfig) -> Self {
        let chain = DevChain::open(config).expect("the chain opens");
        let (_, server) = chain
            .serve("127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("the server starts");
        Self { chain, server }
    }

    pub async fn in_memory() -> Self {
        Self::start(DevChainConfig::default()).await
    }

    /// Stops the server and closes the chain, so its data dir can be opened again.
    pub async fn stop(self) {
        self.server.stop().await;
        drop(self.chain);
    }

    pub fn signer(&self, index: usize) -> PrivateKeySigner {
        self.chain.accounts()[index].clone()
    }

    /// An HTTP client that signs with dev account `index`.
    pub fn http(&self, index: usize) -> DynProvider {
        let url = self.server.http_url().parse().expect("url");
        ProviderBuilder::new()
            .wallet(self.signer(index))
            .connect_http(url)
            .erased()
    }

    /// A WebSocket client that signs with dev account `index`.
    pub async fn ws(&self, index: usize) -> DynProvider {
        ProviderBuilder::new()
            .wallet(self.signer(index))
            .connect(&self.server.ws_url())
            .await
            .expect("ws connects")
            .erased()
    }
}

pub const CHAIN_ID: u64 = 31337;
pub const GWEI: u128 = 1_000_000_000;

pub fn ether(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18u64))
}

/// A plain EIP-1559 transfer template (nonce 0, 1 wei to 0x..77, fees well above the
/// base fee).
pub fn transfer(nonce: u64) -> TxEip1559 {
    TxEip1559 {
        chain_id: CHAIN_ID,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 10 * GWEI,
        max_priority_fee_per_gas: GWEI,
        to: TxKind::Call(Address::repeat_byte(0x77)),
        value: U256::from(1),
        ..TxEip1559::default()
    }
}

pub fn sign_1559(signer: &PrivateKeySigner, mut tx: TxEip1559) -> Bytes {
    let signature = signer.sign_transaction_sync(&mut tx).expect("signs");
    TxEnvelope::from(tx.into_signed(signature))
        .encoded_2718()
        .into()
}

pub fn sign_legacy(signer: &PrivateKeySigner, mut tx: TxLegacy) -> Bytes {
    let signature = signer.sign_transaction_sync(&mut tx).expect("signs");
    TxEnvelope::from(tx.into_signed(signature))
        .encoded_2718()
        .into()
}

/// `(code, message, data)` of a JSON-RPC error response.
pub fn rpc_error(error: RpcError<TransportErrorKind>) -> (i64, String, Option<String>) {
    let payload = error
        .as_error_resp()
        .unwrap_or_else(|| panic!("an error response, got {error:?}"));
    (
        payload.code,
        payload.message.to_string(),
        payload.data.as_ref().map(|raw| raw.get().to_owned()),
    )
}

/// The event the test contract emits: `Stored(uint256 indexed value, uint256 value)`.
pub fn stored_topic() -> B256 {
    keccak256("Stored(uint256,uint256)")
}

/// ABI encoding of `Error("empty")`, what the contract reverts with on empty calldata.
pub fn empty_revert_data() -> Vec<u8> {
    let mut data = vec![0x08, 0xc3, 0x79, 0xa0];
    data.extend_from_slice(&U256::from(32).to_be_bytes::<32>());
    data.extend_from_slice(&U256::from(5).to_be_bytes::<32>());
    let mut word = [0u8; 32];
    word[..5].copy_from_slice(b"empty");
    data.extend_from_slice(&word);
    data
}

/// Runtime code of the test contract, assembled by hand:
/// - empty calldata: `revert Error("empty")`;
/// - else with `x = calldata[0..32]`: `sstore(0, x)`, `log2(x as data, Stored, x)`,
///   `return x`.
pub fn runtime_code() -> Vec<u8> {
    let revert = empty_revert_data();
    let mut code = vec![
        0x36, // CALLDATASIZE
        0x60, 0x10, // PUSH1 main
        0x57, // JUMPI
        0x60, 0x64, // PUSH1 100 (revert data size)
        0x60, 0x47, // PUSH1 revert data offset
        0x60, 0x00, // PUSH1 0
        0x39, // CODECOPY
        0x60, 0x64, // PUSH1 100
        0x60, 0x00, // PUSH1 0
        0xfd, // REVERT
        0x5b, // main: JUMPDEST
        0x60, 0x00, // PUSH1 0
        0x35, // CALLDATALOAD: x
        0x80, // DUP1
        0x80, // DUP1
        0x60, 0x00, // PUSH1 0
        0x55, // SSTORE slot 0 = x
        0x60, 0x00, // PUSH1 0
        0x52, // MSTORE mem[0] = x
        0x7f, // PUSH32 topic
    ];
    code.extend_from_slice(stored_topic().as_slice());
    code.extend_from_slice(&[
        0x60, 0x20, // PUSH1 32
        0x60, 0x00, // PUSH1 0
        0xa2, // LOG2(0, 32, topic, x)
        0x60, 0x20, // PUSH1 32
        0x60, 0x00, // PUSH1 0
        0xf3, // RETURN
    ]);
    assert_eq!(code.len(), 0x47, "revert data offset");
    assert_eq!(code[0x10], 0x5b, "main is a JUMPDEST");
    code.extend_from_slice(&revert);
    code
}

/// Init code that deploys [`runtime_code`].
pub fn init_code() -> Bytes {
    let runtime = runtime_code();
    let len = u16::try_from(runtime.len()).expect("small");
    let [hi, lo] = len.to_be_bytes();
    let mut code = vec![
        0x61, hi, lo,   // PUSH2 len
        0x80, // DUP1
        0x60, 0x0c, // PUSH1 offset of runtime
        0x60, 0x00, // PUSH1 0
        0x39, // CODECOPY
        0x60, 0x00, // PUSH1 0
        0xf3, // RETURN
    ];
    code.extend_from_slice(&runtime);
    code.into()
}

/// Calldata storing `x`.
pub fn store(x: u64) -> Bytes {
    Bytes::from(U256::from(x).to_be_bytes::<32>().to_vec())
}
