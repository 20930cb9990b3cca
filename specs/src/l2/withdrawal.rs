//! `Withdrawal`: wei moved from an L2 account back to an L1 address (specs/state.md §1).
//!
//! The user signs EIP-712 typed data
//! `Withdrawal(address sender,uint64 nonce,address recipient,uint256 amount)` under the
//! same domain as inference requests, and shares their nonce, so each signed message is
//! usable once. A block commits to its withdrawals through `withdrawals_root`, the Merkle
//! root over [`Withdrawal::leaf`]s; `Bridge.finalizeWithdrawal` pays a leaf once its batch
//! is final.

use crate::encoding::{DecodeError, Reader, Writer};
use crate::hash::{Hash, keccak};
use crate::merkle;

use super::request::{SignatureBytes, SigningDomain, word_address, word_u128};
use super::{Address, domain};

/// The EIP-712 type string of a withdrawal.
pub const WITHDRAWAL_TYPE: &str =
    "Withdrawal(address sender,uint64 nonce,address recipient,uint256 amount)";

/// Bytes of a signed withdrawal in batch data.
pub const SIGNED_WITHDRAWAL_BYTES: usize = 20 + 8 + 20 + 16 + 65;

/// An L2 → L1 withdrawal as signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Withdrawal {
    /// The L2 account debited (the signer).
    #[serde(with = "super::record::hex_address")]
    pub sender: Address,
    /// The sender's next nonce.
    pub nonce: u64,
    /// The L1 address paid.
    #[serde(with = "super::record::hex_address")]
    pub recipient: Address,
    /// Wei, not zero.
    pub amount: u128,
}

impl Withdrawal {
    /// The EIP-712 struct hash.
    pub fn struct_hash(&self) -> Hash {
        keccak(&[
            &keccak(&[WITHDRAWAL_TYPE.as_bytes()]),
            &word_address(&self.sender),
            &word_u128(self.nonce.into()),
            &word_address(&self.recipient),
            &word_u128(self.amount),
        ])
    }

    /// The digest the sender signs.
    pub fn signing_hash(&self, domain: &SigningDomain) -> Hash {
        keccak(&[&[0x19, 0x01], &domain.separator(), &self.struct_hash()])
    }

    /// `sender ‖ nonce ‖ recipient ‖ amount` (64 bytes): the leaf's preimage after its
    /// domain byte, and the `tx` of a state one-step proof.
    pub fn fields(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        out[..20].copy_from_slice(&self.sender);
        out[20..28].copy_from_slice(&self.nonce.to_be_bytes());
        out[28..48].copy_from_slice(&self.recipient);
        out[48..].copy_from_slice(&self.amount.to_be_bytes());
        out
    }

    /// `keccak(0x09 ‖ sender ‖ nonce ‖ recipient ‖ amount)`: the leaf under the block's
    /// withdrawals root and the key `Bridge.claimed` is indexed by.
    pub fn leaf(&self) -> Hash {
        keccak(&[&[domain::WITHDRAWAL], &self.fields()])
    }
}

/// A withdrawal with its signature, as it travels and as batch data carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignedWithdrawal {
    /// What was signed.
    pub withdrawal: Withdrawal,
    /// `r ‖ s ‖ v` over [`Withdrawal::signing_hash`].
    pub signature: SignatureBytes,
}

impl SignedWithdrawal {
    /// Canonical bytes: sender, nonce, recipient, amount, signature (129 bytes).
    pub fn encode(&self, w: &mut Writer) {
        w.raw(&self.withdrawal.fields());
        w.raw(&self.signature);
    }

    /// Decodes [`Self::encode`]'s output from untrusted bytes.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let sender = r.field("sender", |r| r.array::<20>())?;
        let nonce = u64::from_be_bytes(r.field("nonce", |r| r.array::<8>())?);
        let recipient = r.field("recipient", |r| r.array::<20>())?;
        let amount = u128::from_be_bytes(r.field("amount", |r| r.array::<16>())?);
        let signature = r.field("signature", |r| r.array::<65>())?;
        Ok(Self {
            withdrawal: Withdrawal {
                sender,
                nonce,
                recipient,
                amount,
            },
            signature,
        })
    }
}

/// The withdrawals root of a block's withdrawals, in order (zero for none).
pub fn withdrawals_root(withdrawals: &[SignedWithdrawal]) -> Hash {
    let leaves: Vec<Hash> = withdrawals.iter().map(|w| w.withdrawal.leaf()).collect();
    merkle::root(&leaves)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn withdrawal() -> Withdrawal {
        Withdrawal {
            sender: [0x11; 20],
            nonce: 3,
            recipient: [0x22; 20],
            amount: 1_000,
        }
    }

    #[test]
    fn encoding_round_trips_at_its_fixed_size() {
        let signed = SignedWithdrawal {
            withdrawal: withdrawal(),
            signature: [7; 65],
        };
        let mut w = Writer::new();
        signed.encode(&mut w);
        let bytes = w.finish();
        assert_eq!(bytes.len(), SIGNED_WITHDRAWAL_BYTES);
        let mut r = Reader::new(&bytes);
        assert_eq!(SignedWithdrawal::decode(&mut r).expect("decodes"), signed);
        r.finish().expect("nothing left");
    }

    #[test]
    fn digest_and_leaf_bind_every_field() {
        let domain = SigningDomain {
            chain_id: 1,
            rollup: [0x33; 20],
        };
        let base = withdrawal();
        let variants = [
            Withdrawal { nonce: 4, ..base },
            Withdrawal {
                amount: 999,
                ..base
            },
            Withdrawal {
                recipient: [0x23; 20],
                ..base
            },
            Withdrawal {
                sender: [0x12; 20],
                ..base
            },
        ];
        for other in variants {
            assert_ne!(other.signing_hash(&domain), base.signing_hash(&domain));
            assert_ne!(other.leaf(), base.leaf());
        }
        let other_chain = SigningDomain {
            chain_id: 2,
            ..domain
        };
        assert_ne!(base.signing_hash(&other_chain), base.signing_hash(&domain));
        assert_eq!(withdrawals_root(&[]), [0; 32]);
    }
}
