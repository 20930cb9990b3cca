// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {Bridge} from "../src/Bridge.sol";
import {L2Block} from "../src/L2Block.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {Rollup} from "../src/Rollup.sol";
import {StateStepVerifier as V} from "../src/StateStepVerifier.sol";
import {Acct, L2Builder as L2} from "./harness/L2Builder.sol";

/// Contracts, keys and a model with a fee history, shared by the step and game tests.
abstract contract StateFixture is Test {
    uint256 internal constant ALICE_KEY = 0xA11CE;
    uint256 internal constant BOB_KEY = 0xB0B;
    uint256 internal constant SEQ_KEY = 0x5E0;
    uint64 internal constant WINDOW = 100;
    uint64 internal constant DEADLINE = 64;
    bytes32 internal constant INPUT = keccak256("input");
    bytes32 internal constant OUTPUT = keccak256("output");

    address internal alice;
    address internal bob;
    address internal seq;
    Bridge internal bridge;
    Rollup internal rollup;
    ModelRegistry internal registry;
    V internal verifier;
    bytes32 internal modelId;

    function setUp() public virtual {
        alice = vm.addr(ALICE_KEY);
        bob = vm.addr(BOB_KEY);
        seq = vm.addr(SEQ_KEY);
        bridge = new Bridge();
        rollup = new Rollup(bridge, seq, WINDOW, 1 ether, DEADLINE);
        bridge.setRollup(address(rollup));
        registry = new ModelRegistry();
        verifier = new V(rollup, registry);
        // Fee 5 from block 10, 7 from block 20.
        vm.roll(10);
        // One ArgMax over an i8 [4] input (specs/model-format.md).
        bytes memory graph = hex"00010100000004" hex"3d4ccccd" hex"3dcccccd" hex"00000001" hex"0a00000000";
        modelId = registry.register(graph, keccak256("weights"), 5, "m");
        vm.roll(20);
        registry.setFee(modelId, 7);
        vm.roll(40);
    }

    function sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    function inferenceTx(address sender, uint64 nonce, uint128 maxFee, uint128 fee)
        internal
        view
        returns (bytes memory)
    {
        return abi.encodePacked(sender, nonce, modelId, INPUT, maxFee, OUTPUT, fee);
    }

    /// The record of an inference tx, from the spec's formula (l2.md).
    function recordHash(bytes memory t) internal view returns (bytes32) {
        (address sender, uint64 nonce, uint128 maxFee, uint128 fee) = fields(t);
        bytes32 digest = verifier.requestHash(sender, nonce, modelId, INPUT, maxFee);
        return keccak256(abi.encodePacked(uint8(6), digest, sender, modelId, INPUT, OUTPUT, fee));
    }

    function fields(bytes memory t) internal pure returns (address sender, uint64 nonce, uint128 maxFee, uint128 fee) {
        assembly {
            sender := shr(96, mload(add(t, 32)))
            nonce := shr(192, mload(add(t, 52)))
            maxFee := shr(128, mload(add(t, 124)))
            fee := shr(128, mload(add(t, 172)))
        }
    }

    function withdrawalTx(address sender, uint64 nonce, address recipient, uint128 amount)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodePacked(sender, nonce, recipient, amount);
    }

    function signWithdrawal(uint256 key, bytes memory t) internal view returns (bytes memory) {
        address sender;
        uint64 nonce;
        address recipient;
        uint128 amount;
        assembly {
            sender := shr(96, mload(add(t, 32)))
            nonce := shr(192, mload(add(t, 52)))
            recipient := shr(96, mload(add(t, 60)))
            amount := shr(128, mload(add(t, 80)))
        }
        return sign(key, verifier.withdrawalHash(sender, nonce, recipient, amount));
    }

    function depositTx(address sender, address recipient, uint256 amount, uint64 l1Block)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodePacked(sender, recipient, amount, l1Block);
    }

    function one(V.AccountOpening memory a) internal pure returns (V.AccountOpening[] memory as_) {
        as_ = new V.AccountOpening[](1);
        as_[0] = a;
    }

    function two(V.AccountOpening memory a, V.AccountOpening memory b)
        internal
        pure
        returns (V.AccountOpening[] memory as_)
    {
        as_ = new V.AccountOpening[](2);
        (as_[0], as_[1]) = (a, b);
    }

    function accts1(address a, uint128 balance, uint64 nonce) internal pure returns (Acct[] memory s) {
        s = new Acct[](1);
        s[0] = Acct(a, balance, nonce);
    }
}

contract StateStepVerifierTest is StateFixture {
    V.StepContext internal ctx;

    // ------------------------------------------------------------ hashes

    function test_hashes_follow_the_spec() public view {
        bytes32 separator = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Verdict"),
                keccak256("1"),
                block.chainid,
                address(rollup)
            )
        );
        assertEq(verifier.domainSeparator(), separator, "domain");
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256("InferenceRequest(address sender,uint64 nonce,bytes32 modelId,bytes32 input,uint256 maxFee)"),
                alice,
                uint64(3),
                modelId,
                INPUT,
                uint256(9)
            )
        );
        assertEq(
            verifier.requestHash(alice, 3, modelId, INPUT, 9),
            keccak256(abi.encodePacked(bytes2(0x1901), separator, structHash)),
            "request"
        );
        structHash = keccak256(
            abi.encode(
                keccak256("Withdrawal(address sender,uint64 nonce,address recipient,uint256 amount)"),
                alice,
                uint64(3),
                bob,
                uint256(9)
            )
        );
        assertEq(
            verifier.withdrawalHash(alice, 3, bob, 9),
            keccak256(abi.encodePacked(bytes2(0x1901), separator, structHash)),
            "withdrawal"
        );
        assertEq(verifier.accountLeaf(alice, 0, 0), bytes32(0), "empty leaf");
        assertEq(
            verifier.accountLeaf(alice, 5, 1),
            keccak256(abi.encodePacked(uint8(8), alice, uint128(5), uint64(1))),
            "leaf"
        );
        assertEq(L2Block.GENESIS_HASH, keccak256(L2.genesis()), "genesis hash");
    }

    function test_the_domain_follows_the_chain_id() public {
        bytes32 before = verifier.domainSeparator();
        vm.chainId(block.chainid + 1);
        assertTrue(verifier.domainSeparator() != before, "another chain, another domain");
    }

    // ------------------------------------------------------------ deposits

    function depositCase(uint128 startBalance, uint256 amount)
        internal
        returns (bytes32 pre, bytes32 post, V.StateStepProof memory p)
    {
        vm.deal(address(this), amount);
        bridge.deposit{value: amount}(alice);
        Acct[] memory s = L2.with_(accts1(bob, 3, 1), alice, startBalance, 0);
        pre = L2.root(s);
        uint256 total = uint256(startBalance) + amount;
        // casting to 'uint128' is safe because the total was checked to fit
        // forge-lint: disable-next-line(unsafe-typecast)
        if (total <= type(uint128).max) post = L2.root(L2.with_(s, alice, uint128(total), 0));
        p.tx = depositTx(address(this), alice, amount, uint64(block.number));
        p.accounts = one(L2.opening(s, alice));
        ctx.depositsBefore = 0;
        ctx.deposits = 1;
    }

    function test_a_deposit_credits_its_recipient() public {
        (bytes32 pre, bytes32 post, V.StateStepProof memory p) = depositCase(0, 50);
        assertTrue(verifier.verify(ctx, 0, pre, post, p), "holds");
        assertTrue(!verifier.verify(ctx, 0, pre, bytes32(uint256(post) ^ 1), p), "a wrong root fails");
    }

    function test_malformed_deposit_proofs_revert() public {
        (bytes32 pre, bytes32 post, V.StateStepProof memory p) = depositCase(10, 50);
        bytes memory goodTx = p.tx;
        V.StateStepProof memory bad = p; // the same proof: mended after each change

        bad.tx = depositTx(address(this), alice, 51, uint64(block.number));
        vm.expectRevert(abi.encodeWithSelector(V.DepositNotInQueue.selector, 0));
        verifier.verify(ctx, 0, pre, post, bad);
        bad.tx = new bytes(79);
        vm.expectRevert(abi.encodeWithSelector(V.BadTxLength.selector, 79, 80));
        verifier.verify(ctx, 0, pre, post, bad);
        bad.tx = goodTx;

        ctx.depositsBefore = 1; // deposit 1 is not queued
        vm.expectRevert(abi.encodeWithSelector(Bridge.CountBeyondQueue.selector, 2, 1));
        verifier.verify(ctx, 0, pre, post, p);
        ctx.depositsBefore = 0;

        bad.signature = new bytes(65);
        vm.expectRevert(V.UnexpectedWitness.selector);
        verifier.verify(ctx, 0, pre, post, bad);
        bad.signature = "";

        bad.accounts = one(L2.opening(L2.with_(accts1(bob, 3, 1), alice, 10, 0), bob));
        vm.expectRevert(abi.encodeWithSelector(V.WrongAccount.selector, 0, bob, alice));
        verifier.verify(ctx, 0, pre, post, bad);
        bad.accounts = two(p.accounts[0], p.accounts[0]);
        vm.expectRevert(abi.encodeWithSelector(V.WrongAccountCount.selector, 2, 1));
        verifier.verify(ctx, 0, pre, post, bad);

        // An opening of a wrong value does not fold to S_k.
        V.AccountOpening memory o = L2.opening(L2.with_(accts1(bob, 3, 1), alice, 10, 0), alice);
        o.balance = 11;
        bad.accounts = one(o);
        vm.expectPartialRevert(V.OpeningMismatch.selector);
        verifier.verify(ctx, 0, pre, post, bad);
        o.balance = 10;

        // Sibling lists that do not match `present`.
        bytes32[] memory siblings = o.siblings;
        o.siblings = new bytes32[](siblings.length - 1);
        for (uint256 i = 0; i < o.siblings.length; i++) {
            o.siblings[i] = siblings[i];
        }
        vm.expectRevert(abi.encodeWithSelector(V.BadOpening.selector, 0));
        verifier.verify(ctx, 0, pre, post, bad);
        o.siblings = siblings;
        o.present |= 1 << 160;
        vm.expectRevert(abi.encodeWithSelector(V.BadOpening.selector, 0));
        verifier.verify(ctx, 0, pre, post, bad);
        o.present ^= 1 << 160;
        assertTrue(verifier.verify(ctx, 0, pre, post, bad), "repaired");

        vm.expectRevert(abi.encodeWithSelector(V.StepOutOfRange.selector, 1));
        verifier.verify(ctx, 1, pre, post, p);
    }

    /// A balance may not pass 2^128 - 1: such a deposit makes the block invalid.
    function test_a_deposit_that_overflows_a_balance_breaks_the_rules() public {
        (bytes32 pre,, V.StateStepProof memory p) = depositCase(type(uint128).max - 10, 11);
        assertTrue(!verifier.verify(ctx, 0, pre, pre, p), "overflow");
    }

    // ------------------------------------------------------------ inferences

    /// A block with two records; step `1 + i` (after one deposit) is record `i`.
    function inferenceCase(bytes memory t, bytes memory signature, Acct[] memory s, uint256 index)
        internal
        returns (V.StateStepProof memory p, bytes32 pre)
    {
        bytes32 other = keccak256("another record");
        bytes32 mine = recordHash(t);
        (ctx.deposits, ctx.records, ctx.l1Origin, ctx.batchL1Block) = (1, 2, 25, 30);
        ctx.recordsRoot = index == 0 ? L2.parent(mine, other) : L2.parent(other, mine);
        p.tx = t;
        p.signature = signature;
        p.txProof = new bytes32[](1);
        p.txProof[0] = other;
        (address sender,,,) = fields(t);
        p.accounts = two(L2.opening(s, sender), V.AccountOpening(seq, 0, 0, 0, new bytes32[](0)));
        pre = L2.root(s);
    }

    /// The sender pays the fee in force at l1_origin (7) and its nonce goes up; the
    /// sequencer (opened after the first update) is credited.
    function test_an_inference_pays_the_sequencer() public {
        Acct[] memory s = L2.with_(accts1(alice, 100, 4), seq, 1, 0);
        bytes memory t = inferenceTx(alice, 4, 10, 7);
        (V.StateStepProof memory p, bytes32 pre) =
            inferenceCase(t, sign(ALICE_KEY, verifier.requestHash(alice, 4, modelId, INPUT, 10)), s, 1);
        Acct[] memory mid = L2.with_(s, alice, 93, 5);
        p.accounts[1] = L2.opening(mid, seq);
        bytes32 post = L2.root(L2.with_(mid, seq, 8, 0));
        assertTrue(verifier.verify(ctx, 2, pre, post, p), "holds");
        assertTrue(!verifier.verify(ctx, 2, pre, L2.root(mid), p), "the sequencer must be credited");

        // The second opening must fold to the root after the first update.
        p.accounts[1] = L2.opening(s, seq);
        vm.expectPartialRevert(V.OpeningMismatch.selector);
        verifier.verify(ctx, 2, pre, post, p);
        p.accounts[1] = L2.opening(mid, seq);

        // v as 0/1 is accepted too.
        p.signature[64] = bytes1(uint8(p.signature[64]) - 27);
        assertTrue(verifier.verify(ctx, 2, pre, post, p), "v in 0/1");
    }

    /// When the sender is the sequencer the two updates land on one account.
    function test_the_sequencer_may_pay_itself() public {
        Acct[] memory s = accts1(seq, 50, 0);
        bytes memory t = inferenceTx(seq, 0, 7, 7);
        (V.StateStepProof memory p, bytes32 pre) =
            inferenceCase(t, sign(SEQ_KEY, verifier.requestHash(seq, 0, modelId, INPUT, 7)), s, 0);
        Acct[] memory mid = L2.with_(s, seq, 43, 1);
        p.accounts[1] = L2.opening(mid, seq);
        assertTrue(verifier.verify(ctx, 1, pre, L2.root(L2.with_(mid, seq, 50, 1)), p), "holds");
    }

    /// Each rule of state.md §3 broken once: the step returns false whatever the root.
    function test_an_inference_breaking_a_rule_fails() public {
        Acct[] memory s = accts1(alice, 100, 4);
        bytes32 anyPost = L2.root(L2.with_(L2.with_(s, alice, 93, 5), seq, 7, 0));
        // (nonce, maxFee, fee, l1Origin, balance, signer)
        uint64[6][8] memory cases = [
            [uint64(5), 10, 7, 25, 100, 0xA11CE], // wrong nonce
            [uint64(4), 6, 7, 25, 100, 0xA11CE], // fee above max
            [uint64(4), 10, 5, 25, 100, 0xA11CE], // not the fee in force at 25
            [uint64(4), 10, 5, 15, 100, 0xB0B], // signed by someone else
            [uint64(4), 10, 7, 31, 100, 0xA11CE], // l1_origin above the batch's block
            [uint64(4), 10, 5, 9, 100, 0xA11CE], // model not registered at 9
            [uint64(4), 10, 7, 25, 6, 0xA11CE], // balance below the fee
            [uint64(4), 10, 5, 15, 100, 0xA11CE] // control: valid at origin 15 (fee 5)
        ];
        for (uint256 i = 0; i < cases.length; i++) {
            uint64[6] memory c = cases[i];
            Acct[] memory pre = L2.with_(s, alice, uint128(c[4]), 4);
            bytes memory t = inferenceTx(alice, c[0], c[1], c[2]);
            bytes memory sig = sign(c[5], verifier.requestHash(alice, c[0], modelId, INPUT, c[1]));
            (V.StateStepProof memory p, bytes32 root) = inferenceCase(t, sig, pre, 0);
            ctx.l1Origin = c[3];
            if (i == 7) {
                Acct[] memory mid = L2.with_(pre, alice, 95, 5);
                p.accounts[1] = L2.opening(mid, seq);
                assertTrue(verifier.verify(ctx, 1, root, L2.root(L2.with_(mid, seq, 5, 0)), p), "control");
            } else {
                assertTrue(!verifier.verify(ctx, 1, root, anyPost, p), string.concat("rule ", vm.toString(i)));
            }
        }
    }

    function test_bad_signatures_are_invalid() public {
        Acct[] memory s = L2.with_(accts1(alice, 100, 4), seq, 1, 0);
        bytes memory t = inferenceTx(alice, 4, 10, 7);
        bytes32 digest = verifier.requestHash(alice, 4, modelId, INPUT, 10);
        bytes memory good = sign(ALICE_KEY, digest);
        (V.StateStepProof memory p, bytes32 pre) = inferenceCase(t, good, s, 0);
        Acct[] memory mid = L2.with_(s, alice, 93, 5);
        p.accounts[1] = L2.opening(mid, seq);
        bytes32 post = L2.root(L2.with_(mid, seq, 8, 0));
        assertTrue(verifier.verify(ctx, 1, pre, post, p), "good");

        // The same signature with s flipped to n - s (and v flipped) recovers the same
        // signer, but high s is refused (EIP-2).
        uint256 n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141;
        (uint8 v, bytes32 r, bytes32 sv) = vm.sign(ALICE_KEY, digest);
        p.signature = abi.encodePacked(r, bytes32(n - uint256(sv)), v == 27 ? uint8(28) : uint8(27));
        assertEq(ecrecover(digest, uint8(p.signature[64]), r, bytes32(n - uint256(sv))), alice, "malleable twin");
        assertTrue(!verifier.verify(ctx, 1, pre, post, p), "high s");
        p.signature = abi.encodePacked(r, sv, uint8(29));
        assertTrue(!verifier.verify(ctx, 1, pre, post, p), "v = 29");
        p.signature = abi.encodePacked(bytes32(0), sv, v);
        assertTrue(!verifier.verify(ctx, 1, pre, post, p), "r = 0");
        p.signature = abi.encodePacked(r, bytes32(0), v);
        assertTrue(!verifier.verify(ctx, 1, pre, post, p), "s = 0");
        p.signature = new bytes(64);
        vm.expectRevert(abi.encodeWithSelector(V.BadSignatureLength.selector, 64));
        verifier.verify(ctx, 1, pre, post, p);
    }

    function test_malformed_inference_proofs_revert() public {
        Acct[] memory s = accts1(alice, 100, 4);
        bytes memory t = inferenceTx(alice, 4, 10, 7);
        (V.StateStepProof memory p, bytes32 pre) =
            inferenceCase(t, sign(ALICE_KEY, verifier.requestHash(alice, 4, modelId, INPUT, 10)), s, 0);
        vm.expectRevert(abi.encodeWithSelector(V.TxNotInBlock.selector, 1));
        verifier.verify(ctx, 2, pre, pre, p); // it is record 0, not 1
        p.tx = inferenceTx(alice, 4, 10, 6);
        vm.expectRevert(abi.encodeWithSelector(V.TxNotInBlock.selector, 0));
        verifier.verify(ctx, 1, pre, pre, p);
        p.tx = t;
        p.accounts[1].account = bob;
        vm.expectRevert(abi.encodeWithSelector(V.WrongAccount.selector, 1, bob, seq));
        verifier.verify(ctx, 1, pre, pre, p);
    }

    // ------------------------------------------------------------ withdrawals

    function withdrawalCase(uint128 balance, uint64 nonce, uint128 amount, uint256 key)
        internal
        returns (V.StateStepProof memory p, Acct[] memory s)
    {
        s = L2.with_(accts1(seq, 9, 0), alice, balance, nonce);
        p.tx = withdrawalTx(alice, nonce, bob, amount);
        p.signature = signWithdrawal(key, p.tx);
        bytes32 leaf = keccak256(abi.encodePacked(uint8(9), p.tx));
        (ctx.deposits, ctx.records, ctx.withdrawals) = (0, 0, 1);
        ctx.withdrawalsRoot = leaf;
        p.accounts = one(L2.opening(s, alice));
    }

    function test_a_withdrawal_debits_the_sender() public {
        (V.StateStepProof memory p, Acct[] memory s) = withdrawalCase(100, 2, 60, ALICE_KEY);
        bytes32 post = L2.root(L2.with_(s, alice, 40, 3));
        assertTrue(verifier.verify(ctx, 0, L2.root(s), post, p), "holds");
        assertTrue(!verifier.verify(ctx, 0, L2.root(s), L2.root(s), p), "unchanged state fails");

        (p, s) = withdrawalCase(100, 2, 0, ALICE_KEY);
        assertTrue(!verifier.verify(ctx, 0, L2.root(s), L2.root(L2.with_(s, alice, 100, 3)), p), "zero amount");
        (p, s) = withdrawalCase(100, 2, 101, ALICE_KEY);
        assertTrue(!verifier.verify(ctx, 0, L2.root(s), post, p), "over the balance");
        (p, s) = withdrawalCase(100, 2, 60, BOB_KEY);
        assertTrue(!verifier.verify(ctx, 0, L2.root(s), post, p), "not the sender's signature");

        (p, s) = withdrawalCase(100, 2, 60, ALICE_KEY);
        p.tx = withdrawalTx(alice, 2, bob, 61);
        vm.expectRevert(abi.encodeWithSelector(V.TxNotInBlock.selector, 0));
        verifier.verify(ctx, 0, L2.root(s), post, p);
        p.tx = new bytes(65);
        vm.expectRevert(abi.encodeWithSelector(V.BadTxLength.selector, 65, 64));
        verifier.verify(ctx, 0, L2.root(s), post, p);
    }

    // ------------------------------------------------------------ fuzz

    /// The assembly fold agrees with the plain recursive tree for any two or three accounts.
    function testFuzz_the_fold_matches_the_reference_tree(
        address a,
        address b,
        address c,
        uint128 balance,
        uint64 nonce
    ) public view {
        Acct[] memory s = new Acct[](3);
        s[0] = Acct(a, balance, nonce);
        s[1] = Acct(b, 1, 0);
        s[2] = Acct(c, 0, 7);
        vm.assume(a != b && b != c && a != c);
        bytes32 root = L2.root(s);
        assertEq(verifier.openingRoot(L2.opening(s, a)), root, "a");
        assertEq(verifier.openingRoot(L2.opening(s, b)), root, "b");
        assertEq(verifier.openingRoot(L2.opening(s, c)), root, "c");
    }

    /// Any deposit onto any balance: the true post-state holds unless the balance
    /// overflows, and no other root does.
    function testFuzz_deposit_steps(uint128 start, uint128 amount, uint256 noise) public {
        vm.assume(amount > 0);
        (bytes32 pre, bytes32 post, V.StateStepProof memory p) = depositCase(start, amount);
        bool fits = uint256(start) + amount <= type(uint128).max;
        assertTrue(verifier.verify(ctx, 0, pre, post, p) == fits, "true post");
        vm.assume(noise != 0);
        assertTrue(!verifier.verify(ctx, 0, pre, post ^ bytes32(noise), p), "other root");
    }

    /// Any withdrawal: valid exactly when the amount is non-zero and covered.
    function testFuzz_withdrawal_steps(uint128 balance, uint128 amount, uint64 nonce) public {
        nonce = uint64(bound(nonce, 0, type(uint64).max - 1));
        (V.StateStepProof memory p, Acct[] memory s) = withdrawalCase(balance, nonce, amount, ALICE_KEY);
        bool valid = amount != 0 && amount <= balance;
        bytes32 post = valid ? L2.root(L2.with_(s, alice, balance - amount, nonce + 1)) : bytes32(0);
        assertTrue(verifier.verify(ctx, 0, L2.root(s), post, p) == valid, "valid iff covered");
    }

    // ------------------------------------------------------------ gas

    event GasUsed(string what, uint256 gas);

    /// Gas of one verify call per kind, in a tree of a few accounts (see the
    /// `GasUsed` events with -vvvv; the snapshot shows the whole test).
    function test_gas_steps() public {
        (bytes32 pre, bytes32 post, V.StateStepProof memory p) = depositCase(0, 50);
        uint256 g = gasleft();
        assertTrue(verifier.verify(ctx, 0, pre, post, p), "deposit");
        emit GasUsed("verify deposit", g - gasleft());

        Acct[] memory s = L2.with_(accts1(alice, 100, 4), seq, 1, 0);
        (p, pre) = inferenceCase(
            inferenceTx(alice, 4, 10, 7), sign(ALICE_KEY, verifier.requestHash(alice, 4, modelId, INPUT, 10)), s, 1
        );
        Acct[] memory mid = L2.with_(s, alice, 93, 5);
        p.accounts[1] = L2.opening(mid, seq);
        post = L2.root(L2.with_(mid, seq, 8, 0));
        g = gasleft();
        assertTrue(verifier.verify(ctx, 2, pre, post, p), "inference");
        emit GasUsed("verify inference", g - gasleft());

        (p, s) = withdrawalCase(100, 2, 60, ALICE_KEY);
        (pre, post) = (L2.root(s), L2.root(L2.with_(s, alice, 40, 3)));
        g = gasleft();
        assertTrue(verifier.verify(ctx, 0, pre, post, p), "withdrawal");
        emit GasUsed("verify withdrawal", g - gasleft());
    }
}
