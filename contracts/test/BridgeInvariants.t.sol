// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {BatchData} from "../src/BatchData.sol";
import {BatchDataVerifier} from "../src/BatchDataVerifier.sol";
import {Bridge} from "../src/Bridge.sol";
import {DisputeGame} from "../src/DisputeGame.sol";
import {L2Block} from "../src/L2Block.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {OneStepVerifier} from "../src/OneStepVerifier.sol";
import {Rollup} from "../src/Rollup.sol";
import {StateStepVerifier} from "../src/StateStepVerifier.sol";
import {Acct, Hdr, L2Builder as L2} from "./harness/L2Builder.sol";

/// Drives the whole L1 side the way the world can: users deposit, a sequencer (this
/// handler) posts honest one-block batches (deposits credited, withdrawals its users
/// signed) and dishonest ones (a header committing to a withdrawal its data lacks; a
/// withdrawal its sender cannot pay), an honest challenger proves every dishonest batch
/// wrong (a data fault proof, or a state game the lying sequencer cannot defend), time
/// passes, batches finalize, and anyone claims withdrawals, honest or forged. It keeps
/// the L2 state an honest node computes (specs/state.md) to know what L2 owes.
contract BridgeHandler is Test {
    uint64 public constant WINDOW = 6;
    uint64 public constant CLOCK = 4;
    uint256 public constant MIN_BOND = 1 ether;
    uint256 public constant CHALLENGER_BOND = 0.5 ether;
    address public constant CHALLENGER = address(0xC4A1);

    Bridge public immutable bridge;
    Rollup public immutable rollup;
    DisputeGame public immutable game;
    StateStepVerifier public immutable stateVerifier;

    uint256[3] internal keys = [uint256(0xA11CE), 0xB0B, 0xCA401];
    address[3] public users;

    /// The honest L2 state after the posted batches.
    Acct[] internal state;
    /// Deposits consumed by the posted batches.
    uint64 internal consumed;

    /// A withdrawal of a posted honest batch, and what claiming it needs.
    struct Claim {
        uint64 batch;
        address sender;
        uint64 nonce;
        address recipient;
        uint128 amount;
        bool paid;
    }

    Claim[] internal claims;
    /// Headers of the current batches, and each one's single L2 block header.
    BatchData.Header[] internal headers;
    bytes[] internal blocks;
    /// Forged claims of reverted batches: (batch header, block header, withdrawal).
    BatchData.Header[] internal forgedBatches;
    bytes[] internal forgedBlocks;
    uint128[] internal forgedAmounts;

    uint256 public deposited;
    uint256 public paidOut;
    uint256 public forgedPaid;
    uint256 public honestPosts;
    uint256 public dishonestReverted;
    uint256 public dishonestSurvived;
    uint256 public claimsPaid;

    constructor() {
        bridge = new Bridge();
        rollup = new Rollup(bridge, address(this), WINDOW, MIN_BOND, 64);
        bridge.setRollup(address(rollup));
        ModelRegistry registry = new ModelRegistry();
        stateVerifier = new StateStepVerifier(rollup, registry);
        game = new DisputeGame(
            rollup,
            registry,
            new OneStepVerifier(),
            stateVerifier,
            new BatchDataVerifier(rollup),
            CHALLENGER_BOND,
            CLOCK
        );
        rollup.setDisputeGame(address(game));
        for (uint256 i = 0; i < 3; i++) {
            users[i] = vm.addr(keys[i]);
            vm.deal(users[i], 1_000 ether);
        }
        vm.deal(address(this), 1_000 ether);
        vm.deal(CHALLENGER, 1_000 ether);
        rollup.bond{value: MIN_BOND}();
    }

    receive() external payable {}

    // ------------------------------------------------------------ actions

    function deposit(uint8 who, uint64 amount) external {
        amount = uint64(bound(amount, 1, 50 ether));
        address user = users[who % 3];
        vm.prank(user);
        bridge.deposit{value: amount}(user);
        deposited += amount;
        uint256 q = bridge.depositCount() - 1;
        queuedRecipient[q] = user;
        queuedAmount[q] = amount;
    }

    /// An honest batch: every queued deposit credited, then a withdrawal `who` signed (of
    /// at most its balance) when it has something to withdraw.
    function postHonest(uint8 who, uint64 amount, bool withdraw) external {
        Acct[] memory next = creditDeposits();
        uint256 w = who % 3;
        (uint128 balance, uint64 nonce) = L2.valueOf(next, users[w]);
        bytes memory body;
        Hdr memory h = nextHeader();
        if (withdraw && balance > 0) {
            uint128 value = uint128(bound(amount, 1, balance));
            body = signedWithdrawal(keys[w], nonce, value);
            next = L2.with_(next, users[w], balance - value, nonce + 1);
            h.withdrawalsRoot = bridge.withdrawalLeaf(users[w], nonce, users[w], value);
            h.withdrawalCount = 1;
            claims.push(Claim(uint64(headers.length), users[w], nonce, users[w], value, false));
        }
        h.stateRoot = L2.root(next);
        post(h, body);
        copyState(next);
        honestPosts++;
    }

    /// The drain attack: honest deposits, but the header commits to a withdrawal of the
    /// bridge's whole balance to the sequencer that the data does not hold. The
    /// challenger proves the data fault at once.
    function postDrain() external {
        Acct[] memory next = creditDeposits();
        Hdr memory h = nextHeader();
        uint128 all = uint128(address(bridge).balance);
        h.withdrawalsRoot = bridge.withdrawalLeaf(address(this), 0, address(this), all);
        h.withdrawalCount = 1;
        h.stateRoot = L2.root(next);
        (BatchData.Header memory posted, bytes memory data, bytes memory block_) = post(h, "");
        vm.prank(CHALLENGER);
        try game.proveDataFault(posted, data, 0) {
            dishonestReverted++;
        } catch {
            dishonestSurvived++;
        }
        forget(posted, block_, all);
    }

    /// An overdraft: `who` signs a withdrawal above its L2 balance, which the sequencer
    /// includes with a state root as if it were paid. The challenger opens a state game;
    /// the sequencer has no valid proof of the step, so its clock runs out.
    function postOverdraft(uint8 who) external {
        if (bridge.depositCount() != consumed || rollup.tip() == L2Block.GENESIS_HASH) {
            return; // keep the block to one transaction (n = 1) after a known parent
        }
        uint256 w = who % 3;
        (uint128 balance, uint64 nonce) = L2.valueOf(state, users[w]);
        uint128 value = balance + 1;
        Hdr memory h = nextHeader();
        h.withdrawalsRoot = bridge.withdrawalLeaf(users[w], nonce, users[w], value);
        h.withdrawalCount = 1;
        h.stateRoot = L2.root(L2.with_(state, users[w], 0, nonce + 1));
        bytes memory parent = blocks[blocks.length - 1];
        BatchData.Header memory previous = headers[headers.length - 1];
        (BatchData.Header memory posted,, bytes memory block_) = post(h, signedWithdrawal(keys[w], nonce, value));
        bytes[] memory chain = new bytes[](2);
        (chain[0], chain[1]) = (parent, block_);
        vm.prank(CHALLENGER);
        uint256 id = game.openState{value: CHALLENGER_BOND}(posted, previous, chain);
        vm.roll(block.number + CLOCK + 1);
        game.timeout(id);
        if (rollup.isCurrent(posted)) dishonestSurvived++;
        else dishonestReverted++;
        forget(posted, block_, value);
    }

    function advance(uint8 blocks_) external {
        vm.roll(block.number + bound(blocks_, 1, 4));
    }

    function finalizeNext() external {
        (uint64 count, uint64 finalized,,) = rollup.head();
        if (finalized >= count) return;
        try rollup.finalize(headers[finalized]) {} catch {}
    }

    /// Anyone claims honest withdrawal `which` (paid only once its batch is final).
    function claim(uint8 which) external {
        if (claims.length == 0) return;
        Claim storage c = claims[which % claims.length];
        if (c.batch >= headers.length) return;
        Bridge.WithdrawalInclusion memory inc;
        inc.blockHeader = blocks[c.batch];
        try bridge.finalizeWithdrawal(headers[c.batch], inc, c.sender, c.nonce, c.recipient, c.amount) {
            paidOut += c.amount;
            claimsPaid++;
            c.paid = true;
        } catch {}
    }

    /// Anyone tries a forged withdrawal of a reverted batch, at any time.
    function claimForged(uint8 which) external {
        if (forgedBatches.length == 0) return;
        uint256 i = which % forgedBatches.length;
        Bridge.WithdrawalInclusion memory inc;
        inc.blockHeader = forgedBlocks[i];
        BatchData.Header memory h = forgedBatches[i];
        address sender = forgedSenders[i];
        try bridge.finalizeWithdrawal(h, inc, sender, forgedNonces[i], sender, forgedAmounts[i]) {
            forgedPaid += forgedAmounts[i];
        } catch {}
    }

    // ------------------------------------------------------------ what L2 owes

    /// Balances on L2, withdrawals not claimed yet, and deposits not consumed yet.
    function owed() external view returns (uint256 total) {
        for (uint256 i = 0; i < state.length; i++) {
            total += state[i].balance;
        }
        for (uint256 i = 0; i < claims.length; i++) {
            if (!claims[i].paid) total += claims[i].amount;
        }
        for (uint256 i = consumed; i < bridge.depositCount(); i++) {
            total += queuedAmount[i];
        }
    }

    // ------------------------------------------------------------ internals

    /// Each deposit's recipient and amount, by queue index.
    mapping(uint256 => address) internal queuedRecipient;
    mapping(uint256 => uint256) internal queuedAmount;
    /// Whom each forged claim pays, and its nonce.
    mapping(uint256 => address) internal forgedSenders;
    mapping(uint256 => uint64) internal forgedNonces;

    /// The honest state after crediting every queued deposit, in queue order.
    function creditDeposits() internal view returns (Acct[] memory next) {
        next = state;
        uint256 count = bridge.depositCount();
        for (uint256 q = consumed; q < count; q++) {
            address recipient = queuedRecipient[q];
            uint256 amount = queuedAmount[q];
            (uint128 balance, uint64 nonce) = L2.valueOf(next, recipient);
            // casting to 'uint128' is safe because deposits are bounded to 50 ether
            // forge-lint: disable-next-line(unsafe-typecast)
            next = L2.with_(next, recipient, balance + uint128(amount), nonce);
        }
    }

    function nextHeader() internal view returns (Hdr memory h) {
        (,, uint64 next,) = rollup.head();
        h.number = next;
        h.parent = rollup.tip();
        h.depositsConsumed = uint64(bridge.depositCount());
    }

    function signedWithdrawal(uint256 key, uint64 nonce, uint128 amount) internal view returns (bytes memory) {
        address who = vm.addr(key);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, stateVerifier.withdrawalHash(who, nonce, who, amount));
        return abi.encodePacked(who, nonce, who, amount, r, s, v);
    }

    /// Posts one block `h` with `body` as the next batch (bonding again after a slash).
    function post(Hdr memory h, bytes memory body)
        internal
        returns (BatchData.Header memory posted, bytes memory data, bytes memory block_)
    {
        if (rollup.bonds(address(this)) < MIN_BOND) rollup.bond{value: MIN_BOND}();
        block_ = L2.encode(h);
        bytes[] memory hs = new bytes[](1);
        hs[0] = block_;
        bytes[] memory bodies = new bytes[](1);
        bodies[0] = body;
        data = L2.batchData(hs, bodies);
        (uint64 index,,, uint64 start) = rollup.head();
        bytes32 acc = bridge.accumulatorAt(h.depositsConsumed);
        posted = BatchData.Header(
            index,
            h.number,
            h.number,
            h.parent,
            keccak256(block_),
            rollup.dataHash(data),
            start,
            h.depositsConsumed,
            acc,
            uint64(block.number)
        );
        rollup.postBatch(acc, data);
        headers.push(posted);
        blocks.push(block_);
        consumed = h.depositsConsumed;
    }

    /// Drops a reverted dishonest batch from the mirror (its deposits go back to the
    /// queue) and keeps its forged claim to try later.
    function forget(BatchData.Header memory posted, bytes memory block_, uint128 amount) internal {
        if (rollup.isCurrent(posted)) return; // survived: the invariant reports it
        headers.pop();
        blocks.pop();
        consumed = posted.depositsStart;
        uint256 i = forgedBatches.length;
        forgedBatches.push(posted);
        forgedBlocks.push(block_);
        forgedAmounts.push(amount);
        (forgedSenders[i], forgedNonces[i]) = forgedClaimant(block_);
    }

    /// Who the forged withdrawal of `block_` pays: the sequencer (drain) or the user.
    function forgedClaimant(bytes memory block_) internal view returns (address, uint64) {
        bytes32 root;
        assembly {
            root := mload(add(block_, add(32, 121)))
        }
        for (uint256 i = 0; i < 3; i++) {
            (uint128 balance, uint64 nonce) = L2.valueOf(state, users[i]);
            if (root == bridge.withdrawalLeaf(users[i], nonce, users[i], balance + 1)) return (users[i], nonce);
        }
        return (address(this), 0);
    }

    function copyState(Acct[] memory next) internal {
        delete state;
        for (uint256 i = 0; i < next.length; i++) {
            state.push(next[i]);
        }
    }
}

contract BridgeInvariantTest is Test {
    BridgeHandler internal handler;

    function setUp() public {
        handler = new BridgeHandler();
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// The handler's actions reach every path (so the invariants are not vacuous): an
    /// honest withdrawal paid after finality, a drain and an overdraft reverted, and the
    /// forged claims refused.
    function test_the_handler_exercises_every_path() public {
        handler.deposit(0, 10 ether);
        handler.deposit(1, 5 ether);
        handler.postHonest(0, 3 ether, true);
        handler.postDrain();
        handler.postOverdraft(1);
        handler.advance(3);
        handler.advance(3);
        handler.finalizeNext();
        handler.claim(0);
        handler.claimForged(0);
        handler.claimForged(1);
        assertEq(handler.honestPosts(), 1, "honest posts");
        assertEq(handler.dishonestReverted(), 2, "both dishonest batches reverted");
        assertEq(handler.dishonestSurvived(), 0, "none survived");
        assertEq(handler.claimsPaid(), 1, "the honest withdrawal paid");
        assertTrue(handler.paidOut() > 0 && handler.paidOut() <= 10 ether, "paid out what was withdrawn");
        invariant_the_bridge_pays_out_at_most_what_l2_does_not_owe();
        invariant_no_dishonest_batch_survives_and_no_forged_claim_pays();
    }

    /// Total paid out ≤ total deposited − what L2 still owes (balances, unclaimed
    /// withdrawals, deposits not yet consumed); with no fees on L2 it is an equality, and
    /// the bridge holds exactly what was deposited minus what it paid.
    function invariant_the_bridge_pays_out_at_most_what_l2_does_not_owe() public view {
        uint256 deposited = handler.deposited();
        uint256 owed = handler.owed();
        assertTrue(owed <= deposited, "L2 never owes more than came in");
        assertTrue(handler.paidOut() <= deposited - owed, "paid out <= deposited - owed");
        assertEq(handler.paidOut() + owed, deposited, "every wei accounted for");
        assertEq(address(handler.bridge()).balance, deposited - handler.paidOut(), "the bridge's balance");
    }

    /// Every dishonest batch was reverted, and no forged withdrawal was ever paid.
    function invariant_no_dishonest_batch_survives_and_no_forged_claim_pays() public view {
        assertEq(handler.dishonestSurvived(), 0, "a dishonest batch survived");
        assertEq(handler.forgedPaid(), 0, "a forged withdrawal was paid");
    }
}
