//! An L2 account: a balance in wei and the nonce of its next request.

use crate::hash::{Hash, keccak};

use super::{Address, domain};

/// One account's state. The all-zero account is "absent": its leaf is the empty leaf.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Account {
    /// Wei held on L2.
    pub balance: u128,
    /// The nonce the account's next request must carry.
    pub nonce: u64,
}

/// Bytes of [`Account::encode`].
pub const ACCOUNT_BYTES: usize = 16 + 8;

impl Account {
    /// Whether this is the absent account (zero balance and nonce).
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Canonical bytes: balance (u128) then nonce (u64), big-endian.
    pub fn encode(&self) -> [u8; ACCOUNT_BYTES] {
        let mut out = [0u8; ACCOUNT_BYTES];
        out[..16].copy_from_slice(&self.balance.to_be_bytes());
        out[16..].copy_from_slice(&self.nonce.to_be_bytes());
        out
    }

    /// Decodes [`Self::encode`]'s bytes.
    pub fn decode(bytes: &[u8; ACCOUNT_BYTES]) -> Self {
        let mut balance = [0u8; 16];
        balance.copy_from_slice(&bytes[..16]);
        let mut nonce = [0u8; 8];
        nonce.copy_from_slice(&bytes[16..]);
        Self {
            balance: u128::from_be_bytes(balance),
            nonce: u64::from_be_bytes(nonce),
        }
    }

    /// The state-tree leaf of `address` holding this account:
    /// `keccak(0x08 ‖ address ‖ balance ‖ nonce)`, or the zero hash when absent.
    pub fn leaf(&self, address: &Address) -> Hash {
        if self.is_empty() {
            return [0u8; 32];
        }
        keccak(&[&[domain::ACCOUNT], address, &self.encode()])
    }
}
