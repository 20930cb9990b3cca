//! Checks a raw transaction before it may enter the pool or a block, in geth's order and
//! with geth's messages: first what the bytes alone decide (type, chain id, gas limit,
//! intrinsic gas, fee fields, signature), then what the sender's account decides (nonce,
//! balance, base fee).

use super::super::error::TxError;
use alloy::consensus::transaction::SignerRecoverable;
use alloy::consensus::{Transaction, TxEnvelope};
use alloy::eips::eip2718::Decodable2718;
use alloy::primitives::{Address, B256, U256};

/// EIP-3860's limit on init code.
pub(crate) const MAX_INITCODE_SIZE: usize = 2 * 24_576;

/// A decoded transaction whose bytes passed every check that needs no state.
#[derive(Clone, Debug)]
pub(crate) struct CheckedTx {
    pub(crate) envelope: TxEnvelope,
    pub(crate) sender: Address,
}

impl CheckedTx {
    pub(crate) fn hash(&self) -> B256 {
        *self.envelope.tx_hash()
    }
}

/// Decodes and checks everything the bytes alone decide.
pub(crate) fn check_raw(
    raw: &[u8],
    chain_id: u64,
    block_gas_limit: u64,
) -> Result<CheckedTx, TxError> {
    let mut buf = raw;
    let envelope =
        TxEnvelope::decode_2718(&mut buf).map_err(|error| TxError::Decode(error.to_string()))?;
    if !buf.is_empty() {
        return Err(TxError::Decode(format!(
            "{} trailing bytes after the transaction",
            buf.len()
        )));
    }
    match envelope {
        TxEnvelope::Legacy(_) | TxEnvelope::Eip2930(_) | TxEnvelope::Eip1559(_) => {}
        _ => return Err(TxError::UnsupportedType),
    }
    if let Some(have) = envelope.chain_id()
        && have != chain_id
    {
        return Err(TxError::ChainId {
            have,
            want: chain_id,
        });
    }
    if envelope.is_create() && envelope.input().len() > MAX_INITCODE_SIZE {
        return Err(TxError::InitCodeTooLarge {
            size: envelope.input().len(),
            limit: MAX_INITCODE_SIZE,
        });
    }
    if envelope.gas_limit() > block_gas_limit {
        return Err(TxError::GasLimit);
    }
    if let Some(tip) = envelope.max_priority_fee_per_gas()
        && tip > envelope.max_fee_per_gas()
    {
        return Err(TxError::TipAboveFeeCap {
            tip,
            max_fee: envelope.max_fee_per_gas(),
        });
    }
    let sender = envelope
        .recover_signer()
        .map_err(|_| TxError::InvalidSender)?;
    let want = intrinsic_gas(&envelope);
    if envelope.gas_limit() < want {
        return Err(TxError::IntrinsicGas {
            have: envelope.gas_limit(),
            want,
        });
    }
    Ok(CheckedTx { envelope, sender })
}

/// What the sender's account holds, as the next block will see it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SenderState {
    pub(crate) nonce: u64,
    pub(crate) balance: U256,
    pub(crate) has_code: bool,
}

/// Checks a transaction against its sender's state and the next block's base fee.
/// `allow_future_nonce`: the pool may hold nonces above the next one (interval mining);
/// automine refuses gaps.
pub(crate) fn check_state(
    tx: &CheckedTx,
    sender: SenderState,
    base_fee: u64,
    allow_future_nonce: bool,
) -> Result<(), TxError> {
    let nonce = tx.envelope.nonce();
    if nonce < sender.nonce {
        return Err(TxError::NonceTooLow {
            next: sender.nonce,
            tx: nonce,
        });
    }
    if nonce > sender.nonce && !allow_future_nonce {
        return Err(TxError::NonceTooHigh {
            next: sender.nonce,
            tx: nonce,
        });
    }
    if sender.has_code {
        return Err(TxError::SenderNotEoa(tx.sender));
    }
    let max_fee = tx.envelope.max_fee_per_gas();
    if max_fee < u128::from(base_fee) {
        return Err(TxError::FeeCapTooLow {
            sender: tx.sender,
            max_fee,
            base_fee,
        });
    }
    let cost = U256::from(tx.envelope.gas_limit())
        .saturating_mul(U256::from(max_fee))
        .saturating_add(tx.envelope.value());
    if sender.balance < cost {
        return Err(TxError::InsufficientFunds {
            balance: sender.balance,
            cost,
        });
    }
    Ok(())
}

/// Intrinsic gas under Cancun: base cost, calldata, access list, and init code words
/// (EIP-3860).
pub(crate) fn intrinsic_gas(envelope: &TxEnvelope) -> u64 {
    let input = envelope.input();
    let zeros = input.iter().filter(|byte| **byte == 0).count() as u64;
    let non_zeros = input.len() as u64 - zeros;
    let mut gas: u64 = if envelope.is_create() { 53_000 } else { 21_000 };
    gas = gas
        .saturating_add(zeros.saturating_mul(4))
        .saturating_add(non_zeros.saturating_mul(16));
    if envelope.is_create() {
        let words = (input.len() as u64).div_ceil(32);
        gas = gas.saturating_add(words.saturating_mul(2));
    }
    if let Some(list) = envelope.access_list() {
        for item in list.iter() {
            gas = gas
                .saturating_add(2_400)
                .saturating_add((item.storage_keys.len() as u64).saturating_mul(1_900));
        }
    }
    gas
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::consensus::{SignableTransaction, TxEip1559};
    use alloy::eips::eip2718::Encodable2718;
    use alloy::network::TxSignerSync;
    use alloy::primitives::{Bytes, TxKind};
    use alloy::signers::local::PrivateKeySigner;

    fn raw(tx: TxEip1559, signer: &PrivateKeySigner) -> Vec<u8> {
        let mut tx = tx;
        let signature = signer.sign_transaction_sync(&mut tx).expect("signs");
        TxEnvelope::from(tx.into_signed(signature)).encoded_2718()
    }

    fn transfer() -> TxEip1559 {
        TxEip1559 {
            chain_id: 31337,
            nonce: 0,
            gas_limit: 21_000,
            max_fee_per_gas: 2_000_000_000,
            max_priority_fee_per_gas: 1,
            to: TxKind::Call(Address::repeat_byte(7)),
            value: U256::from(1),
            ..TxEip1559::default()
        }
    }

    #[test]
    fn stateless_checks_name_the_problem() {
        let signer = PrivateKeySigner::random();
        let ok = check_raw(&raw(transfer(), &signer), 31337, 30_000_000).expect("valid");
        assert_eq!(ok.sender, signer.address());

        let wrong_chain = TxEip1559 {
            chain_id: 1,
            ..transfer()
        };
        assert_eq!(
            check_raw(&raw(wrong_chain, &signer), 31337, 30_000_000).unwrap_err(),
            TxError::ChainId {
                have: 1,
                want: 31337
            }
        );
        let low_gas = TxEip1559 {
            gas_limit: 20_000,
            input: Bytes::from(vec![1, 0]),
            ..transfer()
        };
        assert_eq!(
            check_raw(&raw(low_gas, &signer), 31337, 30_000_000).unwrap_err(),
            TxError::IntrinsicGas {
                have: 20_000,
                want: 21_020
            }
        );
        assert!(matches!(
            check_raw(&[0x02, 0xc0], 31337, 30_000_000),
            Err(TxError::Decode(_))
        ));
    }
}
