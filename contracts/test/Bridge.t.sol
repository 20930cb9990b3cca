// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {Bridge} from "../src/Bridge.sol";

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
}
