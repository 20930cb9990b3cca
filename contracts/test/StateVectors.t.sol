// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {Bridge} from "../src/Bridge.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {Rollup} from "../src/Rollup.sol";
import {StateStepVerifier} from "../src/StateStepVerifier.sol";

/// specs/vectors/state.json against the one-step state verifier: L1 is set up as the
/// vectors describe it (the Rollup at the address the requests are signed for, the
/// bridge's deposit queue, the model's fee history), then every recorded step is sent as
/// its exact `verify` calldata and must give the recorded answer: the honest steps hold,
/// a wrong post-state and an invalid transaction do not, and none reverts.
contract StateVectorsTest is Test {
    string internal json;
    StateStepVerifier internal verifier;

    function setUp() public {
        json = vm.readFile("../specs/vectors/state.json");
        assertEq(vm.parseJsonUint(json, ".chain_id"), block.chainid, "the vectors' chain");
        Bridge bridge = new Bridge();
        vm.prank(vm.parseJsonAddress(json, ".deployer"));
        Rollup rollup = new Rollup(bridge, vm.parseJsonAddress(json, ".sequencer"), 100, 1 ether, 64);
        assertEq(address(rollup), vm.parseJsonAddress(json, ".rollup"), "the rollup the requests are signed for");
        bridge.setRollup(address(rollup));
        ModelRegistry registry = new ModelRegistry();
        verifier = new StateStepVerifier(rollup, registry);
        _queueDeposits(bridge);
        _registerModel(registry);
        vm.roll(1000);
    }

    /// The queue, each deposit at its L1 block, from its sender.
    function _queueDeposits(Bridge bridge) private {
        for (uint256 i = 0; vm.keyExistsJson(json, _at(".deposits", i)); i++) {
            string memory d = _at(".deposits", i);
            address sender = vm.parseJsonAddress(json, string.concat(d, ".sender"));
            uint256 amount = vm.parseJsonUint(json, string.concat(d, ".amount"));
            vm.roll(vm.parseJsonUint(json, string.concat(d, ".l1_block")));
            vm.deal(sender, amount);
            vm.prank(sender);
            uint64 index = bridge.deposit{value: amount}(vm.parseJsonAddress(json, string.concat(d, ".recipient")));
            assertEq(index, vm.parseJsonUint(json, string.concat(d, ".index")), "queue order");
        }
    }

    /// The model, registered at its first fee's block, then each later fee from its block.
    function _registerModel(ModelRegistry registry) private {
        bytes32 id;
        for (uint256 i = 0; vm.keyExistsJson(json, _at(".model.fees", i)); i++) {
            string memory f = _at(".model.fees", i);
            vm.roll(vm.parseJsonUint(json, string.concat(f, ".from_block")));
            uint256 fee = vm.parseJsonUint(json, string.concat(f, ".fee"));
            if (i == 0) {
                id = registry.register(
                    vm.parseJsonBytes(json, ".model.graph"),
                    vm.parseJsonBytes32(json, ".model.weights_root"),
                    fee,
                    "state-vectors"
                );
                assertEq(id, vm.parseJsonBytes32(json, ".model.model_id"), "the model id");
            } else {
                registry.setFee(id, fee);
            }
        }
    }

    function test_the_state_vectors_get_their_answers() public view {
        uint256 checks;
        uint256 held;
        for (uint256 c = 0; vm.keyExistsJson(json, _at(".cases", c)); c++) {
            string memory key = _at(".cases", c);
            string memory name = vm.parseJsonString(json, string.concat(key, ".name"));
            for (uint256 s = 0; vm.keyExistsJson(json, _at(string.concat(key, ".steps"), s)); s++) {
                string memory step = _at(string.concat(key, ".steps"), s);
                bool expected = vm.parseJsonBool(json, string.concat(step, ".holds"));
                (bool ok, bytes memory answer) =
                    address(verifier).staticcall(vm.parseJsonBytes(json, string.concat(step, ".calldata")));
                string memory what =
                    string.concat(name, ": step ", vm.toString(vm.parseJsonUint(json, string.concat(step, ".step"))));
                assertTrue(ok, string.concat(what, " reverted"));
                assertTrue(
                    abi.decode(answer, (bool)) == expected,
                    string.concat(what, expected ? " should hold" : " should not hold")
                );
                checks++;
                if (expected) held++;
            }
        }
        assertTrue(checks >= 25 && held >= 10, "cases read");
    }

    function _at(string memory list, uint256 i) private pure returns (string memory) {
        return string.concat(list, "[", vm.toString(i), "]");
    }
}
