// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {BatchData} from "../src/BatchData.sol";
import {Bridge} from "../src/Bridge.sol";
import {L2Block} from "../src/L2Block.sol";
import {Rollup} from "../src/Rollup.sol";
import {L2Builder as L2} from "./harness/L2Builder.sol";

/// Drives the rollup the way the world can: deposits, posts (honest and dishonest),
/// finalize attempts at any time, disputes, reverts, bonds, time passing. It is the
/// sequencer and the dispute game, and records what it saw in ghost variables.
contract RollupHandler is Test {
    uint64 public constant WINDOW = 5;
    /// Short, so the handler's random walk meets overdue deposits.
    uint64 public constant DEADLINE = 16;
    uint256 public constant MIN_BOND = 1 ether;

    Bridge public immutable bridge;
    Rollup public immutable rollup;
    address[3] public challengers = [address(0xC1), address(0xC2), address(0xC3)];

    /// The currently posted headers, by index (mirrors the rollup).
    BatchData.Header[] internal headers;
    /// The data posted (or tried), by its hash.
    mapping(bytes32 => bytes) internal dataOf;
    /// L1 block at which each current batch was finalized.
    mapping(uint256 => uint256) public finalizedAt;

    bool public earlyFinalization;
    bool public badPostAccepted;
    bool public overduePostAccepted;
    uint256 public paidIn;
    uint256 public paidOut;
    uint256 public posts;
    uint256 public finalizations;
    uint256 public reverts;

    constructor() {
        bridge = new Bridge();
        rollup = new Rollup(bridge, address(this), WINDOW, MIN_BOND, DEADLINE);
        rollup.setDisputeGame(address(this));
        vm.deal(address(this), 1_000_000 ether);
    }

    receive() external payable {}

    function deposit(uint96 amount) external {
        amount = uint96(bound(amount, 1, 100 ether));
        bridge.deposit{value: amount}(address(uint160(amount)));
    }

    function bond(uint96 amount) external {
        amount = uint96(bound(amount, 1, 3 ether));
        rollup.bond{value: amount}();
        paidIn += amount;
    }

    function unbond(uint96 amount) external {
        uint256 current = rollup.bonds(address(this));
        if (current == 0) return;
        amount = uint96(bound(amount, 1, current));
        try rollup.unbond(amount) {
            paidOut += amount;
        } catch {}
    }

    function post(uint8 blocks, uint16 consume, bool honestAccumulator) external {
        (,,, uint64 consumed) = rollup.head();
        uint256 queued = bridge.depositCount();
        uint64 depositsEnd = uint64(bound(consume, consumed, queued));
        bytes32 acc = bridge.accumulatorAt(depositsEnd);
        bool honest = honestAccumulator || acc == bytes32(0);
        if (!honest) acc = keccak256(abi.encode(acc));
        BatchData.Header memory h = expected(1 + uint64(bound(blocks, 0, 7)), depositsEnd, acc);
        try rollup.postBatch(acc, dataOf[h.dataHash]) returns (uint64) {
            if (!honest) badPostAccepted = true;
            if (depositsEnd < queued && block.number >= uint256(bridge.depositBlock(depositsEnd)) + DEADLINE) {
                overduePostAccepted = true;
            }
            headers.push(h);
            posts++;
        } catch {}
    }

    /// Data of `count` header-only blocks continuing the rollup (kept in `dataOf` by its
    /// hash) and the header a post of it records now.
    function expected(uint64 count, uint64 depositsEnd, bytes32 acc) internal returns (BatchData.Header memory h) {
        (uint64 index,, uint64 nextBlock, uint64 consumed) = rollup.head();
        (bytes[] memory blockHeaders, bytes32 last) = L2.emptyBlocks(nextBlock, rollup.tip(), count, depositsEnd);
        bytes memory data = L2.batchData(blockHeaders);
        h.dataHash = rollup.dataHash(data);
        dataOf[h.dataHash] = data;
        h.index = index;
        h.firstBlock = nextBlock;
        h.lastBlock = nextBlock + count - 1;
        h.parentRoot = rollup.tip();
        h.outputRoot = last;
        h.depositsStart = consumed;
        h.depositsEnd = depositsEnd;
        h.depositAccumulator = acc;
        h.l1Block = uint64(block.number);
    }

    /// Tries to skip deposits: a batch whose queue range does not start where the last
    /// one ended cannot be stated (the start is not a parameter, and the headers' counts
    /// may not go back), so the only ways to skip are a wrong accumulator or a count
    /// beyond the queue; both must fail.
    function postBeyondQueue(uint8 extra) external {
        (,, uint64 nextBlock,) = rollup.head();
        uint64 beyond = uint64(bridge.depositCount()) + 1 + uint64(bound(extra, 0, 3));
        (bytes[] memory blockHeaders,) = L2.emptyBlocks(nextBlock, rollup.tip(), 1, beyond);
        try rollup.postBatch(bytes32(0), L2.batchData(blockHeaders)) {
            badPostAccepted = true;
        } catch {}
    }

    function finalize(uint8 which) external {
        if (headers.length == 0) return;
        uint256 i = bound(which, 0, headers.length - 1);
        BatchData.Header memory h = headers[i];
        try rollup.finalize(h) {
            if (block.number < uint256(h.l1Block) + WINDOW) earlyFinalization = true;
            if (rollup.openDisputes(rollup.headerHash(h)) != 0) earlyFinalization = true;
            finalizedAt[i] = block.number;
            finalizations++;
        } catch {}
    }

    function openDispute(uint8 which) external {
        if (headers.length == 0) return;
        BatchData.Header memory h = headers[bound(which, 0, headers.length - 1)];
        try rollup.openDispute(h) {} catch {}
    }

    function closeDispute(uint8 which) external {
        if (headers.length == 0) return;
        BatchData.Header memory h = headers[bound(which, 0, headers.length - 1)];
        try rollup.closeDispute(rollup.headerHash(h)) {} catch {}
    }

    function revertBatch(uint8 which, uint8 challenger) external {
        if (headers.length == 0) return;
        uint256 i = bound(which, 0, headers.length - 1);
        try rollup.revertBatch(headers[i], challengers[bound(challenger, 0, 2)]) {
            while (headers.length > i) headers.pop();
            reverts++;
        } catch {}
    }

    function withdrawCredit(uint8 challenger) external {
        address who = challengers[bound(challenger, 0, 2)];
        uint256 credit = rollup.credits(who);
        vm.prank(who);
        try rollup.withdrawCredit() {
            paidOut += credit;
        } catch {}
    }

    function advance(uint8 blocks) external {
        vm.roll(block.number + bound(blocks, 1, 8));
    }

    function headerCount() external view returns (uint256) {
        return headers.length;
    }

    function header(uint256 i) external view returns (BatchData.Header memory) {
        return headers[i];
    }
}

contract RollupInvariantTest is Test {
    RollupHandler internal handler;

    function setUp() public {
        handler = new RollupHandler();
    }

    /// Forge fuzzes only the handler's functions.
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// The handler's actions do reach the rollup (so the invariants are not vacuous).
    function test_the_handler_exercises_the_rollup() public {
        handler.bond(2 ether);
        handler.deposit(1 ether);
        handler.post(2, 1, true);
        handler.post(0, 1, true);
        handler.post(1, 1, false); // a wrong accumulator: refused
        handler.post(1, 1, true);
        handler.advance(7); // 1 + 7 % 8 = 8 blocks, past the window of 5
        handler.finalize(0);
        handler.revertBatch(1, 0);
        handler.withdrawCredit(0);
        assertEq(handler.posts(), 3, "posts");
        assertEq(handler.finalizations(), 1, "finalizations");
        assertEq(handler.reverts(), 1, "reverts");
        assertEq(handler.headerCount(), 1, "one batch left");
        assertTrue(handler.paidOut() > 0, "credit paid");
        invariant_the_queue_is_never_skipped();
        invariant_bonds_are_conserved();
    }

    /// No batch became final before its window ended or while a game on it was open.
    function invariant_no_batch_finalizes_before_its_window() public view {
        assertTrue(!handler.earlyFinalization(), "finalized early");
        Rollup rollup = handler.rollup();
        (, uint64 finalized,,) = rollup.head();
        for (uint256 i = 0; i < finalized; i++) {
            BatchData.Header memory h = handler.header(i);
            assertTrue(handler.finalizedAt(i) >= uint256(h.l1Block) + handler.WINDOW(), "window respected");
        }
    }

    /// The posted batches consume the deposit queue as one contiguous, in-order run,
    /// each range ending at the bridge's accumulator; blocks are contiguous too.
    function invariant_the_queue_is_never_skipped() public view {
        assertTrue(!handler.badPostAccepted(), "a skipping post was accepted");
        Rollup rollup = handler.rollup();
        Bridge bridge = handler.bridge();
        (uint64 count,, uint64 nextBlock, uint64 consumed) = rollup.head();
        assertEq(count, handler.headerCount(), "mirror in sync");
        uint64 expectedStart = 0;
        uint64 expectedBlock = 1;
        bytes32 expectedParent = L2Block.GENESIS_HASH;
        for (uint256 i = 0; i < count; i++) {
            BatchData.Header memory h = handler.header(i);
            assertTrue(rollup.isCurrent(h), "current");
            assertEq(h.depositsStart, expectedStart, "queue range starts where the last ended");
            assertEq(h.depositAccumulator, bridge.accumulatorAt(h.depositsEnd), "accumulator");
            assertEq(h.firstBlock, expectedBlock, "blocks contiguous");
            assertEq(h.parentRoot, expectedParent, "each batch builds on the last output root");
            expectedStart = h.depositsEnd;
            expectedBlock = h.lastBlock + 1;
            expectedParent = h.outputRoot;
        }
        assertEq(rollup.tip(), expectedParent, "the tip is the last output root");
        assertEq(consumed, expectedStart, "head consumed");
        assertEq(nextBlock, expectedBlock, "head next block");
    }

    /// No batch was accepted while the first deposit it left in the queue was due
    /// (queued `DEADLINE` or more blocks before the post).
    function invariant_no_post_ignores_an_overdue_deposit() public view {
        assertTrue(!handler.overduePostAccepted(), "a post ignored an overdue deposit");
    }

    /// Every wei the rollup holds is a bond, a credit or burnt, and what came in minus
    /// what went out is exactly that.
    function invariant_bonds_are_conserved() public view {
        Rollup rollup = handler.rollup();
        uint256 held = rollup.bonds(address(handler)) + rollup.burnt();
        for (uint256 i = 0; i < 3; i++) {
            held += rollup.credits(handler.challengers(i));
        }
        assertEq(address(rollup).balance, held, "balance = bonds + credits + burnt");
        assertEq(handler.paidIn() - handler.paidOut(), held, "in - out = held");
    }
}
