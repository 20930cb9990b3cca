//! `state.json`: the state transition (specs/state.md §3) on small blocks. Each case is a
//! pre-state, one block (its header and batch data) and the L1 inputs the block reads
//! (the deposit queue and the model's fee history, shared by every case) → the state
//! root after every transaction, and either the post-state root or the first
//! transaction that breaks a rule (and which rule). Every step also carries the exact
//! `StateStepVerifier.verify` calldata with the answer the contract must give, so the
//! Rust transition, the derivation (`verdict-chain`) and the Solidity verifier are held
//! to the same answers.
//!
//! The requests are signed for the rollup a deployer at [`STATE_DEPLOYER`] creates first
//! (its CREATE address at nonce 0), so a forge test deploys the same `Rollup` there.

use k256::ecdsa::SigningKey;
use serde::{Deserialize, Serialize};

use crate::bridge::Deposit;
use crate::game::abi::state::{BlockStepContext, verify_calldata};
use crate::game::state_step::{StateStepProof, leaf_path, prove, witness};
use crate::hash::{Hash, keccak, to_hex};
use crate::l2::Address;
use crate::l2::account::Account;
use crate::l2::batch_data::{self, BlockBody};
use crate::l2::block::{BlockHeader, records_root};
use crate::l2::record::InferenceTx;
use crate::l2::request::{InferenceRequest, SignatureBytes, SignedRequest, SigningDomain};
use crate::l2::step::{StateTx, StepRules, apply_trace, block_txs};
use crate::l2::transition::State;
use crate::l2::withdrawal::{SignedWithdrawal, Withdrawal, withdrawals_root};
use crate::model::encode_graph;
use crate::tensor::Tensor;

/// The L1 account that deploys the vectors' `Rollup` (as its first contract).
pub const STATE_DEPLOYER: Address = [0xde; 20];
/// Foundry's default chain id.
pub const STATE_CHAIN_ID: u64 = 31337;
/// The model's fee history: `(from_block, fee)`, as `ModelRegistry.feeAt` answers it.
pub const FEE_HISTORY: [(u64, u128); 2] = [(10, 5), (20, 7)];

/// All of `state.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StateVectors {
    /// The chain id of the signing domain.
    pub chain_id: u64,
    /// Deploys the `Rollup` as its first contract.
    #[serde(with = "crate::l2::record::hex_address")]
    pub deployer: Address,
    /// The rollup (the signing domain's verifying contract).
    #[serde(with = "crate::l2::record::hex_address")]
    pub rollup: Address,
    /// The sequencer (paid every fee).
    #[serde(with = "crate::l2::record::hex_address")]
    pub sequencer: Address,
    /// The one model the blocks' inferences use.
    pub model: StateModel,
    /// The bridge's whole deposit queue, in order.
    pub deposits: Vec<Deposit>,
    /// The cases.
    pub cases: Vec<StateCase>,
}

/// The model, as registered on L1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StateModel {
    /// Its canonical graph bytes (what `ModelRegistry.register` takes), hex.
    pub graph: String,
    /// Its weights root.
    #[serde(with = "crate::hash::serde_hex")]
    pub weights_root: Hash,
    /// Its id.
    #[serde(with = "crate::hash::serde_hex")]
    pub model_id: Hash,
    /// The fee registered from each L1 block on (the first entry is the registration).
    pub fees: Vec<FeeChange>,
}

/// One entry of a fee history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeChange {
    /// The L1 block it applies from.
    pub from_block: u64,
    /// Wei per inference, decimal.
    #[serde(with = "crate::bridge::amount_string")]
    pub fee: u128,
}

/// An account of the pre-state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountEntry {
    /// Its address.
    #[serde(with = "crate::l2::record::hex_address")]
    pub address: Address,
    /// Its balance in wei, decimal.
    #[serde(with = "crate::bridge::amount_string")]
    pub balance: u128,
    /// Its nonce.
    pub nonce: u64,
}

/// One block against its pre-state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StateCase {
    /// What it exercises.
    pub name: String,
    /// The state after the parent.
    pub pre_state: Vec<AccountEntry>,
    /// Its root (`S_0`).
    #[serde(with = "crate::hash::serde_hex")]
    pub pre_root: Hash,
    /// The parent's `deposits_consumed`: the block's deposits are queue entries from here
    /// to `header.deposits_consumed`.
    pub parent_deposits_consumed: u64,
    /// The L1 block of the batch that posts the block.
    pub batch_l1_block: u64,
    /// The block's header (its `state_root` is what its sequencer claims).
    pub header: BlockHeader,
    /// The block as batch data (one block), hex.
    pub batch_data: String,
    /// `S_0 … S_n`, with the invalid-state marker from the first invalid transaction on.
    pub states: Vec<String>,
    /// The root after the block when every transaction holds.
    pub post_root: Option<String>,
    /// The first transaction that breaks a rule, when one does.
    pub rejected: Option<Rejection>,
    /// One-step checks of the verifier.
    pub steps: Vec<StepCheck>,
}

/// The first invalid transaction of a block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// Its position in trace order.
    pub index: usize,
    /// The rule it breaks (the `StepError` message).
    pub error: String,
}

/// One call of `StateStepVerifier.verify` and its answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepCheck {
    /// The step `k`.
    pub step: u64,
    /// `S_k`.
    pub pre: String,
    /// The claimed `S_{k+1}`.
    pub post: String,
    /// `claimHolds`: `true` for the honest step, `false` for a wrong claim or an invalid
    /// transaction.
    pub holds: bool,
    /// The ABI-encoded call, hex.
    pub calldata: String,
}

fn hex_bytes(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

/// A deterministic secp256k1 key (the scalar `seed` repeated 32 times), for vectors and
/// tests that need real signatures.
pub struct DevKey(SigningKey);

impl DevKey {
    /// The key of `seed` (any non-zero byte).
    pub fn new(seed: u8) -> Self {
        match SigningKey::from_slice(&[seed.max(1); 32]) {
            Ok(key) => DevKey(key),
            Err(_) => unreachable!("a small repeated byte is a valid scalar"),
        }
    }

    /// Its Ethereum address.
    pub fn address(&self) -> Address {
        let point = self.0.verifying_key().to_encoded_point(false);
        let hash = keccak(&[&point.as_bytes()[1..]]);
        let mut out = [0u8; 20];
        out.copy_from_slice(&hash[12..]);
        out
    }

    /// A withdrawal of `amount` wei to `recipient` from this key's account, signed for
    /// `domain`.
    pub fn withdrawal(
        &self,
        domain: &SigningDomain,
        nonce: u64,
        recipient: Address,
        amount: u128,
    ) -> SignedWithdrawal {
        let withdrawal = Withdrawal {
            sender: self.address(),
            nonce,
            recipient,
            amount,
        };
        SignedWithdrawal {
            withdrawal,
            signature: self.sign(&withdrawal.signing_hash(domain)),
        }
    }

    /// Its `r ‖ s ‖ v` signature of `digest` (RFC 6979, so deterministic; `v` 27 or 28).
    pub fn sign(&self, digest: &Hash) -> SignatureBytes {
        let mut out = [0u8; 65];
        if let Ok((sig, id)) = self.0.sign_prehash_recoverable(digest) {
            out[..64].copy_from_slice(&sig.to_bytes());
            out[64] = 27 + id.to_byte();
        }
        out
    }
}

/// The cast: three users and the sequencer.
struct Cast {
    alice: DevKey,
    bob: DevKey,
    carol: DevKey,
    sequencer: DevKey,
    domain: SigningDomain,
    model_id: Hash,
}

impl Cast {
    fn inference(&self, key: &DevKey, nonce: u64, max_fee: u128, fee: u128) -> InferenceTx {
        self.inference_signed_by(key, key, nonce, max_fee, fee)
    }

    /// `sender`'s request, signed by `signer`.
    fn inference_signed_by(
        &self,
        sender: &DevKey,
        signer: &DevKey,
        nonce: u64,
        max_fee: u128,
        fee: u128,
    ) -> InferenceTx {
        let request = InferenceRequest {
            sender: sender.address(),
            nonce,
            model_id: self.model_id,
            input: Tensor::from_i8(vec![4], vec![1, -2, 3, -4]).unwrap_or_else(|_| {
                unreachable!("four values fit shape [4]");
            }),
            max_fee,
        };
        let signature = signer.sign(&request.signing_hash(&self.domain));
        InferenceTx {
            signed: SignedRequest { request, signature },
            output: Tensor::from_i32(vec![1], vec![nonce as i32])
                .unwrap_or_else(|_| unreachable!("one value fits shape [1]")),
            fee,
        }
    }

    fn withdrawal(&self, key: &DevKey, nonce: u64, amount: u128) -> SignedWithdrawal {
        key.withdrawal(&self.domain, nonce, [0xaa; 20], amount)
    }
}

/// The bridge's queue every case reads from.
fn queue(cast: &Cast) -> Vec<Deposit> {
    let depositor = [0xd0; 20];
    let entries = [
        (cast.alice.address(), 1_000, 5),
        (cast.bob.address(), 500, 6),
        (cast.carol.address(), u128::MAX, 7),
        (cast.alice.address(), 1, 8),
    ];
    entries
        .iter()
        .enumerate()
        .map(|(index, &(recipient, amount, l1_block))| Deposit {
            index: index as u64,
            sender: depositor,
            recipient,
            amount,
            l1_block,
        })
        .collect()
}

/// `ModelRegistry.feeAt(model, block)` for the vectors' model.
pub fn fee_at(model: &Hash, expected: &Hash, block: u64) -> Option<u128> {
    if model != expected {
        return None;
    }
    FEE_HISTORY
        .iter()
        .rev()
        .find(|(from, _)| *from <= block)
        .map(|(_, fee)| *fee)
}

/// What one case is made of, before it is run.
struct Spec {
    name: &'static str,
    pre: Vec<(Address, u128, u64)>,
    /// Queue entries `from..to`.
    deposits: (u64, u64),
    inferences: Vec<InferenceTx>,
    withdrawals: Vec<SignedWithdrawal>,
    l1_origin: u64,
    batch_l1_block: u64,
}

/// The address of the first contract `deployer` creates (CREATE at nonce 0):
/// `keccak(rlp([deployer, 0]))[12..]`, the RLP list being `0xd6 0x94 ‖ deployer ‖ 0x80`.
fn first_contract_of(deployer: &Address) -> Address {
    let hash = keccak(&[&[0xd6, 0x94], deployer, &[0x80]]);
    let mut out = [0u8; 20];
    out.copy_from_slice(&hash[12..]);
    out
}

/// All cases of `state.json`.
pub fn state_cases() -> StateVectors {
    let rollup = first_contract_of(&STATE_DEPLOYER);
    let model = crate::vectors::model_cases()
        .into_iter()
        .next()
        .unwrap_or_else(|| unreachable!("the model vectors are not empty"));
    let id = model.model_id;
    let cast = Cast {
        alice: DevKey::new(1),
        bob: DevKey::new(2),
        carol: DevKey::new(3),
        sequencer: DevKey::new(4),
        domain: SigningDomain {
            chain_id: STATE_CHAIN_ID,
            rollup,
        },
        model_id: id.id,
    };
    let deposits = queue(&cast);
    let (alice, bob, carol, seq) = (
        cast.alice.address(),
        cast.bob.address(),
        cast.carol.address(),
        cast.sequencer.address(),
    );
    let spec = |name, pre, deposits, inferences, withdrawals| Spec {
        name,
        pre,
        deposits,
        inferences,
        withdrawals,
        l1_origin: 25,
        batch_l1_block: 30,
    };
    let specs = vec![
        spec(
            "deposits credit their recipients",
            vec![],
            (0, 2),
            vec![],
            vec![],
        ),
        spec(
            "an inference pays the fee in force at l1_origin to the sequencer",
            vec![(alice, 1_000, 0)],
            (0, 0),
            vec![cast.inference(&cast.alice, 0, 10, 7)],
            vec![],
        ),
        Spec {
            l1_origin: 15,
            ..spec(
                "an earlier l1_origin charges the earlier fee",
                vec![(alice, 1_000, 0)],
                (0, 0),
                vec![cast.inference(&cast.alice, 0, 10, 5)],
                vec![],
            )
        },
        spec(
            "a withdrawal debits its sender",
            vec![(bob, 500, 3)],
            (0, 0),
            vec![],
            vec![cast.withdrawal(&cast.bob, 3, 200)],
        ),
        spec(
            "deposits, then inferences, then withdrawals",
            vec![(alice, 40, 2), (bob, 500, 0), (seq, 9, 0)],
            (3, 4),
            vec![
                cast.inference(&cast.alice, 2, 7, 7),
                cast.inference(&cast.bob, 0, 100, 7),
                cast.inference(&cast.alice, 3, 7, 7),
            ],
            vec![cast.withdrawal(&cast.bob, 1, 493)],
        ),
        spec(
            "the sequencer may pay itself",
            vec![(seq, 7, 0)],
            (0, 0),
            vec![cast.inference(&cast.sequencer, 0, 7, 7)],
            vec![],
        ),
        spec(
            "a request with a wrong nonce",
            vec![(alice, 1_000, 0)],
            (0, 0),
            vec![cast.inference(&cast.alice, 1, 10, 7)],
            vec![],
        ),
        spec(
            "a fee other than the registered one",
            vec![(alice, 1_000, 0)],
            (0, 0),
            vec![cast.inference(&cast.alice, 0, 10, 5)],
            vec![],
        ),
        spec(
            "a fee above the request's max_fee",
            vec![(alice, 1_000, 0)],
            (0, 0),
            vec![cast.inference(&cast.alice, 0, 6, 7)],
            vec![],
        ),
        Spec {
            l1_origin: 8,
            ..spec(
                "a model not registered at l1_origin",
                vec![(alice, 1_000, 0)],
                (0, 0),
                vec![cast.inference(&cast.alice, 0, 10, 7)],
                vec![],
            )
        },
        Spec {
            batch_l1_block: 24,
            ..spec(
                "an l1_origin above the batch's L1 block",
                vec![(alice, 1_000, 0)],
                (0, 0),
                vec![cast.inference(&cast.alice, 0, 10, 7)],
                vec![],
            )
        },
        spec(
            "a balance below the fee",
            vec![(alice, 6, 0)],
            (0, 0),
            vec![cast.inference(&cast.alice, 0, 10, 7)],
            vec![],
        ),
        spec(
            "a request signed by another key",
            vec![(alice, 1_000, 0)],
            (0, 0),
            vec![cast.inference_signed_by(&cast.alice, &cast.bob, 0, 10, 7)],
            vec![],
        ),
        spec(
            "a withdrawal above the balance",
            vec![(bob, 500, 0)],
            (0, 0),
            vec![],
            vec![cast.withdrawal(&cast.bob, 0, 501)],
        ),
        spec(
            "a deposit that overflows a balance",
            vec![(carol, 1, 0)],
            (2, 3),
            vec![],
            vec![],
        ),
        spec(
            "a rule broken mid-block",
            vec![(bob, 10, 0)],
            (0, 2),
            vec![
                cast.inference(&cast.alice, 0, 10, 7),
                cast.inference(&cast.alice, 2, 10, 7),
                cast.inference(&cast.bob, 0, 10, 7),
            ],
            vec![],
        ),
    ];
    let cases = specs
        .into_iter()
        .map(|spec| run_case(spec, &cast, &deposits))
        .collect();
    StateVectors {
        chain_id: STATE_CHAIN_ID,
        deployer: STATE_DEPLOYER,
        rollup,
        sequencer: seq,
        model: StateModel {
            graph: hex_bytes(&encode_graph(&model.graph)),
            weights_root: id.weights_root,
            model_id: id.id,
            fees: FEE_HISTORY
                .iter()
                .map(|&(from_block, fee)| FeeChange { from_block, fee })
                .collect(),
        },
        deposits,
        cases,
    }
}

fn run_case(spec: Spec, cast: &Cast, queue: &[Deposit]) -> StateCase {
    let sequencer = cast.sequencer.address();
    let model_id = cast.model_id;
    let fees = move |model: &Hash, block: u64| fee_at(model, &model_id, block);
    let rules = StepRules {
        domain: cast.domain,
        sequencer,
        l1_origin: spec.l1_origin,
        batch_l1_block: spec.batch_l1_block,
        fee_at: &fees,
    };
    let pre = State::from_accounts(
        spec.pre
            .iter()
            .map(|&(address, balance, nonce)| (address, Account { balance, nonce })),
    );
    let (from, to) = spec.deposits;
    let deposits = &queue[from as usize..to as usize];
    let txs = block_txs(deposits, &spec.inferences, &spec.withdrawals);
    let mut after = pre.clone();
    let (states, rejected) = apply_trace(&mut after, &txs, &rules);

    // What the block's sequencer claims: the honest root, or for an invalid block the
    // root of applying its transactions regardless of the rules.
    let claimed_root = match &rejected {
        None => after.root(),
        Some(_) => lenient_root(&pre, &txs, &sequencer),
    };
    let header = BlockHeader {
        number: 1,
        parent_hash: BlockHeader::genesis().hash(),
        timestamp: 1_700_000_000,
        records_root: records_root(&spec.inferences, &cast.domain),
        state_root: claimed_root,
        deposits_consumed: to,
        withdrawals_root: withdrawals_root(&spec.withdrawals),
        record_count: spec.inferences.len() as u32,
        withdrawal_count: spec.withdrawals.len() as u32,
        l1_origin: spec.l1_origin,
    };
    let ctx = BlockStepContext {
        deposits_before: from,
        deposits: to - from,
        records: header.record_count,
        withdrawals: header.withdrawal_count,
        l1_origin: header.l1_origin,
        batch_l1_block: spec.batch_l1_block,
        records_root: header.records_root,
        withdrawals_root: header.withdrawals_root,
    };
    let steps = step_checks(
        &pre,
        &txs,
        &spec,
        cast,
        &rules,
        &ctx,
        rejected.as_ref().map(|(k, _)| *k),
    );
    let mut pre_copy = pre.clone();
    let body = BlockBody {
        header,
        inferences: spec.inferences,
        withdrawals: spec.withdrawals,
    };
    StateCase {
        name: spec.name.to_string(),
        pre_state: spec
            .pre
            .iter()
            .map(|&(address, balance, nonce)| AccountEntry {
                address,
                balance,
                nonce,
            })
            .collect(),
        pre_root: pre_copy.root(),
        parent_deposits_consumed: from,
        batch_l1_block: spec.batch_l1_block,
        header,
        batch_data: hex_bytes(&batch_data::encode(std::slice::from_ref(&body))),
        states: states.iter().map(to_hex).collect(),
        post_root: rejected.is_none().then(|| to_hex(&after.root())),
        rejected: rejected.map(|(index, error)| Rejection {
            index,
            error: error.to_string(),
        }),
        steps,
    }
}

/// The root after `txs` applied with no rule checked (an update that does not fit is
/// left out): what a sequencer that ignores the rules would claim.
fn lenient_root(pre: &State, txs: &[StateTx], sequencer: &Address) -> Hash {
    let mut state = pre.clone();
    for tx in txs {
        for (i, address) in tx.touched(sequencer).into_iter().enumerate() {
            let before = state.account(&address);
            state.set_account(address, tx.updated(i, before).unwrap_or(before));
        }
    }
    state.root()
}

/// The verifier's checks of one block: every honest step holds, the first step with a
/// wrong post-state does not, and the first invalid transaction's step does not (with
/// the witness and root a rule-ignoring sequencer would present).
fn step_checks(
    pre: &State,
    txs: &[StateTx],
    spec: &Spec,
    cast: &Cast,
    rules: &StepRules<'_>,
    ctx: &BlockStepContext,
    invalid: Option<usize>,
) -> Vec<StepCheck> {
    let sequencer = cast.sequencer.address();
    let record_leaves: Vec<Hash> = spec
        .inferences
        .iter()
        .map(|tx| tx.record(&cast.domain).hash())
        .collect();
    let withdrawal_leaves: Vec<Hash> = spec
        .withdrawals
        .iter()
        .map(|w| w.withdrawal.leaf())
        .collect();
    let deposits = spec.deposits.1 - spec.deposits.0;
    let tx_proof = |k: usize| -> Vec<Hash> {
        let k = k as u64;
        if k < deposits {
            return Vec::new();
        }
        let i = (k - deposits) as usize;
        if i < record_leaves.len() {
            leaf_path(&record_leaves, i)
        } else {
            leaf_path(&withdrawal_leaves, i - record_leaves.len())
        }
    };
    let check =
        |k: usize, pre: &Hash, post: &Hash, holds: bool, proof: &StateStepProof| StepCheck {
            step: k as u64,
            pre: to_hex(pre),
            post: to_hex(post),
            holds,
            calldata: hex_bytes(&verify_calldata(ctx, k as u64, pre, post, proof)),
        };
    let mut checks = Vec::new();
    let mut state = pre.clone();
    for (k, tx) in txs.iter().enumerate() {
        let before = state.root();
        if invalid == Some(k) {
            let (proof, claimed) = witness(&state, tx, tx_proof(k), &sequencer);
            checks.push(check(k, &before, &claimed, false, &proof));
            break;
        }
        let Ok(proof) = prove(&state, tx, tx_proof(k), rules) else {
            break;
        };
        if tx.apply(&mut state, rules).is_err() {
            break;
        }
        let after = state.root();
        checks.push(check(k, &before, &after, true, &proof));
        if k == 0 {
            let mut wrong = after;
            wrong[31] ^= 1;
            checks.push(check(k, &before, &wrong, false, &proof));
        }
    }
    checks
}
