// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Merkle} from "../../src/Merkle.sol";

/// Calls the Merkle library through a contract, so that a revert in it is observable and
/// the Rust differential tests (node/l1/tests/integration/contracts_differential.rs) can call it in revm.
contract MerkleHarness {
    function root(bytes[] memory leaves) external pure returns (bytes32) {
        bytes32[] memory hashes = new bytes32[](leaves.length);
        for (uint256 i = 0; i < leaves.length; i++) {
            hashes[i] = Merkle.leafHash(leaves[i]);
        }
        return Merkle.root(hashes);
    }

    function verify(bytes memory leaf, uint256 index, bytes32[] memory siblings, bytes32 root_)
        external
        pure
        returns (bool)
    {
        return Merkle.verify(Merkle.leafHash(leaf), index, siblings, root_);
    }
}
