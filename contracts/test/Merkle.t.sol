// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {Merkle} from "../src/Merkle.sol";
import {MerkleHarness} from "./harness/MerkleHarness.sol";

contract MerkleTest is Test {
    MerkleHarness internal merkle;
    string internal json;

    function setUp() public {
        merkle = new MerkleHarness();
        json = vm.readFile("../specs/vectors/merkle.json");
    }

    /// Every case of specs/vectors/merkle.json: the root from the leaves, and every proof.
    function test_specs_vectors() public view {
        uint256 cases;
        for (uint256 c = 0;; c++) {
            string memory entry = string.concat("[", vm.toString(c), "]");
            if (!vm.keyExistsJson(json, entry)) break;
            cases++;
            bytes[] memory leaves = vm.parseJsonBytesArray(json, string.concat(entry, ".leaves"));
            bytes32 root = vm.parseJsonBytes32(json, string.concat(entry, ".root"));
            assertEq(merkle.root(leaves), root, string.concat("root of case ", vm.toString(c)));
            for (uint256 p = 0;; p++) {
                string memory proof = string.concat(entry, ".proofs[", vm.toString(p), "]");
                if (!vm.keyExistsJson(json, proof)) break;
                uint256 index = vm.parseJsonUint(json, string.concat(proof, ".index"));
                bytes32[] memory siblings = vm.parseJsonBytes32Array(json, string.concat(proof, ".siblings"));
                assertTrue(merkle.verify(leaves[index], index, siblings, root), "proof verifies");
                // The same proof must not verify at an index with a bit above the depth.
                // forge-lint: disable-next-line(incorrect-shift)
                uint256 aliased = index + (1 << siblings.length);
                assertTrue(!merkle.verify(leaves[index], aliased, siblings, root), "aliased index rejected");
            }
        }
        assertTrue(cases >= 9, "every vector case was read");
    }

    function testFuzz_a_wrong_leaf_never_verifies(bytes memory a, bytes memory b, bytes memory other) public view {
        vm.assume(keccak256(other) != keccak256(a));
        bytes[] memory leaves = new bytes[](2);
        (leaves[0], leaves[1]) = (a, b);
        bytes32 root = merkle.root(leaves);
        bytes32[] memory siblings = new bytes32[](1);
        siblings[0] = Merkle.leafHash(b);
        assertTrue(merkle.verify(a, 0, siblings, root), "true leaf verifies");
        assertTrue(!merkle.verify(other, 0, siblings, root), "other leaf fails");
    }
}
