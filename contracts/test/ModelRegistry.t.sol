// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";

contract ModelRegistryTest is Test {
    ModelRegistry internal registry;
    address internal constant ALICE = address(0xA11CE);
    address internal constant BOB = address(0xB0B);

    bytes32 internal constant WEIGHTS = keccak256("weights");
    bytes internal graph;
    bytes32 internal graphHash;

    event ModelRegistered(
        bytes32 indexed modelId,
        address indexed owner,
        string name,
        bytes32 graphHash,
        bytes32 weightsRoot,
        uint32 opCount,
        uint32[] inputShape,
        uint256 feePerInference
    );

    function setUp() public {
        registry = new ModelRegistry();
        graph = graphOf(shape(1, 8, 8), 14, hex"0a00000000");
        graphHash = keccak256(graph);
    }

    function shape(uint32 a, uint32 b, uint32 c) internal pure returns (uint32[] memory s) {
        s = new uint32[](3);
        (s[0], s[1], s[2]) = (a, b, c);
    }

    /// A graph encoding (specs/model-format.md) declaring `input` and `nodes` nodes,
    /// followed by `tail` (the registry does not read the nodes).
    function graphOf(uint32[] memory input, uint32 nodes, bytes memory tail) internal pure returns (bytes memory g) {
        // casting to 'uint8' is safe because tests use ranks below 256
        // forge-lint: disable-next-line(unsafe-typecast)
        g = abi.encodePacked(uint16(1), uint8(input.length));
        for (uint256 i = 0; i < input.length; i++) {
            g = abi.encodePacked(g, input[i]);
        }
        g = abi.encodePacked(g, uint32(0x3d4ccccd), uint32(0x3dcccccd), nodes, tail);
    }

    function registerDigits() internal returns (bytes32) {
        vm.prank(ALICE);
        return registry.register(graph, WEIGHTS, 1 gwei, "digits-cnn");
    }

    function test_register_reads_everything_from_the_graph_and_emits() public {
        bytes32 expectedId = keccak256(abi.encodePacked(graphHash, WEIGHTS));
        vm.expectEmit(true, true, false, true);
        emit ModelRegistered(expectedId, ALICE, "digits-cnn", graphHash, WEIGHTS, 14, shape(1, 8, 8), 1 gwei);
        bytes32 id = registerDigits();
        assertEq(id, expectedId, "model id");
        ModelRegistry.Model memory m = registry.getModel(id);
        assertEq(m.graphHash, graphHash, "graph hash");
        assertEq(m.weightsRoot, WEIGHTS, "weights root");
        assertEq(m.opCount, 14, "op count");
        assertEq(m.inputShape.length, 3, "rank");
        assertEq(m.inputShape[2], 8, "width");
        assertEq(m.feePerInference, 1 gwei, "fee");
        assertEq(m.owner, ALICE, "owner");
        assertEq(m.name, "digits-cnn", "name");
        assertEq(registry.modelIdOf("digits-cnn"), id, "lookup by name");
        assertEq(registry.modelCount(), 1, "count");
        assertTrue(registry.isRegistered(id), "registered");
    }

    /// Version 2 (per-feature input quantization after the nodes) reads the same prefix.
    function test_a_version_2_graph_with_per_feature_input_registers() public {
        bytes memory g = graphOf(shape(1, 8, 8), 3, hex"0400000000");
        g[1] = 0x02;
        // One (scale, offset) pair per input element would follow; the registry reads
        // only the prefix.
        g = abi.encodePacked(g, uint32(64), new bytes(64 * 8));
        vm.prank(ALICE);
        bytes32 id = registry.register(g, WEIGHTS, 0, "per-feature");
        assertEq(registry.opCount(id), 3, "op count");
    }

    function test_names_and_ids_are_unique() public {
        bytes32 id = registerDigits();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.ModelExists.selector, id));
        registry.register(graph, WEIGHTS, 0, "other-name");
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.NameTaken.selector, "digits-cnn"));
        registry.register(graph, keccak256("other weights"), 0, "digits-cnn");
    }

    /// Finding 3 of the security review: a registration with a wrong op count made every
    /// record of a model undefendable. The op count is no longer an argument: whoever
    /// registers a model's graph first gets exactly the graph's count and shape, and a
    /// graph with another count is another model with another id.
    function test_a_squatter_cannot_misstate_the_op_count() public {
        vm.prank(BOB);
        bytes32 squatted = registry.register(graph, WEIGHTS, 1 ether, "squat");
        assertEq(registry.opCount(squatted), 14, "the graph's own count");
        assertEq(registry.getModel(squatted).inputShape[1], 8, "the graph's own shape");
        bytes memory other = graphOf(shape(1, 8, 8), 15, hex"0a00000000");
        bytes32 otherId = registry.register(other, WEIGHTS, 0, "other");
        assertTrue(otherId != squatted, "another count is another model");
        assertEq(registry.opCount(otherId), 15, "its own count");
    }

    function test_bad_registrations_are_refused() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.InvalidName.selector, "Digits"));
        registry.register(graph, WEIGHTS, 0, "Digits");
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.InvalidName.selector, ""));
        registry.register(graph, WEIGHTS, 0, "");
        vm.expectRevert(ModelRegistry.ZeroOpCount.selector);
        registry.register(graphOf(shape(1, 8, 8), 0, ""), WEIGHTS, 0, "m");
        vm.expectRevert(ModelRegistry.InvalidShape.selector);
        registry.register(graphOf(shape(1, 0, 8), 1, ""), WEIGHTS, 0, "m");
        vm.expectRevert(ModelRegistry.InvalidShape.selector);
        registry.register(graphOf(new uint32[](0), 1, ""), WEIGHTS, 0, "m");
        vm.expectRevert(ModelRegistry.InvalidShape.selector);
        registry.register(graphOf(new uint32[](7), 1, ""), WEIGHTS, 0, "m");
        vm.expectRevert(ModelRegistry.InvalidGraph.selector);
        registry.register(hex"0004010000000400000000000000000000000001", WEIGHTS, 0, "m");
        vm.expectRevert(ModelRegistry.InvalidGraph.selector);
        registry.register(hex"00010100000004", WEIGHTS, 0, "m");
        vm.expectRevert(ModelRegistry.InvalidGraph.selector);
        registry.register("", WEIGHTS, 0, "m");
    }

    function test_only_the_owner_changes_fee_and_owner() public {
        bytes32 id = registerDigits();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.NotModelOwner.selector, id, BOB));
        vm.prank(BOB);
        registry.setFee(id, 5);

        vm.prank(ALICE);
        registry.setFee(id, 5);
        assertEq(registry.feePerInference(id), 5, "fee set");

        vm.prank(ALICE);
        registry.transferOwnership(id, BOB);
        vm.prank(BOB);
        registry.setFee(id, 7);
        assertEq(registry.feePerInference(id), 7, "new owner sets the fee");

        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.UnknownModel.selector, bytes32(uint256(1))));
        registry.getModel(bytes32(uint256(1)));
    }

    /// The id the registry computes is the one `verdict-specs` writes in its vectors.
    function test_model_ids_match_the_specs_vectors() public view {
        string memory json = vm.readFile("../specs/vectors/models.json");
        for (uint256 i = 0; i < 12; i++) {
            string memory entry = string.concat("[", vm.toString(i), "].model_id");
            bytes32 graphHash_ = vm.parseJsonBytes32(json, string.concat(entry, ".graph_hash"));
            bytes32 weights = vm.parseJsonBytes32(json, string.concat(entry, ".weights_root"));
            bytes32 id = vm.parseJsonBytes32(json, string.concat(entry, ".id"));
            assertEq(registry.computeModelId(graphHash_, weights), id, string.concat("vector ", vm.toString(i)));
        }
    }

    /// Every model of specs/vectors/models.json registers with its own op count and
    /// input shape, read from its graph bytes.
    function test_registrations_of_the_specs_models_match_their_graphs() public {
        string memory json = vm.readFile("../specs/vectors/models.json");
        for (uint256 i = 0; i < 12; i++) {
            string memory entry = string.concat("[", vm.toString(i), "]");
            bytes memory file = vm.parseJsonBytes(json, string.concat(entry, ".model_hex"));
            // file = "VERDICTM" ‖ u16 version ‖ u32 graph length ‖ graph ‖ …
            uint256 len = uint32(bytes4(slice(file, 10, 14)));
            bytes memory g = slice(file, 14, 14 + len);
            bytes32 weights = vm.parseJsonBytes32(json, string.concat(entry, ".model_id.weights_root"));
            bytes32 id = registry.register(g, weights, 0, string.concat("m", vm.toString(i)));
            assertEq(id, vm.parseJsonBytes32(json, string.concat(entry, ".model_id.id")), "id");
            uint256 nodes;
            while (vm.keyExistsJson(json, string.concat(entry, ".graph.nodes[", vm.toString(nodes), "]"))) {
                nodes++;
            }
            assertEq(registry.opCount(id), nodes, "op count");
        }
    }

    function slice(bytes memory b, uint256 from, uint256 to) internal pure returns (bytes memory out) {
        out = new bytes(to - from);
        for (uint256 i = from; i < to; i++) {
            out[i - from] = b[i];
        }
    }

    function testFuzz_any_valid_graph_registers_once(bytes32 weights, uint32 ops, uint32 d0, uint256 fee) public {
        vm.assume(ops > 0 && d0 > 0);
        uint32[] memory s = new uint32[](1);
        s[0] = d0;
        bytes memory g = graphOf(s, ops, "");
        bytes32 id = registry.register(g, weights, fee, "fuzzed");
        assertEq(id, keccak256(abi.encodePacked(keccak256(g), weights)), "id");
        assertEq(registry.opCount(id), ops, "ops");
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.ModelExists.selector, id));
        registry.register(g, weights, fee, "fuzzed-again");
    }

    function testFuzz_names_outside_the_alphabet_are_refused(bytes1 c) public view {
        bool allowed = (c >= "a" && c <= "z") || (c >= "0" && c <= "9") || c == "." || c == "_" || c == "-";
        assertTrue(registry.validName(string(abi.encodePacked("m", c))) == allowed, "alphabet");
    }

    event FeeChanged(bytes32 indexed modelId, uint256 feePerInference);

    function assertFeeAt(bytes32 id, uint64 l1Block, bool registered, uint256 fee) internal view {
        (bool r, uint256 f) = registry.feeAt(id, l1Block);
        assertTrue(r == registered, string.concat("registered at ", vm.toString(l1Block)));
        assertEq(f, fee, string.concat("fee at ", vm.toString(l1Block)));
    }

    /// The fee in force at each L1 block: the registration's from its block, each change
    /// from the block it was made in, the last change of a block winning; nothing before
    /// the registration.
    function test_fee_history_answers_for_any_block() public {
        vm.roll(10);
        bytes32 id = registerDigits();
        vm.roll(20);
        vm.prank(ALICE);
        vm.expectEmit(true, false, false, true);
        emit FeeChanged(id, 2 gwei);
        registry.setFee(id, 2 gwei);
        vm.roll(30);
        vm.startPrank(ALICE);
        registry.setFee(id, 3 gwei);
        registry.setFee(id, 4 gwei);
        vm.stopPrank();

        assertFeeAt(id, 0, false, 0);
        assertFeeAt(id, 9, false, 0);
        assertFeeAt(id, 10, true, 1 gwei);
        assertFeeAt(id, 19, true, 1 gwei);
        assertFeeAt(id, 20, true, 2 gwei);
        assertFeeAt(id, 29, true, 2 gwei);
        assertFeeAt(id, 30, true, 4 gwei);
        assertFeeAt(id, type(uint64).max, true, 4 gwei);
        assertFeeAt(keccak256("unknown"), 30, false, 0);
        assertEq(registry.feePerInference(id), 4 gwei, "current fee");
        assertEq(registry.getModel(id).feePerInference, 4 gwei, "model's fee");
        assertEq(registry.feeChanges(id).length, 3, "one change per block");
    }

    /// A change in the registration block replaces the registration's fee.
    function test_a_fee_set_in_the_registration_block_replaces_it() public {
        vm.roll(5);
        bytes32 id = registerDigits();
        vm.prank(ALICE);
        registry.setFee(id, 7);
        assertFeeAt(id, 5, true, 7);
        assertFeeAt(id, 4, false, 0);
        assertEq(registry.feeChanges(id).length, 1, "one entry");
    }

    /// Any sequence of changes at increasing blocks: feeAt agrees with a linear scan.
    function testFuzz_fee_at_matches_a_linear_scan(uint8[8] calldata gaps, uint64 query) public {
        vm.roll(100);
        bytes32 id = registerDigits();
        uint64[9] memory blocks;
        uint256[9] memory fees;
        (blocks[0], fees[0]) = (100, 1 gwei);
        uint64 b = 100;
        for (uint256 i = 0; i < 8; i++) {
            b += gaps[i]; // a zero gap changes the fee twice in one block
            vm.roll(b);
            vm.prank(ALICE);
            registry.setFee(id, 1000 + i);
            (blocks[i + 1], fees[i + 1]) = (b, 1000 + i);
        }
        query = uint64(bound(query, 90, uint256(b) + 10));
        bool registered = query >= 100;
        uint256 expected;
        for (uint256 i = 0; i < 9; i++) {
            if (blocks[i] <= query) expected = fees[i];
        }
        assertFeeAt(id, query, registered, registered ? expected : 0);
    }
}
