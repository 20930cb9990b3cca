//! What a dev chain is opened with: where it keeps its journal, how it mines, and its
//! genesis (chain id, funded dev accounts, extra allocations).

use super::error::DevChainError;
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::signers::local::{MnemonicBuilder, PrivateKeySigner, coins_bip39::English};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// The well-known test mnemonic anvil and hardhat use, so tools and tutorials that
/// assume its accounts work unchanged. Never use these keys for anything of value.
pub const DEV_MNEMONIC: &str = "test test test test test test test test test test test junk";
/// Anvil's default chain id.
pub const DEFAULT_CHAIN_ID: u64 = 31337;
/// Block gas limit, as anvil's default.
pub const DEFAULT_GAS_LIMIT: u64 = 30_000_000;
/// Base fee of the genesis block (1 gwei, as anvil); every later block's follows
/// EIP-1559 from its parent (an empty block lowers it by 1/8).
pub const DEFAULT_BASE_FEE: u64 = 1_000_000_000;
/// Number of dev accounts derived from the mnemonic.
pub const DEFAULT_ACCOUNT_COUNT: u32 = 10;
/// The balance of each dev account: 10,000 ETH.
pub const DEFAULT_ACCOUNT_BALANCE: U256 = U256::from_limbs([0x19e0_c9ba_b240_0000, 0x21e, 0, 0]);

/// Everything [`DevChain::open`](super::DevChain::open) needs.
#[derive(Clone, Debug)]
pub struct DevChainConfig {
    /// Where the block journal lives. `None`: the chain lives in memory only.
    pub data_dir: Option<PathBuf>,
    /// `None`: automine, every accepted transaction is mined at once into its own block
    /// (anvil's default). `Some(t)`: a block every `t`, from a pending pool.
    pub block_time: Option<Duration>,
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// The funded dev accounts.
    pub accounts: DevAccounts,
    /// Further genesis allocations (contracts deployed at genesis, extra balances).
    /// An entry for a dev account replaces its default allocation.
    pub genesis_alloc: BTreeMap<Address, GenesisAccount>,
    /// Gas limit of every block.
    pub gas_limit: u64,
    /// Base fee of the genesis block; later blocks move by EIP-1559's rule.
    pub base_fee: u64,
}

impl Default for DevChainConfig {
    fn default() -> Self {
        Self {
            data_dir: None,
            block_time: None,
            chain_id: DEFAULT_CHAIN_ID,
            accounts: DevAccounts::default(),
            genesis_alloc: BTreeMap::new(),
            gas_limit: DEFAULT_GAS_LIMIT,
            base_fee: DEFAULT_BASE_FEE,
        }
    }
}

/// Dev accounts derived from a BIP-39 mnemonic at `m/44'/60'/0'/0/i`, `i` in `0..count`.
#[derive(Clone, Debug)]
pub struct DevAccounts {
    /// The mnemonic phrase.
    pub mnemonic: String,
    /// How many accounts to derive and fund.
    pub count: u32,
    /// Genesis balance of each account, in wei.
    pub balance: U256,
}

impl Default for DevAccounts {
    fn default() -> Self {
        Self {
            mnemonic: DEV_MNEMONIC.to_owned(),
            count: DEFAULT_ACCOUNT_COUNT,
            balance: DEFAULT_ACCOUNT_BALANCE,
        }
    }
}

impl DevAccounts {
    /// Derives the signers. Each derivation runs PBKDF2, so callers keep the result.
    pub fn derive(&self) -> Result<Vec<PrivateKeySigner>, DevChainError> {
        (0..self.count)
            .map(|index| {
                MnemonicBuilder::<English>::default()
                    .phrase(self.mnemonic.clone())
                    .index(index)
                    .and_then(|builder| builder.build())
                    .map_err(|source| DevChainError::Accounts { index, source })
            })
            .collect()
    }
}

/// One genesis allocation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GenesisAccount {
    /// Balance in wei.
    pub balance: U256,
    /// Account nonce (contracts deployed at genesis conventionally have 1).
    pub nonce: u64,
    /// Runtime code; empty for a plain account.
    pub code: Bytes,
    /// Storage slots.
    pub storage: BTreeMap<B256, B256>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_balance_is_ten_thousand_ether() {
        let ether = U256::from(10u64).pow(U256::from(18u64));
        assert_eq!(DEFAULT_ACCOUNT_BALANCE, U256::from(10_000u64) * ether);
    }

    #[test]
    fn first_dev_account_is_anvils() {
        let accounts = DevAccounts {
            count: 2,
            ..DevAccounts::default()
        }
        .derive()
        .expect("derivation");
        assert_eq!(
            accounts[0].address().to_string(),
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        );
        assert_eq!(
            accounts[1].address().to_string(),
            "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
        );
    }
}
