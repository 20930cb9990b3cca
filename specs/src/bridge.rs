//! L1 → L2 deposits: the canonical deposit record and the queue accumulator.
//!
//! The L1 `Bridge` appends every deposit to an ordered queue and keeps, for each queue
//! length `n`, the accumulator `acc(n)`: `acc(0) = 0x00…00` and
//! `acc(n + 1) = keccak(acc(n) ‖ deposit_hash(deposit n))`. A batch states how far it
//! consumed the queue as a count and the accumulator at that count, which the L1 checks
//! with one storage read; the L2 state transition credits exactly those deposits, in
//! order (`specs/bridge.md`).

use crate::hash::{Hash, keccak};

/// Domain byte of a deposit hash (0x00 and 0x01 are Merkle leaves and nodes, 0x02
/// tensor commitments).
pub const DEPOSIT_DOMAIN: u8 = 0x03;

/// The accumulator of an empty queue.
pub const EMPTY_QUEUE: Hash = [0u8; 32];

/// One deposit, as the L1 `Bridge` records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Deposit {
    /// Position in the queue, from 0.
    pub index: u64,
    /// The L1 account that paid.
    #[serde(with = "address_hex")]
    pub sender: [u8; 20],
    /// The L2 account credited.
    #[serde(with = "address_hex")]
    pub recipient: [u8; 20],
    /// Wei (encoded as a 32-byte big-endian word, as Solidity's `uint256`).
    #[serde(with = "amount_string")]
    pub amount: u128,
    /// The L1 block that included the deposit.
    pub l1_block: u64,
}

impl Deposit {
    /// Canonical bytes: `0x03 ‖ index (8, BE) ‖ sender (20) ‖ recipient (20) ‖
    /// amount (32, BE) ‖ l1_block (8, BE)`, 89 bytes, which is Solidity's
    /// `abi.encodePacked(bytes1(0x03), uint64, address, address, uint256, uint64)`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(89);
        out.push(DEPOSIT_DOMAIN);
        out.extend_from_slice(&self.index.to_be_bytes());
        out.extend_from_slice(&self.sender);
        out.extend_from_slice(&self.recipient);
        out.extend_from_slice(&[0u8; 16]);
        out.extend_from_slice(&self.amount.to_be_bytes());
        out.extend_from_slice(&self.l1_block.to_be_bytes());
        out
    }

    /// `keccak(encode())`.
    pub fn hash(&self) -> Hash {
        keccak(&[&self.encode()])
    }
}

/// `acc(n + 1)` from `acc(n)` and deposit `n`'s hash.
pub fn accumulate(previous: &Hash, deposit_hash: &Hash) -> Hash {
    keccak(&[previous, deposit_hash])
}

/// The accumulator after every deposit of `deposits`, in order, from an empty queue.
pub fn queue_accumulator(deposits: &[Deposit]) -> Hash {
    deposits
        .iter()
        .fold(EMPTY_QUEUE, |acc, d| accumulate(&acc, &d.hash()))
}

mod address_hex {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(a: &[u8; 20], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(a)))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 20], D::Error> {
        let text = String::deserialize(d)?;
        let bytes = hex::decode(text.trim_start_matches("0x")).map_err(D::Error::custom)?;
        bytes
            .try_into()
            .map_err(|_| D::Error::custom("an address is 20 bytes"))
    }
}

/// Amounts as decimal strings: JSON numbers lose precision above 2^53.
pub mod amount_string {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    /// Serializes as a decimal string.
    pub fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    /// Deserializes a decimal string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        String::deserialize(d)?.parse().map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deposit(index: u64, amount: u128) -> Deposit {
        Deposit {
            index,
            sender: [0x11; 20],
            recipient: [0x22; 20],
            amount,
            l1_block: 7,
        }
    }

    #[test]
    fn encoding_is_89_bytes_in_field_order() {
        let bytes = deposit(1, 258).encode();
        assert_eq!(bytes.len(), 89);
        assert_eq!(bytes[0], DEPOSIT_DOMAIN);
        assert_eq!(&bytes[1..9], &1u64.to_be_bytes());
        assert_eq!(&bytes[9..29], &[0x11; 20]);
        assert_eq!(&bytes[29..49], &[0x22; 20]);
        assert_eq!(&bytes[49..81], &{
            let mut w = [0u8; 32];
            w[30] = 1;
            w[31] = 2;
            w
        });
        assert_eq!(&bytes[81..89], &7u64.to_be_bytes());
    }

    #[test]
    fn the_accumulator_depends_on_order() {
        let (a, b) = (deposit(0, 1), deposit(1, 2));
        assert_eq!(queue_accumulator(&[]), EMPTY_QUEUE);
        assert_ne!(queue_accumulator(&[a, b]), queue_accumulator(&[b, a]));
        assert_eq!(
            queue_accumulator(&[a, b]),
            accumulate(&accumulate(&EMPTY_QUEUE, &a.hash()), &b.hash())
        );
    }
}
