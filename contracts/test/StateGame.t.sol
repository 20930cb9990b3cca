// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {BatchData} from "../src/BatchData.sol";
import {BatchDataVerifier} from "../src/BatchDataVerifier.sol";
import {DisputeGame} from "../src/DisputeGame.sol";
import {L2Block} from "../src/L2Block.sol";
import {OneStepVerifier} from "../src/OneStepVerifier.sol";
import {Rollup} from "../src/Rollup.sol";
import {StateStepVerifier as V} from "../src/StateStepVerifier.sol";
import {StateFixture} from "./StateStepVerifier.t.sol";
import {Acct, Hdr, L2Builder as L2} from "./harness/L2Builder.sol";

/// Whole state games (specs/state.md §6) against a real Rollup, Bridge and registry.
/// Batch 0 holds block 1 (two deposits, an inference, a withdrawal: n = 4) and block 2
/// (empty); the tests add later batches as they need them.
contract StateGameTest is StateFixture {
    uint64 internal constant CLOCK = 20;
    uint256 internal constant BOND = 0.1 ether;
    address internal constant CHALLENGER = address(0xC4A1);
    uint64 internal constant ORIGIN = 25;

    DisputeGame internal game;
    /// The honest roots after each of block 1's steps.
    bytes32[5] internal roots;
    uint64 internal depositBlock;
    bytes internal signedRequest;
    bytes internal signedWithdrawal;
    bytes[] internal chain; // genesis, block 1, block 2
    BatchData.Header internal batch0;

    event GasUsed(string what, uint256 gas);

    function setUp() public override {
        super.setUp();
        game = new DisputeGame(
            rollup, registry, new OneStepVerifier(), verifier, new BatchDataVerifier(rollup), BOND, CLOCK
        );
        rollup.setDisputeGame(address(game));
        vm.deal(seq, 10 ether);
        vm.prank(seq);
        rollup.bond{value: 2 ether}();
        vm.deal(CHALLENGER, 10 ether);

        depositBlock = uint64(block.number);
        vm.deal(address(this), 150);
        bridge.deposit{value: 100}(alice);
        bridge.deposit{value: 50}(bob);
        signedRequest = sign(ALICE_KEY, verifier.requestHash(alice, 0, modelId, INPUT, 10));
        signedWithdrawal = signWithdrawal(BOB_KEY, withdrawalTx(bob, 0, bob, 20));

        for (uint256 k = 0; k < 5; k++) {
            roots[k] = L2.root(honest(k));
        }
    }

    /// The honest accounts after the first `k` of block 1's steps.
    function honest(uint256 k) internal view returns (Acct[] memory s) {
        s = new Acct[](0);
        if (k >= 1) s = L2.with_(s, alice, 100, 0);
        if (k >= 2) s = L2.with_(s, bob, 50, 0);
        if (k >= 3) s = L2.with_(L2.with_(s, alice, 93, 1), seq, 7, 0);
        if (k >= 4) s = L2.with_(s, bob, 30, 1);
    }

    // ------------------------------------------------------------ blocks and batches

    function block1(bytes32 stateRoot) internal view returns (Hdr memory h) {
        h.number = 1;
        h.parent = L2Block.GENESIS_HASH;
        h.recordsRoot = recordHash(inferenceTx(alice, 0, 10, 7));
        h.stateRoot = stateRoot;
        h.depositsConsumed = 2;
        h.withdrawalsRoot = keccak256(abi.encodePacked(uint8(9), withdrawalTx(bob, 0, bob, 20)));
        (h.recordCount, h.withdrawalCount, h.l1Origin) = (1, 1, ORIGIN);
    }

    /// Posts `blocks` (chained from `parent`) as the next batch; returns its header.
    function postBlocks(Hdr[] memory blocks, bytes32 parent, uint64 depositsEnd)
        internal
        returns (BatchData.Header memory h, bytes[] memory encoded)
    {
        encoded = new bytes[](blocks.length);
        for (uint256 i = 0; i < blocks.length; i++) {
            blocks[i].parent = parent;
            encoded[i] = L2.encode(blocks[i]);
            parent = keccak256(encoded[i]);
        }
        (uint64 index,,, uint64 consumed) = rollup.head();
        bytes memory data = L2.batchData(encoded);
        h = BatchData.Header({
            index: index,
            firstBlock: blocks[0].number,
            lastBlock: blocks[blocks.length - 1].number,
            parentRoot: rollup.tip(),
            outputRoot: parent,
            dataHash: rollup.dataHash(data),
            depositsStart: consumed,
            depositsEnd: depositsEnd,
            depositAccumulator: bridge.accumulatorAt(depositsEnd),
            l1Block: uint64(block.number)
        });
        vm.prank(seq);
        rollup.postBatch(h.depositAccumulator, data);
    }

    /// Batch 0: block 1 claiming `stateRoot`, then an empty block 2 keeping it.
    function postBatch0(bytes32 stateRoot) internal {
        Hdr[] memory blocks = new Hdr[](2);
        blocks[0] = block1(stateRoot);
        blocks[1].number = 2;
        blocks[1].stateRoot = stateRoot;
        blocks[1].depositsConsumed = 2;
        blocks[1].l1Origin = ORIGIN;
        (BatchData.Header memory h, bytes[] memory encoded) = postBlocks(blocks, L2Block.GENESIS_HASH, 2);
        batch0 = h;
        delete chain;
        chain.push(L2.genesis());
        chain.push(encoded[0]);
        chain.push(encoded[1]);
    }

    function openBlock1() internal returns (uint256) {
        vm.prank(CHALLENGER);
        return game.openState{value: BOND}(batch0, batch0, chain);
    }

    // ------------------------------------------------------------ proofs and play

    function stepProof(uint256 k) internal view returns (V.StateStepProof memory p) {
        if (k == 0) {
            p.tx = depositTx(address(this), alice, 100, depositBlock);
            p.accounts = one(L2.opening(honest(0), alice));
        } else if (k == 1) {
            p.tx = depositTx(address(this), bob, 50, depositBlock);
            p.accounts = one(L2.opening(honest(1), bob));
        } else if (k == 2) {
            p.tx = inferenceTx(alice, 0, 10, 7);
            p.signature = signedRequest;
            p.accounts = two(L2.opening(honest(2), alice), L2.opening(L2.with_(honest(2), alice, 93, 1), seq));
        } else {
            p.tx = withdrawalTx(bob, 0, bob, 20);
            p.signature = signedWithdrawal;
            p.accounts = one(L2.opening(honest(3), bob));
        }
    }

    /// The defender bisects with `claims`; the challenger agrees with a midpoint iff it
    /// is at most `agreeUpTo` (an honest challenger agrees iff the state is honest).
    function bisectTo(uint256 id, bytes32[5] memory claims, uint256 agreeUpTo) internal {
        while (game.getGame(id).status == DisputeGame.Status.AwaitingMidpoint) {
            DisputeGame.GameView memory v = game.getGame(id);
            vm.prank(seq);
            game.bisect(id, claims[v.mid]);
            vm.roll(block.number + 1);
            vm.prank(CHALLENGER);
            game.choose(id, v.mid <= agreeUpTo);
        }
        assertTrue(game.getGame(id).status == DisputeGame.Status.AwaitingProof, "proof next");
    }

    function prove(uint256 id) internal returns (uint256 gas) {
        V.StateStepProof memory p = stepProof(game.getGame(id).lo);
        vm.prank(seq);
        gas = gasleft();
        game.proveState(id, p);
        gas -= gasleft();
    }

    // ------------------------------------------------------------ tests

    /// An honest block survives a challenger that disputes each step in turn: every
    /// kind of transaction is proven, and the batch finalizes after the games.
    function test_an_honest_block_is_defended_at_every_step() public {
        postBatch0(roots[4]);
        string[4] memory kinds =
            ["proveState deposit", "proveState deposit 2", "proveState inference", "proveState withdrawal"];
        for (uint256 k = 0; k < 4; k++) {
            uint256 id = openBlock1();
            DisputeGame.GameView memory v = game.getGame(id);
            assertTrue(v.kind == DisputeGame.Kind.State, "state game");
            assertEq(v.blockNumber, 1, "block 1");
            assertEq(v.opCount, 4, "n = d + r + w");
            assertEq(v.stateLo, roots[0], "S_0 from the parent");
            assertEq(v.stateHi, roots[4], "S_n from the block");
            bisectTo(id, roots, k); // agreeing up to k lands the game on step k
            assertEq(game.getGame(id).lo, k, "step");
            emit GasUsed(kinds[k], prove(id));
            assertTrue(game.getGame(id).status == DisputeGame.Status.DefenderWon, "defended");
        }
        assertEq(game.credits(seq), 4 * BOND, "bonds to the sequencer");
        assertEq(rollup.openDisputes(rollup.headerHash(batch0)), 0, "every dispute closed");
        vm.roll(batch0.l1Block + WINDOW);
        rollup.finalize(batch0);
    }

    /// A block whose state root skips the withdrawal's nonce bump: the honest challenger
    /// narrows the game to the withdrawal, whose proof then fails; the batch reverts.
    function test_a_wrong_state_root_is_caught_at_its_step() public {
        bytes32 wrong = L2.root(L2.with_(honest(3), bob, 30, 0));
        postBatch0(wrong);
        uint256 id = openBlock1();
        bytes32[5] memory claims = roots;
        claims[4] = wrong;
        bisectTo(id, claims, 3);
        assertEq(game.getGame(id).lo, 3, "the withdrawal");
        prove(id);
        assertTrue(game.getGame(id).status == DisputeGame.Status.ChallengerWon, "caught");
        (uint64 count,,,) = rollup.head();
        assertEq(count, 0, "batch reverted");
        assertEq(game.credits(CHALLENGER), BOND, "bond back");
    }

    /// Finding 2 of the security review, the censorship attack: the batch says both
    /// deposits are consumed (so nothing is overdue and the queue moves on), but block 1
    /// never credits alice's. `depositsEnd` is read from the headers, so the only way to
    /// get past the deposit is a header that consumes it, and the state game proves that
    /// header wrong at the deposit's own step; the batch reverts and the deposit is due
    /// again.
    function test_the_censorship_attack_loses_a_state_game() public {
        Acct[] memory none = new Acct[](0);
        bytes32[5] memory claims;
        claims[0] = roots[0];
        claims[1] = L2.root(none); // alice's deposit "consumed", nothing credited
        claims[2] = L2.root(L2.with_(none, bob, 50, 0));
        claims[3] = claims[2];
        claims[4] = L2.root(L2.with_(none, bob, 30, 1));
        postBatch0(claims[4]);
        (,,, uint64 consumed) = rollup.head();
        assertEq(consumed, 2, "the queue moved past alice's deposit");
        uint256 id = openBlock1();
        bisectTo(id, claims, 0);
        assertEq(game.getGame(id).lo, 0, "alice's deposit");
        prove(id);
        assertTrue(game.getGame(id).status == DisputeGame.Status.ChallengerWon, "caught");
        (uint64 count,,, uint64 owed) = rollup.head();
        assertEq(count, 0, "batch reverted");
        assertEq(owed, 0, "alice's deposit is owed again");
    }

    /// A malformed proof reverts and may be retried; the honest one then wins.
    function test_a_malformed_state_proof_can_be_retried() public {
        postBatch0(roots[4]);
        uint256 id = openBlock1();
        bisectTo(id, roots, 2);
        V.StateStepProof memory p = stepProof(2);
        p.accounts[1].account = bob;
        vm.prank(seq);
        vm.expectRevert(abi.encodeWithSelector(V.WrongAccount.selector, 1, bob, seq));
        game.proveState(id, p);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.NotDefender.selector, address(this)));
        game.proveState(id, stepProof(2));
        prove(id);
        assertTrue(game.getGame(id).status == DisputeGame.Status.DefenderWon, "defended");
    }

    /// Batch 1 holds block 3 with one deposit (n = 1): the game goes straight to the
    /// proof. The parent is batch 0's last block, shown through `previousBatch`.
    function test_a_single_step_block_and_the_previous_batch() public {
        postBatch0(roots[4]);
        vm.deal(address(this), 1);
        bridge.deposit{value: 1}(bob);
        Hdr[] memory blocks = new Hdr[](1);
        blocks[0].number = 3;
        blocks[0].stateRoot = L2.root(L2.with_(honest(4), bob, 31, 1));
        blocks[0].depositsConsumed = 3;
        blocks[0].l1Origin = ORIGIN;
        (BatchData.Header memory b1, bytes[] memory encoded) = postBlocks(blocks, keccak256(chain[2]), 3);
        bytes[] memory headers = new bytes[](2);
        (headers[0], headers[1]) = (chain[2], encoded[0]);

        vm.prank(CHALLENGER);
        vm.expectRevert(abi.encodeWithSelector(V.WrongPreviousBatch.selector, 1));
        game.openState{value: BOND}(b1, b1, headers);
        vm.prank(CHALLENGER);
        uint256 id = game.openState{value: BOND}(b1, batch0, headers);
        DisputeGame.GameView memory v = game.getGame(id);
        assertTrue(v.status == DisputeGame.Status.AwaitingProof, "n = 1: proof at once");
        V.StepContext memory c = game.stateContext(id);
        assertEq(c.depositsBefore, 2, "parent consumed 2");
        assertEq(c.deposits, 1, "d = 1");

        V.StateStepProof memory p;
        p.tx = depositTx(address(this), bob, 1, uint64(block.number));
        p.accounts = one(L2.opening(honest(4), bob));
        vm.prank(seq);
        game.proveState(id, p);
        assertTrue(game.getGame(id).status == DisputeGame.Status.DefenderWon, "defended");
    }

    /// No transactions: equal roots refuse the opening, different ones (or a header that
    /// breaks a rule by itself) are decided at once.
    function test_blocks_decided_at_opening() public {
        postBatch0(roots[4]);
        bytes[] memory two_ = new bytes[](2);
        (two_[0], two_[1]) = (chain[1], chain[2]);
        vm.prank(CHALLENGER);
        vm.expectRevert(DisputeGame.NothingToDispute.selector);
        game.openState{value: BOND}(batch0, batch0, two_);

        // Block 3 with an l1_origin above the posting L1 block is refused at the post
        // (it used to be posted, then decided by a state game).
        Hdr[] memory blocks = new Hdr[](1);
        blocks[0].number = 3;
        blocks[0].parent = keccak256(chain[2]);
        blocks[0].stateRoot = roots[4];
        blocks[0].depositsConsumed = 2;
        blocks[0].l1Origin = uint64(block.number + 1);
        bytes[] memory one_ = new bytes[](1);
        one_[0] = L2.encode(blocks[0]);
        bytes memory ahead = L2.batchData(one_);
        bytes32 acc = bridge.accumulatorAt(2);
        vm.prank(seq);
        vm.expectRevert(
            abi.encodeWithSelector(BatchData.OriginAhead.selector, 0, blocks[0].l1Origin, uint64(block.number))
        );
        rollup.postBatch(acc, ahead);

        // Batch 1: block 3 changes the state without a transaction.
        blocks[0].l1Origin = ORIGIN;
        blocks[0].stateRoot = bytes32(uint256(1));
        (BatchData.Header memory b1, bytes[] memory encoded) = postBlocks(blocks, keccak256(chain[2]), 2);
        (two_[0], two_[1]) = (chain[2], encoded[0]);
        vm.prank(CHALLENGER);
        uint256 id = game.openState{value: BOND}(b1, batch0, two_);
        assertTrue(game.getGame(id).status == DisputeGame.Status.ChallengerWon, "state changed from nothing");
    }

    function test_bad_state_openings_are_refused() public {
        postBatch0(roots[4]);
        vm.prank(CHALLENGER);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongBond.selector, 1, BOND));
        game.openState{value: 1}(batch0, batch0, chain);

        bytes[] memory headers = new bytes[](1);
        headers[0] = chain[0];
        vm.prank(CHALLENGER);
        vm.expectRevert(abi.encodeWithSelector(V.BadHeaderCount.selector, 1));
        game.openState{value: BOND}(batch0, batch0, headers);

        headers = new bytes[](3);
        (headers[0], headers[1], headers[2]) = (chain[2], chain[1], chain[2]);
        vm.prank(CHALLENGER);
        vm.expectRevert(abi.encodeWithSelector(L2Block.BrokenChain.selector, 1));
        game.openState{value: BOND}(batch0, batch0, headers);

        headers = new bytes[](2);
        (headers[0], headers[1]) = (chain[0], chain[1]);
        vm.prank(CHALLENGER);
        vm.expectRevert(
            abi.encodeWithSelector(L2Block.WrongOutputRoot.selector, batch0.outputRoot, keccak256(chain[1]))
        );
        game.openState{value: BOND}(batch0, batch0, headers);

        vm.roll(batch0.l1Block + WINDOW);
        vm.prank(CHALLENGER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.WindowClosed.selector, 0, batch0.l1Block + WINDOW));
        game.openState{value: BOND}(batch0, batch0, chain);
    }

    /// State games and inference games do not take each other's moves; clocks and
    /// timeouts are shared.
    function test_kinds_do_not_mix_and_clocks_run() public {
        postBatch0(roots[4]);
        uint256 id = openBlock1();
        vm.prank(seq);
        vm.expectRevert(
            abi.encodeWithSelector(DisputeGame.WrongStatus.selector, id, DisputeGame.Status.AwaitingMidpoint)
        );
        game.start(id, 0, new bytes32[](0), 0);
        bisectTo(id, roots, 0);
        OneStepVerifier.OneStepProof memory none;
        vm.prank(seq);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongKind.selector, id, DisputeGame.Kind.State));
        game.prove(id, none);

        uint256 idle = openBlock1();
        vm.roll(block.number + CLOCK + 1);
        game.timeout(idle);
        assertTrue(game.getGame(idle).status == DisputeGame.Status.ChallengerWon, "the defender never bisected");
        game.abandon(id);
        assertTrue(game.getGame(id).status == DisputeGame.Status.Abandoned, "batch gone");
    }
}
