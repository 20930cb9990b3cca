// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {BatchData} from "../src/BatchData.sol";
import {Bridge} from "../src/Bridge.sol";
import {Rollup} from "../src/Rollup.sol";

/// Shared set-up: a bridge, a rollup whose sequencer is bonded, and this test contract
/// as the dispute game, so the tests can drive the dispute hooks directly.
abstract contract RollupFixture is Test {
    uint64 internal constant WINDOW = 10;
    uint64 internal constant DEADLINE = 64;
    uint256 internal constant MIN_BOND = 1 ether;
    address internal constant SEQUENCER = address(0x5E0);
    address internal constant CHALLENGER = address(0xC4A1);

    Bridge internal bridge;
    Rollup internal rollup;

    function setUp() public virtual {
        bridge = new Bridge();
        rollup = new Rollup(bridge, SEQUENCER, WINDOW, MIN_BOND, DEADLINE);
        rollup.setDisputeGame(address(this));
        vm.deal(SEQUENCER, 100 ether);
        vm.prank(SEQUENCER);
        rollup.bond{value: 2 ether}();
    }

    /// Posts `blocks` blocks consuming the queue up to `depositsEnd`; returns the header
    /// the rollup recorded.
    function post(uint64 blocks, uint64 depositsEnd, bytes memory data) internal returns (BatchData.Header memory h) {
        (uint64 count,, uint64 nextBlock, uint64 consumed) = rollup.head();
        h = BatchData.Header({
            index: count,
            firstBlock: nextBlock,
            lastBlock: nextBlock + blocks - 1,
            outputRoot: keccak256(abi.encode("block", nextBlock + blocks - 1)),
            dataHash: rollup.dataHash(data),
            depositsStart: consumed,
            depositsEnd: depositsEnd,
            depositAccumulator: bridge.accumulatorAt(depositsEnd),
            l1Block: uint64(block.number)
        });
        vm.prank(SEQUENCER);
        uint64 index =
            rollup.postBatch(h.firstBlock, h.lastBlock, h.outputRoot, h.depositsEnd, h.depositAccumulator, data);
        assertEq(index, h.index, "index");
    }

    function depositFrom(address who, uint256 amount) internal {
        vm.deal(who, amount);
        vm.prank(who);
        bridge.deposit{value: amount}(who);
    }

    receive() external payable {}
}

contract RollupTest is RollupFixture {
    event BatchPosted(uint64 indexed index, bytes32 indexed headerHash, BatchData.Header header);

    function test_a_post_records_the_header_and_moves_the_head() public {
        depositFrom(address(0xD1), 1 ether);
        bytes memory data = hex"0102030405";
        BatchData.Header memory expected = BatchData.Header({
            index: 0,
            firstBlock: 1,
            lastBlock: 4,
            outputRoot: keccak256(abi.encode("block", uint64(4))),
            dataHash: rollup.dataHash(data),
            depositsStart: 0,
            depositsEnd: 1,
            depositAccumulator: bridge.accumulatorAt(1),
            l1Block: uint64(block.number)
        });
        vm.expectEmit(true, true, true, true);
        emit BatchPosted(0, rollup.headerHash(expected), expected);
        BatchData.Header memory h = post(4, 1, data);
        assertEq(rollup.batchHashes(0), rollup.headerHash(h), "stored hash");
        assertTrue(rollup.isCurrent(h), "current");
        (uint64 count, uint64 finalized, uint64 nextBlock, uint64 consumed) = rollup.head();
        assertEq(count, 1, "count");
        assertEq(finalized, 0, "finalized");
        assertEq(nextBlock, 5, "next block");
        assertEq(consumed, 1, "consumed");
    }

    function test_bad_posts_are_refused() public {
        depositFrom(address(0xD1), 1 ether);
        bytes32 acc1 = bridge.accumulatorAt(1);
        vm.expectRevert(abi.encodeWithSelector(Rollup.NotSequencer.selector, address(this)));
        rollup.postBatch(1, 1, bytes32(uint256(1)), 0, 0, "");

        vm.startPrank(SEQUENCER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.WrongFirstBlock.selector, 2, 1));
        rollup.postBatch(2, 2, bytes32(uint256(1)), 0, 0, "");
        vm.expectRevert(abi.encodeWithSelector(Rollup.EmptyBlockRange.selector, 1, 0));
        rollup.postBatch(1, 0, bytes32(uint256(1)), 0, 0, "");
        vm.expectRevert(Rollup.ZeroOutputRoot.selector);
        rollup.postBatch(1, 1, 0, 0, 0, "");
        vm.expectRevert(abi.encodeWithSelector(Bridge.CountBeyondQueue.selector, 2, 1));
        rollup.postBatch(1, 1, bytes32(uint256(1)), 2, 0, "");
        vm.expectRevert(abi.encodeWithSelector(Rollup.WrongDepositAccumulator.selector, 1, bytes32(0), acc1));
        rollup.postBatch(1, 1, bytes32(uint256(1)), 1, 0, "");
        rollup.postBatch(1, 1, bytes32(uint256(1)), 1, acc1, "");
        vm.expectRevert(abi.encodeWithSelector(Rollup.DepositsWentBack.selector, 0, 1));
        rollup.postBatch(2, 2, bytes32(uint256(1)), 0, 0, "");
        vm.stopPrank();

        Rollup unbonded = new Rollup(bridge, SEQUENCER, WINDOW, MIN_BOND, DEADLINE);
        vm.prank(SEQUENCER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.BondTooLow.selector, 0, MIN_BOND));
        unbonded.postBatch(1, 1, bytes32(uint256(1)), 0, 0, "");
    }

    function test_a_batch_finalizes_only_after_its_window_and_in_order() public {
        BatchData.Header memory a = post(1, 0, "a");
        vm.roll(block.number + 1);
        BatchData.Header memory b = post(2, 0, "b");

        vm.roll(a.l1Block + WINDOW - 1);
        vm.expectRevert(abi.encodeWithSelector(Rollup.WindowOpen.selector, 0, a.l1Block + WINDOW));
        rollup.finalize(a);
        vm.roll(b.l1Block + WINDOW);
        vm.expectRevert(abi.encodeWithSelector(Rollup.NotNextToFinalize.selector, 1, 0));
        rollup.finalize(b);

        rollup.finalize(a);
        assertTrue(rollup.isFinalized(0), "a final");
        assertTrue(!rollup.isFinalized(1), "b not yet");
        vm.expectRevert(abi.encodeWithSelector(Rollup.NotNextToFinalize.selector, 0, 1));
        rollup.finalize(a);
        rollup.finalize(b);
        assertTrue(rollup.isFinalized(1), "b final");
    }

    function test_a_forged_header_is_unknown() public {
        BatchData.Header memory h = post(1, 0, "a");
        h.outputRoot = bytes32(uint256(42));
        vm.roll(block.number + WINDOW);
        vm.expectRevert(abi.encodeWithSelector(Rollup.UnknownBatch.selector, 0, rollup.headerHash(h)));
        rollup.finalize(h);
    }

    function test_an_open_dispute_holds_finalization_until_closed() public {
        BatchData.Header memory h = post(1, 0, "a");
        bytes32 hash = rollup.openDispute(h);
        rollup.openDispute(h);
        assertEq(rollup.openDisputes(hash), 2, "two games");
        vm.roll(h.l1Block + WINDOW);
        vm.expectRevert(abi.encodeWithSelector(Rollup.WindowClosed.selector, 0, h.l1Block + WINDOW));
        rollup.openDispute(h);
        vm.expectRevert(abi.encodeWithSelector(Rollup.DisputesOpen.selector, 0, 2));
        rollup.finalize(h);
        rollup.closeDispute(hash);
        rollup.closeDispute(hash);
        vm.expectRevert(abi.encodeWithSelector(Rollup.NoOpenDispute.selector, hash));
        rollup.closeDispute(hash);
        rollup.finalize(h);
    }

    function test_only_the_dispute_game_uses_the_hooks() public {
        BatchData.Header memory h = post(1, 0, "a");
        vm.startPrank(CHALLENGER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.NotDisputeGame.selector, CHALLENGER));
        rollup.openDispute(h);
        vm.expectRevert(abi.encodeWithSelector(Rollup.NotDisputeGame.selector, CHALLENGER));
        rollup.revertBatch(h, CHALLENGER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.NotDisputeGame.selector, CHALLENGER));
        rollup.closeDispute(bytes32(0));
        vm.stopPrank();
        vm.expectRevert(abi.encodeWithSelector(Rollup.DisputeGameAlreadySet.selector, address(this)));
        rollup.setDisputeGame(CHALLENGER);
    }

    function test_a_lost_dispute_reverts_the_batch_and_every_later_one_and_slashes() public {
        depositFrom(address(0xD1), 1 ether);
        depositFrom(address(0xD2), 1 ether);
        post(2, 1, "a");
        BatchData.Header memory b = post(3, 2, "b");
        BatchData.Header memory c = post(1, 2, "c");

        rollup.revertBatch(b, CHALLENGER);
        (uint64 count,, uint64 nextBlock, uint64 consumed) = rollup.head();
        assertEq(count, 1, "only the first batch stays");
        assertEq(nextBlock, b.firstBlock, "blocks rewind");
        assertEq(consumed, 1, "deposits rewind");
        assertTrue(!rollup.isCurrent(b) && !rollup.isCurrent(c), "b and c gone");
        assertEq(rollup.bonds(SEQUENCER), 0, "bond slashed");
        assertEq(rollup.credits(CHALLENGER), 1 ether, "half to the challenger");
        assertEq(rollup.burnt(), 1 ether, "half burnt");

        bytes32 acc1 = bridge.accumulatorAt(1);
        vm.prank(SEQUENCER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.BondTooLow.selector, 0, MIN_BOND));
        rollup.postBatch(b.firstBlock, b.firstBlock, bytes32(uint256(1)), 1, acc1, "again");
        vm.prank(SEQUENCER);
        rollup.bond{value: 1 ether}();
        BatchData.Header memory again = post(3, 2, "b'");
        assertEq(again.index, 1, "the index is reused");

        uint256 before = CHALLENGER.balance;
        vm.prank(CHALLENGER);
        rollup.withdrawCredit();
        assertEq(CHALLENGER.balance - before, 1 ether, "paid");
        vm.prank(CHALLENGER);
        vm.expectRevert(Rollup.NothingToWithdraw.selector);
        rollup.withdrawCredit();
    }

    function test_a_final_batch_cannot_be_reverted() public {
        BatchData.Header memory h = post(1, 0, "a");
        vm.roll(h.l1Block + WINDOW);
        rollup.finalize(h);
        vm.expectRevert(abi.encodeWithSelector(Rollup.AlreadyFinalized.selector, 0));
        rollup.revertBatch(h, CHALLENGER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.AlreadyFinalized.selector, 0));
        rollup.openDispute(h);
    }

    function test_the_sequencer_bond_is_locked_while_batches_are_pending() public {
        BatchData.Header memory h = post(1, 0, "a");
        vm.startPrank(SEQUENCER);
        rollup.unbond(1 ether); // still at the minimum
        vm.expectRevert(abi.encodeWithSelector(Rollup.BondLocked.selector, 0, MIN_BOND, 1));
        rollup.unbond(1 ether);
        vm.expectRevert(abi.encodeWithSelector(Rollup.InsufficientBond.selector, 1 ether, 2 ether));
        rollup.unbond(2 ether);
        vm.stopPrank();
        vm.roll(h.l1Block + WINDOW);
        rollup.finalize(h);
        uint256 before = SEQUENCER.balance;
        vm.prank(SEQUENCER);
        rollup.unbond(1 ether);
        assertEq(SEQUENCER.balance - before, 1 ether, "paid back");
        assertEq(rollup.bonds(SEQUENCER), 0, "empty");
    }

    /// Every data and header case of specs/vectors/batches.json hashes the same here.
    function test_hashes_match_the_specs_vectors() public view {
        string memory json = vm.readFile("../specs/vectors/batches.json");
        uint256 n;
        for (; vm.keyExistsJson(json, string.concat(".data[", vm.toString(n), "]")); n++) {
            string memory entry = string.concat(".data[", vm.toString(n), "]");
            bytes memory data = vm.parseJsonBytes(json, string.concat(entry, ".data"));
            assertEq(rollup.dataHash(data), vm.parseJsonBytes32(json, string.concat(entry, ".hash")), entry);
        }
        assertTrue(n >= 5, "data cases read");
        for (n = 0; vm.keyExistsJson(json, string.concat(".headers[", vm.toString(n), "]")); n++) {
            string memory entry = string.concat(".headers[", vm.toString(n), "]");
            assertEq(
                rollup.headerHash(readHeader(json, entry)),
                vm.parseJsonBytes32(json, string.concat(entry, ".hash")),
                entry
            );
        }
        assertTrue(n >= 3, "header cases read");
    }

    function readHeader(string memory json, string memory entry) internal pure returns (BatchData.Header memory h) {
        string memory p = string.concat(entry, ".header.");
        h.index = uint64(vm.parseJsonUint(json, string.concat(p, "index")));
        h.firstBlock = uint64(vm.parseJsonUint(json, string.concat(p, "first_block")));
        h.lastBlock = uint64(vm.parseJsonUint(json, string.concat(p, "last_block")));
        h.outputRoot = vm.parseJsonBytes32(json, string.concat(p, "output_root"));
        h.dataHash = vm.parseJsonBytes32(json, string.concat(p, "data_hash"));
        h.depositsStart = uint64(vm.parseJsonUint(json, string.concat(p, "deposits_start")));
        h.depositsEnd = uint64(vm.parseJsonUint(json, string.concat(p, "deposits_end")));
        h.depositAccumulator = vm.parseJsonBytes32(json, string.concat(p, "deposit_accumulator"));
        h.l1Block = uint64(vm.parseJsonUint(json, string.concat(p, "l1_block")));
    }

    /// A deposit queued at block b holds every post from block b + DEADLINE on that
    /// does not consume it; consuming it (or posting earlier) is accepted.
    function test_forced_inclusion_refuses_posts_while_a_deposit_is_due() public {
        vm.roll(100);
        depositFrom(address(0xD1), 1 ether);
        vm.roll(110);
        depositFrom(address(0xD2), 2 ether);
        assertEq(bridge.depositBlock(0), 100, "queued at 100");
        assertEq(bridge.depositBlock(1), 110, "queued at 110");

        vm.roll(100 + DEADLINE - 1);
        post(1, 0, ""); // deposit 0 not due yet
        vm.roll(100 + DEADLINE);
        vm.prank(SEQUENCER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.DepositOverdue.selector, 0, 100, 100 + DEADLINE));
        rollup.postBatch(2, 2, bytes32(uint256(1)), 0, 0, "");
        post(1, 1, ""); // consumes deposit 0; deposit 1 is due only at 110 + DEADLINE

        vm.roll(110 + DEADLINE);
        bytes32 acc1 = bridge.accumulatorAt(1);
        vm.prank(SEQUENCER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.DepositOverdue.selector, 1, 110, 110 + DEADLINE));
        rollup.postBatch(3, 3, bytes32(uint256(1)), 1, acc1, "");
        post(1, 2, "");
        (,,, uint64 consumed) = rollup.head();
        assertEq(consumed, 2, "both consumed");
        assertEq(rollup.inclusionDeadline(), DEADLINE, "deadline");
    }

    /// Any deadline and any wait: the post that leaves the deposit fails exactly from
    /// block `queuedAt + deadline` on.
    function testFuzz_the_inclusion_deadline_is_exact(uint64 deadline, uint32 queuedAt, uint32 wait) public {
        deadline = uint64(bound(deadline, 1, 1_000_000));
        Rollup r = new Rollup(bridge, SEQUENCER, WINDOW, MIN_BOND, deadline);
        vm.prank(SEQUENCER);
        r.bond{value: MIN_BOND}();
        vm.roll(queuedAt);
        depositFrom(address(0xD1), 1);
        uint256 postAt = uint256(queuedAt) + bound(wait, 0, 2 * deadline);
        vm.roll(postAt);
        vm.prank(SEQUENCER);
        if (postAt >= uint256(queuedAt) + deadline) {
            vm.expectRevert(
                abi.encodeWithSelector(Rollup.DepositOverdue.selector, 0, queuedAt, uint256(queuedAt) + deadline)
            );
        }
        r.postBatch(1, 1, bytes32(uint256(1)), 0, 0, "");
    }

    /// Any window and any posting block: finalize fails one block early and works on time.
    function testFuzz_the_window_is_exact(uint64 window, uint32 start) public {
        window = uint64(bound(window, 1, 1_000_000));
        Rollup r = new Rollup(bridge, SEQUENCER, window, MIN_BOND, DEADLINE);
        vm.prank(SEQUENCER);
        r.bond{value: MIN_BOND}();
        vm.roll(start);
        vm.prank(SEQUENCER);
        r.postBatch(1, 1, bytes32(uint256(1)), 0, 0, "");
        BatchData.Header memory h = BatchData.Header(0, 1, 1, bytes32(uint256(1)), r.dataHash(""), 0, 0, 0, start);
        vm.roll(uint256(start) + window - 1);
        vm.expectRevert(abi.encodeWithSelector(Rollup.WindowOpen.selector, 0, uint256(start) + window));
        r.finalize(h);
        vm.roll(uint256(start) + window);
        r.finalize(h);
        assertTrue(r.isFinalized(0), "final on time");
    }

    /// Data of any length hashes chunk by chunk to what one flat pass over the same
    /// leaves gives (the scratch-buffer loop against a plain Solidity version).
    function testFuzz_data_hash_matches_a_plain_version(bytes calldata data) public view {
        assertEq(rollup.dataHash(data), plainDataHash(data), "chunked hash");
    }

    function test_data_hash_across_many_chunks() public view {
        bytes memory data = new bytes(5 * BatchData.CHUNK_BYTES + 17);
        for (uint256 i = 0; i < data.length; i++) {
            // forge-lint: disable-next-line(unsafe-typecast)
            data[i] = bytes1(uint8(i * 7 + 3));
        }
        assertEq(rollup.dataHash(data), this.plainDataHash(data), "chunked hash");
    }

    function plainDataHash(bytes calldata data) public pure returns (bytes32) {
        uint256 chunks = (data.length + BatchData.CHUNK_BYTES - 1) / BatchData.CHUNK_BYTES;
        bytes32[] memory leaves = new bytes32[](chunks);
        for (uint256 i = 0; i < chunks; i++) {
            uint256 end = (i + 1) * BatchData.CHUNK_BYTES;
            if (end > data.length) end = data.length;
            leaves[i] = keccak256(abi.encodePacked(bytes1(0x00), data[i * BatchData.CHUNK_BYTES:end]));
        }
        bytes32 root = leaves.length == 0 ? bytes32(0) : reduce(leaves);
        // forge-lint: disable-next-line(unsafe-typecast)
        return keccak256(abi.encodePacked(bytes1(0x04), uint64(data.length), root));
    }

    function reduce(bytes32[] memory level) internal pure returns (bytes32) {
        while (level.length > 1) {
            bytes32[] memory up = new bytes32[]((level.length + 1) / 2);
            for (uint256 i = 0; i < up.length; i++) {
                bytes32 right = 2 * i + 1 < level.length ? level[2 * i + 1] : bytes32(0);
                up[i] = keccak256(abi.encodePacked(bytes1(0x01), level[2 * i], right));
            }
            level = up;
        }
        return level[0];
    }
}
