// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {BatchData} from "./BatchData.sol";
import {Bridge} from "./Bridge.sol";
import {L2Block} from "./L2Block.sol";
import {Merkle} from "./Merkle.sol";
import {ModelRegistry} from "./ModelRegistry.sol";
import {Rollup} from "./Rollup.sol";

/// @title StateStepVerifier
/// @notice The one-step proof of the L2 state transition (specs/state.md §6): given the
/// agreed state root `S_k` before transaction `k` of a block and the disputed root
/// `S_{k+1}` after it, recomputes the transaction's effect on the opened accounts of the
/// sparse state tree (specs/l2.md) and says whether the claimed root follows. It also
/// reads, for `DisputeGame.openState`, what a state game disputes from the block headers.
/// @dev A malformed proof (a transaction not bound to L1, wrong accounts, an opening that
/// does not fold to the current root) reverts; a transaction that breaks a rule of
/// state.md §3 makes `verify` return false, since no honest proof of it exists.
contract StateStepVerifier {
    /// An account's value before its update and its path in the state tree: bit `l` of
    /// `present` (`l = 0` is the leaf's sibling) says whether the sibling at level `l` is
    /// non-zero; `siblings` lists the non-zero ones, leaf level first.
    struct AccountOpening {
        address account;
        uint128 balance;
        uint64 nonce;
        uint256 present;
        bytes32[] siblings;
    }

    /// One step's proof. `tx` by kind: a deposit `sender ‖ recipient ‖ amount(32) ‖
    /// l1_block(8)` (80 bytes); an inference `sender ‖ nonce(8) ‖ model_id ‖ input_root ‖
    /// max_fee(16) ‖ output_root ‖ fee(16)` (156 bytes); a withdrawal `sender ‖ nonce(8) ‖
    /// recipient ‖ amount(16)` (64 bytes). `signature` (65 bytes `r ‖ s ‖ v`) and `txProof`
    /// (the merkle.md path of the record or withdrawal leaf) are empty for deposits.
    /// `accounts`: deposit `[recipient]`, inference `[sender, sequencer]`, withdrawal `[sender]`.
    struct StateStepProof {
        bytes tx;
        bytes signature;
        bytes32[] txProof;
        AccountOpening[] accounts;
    }

    /// What every step of a state game is checked against, read from the disputed block's
    /// header (and its parent's) when the game opens.
    struct StepContext {
        /// The parent's `deposits_consumed`: step `k < deposits` is queue entry `depositsBefore + k`.
        uint64 depositsBefore;
        /// `d`: deposits the block consumes.
        uint64 deposits;
        /// `r`: the block's `record_count`.
        uint32 records;
        /// `w`: the block's `withdrawal_count`.
        uint32 withdrawals;
        /// The block's `l1_origin`: inferences pay `feeAt(model, l1Origin)`.
        uint64 l1Origin;
        /// The L1 block of the batch that posted the block (`l1Origin` must not be above).
        uint64 batchL1Block;
        bytes32 recordsRoot;
        bytes32 withdrawalsRoot;
    }

    /// The claim a state game disputes: block `blockNumber` takes the state from
    /// `startState` (its parent's root) to `endState` (its own) in `steps` transactions.
    struct StateClaim {
        uint64 blockNumber;
        uint64 steps;
        /// The header breaks a rule by itself (its deposits go back or past the batch's
        /// `depositsEnd`, or its `l1_origin` is above the batch's L1 block): no game is needed.
        bool headerInvalid;
        bytes32 startState;
        bytes32 endState;
        StepContext context;
    }

    uint256 public constant TREE_DEPTH = 160;
    uint256 internal constant DEPOSIT_TX_BYTES = 80;
    uint256 internal constant INFERENCE_TX_BYTES = 156;
    uint256 internal constant WITHDRAWAL_TX_BYTES = 64;
    uint256 internal constant SIGNATURE_BYTES = 65;
    bytes1 internal constant DEPOSIT_DOMAIN = 0x03;
    bytes1 internal constant RECORD_DOMAIN = 0x06;
    bytes1 internal constant ACCOUNT_DOMAIN = 0x08;
    bytes1 internal constant WITHDRAWAL_DOMAIN = 0x09;
    /// `n / 2` for the secp256k1 group order `n`: a larger `s` is refused (EIP-2).
    uint256 internal constant HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 internal constant REQUEST_TYPEHASH =
        keccak256("InferenceRequest(address sender,uint64 nonce,bytes32 modelId,bytes32 input,uint256 maxFee)");
    bytes32 internal constant WITHDRAWAL_TYPEHASH =
        keccak256("Withdrawal(address sender,uint64 nonce,address recipient,uint256 amount)");

    Rollup public immutable rollup;
    Bridge public immutable bridge;
    ModelRegistry public immutable registry;
    uint256 private immutable cachedChainId;
    bytes32 private immutable cachedSeparator;

    error BadHeaderCount(uint256 given);
    error WrongPreviousBatch(uint64 index);
    error WrongParent(bytes32 expected, bytes32 actual);
    error StepOutOfRange(uint64 step);
    error BadTxLength(uint256 given, uint256 expected);
    error UnexpectedWitness();
    error BadSignatureLength(uint256 given);
    error DepositNotInQueue(uint256 index);
    error TxNotInBlock(uint256 index);
    error WrongAccountCount(uint256 given, uint256 expected);
    error WrongAccount(uint256 which, address given, address expected);
    /// Opening `which` lists its siblings wrongly (count, a zero sibling, bits above 160).
    error BadOpening(uint256 which);
    /// Opening `which` with its old leaf folds to `actual`, not the current root `expected`.
    error OpeningMismatch(uint256 which, bytes32 expected, bytes32 actual);

    constructor(Rollup rollup_, ModelRegistry registry_) {
        rollup = rollup_;
        bridge = rollup_.bridge();
        registry = registry_;
        cachedChainId = block.chainid;
        cachedSeparator = _separator();
    }

    // ---------------------------------------------------------------- opening a game

    /// @notice Reads the claim of block `headers[1]` of `batch`: `headers[0]` is its
    /// parent, `headers[1..]` chain to the batch's output root with the last at
    /// `lastBlock`. When the block is the batch's first, the parent's hash must be the
    /// output root of `previousBatch` (current, one index lower) or, for block 1, the
    /// genesis hash. Reverts when the headers do not show that; does not check `batch`
    /// itself (the dispute game does, through the rollup).
    function readClaim(
        BatchData.Header calldata batch,
        BatchData.Header calldata previousBatch,
        bytes[] calldata headers
    ) external view returns (StateClaim memory c) {
        if (headers.length < 2) revert BadHeaderCount(headers.length);
        bytes calldata parent = headers[0];
        bytes calldata disputed = headers[1];
        L2Block.check(parent, 0);
        L2Block.checkInBatch(batch, disputed, headers, 2, 1);
        bytes32 parentHash = keccak256(parent);
        uint64 number = L2Block.number(disputed);
        // number >= firstBlock >= 1, so number - 1 cannot underflow.
        if (L2Block.parentHash(disputed) != parentHash || L2Block.number(parent) != number - 1) {
            revert L2Block.BrokenChain(1);
        }
        if (number == batch.firstBlock) {
            bytes32 expected = L2Block.GENESIS_HASH;
            if (number != 1) {
                if (batch.index == 0 || previousBatch.index != batch.index - 1 || !rollup.isCurrent(previousBatch)) {
                    revert WrongPreviousBatch(previousBatch.index);
                }
                expected = previousBatch.outputRoot;
            }
            if (parentHash != expected) revert WrongParent(expected, parentHash);
        }

        c.blockNumber = number;
        c.startState = L2Block.stateRoot(parent);
        c.endState = L2Block.stateRoot(disputed);
        StepContext memory ctx = c.context;
        ctx.depositsBefore = L2Block.depositsConsumed(parent);
        ctx.l1Origin = L2Block.l1Origin(disputed);
        ctx.batchL1Block = batch.l1Block;
        ctx.recordsRoot = L2Block.recordsRoot(disputed);
        ctx.withdrawalsRoot = L2Block.withdrawalsRoot(disputed);
        uint64 consumed = L2Block.depositsConsumed(disputed);
        c.headerInvalid = consumed < ctx.depositsBefore || consumed > batch.depositsEnd || ctx.l1Origin > batch.l1Block;
        if (!c.headerInvalid) {
            ctx.deposits = consumed - ctx.depositsBefore;
            ctx.records = L2Block.recordCount(disputed);
            ctx.withdrawals = L2Block.withdrawalCount(disputed);
            c.steps = ctx.deposits + ctx.records + ctx.withdrawals;
        }
    }

    // ---------------------------------------------------------------- one step

    /// @notice Whether transaction `step` of the block described by `ctx` takes the state
    /// root `pre` to `post`. Step `k < d` is a deposit, `d <= k < d + r` record `k - d`,
    /// then withdrawal `k - d - r`. Reverts on a malformed proof; false when the
    /// transaction breaks a rule or the resulting root is not `post`.
    function verify(StepContext calldata ctx, uint64 step, bytes32 pre, bytes32 post, StateStepProof calldata proof)
        external
        view
        returns (bool claimHolds)
    {
        if (step < ctx.deposits) return _deposit(uint256(ctx.depositsBefore) + step, pre, post, proof);
        uint256 i = step - ctx.deposits;
        if (i < ctx.records) return _inference(ctx, i, pre, post, proof);
        i -= ctx.records;
        if (i >= ctx.withdrawals) revert StepOutOfRange(step);
        return _withdrawal(ctx.withdrawalsRoot, i, pre, post, proof);
    }

    /// Deposit `q` credits its recipient; the balance may not pass 2^128 - 1.
    function _deposit(uint256 q, bytes32 pre, bytes32 post, StateStepProof calldata proof) private view returns (bool) {
        bytes calldata t = proof.tx;
        if (t.length != DEPOSIT_TX_BYTES) revert BadTxLength(t.length, DEPOSIT_TX_BYTES);
        if (proof.signature.length != 0 || proof.txProof.length != 0) revert UnexpectedWitness();
        // The canonical deposit bytes are 0x03 ‖ index ‖ tx (bridge.md). accumulatorAt
        // reverts for a deposit not queued yet, which also keeps q below 2^64.
        bytes32 accAfter = bridge.accumulatorAt(q + 1);
        // casting to 'uint64' is safe because q is below the queue length
        // forge-lint: disable-next-line(unsafe-typecast)
        bytes32 hash = keccak256(abi.encodePacked(DEPOSIT_DOMAIN, uint64(q), t));
        if (keccak256(abi.encodePacked(bridge.accumulatorAt(q), hash)) != accAfter) revert DepositNotInQueue(q);

        AccountOpening calldata a = _accounts(proof, 1)[0];
        _checkAccount(0, a, address(bytes20(t[20:40])));
        (bool ok, bytes32 root) = _credit(0, a, pre, uint256(bytes32(t[40:72])));
        return ok && root == post;
    }

    /// Record `i`: the sender pays the fee and its nonce goes up, then the sequencer is
    /// credited the fee.
    function _inference(StepContext calldata ctx, uint256 i, bytes32 pre, bytes32 post, StateStepProof calldata proof)
        private
        view
        returns (bool)
    {
        bytes calldata t = proof.tx;
        bytes32 digest = _bindRecord(ctx.recordsRoot, i, proof);
        address sender = address(bytes20(t[0:20]));
        AccountOpening[] calldata accounts = _accounts(proof, 2);
        _checkAccount(0, accounts[0], sender);
        _checkAccount(1, accounts[1], rollup.sequencer());

        uint128 fee = uint128(bytes16(t[140:156]));
        bool valid = _signedBy(digest, proof.signature, sender) && _feeHolds(ctx, t);
        (bool ok, bytes32 root) = _debit(accounts[0], pre, valid, uint64(bytes8(t[20:28])), fee);
        if (!ok) return false;
        (ok, root) = _credit(1, accounts[1], root, fee);
        return ok && root == post;
    }

    /// Checks that the inference `proof.tx` is record `i` under `recordsRoot`; returns its
    /// request hash (the digest its sender signed).
    function _bindRecord(bytes32 recordsRoot, uint256 i, StateStepProof calldata proof)
        private
        view
        returns (bytes32 digest)
    {
        bytes calldata t = proof.tx;
        if (t.length != INFERENCE_TX_BYTES) revert BadTxLength(t.length, INFERENCE_TX_BYTES);
        digest = requestHash(
            address(bytes20(t[0:20])),
            uint64(bytes8(t[20:28])),
            bytes32(t[28:60]),
            bytes32(t[60:92]),
            uint256(uint128(bytes16(t[92:108])))
        );
        // record = 0x06 ‖ request_hash ‖ sender ‖ model_id ‖ input_root ‖ output_root ‖ fee
        bytes32 recordHash = keccak256(abi.encodePacked(RECORD_DOMAIN, digest, t[0:20], t[28:92], t[108:156]));
        if (!Merkle.verify(recordHash, i, proof.txProof, recordsRoot)) revert TxNotInBlock(i);
    }

    /// Withdrawal `i`: the sender's balance drops by the amount and its nonce goes up.
    function _withdrawal(bytes32 withdrawalsRoot, uint256 i, bytes32 pre, bytes32 post, StateStepProof calldata proof)
        private
        view
        returns (bool)
    {
        bytes calldata t = proof.tx;
        if (t.length != WITHDRAWAL_TX_BYTES) revert BadTxLength(t.length, WITHDRAWAL_TX_BYTES);
        // The leaf is 0x09 ‖ tx (state.md §1).
        if (!Merkle.verify(keccak256(abi.encodePacked(WITHDRAWAL_DOMAIN, t)), i, proof.txProof, withdrawalsRoot)) {
            revert TxNotInBlock(i);
        }
        address sender = address(bytes20(t[0:20]));
        uint64 nonce = uint64(bytes8(t[20:28]));
        uint128 amount = uint128(bytes16(t[48:64]));
        bytes32 digest = withdrawalHash(sender, nonce, address(bytes20(t[28:48])), amount);

        AccountOpening calldata a = _accounts(proof, 1)[0];
        _checkAccount(0, a, sender);
        bool valid = _signedBy(digest, proof.signature, sender) && amount != 0;
        (bool ok, bytes32 root) = _debit(a, pre, valid, nonce, amount);
        return ok && root == post;
    }

    /// Opening 0 pays `amount` and uses `nonce`: valid when `valid` (the checks that do not
    /// read the account), the nonce is the account's next and the balance covers it.
    function _debit(AccountOpening calldata a, bytes32 root, bool valid, uint64 nonce, uint128 amount)
        private
        pure
        returns (bool ok, bytes32 newRoot)
    {
        ok = valid && nonce == a.nonce && a.balance >= amount && nonce < type(uint64).max;
        newRoot = _apply(0, a, root, ok ? accountLeaf(a.account, a.balance - amount, nonce + 1) : bytes32(0));
    }

    /// Opening `which` receives `amount`: valid while the balance stays within 128 bits.
    function _credit(uint256 which, AccountOpening calldata a, bytes32 root, uint256 amount)
        private
        pure
        returns (bool ok, bytes32 newRoot)
    {
        uint256 balance = uint256(a.balance) + amount;
        ok = balance <= type(uint128).max;
        // casting to 'uint128' is only used when ok, i.e. when it fits
        // forge-lint: disable-next-line(unsafe-typecast)
        newRoot = _apply(which, a, root, ok ? accountLeaf(a.account, uint128(balance), a.nonce) : bytes32(0));
    }

    function _checkAccount(uint256 which, AccountOpening calldata a, address expected) private pure {
        if (a.account != expected) revert WrongAccount(which, a.account, expected);
    }

    // ---------------------------------------------------------------- hashes

    /// @notice The EIP-712 domain separator: name "Verdict", version "1", this chain, the Rollup.
    function domainSeparator() public view returns (bytes32) {
        return block.chainid == cachedChainId ? cachedSeparator : _separator();
    }

    /// @notice The signed digest of an inference request, which is also its record's
    /// `request_hash` (specs/l2.md).
    function requestHash(address sender, uint64 nonce, bytes32 modelId, bytes32 input, uint256 maxFee)
        public
        view
        returns (bytes32)
    {
        return _digest(keccak256(abi.encode(REQUEST_TYPEHASH, sender, nonce, modelId, input, maxFee)));
    }

    /// @notice The signed digest of a withdrawal (specs/state.md §1).
    function withdrawalHash(address sender, uint64 nonce, address recipient, uint256 amount)
        public
        view
        returns (bytes32)
    {
        return _digest(keccak256(abi.encode(WITHDRAWAL_TYPEHASH, sender, nonce, recipient, amount)));
    }

    /// @notice An account's leaf: zero for the empty account, else
    /// `keccak(0x08 ‖ address ‖ balance(16) ‖ nonce(8))`.
    function accountLeaf(address account, uint128 balance, uint64 nonce) public pure returns (bytes32) {
        if (balance == 0 && nonce == 0) return bytes32(0);
        return keccak256(abi.encodePacked(ACCOUNT_DOMAIN, account, balance, nonce));
    }

    /// @notice The state root an opening folds to with its account's value as leaf.
    function openingRoot(AccountOpening calldata a) external pure returns (bytes32 root) {
        bytes32 leaf = accountLeaf(a.account, a.balance, a.nonce);
        (root,) = _fold(0, a.account, leaf, leaf, a.present, a.siblings);
    }

    // ---------------------------------------------------------------- internals

    function _separator() private view returns (bytes32) {
        return
            keccak256(abi.encode(DOMAIN_TYPEHASH, keccak256("Verdict"), keccak256("1"), block.chainid, address(rollup)));
    }

    function _digest(bytes32 structHash) private view returns (bytes32) {
        return keccak256(abi.encodePacked(bytes2(0x1901), domainSeparator(), structHash));
    }

    function _accounts(StateStepProof calldata proof, uint256 expected)
        private
        pure
        returns (AccountOpening[] calldata accounts)
    {
        accounts = proof.accounts;
        if (accounts.length != expected) revert WrongAccountCount(accounts.length, expected);
    }

    /// The fee rule of an inference `t`: its model was registered at the block's
    /// `l1_origin`, which is not above the batch's L1 block, its fee is the one in force
    /// there, and it is at most the request's `max_fee`.
    function _feeHolds(StepContext calldata ctx, bytes calldata t) private view returns (bool) {
        uint128 fee = uint128(bytes16(t[140:156]));
        if (ctx.l1Origin > ctx.batchL1Block || fee > uint128(bytes16(t[92:108]))) return false;
        (bool registered, uint256 current) = registry.feeAt(bytes32(t[28:60]), ctx.l1Origin);
        return registered && current == fee;
    }

    /// A 65-byte `r ‖ s ‖ v` signature by `signer` over `digest`: `v` 27/28 or 0/1, `r`
    /// and `s` non-zero, `s <= n/2`. A wrong length is malformed (reverts).
    function _signedBy(bytes32 digest, bytes calldata signature, address signer) private pure returns (bool) {
        if (signature.length != SIGNATURE_BYTES) revert BadSignatureLength(signature.length);
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        if (v < 27) v += 27;
        if ((v != 27 && v != 28) || r == 0 || s == 0 || uint256(s) > HALF_ORDER) return false;
        address recovered = ecrecover(digest, v, r, s);
        return recovered != address(0) && recovered == signer;
    }

    /// Checks that opening `which` folds to `root` with its old leaf; returns the root
    /// with `newLeaf` in its place over the same siblings.
    function _apply(uint256 which, AccountOpening calldata a, bytes32 root, bytes32 newLeaf)
        private
        pure
        returns (bytes32 newRoot)
    {
        bytes32 oldRoot;
        (oldRoot, newRoot) =
            _fold(which, a.account, accountLeaf(a.account, a.balance, a.nonce), newLeaf, a.present, a.siblings);
        if (oldRoot != root) revert OpeningMismatch(which, root, oldRoot);
    }

    /// Folds two leaves of `account` up the same 160 siblings at once. At level `l`
    /// (0 = the leaf's sibling) the running node is a right child iff bit `l` of the
    /// address (counted from its least significant end, i.e. bit `159 - l` most
    /// significant first) is 1; parents follow the zero-collapsing rule
    /// `parent(0, 0) = 0`, else `keccak(0x01 ‖ left ‖ right)`.
    function _fold(
        uint256 which,
        address account,
        bytes32 oldLeaf,
        bytes32 newLeaf,
        uint256 present,
        bytes32[] calldata siblings
    ) private pure returns (bytes32 oldRoot, bytes32 newRoot) {
        if (present >> TREE_DEPTH != 0) revert BadOpening(which);
        bool bad;
        assembly ("memory-safe") {
            function parent(buf, left, right) -> h {
                if or(left, right) {
                    mstore(add(buf, 1), left)
                    mstore(add(buf, 33), right)
                    h := keccak256(buf, 65)
                }
            }
            // 65 bytes of scratch above the free memory pointer: 0x01 ‖ left ‖ right.
            let buf := mload(0x40)
            mstore8(buf, 0x01)
            let next := siblings.offset
            let end := add(next, shl(5, siblings.length))
            oldRoot := oldLeaf
            newRoot := newLeaf
            for { let l := 0 } lt(l, 160) { l := add(l, 1) } {
                let sibling := 0
                if and(shr(l, present), 1) {
                    // A listed sibling must exist and be non-zero (zeros are not listed).
                    bad := or(bad, iszero(lt(next, end)))
                    sibling := calldataload(next)
                    bad := or(bad, iszero(sibling))
                    next := add(next, 32)
                }
                switch and(shr(l, account), 1)
                case 0 {
                    oldRoot := parent(buf, oldRoot, sibling)
                    newRoot := parent(buf, newRoot, sibling)
                }
                default {
                    oldRoot := parent(buf, sibling, oldRoot)
                    newRoot := parent(buf, sibling, newRoot)
                }
            }
            // Every listed sibling used.
            bad := or(bad, iszero(eq(next, end)))
        }
        if (bad) revert BadOpening(which);
    }
}
