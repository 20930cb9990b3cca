// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {BatchData} from "../src/BatchData.sol";
import {BatchDataVerifier} from "../src/BatchDataVerifier.sol";
import {Bridge} from "../src/Bridge.sol";
import {DisputeGame} from "../src/DisputeGame.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {OneStepVerifier} from "../src/OneStepVerifier.sol";
import {L2Block} from "../src/L2Block.sol";
import {Rollup} from "../src/Rollup.sol";
import {StateStepVerifier} from "../src/StateStepVerifier.sol";
import {Case, Nodes, StepFixture} from "./OneStepVerifier.t.sol";
import {T, TraceBuilder as B} from "./harness/TraceBuilder.sol";
import {L2Builder as L2} from "./harness/L2Builder.sol";

/// Whole games against a real Rollup, Bridge and ModelRegistry, with a three-node model
/// (MatMul + bias, Requantize, ArgMax) whose trace the tests compute by hand.
contract DisputeGameTest is StepFixture {
    uint64 internal constant WINDOW = 100;
    uint64 internal constant CLOCK = 20;
    uint64 internal constant DEADLINE = 64;
    uint256 internal constant MIN_BOND = 1 ether;
    uint256 internal constant BOND = 0.1 ether;
    address internal constant SEQUENCER = address(0x5E0);
    address internal constant CHALLENGER = address(0xC4A1);
    address internal constant OTHER = address(0xC4A2);
    uint32 internal constant N = 3;
    uint256 internal constant D = 2;

    Bridge internal bridge;
    Rollup internal rollup;
    ModelRegistry internal registry;
    StateStepVerifier internal stateVerifier;
    DisputeGame internal game;
    bytes internal graph;
    bytes32 internal modelId;

    function setUp() public override {
        super.setUp();
        bridge = new Bridge();
        rollup = new Rollup(bridge, SEQUENCER, WINDOW, MIN_BOND, DEADLINE);
        bridge.setRollup(address(rollup));
        registry = new ModelRegistry();
        stateVerifier = new StateStepVerifier(rollup, registry);
        game = new DisputeGame(rollup, registry, verifier, stateVerifier, new BatchDataVerifier(rollup), BOND, CLOCK);
        rollup.setDisputeGame(address(game));
        vm.deal(SEQUENCER, 10 ether);
        vm.deal(CHALLENGER, 10 ether);
        vm.deal(OTHER, 10 ether);
        vm.prank(SEQUENCER);
        rollup.bond{value: 2 ether}();

        int32[] memory m = new int32[](1);
        uint8[] memory s = new uint8[](1);
        (m[0], s[0]) = (int32(1 << 30), 31);
        bytes[] memory ns = new bytes[](3);
        ns[0] = Nodes.matmul(0, 0, true, 1);
        ns[1] = Nodes.requant(1, 0, m, s);
        ns[2] = Nodes.unary(10, 2);
        graph = B.graph(B.shape1(4), ns);
        modelId = registry.register(graph, weightsRootOf(), 0, "tiny");
    }

    // ------------------------------------------------------------ the model and its trace

    function weightTensors() internal pure returns (T[] memory ws) {
        int256[] memory w = new int256[](8);
        (w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]) = (1, 2, 3, 4, -1, -2, -3, -4);
        ws = two(B.tensor(0, B.shape2(2, 4), w), B.tensor(1, B.shape1(2), ints(5, -5)));
    }

    function weightsRootOf() internal pure returns (bytes32) {
        T[] memory ws = weightTensors();
        bytes32[] memory hs = new bytes32[](2);
        hs[0] = B.leafOf(B.commitment(ws[0]));
        hs[1] = B.leafOf(B.commitment(ws[1]));
        return B.levels(hs)[1][0];
    }

    /// v0 = [10, -20, 30, 127]; v1 = [573, -573]; v2 = [127, -127]; v3 = [0] (or a lie: [1]).
    function trace(bool lie) internal pure returns (T[] memory vs) {
        vs = new T[](4);
        int256[] memory x = new int256[](4);
        (x[0], x[1], x[2], x[3]) = (10, -20, 30, 127);
        vs[0] = B.tensor(0, B.shape1(4), x);
        vs[1] = B.tensor(1, B.shape1(2), ints(573, -573));
        vs[2] = B.tensor(0, B.shape1(2), ints(127, -127));
        vs[3] = B.tensor(1, B.shape1(1), ints(lie ? int256(1) : int256(0)));
    }

    function commitments(T[] memory vs, uint256 k) internal pure returns (bytes32[] memory cs) {
        cs = new bytes32[](k + 1);
        for (uint256 i = 0; i <= k; i++) {
            cs[i] = B.commitment(vs[i]);
        }
    }

    function state(T[] memory vs, uint256 k) internal pure returns (bytes32) {
        return B.stateRoot(commitments(vs, k), D);
    }

    // ------------------------------------------------------------ L2 blocks and batches

    function record(bytes32 outputRoot, uint256 salt) internal view returns (bytes memory) {
        T[] memory vs = trace(false);
        return abi.encodePacked(
            uint8(6), keccak256(abi.encode(salt)), CHALLENGER, modelId, B.commitment(vs[0]), outputRoot, uint128(0)
        );
    }

    function blockHeader(uint64 number, bytes32 parent, bytes32 recordsRoot, uint32 records)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodePacked(
            uint8(7),
            number,
            parent,
            uint64(1000 + number),
            recordsRoot,
            bytes32(0),
            uint64(0),
            bytes32(0),
            records,
            uint32(0),
            uint64(0)
        );
    }

    /// Posts a batch of `blocks` blocks whose first holds `recs` (so its records root is
    /// theirs); returns the header and an inclusion proof of record `which`.
    function postWith(bytes[] memory recs, uint256 which, uint64 blocks)
        internal
        returns (BatchData.Header memory h, DisputeGame.RecordInclusion memory inc)
    {
        (,, uint64 next,) = rollup.head();
        bytes32[] memory hs = new bytes32[](recs.length);
        for (uint256 i = 0; i < recs.length; i++) {
            hs[i] = keccak256(recs[i]);
        }
        inc.recordProof = B.prove(hs, which);
        inc.index = which;
        bytes32 parent = rollup.tip();
        inc.blockHeader = blockHeader(next, parent, B.levels(hs)[B.levels(hs).length - 1][0], uint32(recs.length));
        bytes32 hash = keccak256(inc.blockHeader);
        inc.laterHeaders = new bytes[](blocks - 1);
        for (uint64 i = 1; i < blocks; i++) {
            inc.laterHeaders[i - 1] = blockHeader(next + i, hash, bytes32(0), 0);
            hash = keccak256(inc.laterHeaders[i - 1]);
        }
        bytes[] memory headers = new bytes[](blocks);
        headers[0] = inc.blockHeader;
        for (uint256 i = 1; i < blocks; i++) {
            headers[i] = inc.laterHeaders[i - 1];
        }
        // Header-only data: the records are not in it (a data fault proof would revert
        // this batch; the games here do not look at the data).
        bytes memory data = L2.batchData(headers);
        h = BatchData.Header({
            index: 0,
            firstBlock: next,
            lastBlock: next + blocks - 1,
            parentRoot: parent,
            outputRoot: hash,
            dataHash: rollup.dataHash(data),
            depositsStart: 0,
            depositsEnd: 0,
            depositAccumulator: bridge.accumulatorAt(0),
            l1Block: uint64(block.number)
        });
        (h.index,,,) = rollup.head();
        vm.prank(SEQUENCER);
        rollup.postBatch(h.depositAccumulator, data);
    }

    function postOne(bytes memory rec)
        internal
        returns (BatchData.Header memory h, DisputeGame.RecordInclusion memory inc)
    {
        bytes[] memory recs = new bytes[](1);
        recs[0] = rec;
        return postWith(recs, 0, 1);
    }

    function openBy(address who, BatchData.Header memory h, bytes memory rec, DisputeGame.RecordInclusion memory inc)
        internal
        returns (uint256)
    {
        vm.prank(who);
        return game.open{value: BOND}(h, rec, inc);
    }

    // ------------------------------------------------------------ playing

    /// The defender's moves up to the reveal; the challenger agrees with a midpoint iff it
    /// equals the honest state (`liar`: it always disagrees).
    function bisectAll(uint256 id, T[] memory defender, bool liar) internal {
        T[] memory honest = trace(false);
        vm.prank(SEQUENCER);
        game.start(id, state(defender, N), B.stateProof(commitments(defender, N), D, N), state(defender, 1));
        while (game.getGame(id).status == DisputeGame.Status.AwaitingChoice) {
            DisputeGame.GameView memory v = game.getGame(id);
            bool agree = !liar && v.midState == state(honest, v.mid);
            vm.roll(block.number + 1);
            vm.prank(v.challenger);
            game.choose(id, agree);
            v = game.getGame(id);
            if (v.status == DisputeGame.Status.AwaitingMidpoint) {
                vm.prank(SEQUENCER);
                game.bisect(id, state(defender, v.mid));
            }
        }
        assertTrue(game.getGame(id).status == DisputeGame.Status.AwaitingReveal, "reveal next");
    }

    function revealValue(uint256 id, T[] memory defender) internal {
        uint256 hi = game.getGame(id).hi;
        vm.prank(SEQUENCER);
        game.reveal(id, B.header(defender[hi]), defender[hi].data, B.stateProof(commitments(defender, hi), D, hi));
    }

    function stepCase(T[] memory defender, uint256 lo, uint256 element) internal view returns (Case memory c) {
        c.graph = graph;
        c.opCount = N;
        c.step = lo;
        c.values = new T[](lo + 1);
        for (uint256 i = 0; i <= lo; i++) {
            c.values[i] = defender[i];
        }
        c.inputIds = ids(lo);
        c.weights = weightTensors();
        c.weightIds = lo == 0 ? ids(0, 1) : none();
        c.output = defender[lo + 1];
        c.element = element;
    }

    function proveStep(uint256 id, T[] memory defender) internal {
        DisputeGame.GameView memory v = game.getGame(id);
        vm.prank(SEQUENCER);
        game.prove(id, proofFor(stepCase(defender, v.lo, v.element)));
    }

    function play(uint256 id, T[] memory defender, bool liar) internal {
        bisectAll(id, defender, liar);
        revealValue(id, defender);
        vm.prank(game.getGame(id).challenger);
        game.nameElement(id, 0);
        proveStep(id, defender);
    }

    // ------------------------------------------------------------ tests

    function test_a_lying_defender_loses_and_its_batch_reverts() public {
        T[] memory lie = trace(true);
        bytes memory rec = record(B.commitment(lie[3]), 1);
        (BatchData.Header memory h, DisputeGame.RecordInclusion memory inc) = postOne(rec);
        uint256 id = openBy(CHALLENGER, h, rec, inc);
        DisputeGame.GameView memory v = game.getGame(id);
        assertEq(v.stateLo, state(lie, 0), "S_0 computed on L1");
        assertEq(v.hi, N, "hi = n");

        play(id, lie, false);
        v = game.getGame(id);
        assertTrue(v.status == DisputeGame.Status.ChallengerWon, "challenger won");
        assertEq(v.lo, 2, "the lie is in the last op");
        (uint64 count,,,) = rollup.head();
        assertEq(count, 0, "batch reverted");
        assertEq(rollup.credits(CHALLENGER), 1 ether, "half the sequencer's bond");
        assertEq(game.credits(CHALLENGER), BOND, "bond back");
        uint256 before = CHALLENGER.balance;
        vm.prank(CHALLENGER);
        game.withdraw();
        assertEq(CHALLENGER.balance, before + BOND, "withdrawn");
        vm.prank(CHALLENGER);
        vm.expectRevert(DisputeGame.NothingToWithdraw.selector);
        game.withdraw();
    }

    function test_a_lying_challenger_loses_its_bond_and_the_batch_finalizes() public {
        T[] memory honest = trace(false);
        bytes memory rec = record(B.commitment(honest[3]), 1);
        (BatchData.Header memory h, DisputeGame.RecordInclusion memory inc) = postOne(rec);
        uint256 id = openBy(CHALLENGER, h, rec, inc);
        play(id, honest, true);
        DisputeGame.GameView memory v = game.getGame(id);
        assertTrue(v.status == DisputeGame.Status.DefenderWon, "defender won");
        assertEq(v.lo, 0, "disagreed down to the first op");
        assertEq(game.credits(SEQUENCER), BOND, "bond to the sequencer");
        assertEq(rollup.openDisputes(v.batchHash), 0, "dispute closed");
        vm.roll(h.l1Block + WINDOW);
        rollup.finalize(h);
        assertTrue(rollup.isFinalized(0), "final");
    }

    function test_a_wrong_claimed_element_is_caught_in_a_middle_op() public {
        // The defender lies about v2 and keeps the lie consistent up to the output.
        T[] memory lie = trace(false);
        lie[2] = B.tensor(0, B.shape1(2), ints(127, -126));
        bytes memory rec = record(B.commitment(lie[3]), 1);
        (BatchData.Header memory h, DisputeGame.RecordInclusion memory inc) = postOne(rec);
        uint256 id = openBy(CHALLENGER, h, rec, inc);
        bisectAll(id, lie, false);
        revealValue(id, lie);
        DisputeGame.GameView memory v = game.getGame(id);
        assertEq(v.hi, 2, "v2 is disputed");
        vm.prank(CHALLENGER);
        game.nameElement(id, 1);
        proveStep(id, lie);
        assertTrue(game.getGame(id).status == DisputeGame.Status.ChallengerWon, "caught");
    }

    function test_timeouts_on_both_sides() public {
        T[] memory honest = trace(false);
        bytes memory rec = record(B.commitment(honest[3]), 1);
        (BatchData.Header memory h, DisputeGame.RecordInclusion memory inc) = postOne(rec);
        uint256 slow = openBy(CHALLENGER, h, rec, inc);
        uint256 idle = openBy(OTHER, h, rec, inc);

        // The defender never starts game `slow`.
        vm.roll(block.number + CLOCK);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.ClockRunning.selector, slow, CLOCK, CLOCK));
        game.timeout(slow);

        // It does start `idle` in time, then the challenger never chooses.
        vm.prank(SEQUENCER);
        game.start(idle, state(honest, N), B.stateProof(commitments(honest, N), D, N), state(honest, 1));
        assertEq(game.getGame(idle).defenderClock, 0, "clock spent");

        vm.roll(block.number + 1);
        vm.prank(SEQUENCER);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.ClockExpired.selector, slow, CLOCK + 1, CLOCK));
        game.start(slow, state(honest, N), B.stateProof(commitments(honest, N), D, N), state(honest, 1));
        game.timeout(slow);
        assertTrue(game.getGame(slow).status == DisputeGame.Status.ChallengerWon, "defender timed out");
        // The batch is gone, so the other game decides nothing: a timeout ends it as
        // abandoned and the challenger's bond goes back (finding 4 of the security review:
        // before, the sequencer took it by letting the challenger's clock run out).
        vm.roll(block.number + CLOCK);
        game.timeout(idle);
        assertTrue(game.getGame(idle).status == DisputeGame.Status.Abandoned, "abandoned");
        assertEq(game.credits(SEQUENCER), 0, "nothing to the sequencer");
        assertEq(game.credits(OTHER), BOND, "the bond back");
    }

    function test_only_the_parties_move() public {
        T[] memory honest = trace(false);
        bytes memory rec = record(B.commitment(honest[3]), 1);
        (BatchData.Header memory h, DisputeGame.RecordInclusion memory inc) = postOne(rec);
        uint256 id = openBy(CHALLENGER, h, rec, inc);
        bytes32[] memory proof = B.stateProof(commitments(honest, N), D, N);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.NotDefender.selector, address(this)));
        game.start(id, state(honest, N), proof, state(honest, 1));
        vm.prank(SEQUENCER);
        vm.expectRevert(DisputeGame.FinalStateMismatch.selector);
        game.start(id, state(trace(true), N), proof, state(honest, 1));
        vm.prank(SEQUENCER);
        game.start(id, state(honest, N), proof, state(honest, 1));
        vm.prank(SEQUENCER);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.NotChallenger.selector, SEQUENCER));
        game.choose(id, true);
        vm.prank(CHALLENGER);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongStatus.selector, id, DisputeGame.Status.AwaitingChoice));
        game.nameElement(id, 0);
    }

    function test_abandon_after_another_game_reverted_the_batch() public {
        T[] memory lie = trace(true);
        bytes memory rec = record(B.commitment(lie[3]), 1);
        (BatchData.Header memory h, DisputeGame.RecordInclusion memory inc) = postOne(rec);
        uint256 first = openBy(CHALLENGER, h, rec, inc);
        uint256 second = openBy(OTHER, h, rec, inc);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.BatchStillCurrent.selector, second));
        game.abandon(second);
        play(first, lie, false);
        game.abandon(second);
        assertTrue(game.getGame(second).status == DisputeGame.Status.Abandoned, "abandoned");
        assertEq(game.credits(OTHER), BOND, "bond back");
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongStatus.selector, second, DisputeGame.Status.Abandoned));
        game.abandon(second);
    }

    function test_finalize_waits_for_every_game() public {
        T[] memory honest = trace(false);
        bytes[] memory recs = new bytes[](3);
        for (uint256 i = 0; i < 3; i++) {
            recs[i] = record(B.commitment(honest[3]), i);
        }
        (BatchData.Header memory h, DisputeGame.RecordInclusion memory inc) = postWith(recs, 2, 3);
        uint256 a = openBy(CHALLENGER, h, recs[2], inc);
        uint256 b = openBy(OTHER, h, recs[0], inclusionOf(recs, 0, h));
        vm.prank(SEQUENCER);
        game.start(b, state(honest, N), B.stateProof(commitments(honest, N), D, N), state(honest, 1));
        assertEq(rollup.openDisputes(rollup.headerHash(h)), 2, "two games");
        play(a, honest, true);
        vm.roll(h.l1Block + WINDOW);
        vm.expectRevert(abi.encodeWithSelector(Rollup.DisputesOpen.selector, 0, 1));
        rollup.finalize(h);
        vm.roll(block.number + CLOCK + 1);
        game.timeout(b);
        rollup.finalize(h);
        assertTrue(rollup.isFinalized(0), "final after both games");
    }

    /// The inclusion proof of record `which` in a batch `postWith` made from `recs`.
    function inclusionOf(bytes[] memory recs, uint256 which, BatchData.Header memory h)
        internal
        pure
        returns (DisputeGame.RecordInclusion memory inc)
    {
        bytes32[] memory hs = new bytes32[](recs.length);
        for (uint256 i = 0; i < recs.length; i++) {
            hs[i] = keccak256(recs[i]);
        }
        inc.recordProof = B.prove(hs, which);
        inc.index = which;
        inc.blockHeader =
            blockHeader(h.firstBlock, h.parentRoot, B.levels(hs)[B.levels(hs).length - 1][0], uint32(recs.length));
        bytes32 hash = keccak256(inc.blockHeader);
        inc.laterHeaders = new bytes[](h.lastBlock - h.firstBlock);
        for (uint64 i = 1; i <= h.lastBlock - h.firstBlock; i++) {
            inc.laterHeaders[i - 1] = blockHeader(h.firstBlock + i, hash, bytes32(0), 0);
            hash = keccak256(inc.laterHeaders[i - 1]);
        }
    }

    function test_bad_openings_are_refused() public {
        T[] memory honest = trace(false);
        bytes[] memory recs = new bytes[](2);
        recs[0] = record(B.commitment(honest[3]), 0);
        recs[1] = record(B.commitment(honest[3]), 1);
        (BatchData.Header memory h, DisputeGame.RecordInclusion memory inc) = postWith(recs, 1, 2);

        vm.prank(CHALLENGER);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongBond.selector, 1, BOND));
        game.open{value: 1}(h, recs[1], inc);

        vm.expectRevert(abi.encodeWithSelector(DisputeGame.RecordNotInBlock.selector, 1));
        openBy(CHALLENGER, h, recs[0], inc);

        DisputeGame.RecordInclusion memory bad = inclusionOf(recs, 1, h);
        bad.index = 3;
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.RecordNotInBlock.selector, 3));
        openBy(CHALLENGER, h, recs[1], bad);

        bad = inclusionOf(recs, 1, h);
        bad.laterHeaders = new bytes[](0);
        vm.expectRevert(
            abi.encodeWithSelector(L2Block.WrongOutputRoot.selector, h.outputRoot, keccak256(bad.blockHeader))
        );
        openBy(CHALLENGER, h, recs[1], bad);

        bad = inclusionOf(recs, 1, h);
        bad.laterHeaders[0] = blockHeader(h.firstBlock + 1, bytes32(uint256(1)), bytes32(0), 0);
        vm.expectRevert(abi.encodeWithSelector(L2Block.BrokenChain.selector, 1));
        openBy(CHALLENGER, h, recs[1], bad);

        bytes memory shortRecord = new bytes(164);
        vm.expectRevert(DisputeGame.BadRecord.selector);
        openBy(CHALLENGER, h, shortRecord, inc);

        vm.roll(h.l1Block + WINDOW);
        vm.expectRevert(abi.encodeWithSelector(Rollup.WindowClosed.selector, 0, h.l1Block + WINDOW));
        openBy(CHALLENGER, h, recs[1], inc);
    }

    function test_a_record_of_an_unknown_model_is_refused() public {
        bytes memory rec = record(bytes32(uint256(1)), 1);
        for (uint256 i = 53; i < 85; i++) {
            rec[i] = 0x11;
        }
        (BatchData.Header memory h, DisputeGame.RecordInclusion memory inc) = postOne(rec);
        bytes32 unknown = bytes32(uint256(0x1111111111111111111111111111111111111111111111111111111111111111));
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.UnknownModel.selector, unknown));
        openBy(CHALLENGER, h, rec, inc);
    }

    /// A malformed proof reverts and the defender may try again while its clock runs.
    function test_a_malformed_proof_can_be_retried() public {
        T[] memory honest = trace(false);
        bytes memory rec = record(B.commitment(honest[3]), 1);
        (BatchData.Header memory h, DisputeGame.RecordInclusion memory inc) = postOne(rec);
        uint256 id = openBy(CHALLENGER, h, rec, inc);
        bisectAll(id, honest, true);
        revealValue(id, honest);
        vm.prank(CHALLENGER);
        game.nameElement(id, 1);
        OneStepVerifier.OneStepProof memory p = proofFor(stepCase(honest, 0, 1));
        p.inputs[0].id = 1;
        vm.prank(SEQUENCER);
        vm.expectRevert(abi.encodeWithSelector(OneStepVerifier.WrongId.selector, 1, 0));
        game.prove(id, p);
        proveStep(id, honest);
        assertTrue(game.getGame(id).status == DisputeGame.Status.DefenderWon, "defended");
    }

    /// Gas of a whole game's moves, as a defender pays them.
    function test_gas_prove_through_the_game() public {
        T[] memory honest = trace(false);
        bytes memory rec = record(B.commitment(honest[3]), 1);
        (BatchData.Header memory h, DisputeGame.RecordInclusion memory inc) = postOne(rec);
        uint256 id = openBy(CHALLENGER, h, rec, inc);
        bisectAll(id, honest, true);
        revealValue(id, honest);
        vm.prank(CHALLENGER);
        game.nameElement(id, 0);
        proveStep(id, honest);
    }

    /// Version-2 headers: a record at or beyond the header's record_count is not in the
    /// block, even when its path folds to the records root.
    function test_the_record_count_bounds_the_index() public {
        T[] memory honest = trace(false);
        bytes[] memory recs = new bytes[](2);
        recs[0] = record(B.commitment(honest[3]), 0);
        recs[1] = record(B.commitment(honest[3]), 1);
        (BatchData.Header memory h, DisputeGame.RecordInclusion memory inc) = postWith(recs, 1, 1);
        bytes32 root = B.levels(hashesOf(recs))[1][0];
        inc.blockHeader = blockHeader(h.firstBlock, bytes32(0), root, 1);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.RecordNotInBlock.selector, 1));
        openBy(CHALLENGER, h, recs[1], inc);
    }

    /// A block header of any length but 169 bytes is refused.
    function testFuzz_only_169_byte_headers_are_read(uint8 length) public {
        vm.assume(length != 169);
        T[] memory honest = trace(false);
        bytes memory rec = record(B.commitment(honest[3]), 1);
        (BatchData.Header memory h, DisputeGame.RecordInclusion memory inc) = postOne(rec);
        bytes memory header = new bytes(length);
        for (uint256 i = 0; i < length && i < 169; i++) {
            header[i] = inc.blockHeader[i];
        }
        inc.blockHeader = header;
        vm.expectRevert(abi.encodeWithSelector(L2Block.BadBlockHeader.selector, 0));
        openBy(CHALLENGER, h, rec, inc);
    }

    function hashesOf(bytes[] memory recs) internal pure returns (bytes32[] memory hs) {
        hs = new bytes32[](recs.length);
        for (uint256 i = 0; i < recs.length; i++) {
            hs[i] = keccak256(recs[i]);
        }
    }
}
