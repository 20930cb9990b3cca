// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {BatchData} from "../src/BatchData.sol";
import {Bridge} from "../src/Bridge.sol";
import {L2Block} from "../src/L2Block.sol";
import {Rollup} from "../src/Rollup.sol";
import {TraceBuilder as B} from "./harness/TraceBuilder.sol";
import {Hdr, L2Builder as L2} from "./harness/L2Builder.sol";

/// A recipient that tries to claim the same withdrawal again while being paid.
contract Reentrant {
    Bridge internal immutable bridge;
    bytes internal call;
    bytes public reentryError;

    constructor(Bridge bridge_) {
        bridge = bridge_;
    }

    function arm(bytes memory call_) external {
        call = call_;
    }

    receive() external payable {
        (bool ok, bytes memory err) = address(bridge).call(call);
        if (!ok) reentryError = err;
    }
}

contract BridgeTest is Test {
    Bridge internal bridge;
    string internal json;

    function setUp() public {
        bridge = new Bridge();
        json = vm.readFile("../specs/vectors/deposits.json");
    }

    struct Case {
        uint64 index;
        address sender;
        address recipient;
        uint256 amount;
        uint64 l1Block;
        bytes32 hash;
        bytes32 accumulator;
    }

    function readCase(uint256 i) internal view returns (Case memory c) {
        string memory entry = string.concat("[", vm.toString(i), "]");
        c.index = uint64(vm.parseJsonUint(json, string.concat(entry, ".deposit.index")));
        c.sender = vm.parseJsonAddress(json, string.concat(entry, ".deposit.sender"));
        c.recipient = vm.parseJsonAddress(json, string.concat(entry, ".deposit.recipient"));
        c.amount = vm.parseUint(vm.parseJsonString(json, string.concat(entry, ".deposit.amount")));
        c.l1Block = uint64(vm.parseJsonUint(json, string.concat(entry, ".deposit.l1_block")));
        c.hash = vm.parseJsonBytes32(json, string.concat(entry, ".hash"));
        c.accumulator = vm.parseJsonBytes32(json, string.concat(entry, ".accumulator"));
    }

    function caseCount() internal view returns (uint256 n) {
        while (vm.keyExistsJson(json, string.concat("[", vm.toString(n), "]"))) n++;
    }

    /// Deposits made through the contract reproduce the specs vectors: hashes and the
    /// queue accumulator after each.
    function test_deposits_match_the_specs_vectors() public {
        uint256 n = caseCount();
        assertTrue(n >= 6, "vectors read");
        for (uint256 i = 0; i < n; i++) {
            Case memory c = readCase(i);
            assertEq(bridge.depositHash(c.index, c.sender, c.recipient, c.amount, c.l1Block), c.hash, "deposit hash");
            vm.deal(c.sender, c.amount);
            vm.roll(c.l1Block);
            vm.prank(c.sender);
            uint64 index = bridge.deposit{value: c.amount}(c.recipient);
            assertEq(index, c.index, "queue index");
            assertEq(bridge.accumulatorAt(i + 1), c.accumulator, string.concat("accumulator ", vm.toString(i)));
        }
        assertEq(bridge.depositCount(), n, "count");
        assertEq(bridge.accumulatorAt(0), bytes32(0), "empty queue");
    }

    function test_bad_deposits_are_refused() public {
        vm.expectRevert(Bridge.ZeroAmount.selector);
        bridge.deposit(address(1));
        vm.deal(address(this), 10);
        vm.expectRevert(Bridge.ZeroRecipient.selector);
        bridge.deposit{value: 1}(address(0));
        vm.expectRevert(abi.encodeWithSelector(Bridge.CountBeyondQueue.selector, 1, 0));
        bridge.accumulatorAt(1);
    }

    function test_a_plain_transfer_deposits_to_the_sender() public {
        address alice = address(0xA11CE);
        vm.deal(alice, 5 ether);
        vm.prank(alice);
        (bool ok,) = address(bridge).call{value: 1 ether}("");
        assertTrue(ok, "transfer accepted");
        assertEq(bridge.depositCount(), 1, "queued");
        bytes32 hash = bridge.depositHash(0, alice, alice, 1 ether, uint64(block.number));
        assertEq(bridge.accumulatorAt(1), keccak256(abi.encodePacked(bytes32(0), hash)), "accumulator");
        assertEq(address(bridge).balance, 1 ether, "the bridge holds the ETH");
    }

    /// The queue never skips or reorders: each accumulator extends the one before it.
    function testFuzz_the_queue_is_a_chain(uint8 count, uint96 amount) public {
        vm.assume(amount > 0);
        vm.deal(address(this), uint256(amount) * count);
        bytes32 acc;
        for (uint64 i = 0; i < count; i++) {
            bridge.deposit{value: amount}(address(uint160(i + 1)));
            bytes32 hash = bridge.depositHash(i, address(this), address(uint160(i + 1)), amount, uint64(block.number));
            acc = keccak256(abi.encodePacked(acc, hash));
            assertEq(bridge.accumulatorAt(i + 1), acc, "chained");
        }
        assertEq(bridge.depositCount(), count, "count");
    }

    // ------------------------------------------------------------ deposit blocks

    /// Each deposit's L1 block is kept (four to a storage word).
    function testFuzz_deposit_blocks_are_kept(uint32[9] calldata gaps) public {
        uint64 b = 1;
        uint64[9] memory queuedAt;
        vm.deal(address(this), 9);
        for (uint256 i = 0; i < 9; i++) {
            b += gaps[i];
            vm.roll(b);
            bridge.deposit{value: 1}(address(1));
            queuedAt[i] = b;
        }
        for (uint256 i = 0; i < 9; i++) {
            assertEq(bridge.depositBlock(i), queuedAt[i], "block");
        }
        vm.expectRevert(abi.encodeWithSelector(Bridge.NoSuchDeposit.selector, 9, 9));
        bridge.depositBlock(9);
    }

    function test_set_rollup_once_by_the_deployer() public {
        vm.prank(address(0xBAD));
        vm.expectRevert(abi.encodeWithSelector(Bridge.NotDeployer.selector, address(0xBAD)));
        bridge.setRollup(address(1));
        vm.expectRevert(Bridge.ZeroAddress.selector);
        bridge.setRollup(address(0));
        bridge.setRollup(address(1));
        assertEq(address(bridge.rollup()), address(1), "set");
        vm.expectRevert(abi.encodeWithSelector(Bridge.RollupAlreadySet.selector, address(1)));
        bridge.setRollup(address(2));
    }

    // ------------------------------------------------------------ withdrawals

    address internal constant SEQUENCER = address(0x5E0);
    address internal constant ALICE = address(0xA11CE);
    uint64 internal constant WINDOW = 10;

    event WithdrawalFinalized(bytes32 indexed leaf, address indexed sender, address indexed recipient, uint256 amount);

    /// A rollup with one posted batch of two blocks; block 1 holds `leaves`
    /// (withdrawals), block 2 none. Returns the batch and the inclusion of leaf `which`.
    function postWithdrawals(bytes32[] memory leaves, uint256 which)
        internal
        returns (Rollup rollup, BatchData.Header memory h, Bridge.WithdrawalInclusion memory inc)
    {
        rollup = new Rollup(bridge, SEQUENCER, WINDOW, 1 ether, 64);
        bridge.setRollup(address(rollup));
        vm.deal(SEQUENCER, 1 ether);
        vm.prank(SEQUENCER);
        rollup.bond{value: 1 ether}();
        vm.deal(address(this), 100 ether);
        bridge.deposit{value: 100 ether}(ALICE); // the bridge's ETH

        Hdr memory first;
        first.number = 1;
        first.parent = L2Block.GENESIS_HASH;
        first.withdrawalsRoot = B.levels(leaves)[B.levels(leaves).length - 1][0];
        // casting to 'uint32' is safe because tests use a few leaves
        // forge-lint: disable-next-line(unsafe-typecast)
        first.withdrawalCount = uint32(leaves.length);
        first.depositsConsumed = 1;
        Hdr memory second;
        second.number = 2;
        second.depositsConsumed = 1;
        inc.blockHeader = L2.encode(first);
        second.parent = keccak256(inc.blockHeader);
        inc.laterHeaders = new bytes[](1);
        inc.laterHeaders[0] = L2.encode(second);
        inc.proof = B.prove(leaves, which);
        inc.index = which;
        bytes32 output = keccak256(inc.laterHeaders[0]);
        bytes32 acc = bridge.accumulatorAt(1);
        bytes[] memory headers = new bytes[](2);
        (headers[0], headers[1]) = (inc.blockHeader, inc.laterHeaders[0]);
        bytes memory data = L2.batchData(headers);
        vm.prank(SEQUENCER);
        rollup.postBatch(acc, data);
        h = BatchData.Header(
            0, 1, 2, L2Block.GENESIS_HASH, output, rollup.dataHash(data), 0, 1, acc, uint64(block.number)
        );
    }

    function leavesFor(address recipient) internal view returns (bytes32[] memory leaves) {
        leaves = new bytes32[](3);
        leaves[0] = bridge.withdrawalLeaf(ALICE, 0, ALICE, 1 ether);
        leaves[1] = bridge.withdrawalLeaf(ALICE, 1, recipient, 2 ether);
        leaves[2] = bridge.withdrawalLeaf(address(0xB0B), 0, address(0xB0B), 3 ether);
    }

    function test_a_withdrawal_of_a_final_batch_is_paid_once() public {
        address payable to = payable(address(0x7777));
        (Rollup rollup, BatchData.Header memory h, Bridge.WithdrawalInclusion memory inc) =
            postWithdrawals(leavesFor(to), 1);
        vm.expectRevert(abi.encodeWithSelector(Bridge.NotFinal.selector, 0));
        bridge.finalizeWithdrawal(h, inc, ALICE, 1, to, 2 ether);
        vm.roll(block.number + WINDOW);
        rollup.finalize(h);

        bytes32 leaf = bridge.withdrawalLeaf(ALICE, 1, to, 2 ether);
        assertEq(leaf, keccak256(abi.encodePacked(uint8(9), ALICE, uint64(1), to, uint128(2 ether))), "leaf per spec");
        vm.expectEmit(true, true, true, true);
        emit WithdrawalFinalized(leaf, ALICE, to, 2 ether);
        vm.prank(address(0xCA11E5)); // anyone may call it
        bridge.finalizeWithdrawal(h, inc, ALICE, 1, to, 2 ether);
        assertEq(to.balance, 2 ether, "paid to the recipient");
        assertTrue(bridge.claimed(leaf), "claimed");
        vm.expectRevert(abi.encodeWithSelector(Bridge.AlreadyClaimed.selector, leaf));
        bridge.finalizeWithdrawal(h, inc, ALICE, 1, to, 2 ether);
    }

    function test_bad_withdrawal_claims_are_refused() public {
        address to = address(0x7777);
        (Rollup rollup, BatchData.Header memory h, Bridge.WithdrawalInclusion memory inc) =
            postWithdrawals(leavesFor(to), 1);
        vm.roll(block.number + WINDOW);
        rollup.finalize(h);

        vm.expectRevert(abi.encodeWithSelector(Bridge.WithdrawalNotInBlock.selector, 1));
        bridge.finalizeWithdrawal(h, inc, ALICE, 1, to, 2 ether + 1);
        vm.expectRevert(abi.encodeWithSelector(Bridge.AmountTooLarge.selector, uint256(1) << 128));
        bridge.finalizeWithdrawal(h, inc, ALICE, 1, to, uint256(1) << 128);

        BatchData.Header memory forged = h;
        forged.outputRoot = bytes32(uint256(1));
        vm.expectRevert(abi.encodeWithSelector(Bridge.UnknownBatch.selector, 0));
        bridge.finalizeWithdrawal(forged, inc, ALICE, 1, to, 2 ether);
    }

    /// A header whose count excludes the leaf: refused even though the proof folds.
    function test_the_withdrawal_count_bounds_the_index() public {
        bytes32[] memory leaves = leavesFor(address(0x7777));
        Rollup rollup = new Rollup(bridge, SEQUENCER, WINDOW, 1 ether, 64);
        bridge.setRollup(address(rollup));
        vm.deal(SEQUENCER, 1 ether);
        vm.prank(SEQUENCER);
        rollup.bond{value: 1 ether}();
        Hdr memory only;
        only.number = 1;
        only.parent = L2Block.GENESIS_HASH;
        only.withdrawalsRoot = B.levels(leaves)[B.levels(leaves).length - 1][0];
        only.withdrawalCount = 2;
        Bridge.WithdrawalInclusion memory inc;
        inc.blockHeader = L2.encode(only);
        inc.proof = B.prove(leaves, 2);
        inc.index = 2;
        bytes[] memory headers = new bytes[](1);
        headers[0] = inc.blockHeader;
        bytes memory data = L2.batchData(headers);
        vm.prank(SEQUENCER);
        rollup.postBatch(0, data);
        BatchData.Header memory h = BatchData.Header(
            0,
            1,
            1,
            L2Block.GENESIS_HASH,
            keccak256(inc.blockHeader),
            rollup.dataHash(data),
            0,
            0,
            0,
            uint64(block.number)
        );
        vm.roll(block.number + WINDOW);
        rollup.finalize(h);
        vm.expectRevert(abi.encodeWithSelector(Bridge.WithdrawalNotInBlock.selector, 2));
        bridge.finalizeWithdrawal(h, inc, address(0xB0B), 0, address(0xB0B), 3 ether);
    }

    /// The recipient re-entering to claim again finds the leaf claimed.
    function test_a_reentrant_claim_finds_the_leaf_claimed() public {
        Reentrant to = new Reentrant(bridge);
        (Rollup rollup, BatchData.Header memory h, Bridge.WithdrawalInclusion memory inc) =
            postWithdrawals(leavesFor(address(to)), 1);
        vm.roll(block.number + WINDOW);
        rollup.finalize(h);
        to.arm(abi.encodeCall(Bridge.finalizeWithdrawal, (h, inc, ALICE, 1, address(to), 2 ether)));
        bytes32 leaf = bridge.finalizeWithdrawal(h, inc, ALICE, 1, address(to), 2 ether);
        assertEq(address(to).balance, 2 ether, "paid once");
        assertEq(
            keccak256(to.reentryError()),
            keccak256(abi.encodeWithSelector(Bridge.AlreadyClaimed.selector, leaf)),
            "reentry refused"
        );
    }

    /// Any leaf of a final batch's block is paid, exactly its amount, to its recipient.
    function testFuzz_any_included_withdrawal_is_paid(uint8 count, uint8 which, uint64 nonce, uint96 amount) public {
        count = uint8(bound(count, 1, 9));
        which = uint8(bound(which, 0, count - 1));
        amount = uint96(bound(amount, 0, 100 ether)); // what the bridge holds
        address to = address(uint160(0x10000 + uint256(nonce)));
        bytes32[] memory leaves = new bytes32[](count);
        for (uint256 i = 0; i < count; i++) {
            leaves[i] = keccak256(abi.encode("other", i));
        }
        leaves[which] = bridge.withdrawalLeaf(ALICE, nonce, to, amount);
        (Rollup rollup, BatchData.Header memory h, Bridge.WithdrawalInclusion memory inc) =
            postWithdrawals(leaves, which);
        vm.roll(block.number + WINDOW);
        rollup.finalize(h);
        bridge.finalizeWithdrawal(h, inc, ALICE, nonce, to, amount);
        assertEq(to.balance, amount, "paid");
    }
}
