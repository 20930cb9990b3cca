// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Merkle} from "./Merkle.sol";

/// @title BatchData
/// @notice Hashes of batches as `verdict-specs` defines them (specs/batch.md): the batch
/// data hash over calldata and the batch header that the `Rollup` stores one word of.
library BatchData {
    bytes1 internal constant DATA_DOMAIN = 0x04;
    bytes1 internal constant HEADER_DOMAIN = 0x05;
    uint256 internal constant CHUNK_BYTES = 4096;

    /// What L1 records about one posted batch (`verdict_specs::batch::BatchHeader`).
    struct Header {
        uint64 index;
        uint64 firstBlock;
        uint64 lastBlock;
        bytes32 outputRoot;
        bytes32 dataHash;
        uint64 depositsStart;
        uint64 depositsEnd;
        bytes32 depositAccumulator;
        uint64 l1Block;
    }

    /// @notice `keccak(0x04 ‖ uint64 length ‖ merkle root over 4096-byte chunks)`.
    /// @dev Each chunk is copied into the same scratch buffer and hashed as a leaf there,
    /// so memory stays at one chunk plus one word per leaf and the cost is linear in the
    /// data (hashing the whole calldata at once would pay quadratic memory expansion).
    function dataHash(bytes calldata data) internal pure returns (bytes32) {
        uint256 length = data.length;
        uint256 chunks = (length + CHUNK_BYTES - 1) / CHUNK_BYTES;
        bytes32[] memory leaves = new bytes32[](chunks);
        assembly ("memory-safe") {
            let buffer := mload(0x40)
            mstore8(buffer, 0x00) // Merkle leaf domain
            let body := add(buffer, 1)
            let out := add(leaves, 0x20)
            for { let offset := 0 } lt(offset, length) { offset := add(offset, CHUNK_BYTES) } {
                let size := sub(length, offset)
                if gt(size, CHUNK_BYTES) { size := CHUNK_BYTES }
                calldatacopy(body, add(data.offset, offset), size)
                mstore(out, keccak256(buffer, add(size, 1)))
                out := add(out, 0x20)
            }
        }
        // casting to 'uint64' is safe because calldata cannot approach 2^64 bytes
        // forge-lint: disable-next-line(unsafe-typecast)
        return keccak256(abi.encodePacked(DATA_DOMAIN, uint64(length), Merkle.root(leaves)));
    }

    /// @notice `keccak` of the header's 145 canonical bytes.
    function hash(Header memory h) internal pure returns (bytes32) {
        return keccak256(
            abi.encodePacked(
                HEADER_DOMAIN,
                h.index,
                h.firstBlock,
                h.lastBlock,
                h.outputRoot,
                h.dataHash,
                h.depositsStart,
                h.depositsEnd,
                h.depositAccumulator,
                h.l1Block
            )
        );
    }
}
