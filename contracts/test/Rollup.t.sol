// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {BatchData} from "../src/BatchData.sol";
import {Bridge} from "../src/Bridge.sol";
import {L2Block} from "../src/L2Block.sol";
import {Rollup} from "../src/Rollup.sol";
import {Hdr, L2Builder as L2} from "./harness/L2Builder.sol";

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

    /// Batch data of `blocks` header-only blocks continuing the posted chain, each having
    /// consumed `consumed` deposits; `last` is the last block's hash.
    function dataFor(uint64 blocks, uint64 consumed) internal view returns (bytes memory data, bytes32 last) {
        (,, uint64 nextBlock,) = rollup.head();
        bytes[] memory headers;
        (headers, last) = L2.emptyBlocks(nextBlock, rollup.tip(), blocks, consumed);
        data = L2.batchData(headers);
    }

    /// The header `postBatch` records for `data` now (`last` is its last block's hash).
    function expectedHeader(bytes memory data, uint64 blocks, bytes32 last, uint64 depositsEnd)
        internal
        view
        returns (BatchData.Header memory h)
    {
        (uint64 count,, uint64 nextBlock, uint64 consumed) = rollup.head();
        h = BatchData.Header({
            index: count,
            firstBlock: nextBlock,
            lastBlock: nextBlock + blocks - 1,
            parentRoot: rollup.tip(),
            outputRoot: last,
            dataHash: rollup.dataHash(data),
            depositsStart: consumed,
            depositsEnd: depositsEnd,
            depositAccumulator: bridge.accumulatorAt(depositsEnd),
            l1Block: uint64(block.number)
        });
    }

    /// Posts `blocks` blocks consuming the queue up to `depositsEnd`; returns the header
    /// the rollup recorded.
    function post(uint64 blocks, uint64 depositsEnd) internal returns (BatchData.Header memory h) {
        (bytes memory data, bytes32 last) = dataFor(blocks, depositsEnd);
        h = expectedHeader(data, blocks, last, depositsEnd);
        vm.prank(SEQUENCER);
        uint64 index = rollup.postBatch(h.depositAccumulator, data);
        assertEq(index, h.index, "index");
        assertEq(rollup.tip(), last, "tip");
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
        (bytes memory data, bytes32 last) = dataFor(4, 1);
        BatchData.Header memory expected = expectedHeader(data, 4, last, 1);
        assertEq(expected.parentRoot, L2Block.GENESIS_HASH, "the first batch builds on the genesis");
        vm.expectEmit(true, true, true, true);
        emit BatchPosted(0, rollup.headerHash(expected), expected);
        vm.prank(SEQUENCER);
        rollup.postBatch(expected.depositAccumulator, data);
        assertEq(rollup.batchHashes(0), rollup.headerHash(expected), "stored hash");
        assertTrue(rollup.isCurrent(expected), "current");
        (uint64 count, uint64 finalized, uint64 nextBlock, uint64 consumed) = rollup.head();
        assertEq(count, 1, "count");
        assertEq(finalized, 0, "finalized");
        assertEq(nextBlock, 5, "next block");
        assertEq(consumed, 1, "consumed");
        assertEq(rollup.tip(), last, "tip");
    }

    function test_bad_posts_are_refused() public {
        depositFrom(address(0xD1), 1 ether);
        bytes32 acc1 = bridge.accumulatorAt(1);
        (bytes memory good,) = dataFor(1, 1);
        vm.expectRevert(abi.encodeWithSelector(Rollup.NotSequencer.selector, address(this)));
        rollup.postBatch(acc1, good);

        vm.startPrank(SEQUENCER);
        vm.expectRevert(abi.encodeWithSelector(Bridge.CountBeyondQueue.selector, 2, 1));
        rollup.postBatch(0, dataOf(1, L2Block.GENESIS_HASH, 2));
        vm.expectRevert(abi.encodeWithSelector(Rollup.WrongDepositAccumulator.selector, 1, bytes32(0), acc1));
        rollup.postBatch(0, good);
        rollup.postBatch(acc1, good);
        bytes memory back = dataOf(2, rollup.tip(), 0);
        vm.expectRevert(abi.encodeWithSelector(BatchData.DepositsWentBack.selector, 0, 0, 1));
        rollup.postBatch(0, back);
        vm.stopPrank();

        Rollup unbonded = new Rollup(bridge, SEQUENCER, WINDOW, MIN_BOND, DEADLINE);
        vm.prank(SEQUENCER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.BondTooLow.selector, 0, MIN_BOND));
        unbonded.postBatch(0, good);
    }

    /// One header-only block `number` after `parent`, having consumed `consumed` deposits.
    function dataOf(uint64 number, bytes32 parent, uint64 consumed) internal pure returns (bytes memory) {
        (bytes[] memory headers,) = L2.emptyBlocks(number, parent, 1, consumed);
        return L2.batchData(headers);
    }

    /// The drain attack of the security review (finding 1) needs an output root nobody can
    /// rebuild from the data: garbage, empty data, or data whose headers are not the chain.
    /// Every such post is refused, each with the rule it breaks.
    function test_data_that_does_not_give_the_output_root_is_never_posted() public {
        vm.startPrank(SEQUENCER);
        vm.expectRevert(abi.encodeWithSelector(BatchData.DataTooShort.selector, 0));
        rollup.postBatch(0, "");
        vm.expectRevert(abi.encodeWithSelector(BatchData.WrongVersion.selector, 0xde));
        rollup.postBatch(0, hex"deadbeefcafe");
        vm.expectRevert(abi.encodeWithSelector(BatchData.WrongVersion.selector, 2));
        rollup.postBatch(0, hex"02000000010000");
        vm.expectRevert(BatchData.NoBlocks.selector);
        rollup.postBatch(0, hex"0300000000");
        vm.expectRevert(abi.encodeWithSelector(BatchData.EntriesBeyondData.selector, 1, 9));
        rollup.postBatch(0, hex"030000000112345678");

        bytes memory one = dataOf(1, L2Block.GENESIS_HASH, 0);
        bytes memory bad = bytes.concat(one);
        bad[5] = 0x05; // not a block header
        vm.expectRevert(abi.encodeWithSelector(BatchData.NotBlockHeader.selector, 0));
        rollup.postBatch(0, bad);
        vm.expectRevert(abi.encodeWithSelector(BatchData.WrongFirstBlock.selector, 2, 1));
        rollup.postBatch(0, dataOf(2, L2Block.GENESIS_HASH, 0));
        bytes32 made = keccak256("a made-up parent");
        vm.expectRevert(abi.encodeWithSelector(BatchData.WrongParent.selector, L2Block.GENESIS_HASH, made));
        rollup.postBatch(0, dataOf(1, made, 0));
        vm.expectRevert(abi.encodeWithSelector(BatchData.DataEndMismatch.selector, 178, 179));
        rollup.postBatch(0, bytes.concat(one, hex"00"));
        bad = bytes.concat(one);
        bad[176] = 0x01; // body end 0x01b2 = 434, past the data
        vm.expectRevert(abi.encodeWithSelector(BatchData.DataEndMismatch.selector, 434, 178));
        rollup.postBatch(0, bad);
        bad = bytes.concat(one);
        bad[177] = 0x00; // body end 0, before the body's start
        vm.expectRevert(abi.encodeWithSelector(BatchData.BodyEndsBeforeStart.selector, 0, 178, 0));
        rollup.postBatch(0, bad);

        // Two blocks that do not chain, and a block from the future.
        Hdr memory a;
        a.number = 1;
        a.parent = L2Block.GENESIS_HASH;
        Hdr memory b;
        b.number = 2;
        b.parent = keccak256("not block 1");
        bytes[] memory pair = new bytes[](2);
        (pair[0], pair[1]) = (L2.encode(a), L2.encode(b));
        vm.expectRevert(abi.encodeWithSelector(BatchData.BrokenChain.selector, 1));
        rollup.postBatch(0, L2.batchData(pair));
        a.l1Origin = uint64(block.number) + 1;
        bytes[] memory single = new bytes[](1);
        single[0] = L2.encode(a);
        vm.expectRevert(abi.encodeWithSelector(BatchData.OriginAhead.selector, 0, a.l1Origin, block.number));
        rollup.postBatch(0, L2.batchData(single));
        vm.stopPrank();
        (uint64 count,,,) = rollup.head();
        assertEq(count, 0, "nothing was posted");
    }

    /// A body above the limit is refused, so every data fault proof fits a transaction.
    function test_a_body_above_the_limit_is_refused() public {
        Hdr memory a;
        a.number = 1;
        a.parent = L2Block.GENESIS_HASH;
        bytes[] memory headers = new bytes[](1);
        headers[0] = L2.encode(a);
        bytes[] memory bodies = new bytes[](1);
        bodies[0] = new bytes(BatchData.MAX_BLOCK_BODY_BYTES + 1);
        vm.prank(SEQUENCER);
        vm.expectRevert(abi.encodeWithSelector(BatchData.BodyTooLarge.selector, 0, BatchData.MAX_BLOCK_BODY_BYTES + 1));
        rollup.postBatch(0, L2.batchData(headers, bodies));
        bodies[0] = new bytes(BatchData.MAX_BLOCK_BODY_BYTES);
        vm.prank(SEQUENCER);
        rollup.postBatch(0, L2.batchData(headers, bodies));
    }

    /// What `previewBatch` reads is what `postBatch` records.
    function test_the_preview_is_what_a_post_records() public {
        depositFrom(address(0xD1), 1 ether);
        post(2, 0);
        (bytes memory data, bytes32 last) = dataFor(3, 1);
        BatchData.Derived memory d = rollup.previewBatch(data);
        assertEq(d.lastBlock, 5, "last block");
        assertEq(d.outputRoot, last, "output root");
        assertEq(d.depositsEnd, 1, "deposits end");
    }

    /// Zero parameters would disarm the rollup; they are refused at deployment.
    function test_zero_parameters_are_refused() public {
        vm.expectRevert(abi.encodeWithSelector(Rollup.ZeroParameter.selector, "disputeWindow"));
        new Rollup(bridge, SEQUENCER, 0, MIN_BOND, DEADLINE);
        vm.expectRevert(abi.encodeWithSelector(Rollup.ZeroParameter.selector, "minBond"));
        new Rollup(bridge, SEQUENCER, WINDOW, 0, DEADLINE);
        vm.expectRevert(abi.encodeWithSelector(Rollup.ZeroParameter.selector, "inclusionDeadline"));
        new Rollup(bridge, SEQUENCER, WINDOW, MIN_BOND, 0);
    }

    function test_a_batch_finalizes_only_after_its_window_and_in_order() public {
        BatchData.Header memory a = post(1, 0);
        vm.roll(block.number + 1);
        BatchData.Header memory b = post(2, 0);

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
        BatchData.Header memory h = post(1, 0);
        h.outputRoot = bytes32(uint256(42));
        vm.roll(block.number + WINDOW);
        vm.expectRevert(abi.encodeWithSelector(Rollup.UnknownBatch.selector, 0, rollup.headerHash(h)));
        rollup.finalize(h);
    }

    function test_an_open_dispute_holds_finalization_until_closed() public {
        BatchData.Header memory h = post(1, 0);
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
        BatchData.Header memory h = post(1, 0);
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
        post(2, 1);
        BatchData.Header memory b = post(3, 2);
        BatchData.Header memory c = post(1, 2);

        rollup.revertBatch(b, CHALLENGER);
        (uint64 count,, uint64 nextBlock, uint64 consumed) = rollup.head();
        assertEq(count, 1, "only the first batch stays");
        assertEq(nextBlock, b.firstBlock, "blocks rewind");
        assertEq(consumed, 1, "deposits rewind");
        assertTrue(!rollup.isCurrent(b) && !rollup.isCurrent(c), "b and c gone");
        assertEq(rollup.bonds(SEQUENCER), 0, "bond slashed");
        assertEq(rollup.credits(CHALLENGER), 1 ether, "half to the challenger");
        assertEq(rollup.burnt(), 1 ether, "half burnt");

        assertEq(rollup.tip(), b.parentRoot, "the tip rewinds");
        (bytes memory again_,) = dataFor(1, 1);
        bytes32 acc1 = bridge.accumulatorAt(1);
        vm.prank(SEQUENCER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.BondTooLow.selector, 0, MIN_BOND));
        rollup.postBatch(acc1, again_);
        vm.prank(SEQUENCER);
        rollup.bond{value: 1 ether}();
        BatchData.Header memory again = post(3, 2);
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
        BatchData.Header memory h = post(1, 0);
        vm.roll(h.l1Block + WINDOW);
        rollup.finalize(h);
        vm.expectRevert(abi.encodeWithSelector(Rollup.AlreadyFinalized.selector, 0));
        rollup.revertBatch(h, CHALLENGER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.AlreadyFinalized.selector, 0));
        rollup.openDispute(h);
    }

    function test_the_sequencer_bond_is_locked_while_batches_are_pending() public {
        BatchData.Header memory h = post(1, 0);
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
        h.parentRoot = vm.parseJsonBytes32(json, string.concat(p, "parent_root"));
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
        post(1, 0); // deposit 0 not due yet
        vm.roll(100 + DEADLINE);
        (bytes memory leaving,) = dataFor(1, 0);
        vm.prank(SEQUENCER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.DepositOverdue.selector, 0, 100, 100 + DEADLINE));
        rollup.postBatch(0, leaving);
        post(1, 1); // consumes deposit 0; deposit 1 is due only at 110 + DEADLINE

        vm.roll(110 + DEADLINE);
        bytes32 acc1 = bridge.accumulatorAt(1);
        (leaving,) = dataFor(1, 1);
        vm.prank(SEQUENCER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.DepositOverdue.selector, 1, 110, 110 + DEADLINE));
        rollup.postBatch(acc1, leaving);
        post(1, 2);
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
        r.postBatch(0, dataOf(1, L2Block.GENESIS_HASH, 0));
    }

    /// Any window and any posting block: finalize fails one block early and works on time.
    function testFuzz_the_window_is_exact(uint64 window, uint32 start) public {
        window = uint64(bound(window, 1, 1_000_000));
        Rollup r = new Rollup(bridge, SEQUENCER, window, MIN_BOND, DEADLINE);
        vm.prank(SEQUENCER);
        r.bond{value: MIN_BOND}();
        vm.roll(start);
        bytes memory data = dataOf(1, L2Block.GENESIS_HASH, 0);
        vm.prank(SEQUENCER);
        r.postBatch(0, data);
        bytes32 last = keccak256(L2.encode(Hdr(1, L2Block.GENESIS_HASH, 0, 0, 0, 0, 0, 0, 0, 0)));
        BatchData.Header memory h =
            BatchData.Header(0, 1, 1, L2Block.GENESIS_HASH, last, r.dataHash(data), 0, 0, 0, start);
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
