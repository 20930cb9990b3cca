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
import {Hdr, L2Builder as L2} from "./harness/L2Builder.sol";

/// Calls `BatchData.readFrame` through a contract, so its reverts can be caught.
contract FrameHarness {
    function readFrame(bytes calldata data, BatchData.Tip memory tip) external view returns (BatchData.Derived memory) {
        return BatchData.readFrame(data, tip);
    }
}

/// The frame rules and the data fault rule against specs/vectors/batch_data.json, and the
/// data fault proof end to end: the drain attack of the security review (a header whose
/// withdrawals root pays the attacker, with data that does not hold the withdrawal) is
/// reverted by anyone inside the window, the sequencer slashed, and the bridge never pays.
contract BatchDataVerifierTest is Test {
    uint64 internal constant WINDOW = 20;
    uint64 internal constant DEADLINE = 64;
    uint256 internal constant MIN_BOND = 1 ether;
    address internal constant SEQUENCER = address(0x5E0);
    address internal constant CHALLENGER = address(0xC4A1);
    address internal constant ATTACKER = address(0xBAD);

    Bridge internal bridge;
    Rollup internal rollup;
    DisputeGame internal game;
    BatchDataVerifier internal dataVerifier;

    event GasUsed(string what, uint256 gas);
    event DataFaultProven(
        uint64 indexed batchIndex,
        bytes32 indexed batchHash,
        uint256 blockIndex,
        BatchDataVerifier.Fault fault,
        address indexed challenger
    );

    function setUp() public {
        bridge = new Bridge();
        rollup = new Rollup(bridge, SEQUENCER, WINDOW, MIN_BOND, DEADLINE);
        bridge.setRollup(address(rollup));
        ModelRegistry registry = new ModelRegistry();
        dataVerifier = new BatchDataVerifier(rollup);
        game = new DisputeGame(
            rollup, registry, new OneStepVerifier(), new StateStepVerifier(rollup, registry), dataVerifier, 1 ether, 20
        );
        rollup.setDisputeGame(address(game));
        vm.deal(SEQUENCER, 10 ether);
        vm.prank(SEQUENCER);
        rollup.bond{value: 2 ether}();
        vm.deal(address(this), 100 ether);
        bridge.deposit{value: 100 ether}(address(0xA11CE)); // what the attacker is after
    }

    // ------------------------------------------------------------ shared vectors

    function frameSelector(string memory name) internal pure returns (bytes4) {
        bytes32 h = keccak256(bytes(name));
        if (h == keccak256("DataTooShort")) return BatchData.DataTooShort.selector;
        if (h == keccak256("WrongVersion")) return BatchData.WrongVersion.selector;
        if (h == keccak256("NoBlocks")) return BatchData.NoBlocks.selector;
        if (h == keccak256("EntriesBeyondData")) return BatchData.EntriesBeyondData.selector;
        if (h == keccak256("NotBlockHeader")) return BatchData.NotBlockHeader.selector;
        if (h == keccak256("BodyEndsBeforeStart")) return BatchData.BodyEndsBeforeStart.selector;
        if (h == keccak256("BodyTooLarge")) return BatchData.BodyTooLarge.selector;
        if (h == keccak256("DataEndMismatch")) return BatchData.DataEndMismatch.selector;
        if (h == keccak256("WrongFirstBlock")) return BatchData.WrongFirstBlock.selector;
        if (h == keccak256("WrongParent")) return BatchData.WrongParent.selector;
        if (h == keccak256("BrokenChain")) return BatchData.BrokenChain.selector;
        if (h == keccak256("DepositsWentBack")) return BatchData.DepositsWentBack.selector;
        if (h == keccak256("OriginAhead")) return BatchData.OriginAhead.selector;
        revert(string.concat("unknown frame error ", name));
    }

    function fault(string memory name) internal pure returns (BatchDataVerifier.Fault) {
        bytes32 h = keccak256(bytes(name));
        if (h == keccak256("ok")) return BatchDataVerifier.Fault.None;
        if (h == keccak256("Malformed")) return BatchDataVerifier.Fault.Malformed;
        if (h == keccak256("RecordsRoot")) return BatchDataVerifier.Fault.RecordsRoot;
        if (h == keccak256("WithdrawalsRoot")) return BatchDataVerifier.Fault.WithdrawalsRoot;
        revert(string.concat("unknown body verdict ", name));
    }

    /// Every case of batch_data.json: the frame rule it breaks (by error), or the block
    /// range, output root and deposits a post derives; then each block's body verdict.
    function test_the_specs_vectors_get_their_verdicts() public {
        string memory json = vm.readFile("../specs/vectors/batch_data.json");
        assertEq(vm.parseJsonUint(json, ".chain_id"), block.chainid, "the vectors' chain");
        BatchDataVerifier verifier = new BatchDataVerifier(Rollup(vm.parseJsonAddress(json, ".rollup")));
        FrameHarness harness = new FrameHarness();
        uint256 n;
        uint256 faults;
        for (; vm.keyExistsJson(json, string.concat(".cases[", vm.toString(n), "]")); n++) {
            string memory c = string.concat(".cases[", vm.toString(n), "]");
            string memory name = vm.parseJsonString(json, string.concat(c, ".name"));
            bytes memory data = vm.parseJsonBytes(json, string.concat(c, ".data"));
            BatchData.Tip memory tip = BatchData.Tip({
                nextBlock: uint64(vm.parseJsonUint(json, string.concat(c, ".tip.next_block"))),
                parentRoot: vm.parseJsonBytes32(json, string.concat(c, ".tip.parent_root")),
                depositsConsumed: uint64(vm.parseJsonUint(json, string.concat(c, ".tip.deposits_consumed")))
            });
            vm.roll(vm.parseJsonUint(json, string.concat(c, ".tip.l1_block")));
            string memory expectedError = vm.parseJsonString(json, string.concat(c, ".frame_error"));
            try harness.readFrame(data, tip) returns (BatchData.Derived memory d) {
                assertEq(bytes(expectedError).length, 0, string.concat(name, ": accepted, expected ", expectedError));
                assertEq(d.lastBlock, vm.parseJsonUint(json, string.concat(c, ".derived.last_block")), name);
                assertEq(d.outputRoot, vm.parseJsonBytes32(json, string.concat(c, ".derived.output_root")), name);
                assertEq(d.depositsEnd, vm.parseJsonUint(json, string.concat(c, ".derived.deposits_end")), name);
            } catch (bytes memory reason) {
                assertTrue(bytes(expectedError).length > 0, string.concat(name, ": refused, expected accepted"));
                // casting to 'bytes4' is safe because only the selector is compared
                // forge-lint: disable-next-line(unsafe-typecast)
                assertEq(bytes4(reason), frameSelector(expectedError), name);
                continue;
            }
            string[] memory bodies = vm.parseJsonStringArray(json, string.concat(c, ".bodies"));
            for (uint256 i = 0; i < bodies.length; i++) {
                BatchDataVerifier.Fault got = verifier.findFault(data, i);
                assertTrue(got == fault(bodies[i]), string.concat(name, ": block ", vm.toString(i)));
                if (got != BatchDataVerifier.Fault.None) faults++;
            }
        }
        assertTrue(n >= 25 && faults >= 10, "cases read");
    }

    // ------------------------------------------------------------ the drain attack

    /// One block after the tip with `body`, whose header says `withdrawals` withdrawals
    /// under `withdrawalsRoot` (and nothing else); posted by the sequencer.
    function postBlock(bytes32 withdrawalsRoot, uint32 withdrawals, bytes memory body)
        internal
        returns (BatchData.Header memory h, bytes memory data, bytes memory header)
    {
        (uint64 index,, uint64 next, uint64 consumed) = rollup.head();
        Hdr memory b;
        b.number = next;
        b.parent = rollup.tip();
        b.depositsConsumed = consumed;
        b.withdrawalsRoot = withdrawalsRoot;
        b.withdrawalCount = withdrawals;
        header = L2.encode(b);
        bytes[] memory headers = new bytes[](1);
        headers[0] = header;
        bytes[] memory bodies = new bytes[](1);
        bodies[0] = body;
        data = L2.batchData(headers, bodies);
        h = BatchData.Header({
            index: index,
            firstBlock: next,
            lastBlock: next,
            parentRoot: b.parent,
            outputRoot: keccak256(header),
            dataHash: rollup.dataHash(data),
            depositsStart: consumed,
            depositsEnd: consumed,
            depositAccumulator: bridge.accumulatorAt(consumed),
            l1Block: uint64(block.number)
        });
        vm.prank(SEQUENCER);
        rollup.postBatch(h.depositAccumulator, data);
    }

    /// A header whose withdrawals root pays the attacker the bridge's balance, over data
    /// that does not hold that withdrawal: anyone proves it inside the window, the batch
    /// is reverted, the bond slashed (half to the prover), and the claim never pays, not
    /// even after the window.
    function test_the_drain_attack_is_reverted_and_never_pays() public {
        bytes32 leaf = bridge.withdrawalLeaf(ATTACKER, 0, ATTACKER, 100 ether);
        (BatchData.Header memory h, bytes memory data, bytes memory header) = postBlock(leaf, 1, "");

        vm.roll(block.number + WINDOW - 1);
        vm.expectEmit(true, true, true, true);
        emit DataFaultProven(0, rollup.headerHash(h), 0, BatchDataVerifier.Fault.Malformed, CHALLENGER);
        vm.prank(CHALLENGER);
        uint256 g = gasleft();
        BatchDataVerifier.Fault f = game.proveDataFault(h, data, 0);
        emit GasUsed("proveDataFault, an empty body", g - gasleft());
        assertTrue(f == BatchDataVerifier.Fault.Malformed, "the body lacks the withdrawal");
        assertTrue(!rollup.isCurrent(h), "reverted");
        assertEq(rollup.bonds(SEQUENCER), 0, "slashed");
        assertEq(rollup.credits(CHALLENGER), 1 ether, "half to the prover");
        assertEq(rollup.tip(), L2Block.GENESIS_HASH, "the tip rewinds");

        Bridge.WithdrawalInclusion memory inc;
        inc.blockHeader = header;
        inc.proof = new bytes32[](0);
        vm.roll(block.number + WINDOW);
        vm.expectRevert(abi.encodeWithSelector(Bridge.UnknownBatch.selector, 0));
        bridge.finalizeWithdrawal(h, inc, ATTACKER, 0, ATTACKER, 100 ether);
        vm.expectRevert(abi.encodeWithSelector(Rollup.UnknownBatch.selector, 0, rollup.headerHash(h)));
        rollup.finalize(h);
        assertEq(address(bridge).balance, 100 ether, "nothing left the bridge");
    }

    /// The same attack with the withdrawal count left at zero: the root itself is wrong.
    function test_a_made_up_withdrawals_root_is_a_fault() public {
        (BatchData.Header memory h, bytes memory data,) = postBlock(keccak256("made up"), 0, "");
        vm.prank(CHALLENGER);
        assertTrue(game.proveDataFault(h, data, 0) == BatchDataVerifier.Fault.WithdrawalsRoot, "root");
    }

    /// A withdrawal the body does hold, under the right root: no fault, nothing reverted.
    /// (Whether its sender could pay is the state game's question, specs/state.md §6.)
    function test_a_backed_body_is_no_fault() public {
        bytes memory w = abi.encodePacked(ATTACKER, uint64(0), ATTACKER, uint128(100 ether), new bytes(65));
        bytes32 leaf = bridge.withdrawalLeaf(ATTACKER, 0, ATTACKER, 100 ether);
        (BatchData.Header memory h, bytes memory data,) = postBlock(leaf, 1, w);
        vm.prank(CHALLENGER);
        vm.expectRevert(abi.encodeWithSelector(BatchDataVerifier.NoDataFault.selector, 0));
        game.proveDataFault(h, data, 0);
        vm.expectRevert(abi.encodeWithSelector(BatchDataVerifier.NoSuchBlock.selector, 1, 1));
        game.proveDataFault(h, data, 1);
        assertTrue(rollup.isCurrent(h), "still posted");
    }

    function test_bad_proofs_are_refused() public {
        (BatchData.Header memory h, bytes memory data,) = postBlock(keccak256("made up"), 0, "");
        bytes memory other = bytes.concat(data, hex"00");
        vm.expectRevert(
            abi.encodeWithSelector(BatchDataVerifier.WrongData.selector, h.dataHash, rollup.dataHash(other))
        );
        game.proveDataFault(h, other, 0);
        BatchData.Header memory forged = BatchData.Header(
            h.index, h.firstBlock, h.lastBlock, h.parentRoot, bytes32(uint256(1)), h.dataHash, 0, 0, 0, h.l1Block
        );
        vm.expectRevert(abi.encodeWithSelector(BatchDataVerifier.NotCurrent.selector, 0));
        game.proveDataFault(forged, data, 0);
        vm.roll(h.l1Block + WINDOW);
        vm.expectRevert(abi.encodeWithSelector(BatchDataVerifier.WindowClosed.selector, 0, h.l1Block + WINDOW));
        game.proveDataFault(h, data, 0);
        rollup.finalize(h);
        vm.expectRevert(abi.encodeWithSelector(BatchDataVerifier.AlreadyFinal.selector, 0));
        game.proveDataFault(h, data, 0);
    }

    /// The cost of proving the largest body the frame allows (128 KiB of inferences) wrong:
    /// every inference is decoded and hashed, and it still fits an L1 block.
    function test_the_largest_body_proves_in_one_transaction() public {
        bytes memory one = inference();
        uint256 count = BatchData.MAX_BLOCK_BODY_BYTES / one.length;
        bytes memory body = new bytes(count * one.length);
        for (uint256 i = 0; i < count; i++) {
            for (uint256 j = 0; j < one.length; j++) {
                body[i * one.length + j] = one[j];
            }
        }
        Hdr memory b;
        b.number = 1;
        b.parent = L2Block.GENESIS_HASH;
        b.recordsRoot = keccak256("made up");
        // casting to 'uint32' is safe because count is below 2^32
        // forge-lint: disable-next-line(unsafe-typecast)
        b.recordCount = uint32(count);
        bytes[] memory headers = new bytes[](1);
        headers[0] = L2.encode(b);
        bytes[] memory bodies = new bytes[](1);
        bodies[0] = body;
        bytes memory data = L2.batchData(headers, bodies);
        vm.prank(SEQUENCER);
        uint256 g = gasleft();
        rollup.postBatch(0, data);
        emit GasUsed("postBatch, one block of 128 KiB", g - gasleft());
        BatchData.Header memory h = BatchData.Header(
            0, 1, 1, L2Block.GENESIS_HASH, keccak256(headers[0]), rollup.dataHash(data), 0, 0, 0, uint64(block.number)
        );
        vm.prank(CHALLENGER);
        g = gasleft();
        BatchDataVerifier.Fault f = game.proveDataFault(h, data, 0);
        uint256 used = g - gasleft();
        emit GasUsed(string.concat("proveDataFault, 128 KiB body, records: ", vm.toString(count)), used);
        assertTrue(f == BatchDataVerifier.Fault.RecordsRoot, "records root");
        assertTrue(used < 30_000_000, "fits a block");
    }

    /// A digits-sized inference: an i8 [64] input, an i32 [10] output.
    function inference() internal pure returns (bytes memory) {
        bytes memory input = abi.encodePacked(uint8(0), uint8(1), uint32(64), new bytes(64));
        bytes memory output = abi.encodePacked(uint8(1), uint8(1), uint32(10), new bytes(40));
        return abi.encodePacked(
            address(0x1111), uint64(0), keccak256("model"), uint128(1000), input, new bytes(65), output, uint128(7)
        );
    }
}
