// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title Merkle
/// @notice The Keccak Merkle tree of `verdict-specs` (specs/merkle.md), line for line:
/// leaf `keccak(0x00 ‖ bytes)`, node `keccak(0x01 ‖ left ‖ right)`, levels padded with
/// the zero hash, and a proof valid only when the index has no bits above its depth.
library Merkle {
    bytes1 internal constant LEAF_DOMAIN = 0x00;
    bytes1 internal constant NODE_DOMAIN = 0x01;
    /// Pads a level to an even length; the root of an empty tree.
    bytes32 internal constant EMPTY = bytes32(0);

    function leafHash(bytes memory leaf) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(LEAF_DOMAIN, leaf));
    }

    function nodeHash(bytes32 left, bytes32 right) internal pure returns (bytes32 h) {
        // keccak(0x01 ‖ left ‖ right) over 65 bytes of scratch memory, without an allocation.
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore8(ptr, 0x01)
            mstore(add(ptr, 1), left)
            mstore(add(ptr, 33), right)
            h := keccak256(ptr, 65)
        }
    }

    /// @notice The root over already-hashed leaves (their order is the tree's order).
    function root(bytes32[] memory leafHashes) internal pure returns (bytes32) {
        uint256 n = leafHashes.length;
        if (n == 0) return EMPTY;
        // Reduce in place, level by level.
        while (n > 1) {
            uint256 parents = (n + 1) / 2;
            for (uint256 i = 0; i < parents; i++) {
                bytes32 left = leafHashes[2 * i];
                bytes32 right = 2 * i + 1 < n ? leafHashes[2 * i + 1] : EMPTY;
                leafHashes[i] = nodeHash(left, right);
            }
            n = parents;
        }
        return leafHashes[0];
    }

    /// @notice The root a proof leads to from `leaf` at `index` (bits above the depth ignored).
    function rootFrom(bytes32 leaf, uint256 index, bytes32[] memory siblings) internal pure returns (bytes32 running) {
        running = leaf;
        for (uint256 level = 0; level < siblings.length; level++) {
            running =
                (index >> level) & 1 == 1 ? nodeHash(siblings[level], running) : nodeHash(running, siblings[level]);
        }
    }

    /// @notice Whether `leaf` sits at `index` under `root_`. An index with bits above the
    /// proof's depth is rejected, so one leaf cannot be claimed at two positions.
    function verify(bytes32 leaf, uint256 index, bytes32[] memory siblings, bytes32 root_)
        internal
        pure
        returns (bool)
    {
        uint256 depth = siblings.length;
        bool inRange = depth >= 256 || index >> depth == 0;
        return inRange && rootFrom(leaf, index, siblings) == root_;
    }
}
