// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Merkle} from "./Merkle.sol";

/// @title BatchData
/// @notice Batches as `verdict-specs` defines them (specs/batch.md): the batch data hash
/// over calldata, the batch header that the `Rollup` stores one word of, and the frame of
/// the batch data (its block headers at fixed offsets), from which `postBatch` derives
/// the block range, the output root and the deposits consumed.
library BatchData {
    bytes1 internal constant DATA_DOMAIN = 0x04;
    bytes1 internal constant HEADER_DOMAIN = 0x05;
    uint256 internal constant CHUNK_BYTES = 4096;
    /// Batch data layout version (`verdict_specs::l2::batch_data::VERSION`).
    uint8 internal constant VERSION = 3;
    /// `version(1) ‖ block_count(4)`.
    uint256 internal constant PREFIX_BYTES = 5;
    /// An entry: a 169-byte block header and the u32 offset just past the block's body.
    uint256 internal constant ENTRY_BYTES = 173;
    uint256 internal constant BLOCK_HEADER_BYTES = 169;
    /// The largest body one block may have: it bounds a data fault proof's work.
    uint256 internal constant MAX_BLOCK_BODY_BYTES = 128 * 1024;

    /// Where the chain stands on L1 when a batch is posted.
    struct Tip {
        uint64 nextBlock;
        bytes32 parentRoot;
        uint64 depositsConsumed;
    }

    /// What the frame of a batch gives: its last block, its hash and the deposits
    /// consumed after it.
    struct Derived {
        uint64 lastBlock;
        bytes32 outputRoot;
        uint64 depositsEnd;
    }

    // Frame rules (verdict_specs::l2::batch_data::FrameError, same names).
    error DataTooShort(uint256 length);
    error WrongVersion(uint8 version);
    error NoBlocks();
    error EntriesBeyondData(uint256 count, uint256 length);
    error NotBlockHeader(uint256 index);
    error BodyEndsBeforeStart(uint256 index, uint256 start, uint256 end);
    error BodyTooLarge(uint256 index, uint256 bytes_);
    error DataEndMismatch(uint256 end, uint256 length);
    error WrongFirstBlock(uint64 number, uint64 expected);
    error WrongParent(bytes32 expected, bytes32 actual);
    error BrokenChain(uint256 index);
    error DepositsWentBack(uint256 index, uint64 consumed, uint64 before);
    error OriginAhead(uint256 index, uint64 origin, uint64 l1Block);

    /// What L1 records about one posted batch (`verdict_specs::batch::BatchHeader`).
    struct Header {
        uint64 index;
        uint64 firstBlock;
        uint64 lastBlock;
        /// The block hash `firstBlock` builds on: the previous batch's output root.
        bytes32 parentRoot;
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

    /// @notice `keccak` of the header's 177 canonical bytes.
    function hash(Header memory h) internal pure returns (bytes32) {
        return keccak256(
            abi.encodePacked(
                HEADER_DOMAIN,
                h.index,
                h.firstBlock,
                h.lastBlock,
                h.parentRoot,
                h.outputRoot,
                h.dataHash,
                h.depositsStart,
                h.depositsEnd,
                h.depositAccumulator,
                h.l1Block
            )
        );
    }

    /// @notice Checks the frame of `data` against `tip` (specs/batch.md, "Posting") and
    /// returns what it gives. Every rule of `verdict_specs::l2::batch_data::frame` holds
    /// or this reverts with the error of the same name: the prefix and version, at least
    /// one block, entries inside the data, each header a block header that continues the
    /// chain (number, parent hash, the tip first), deposits consumed never going back,
    /// no `l1_origin` after this L1 block, and bodies tiling the rest of the data in order,
    /// none above `MAX_BLOCK_BODY_BYTES`.
    /// @dev Reads the headers where they lie in calldata and hashes each from one scratch
    /// buffer, so the cost is linear in the number of blocks (about 1,000 gas each).
    function readFrame(bytes calldata data, Tip memory tip) internal view returns (Derived memory d) {
        uint256 length = data.length;
        if (length < PREFIX_BYTES) revert DataTooShort(length);
        if (uint8(data[0]) != VERSION) revert WrongVersion(uint8(data[0]));
        uint256 count = uint32(bytes4(data[1:5]));
        if (count == 0) revert NoBlocks();
        uint256 start = PREFIX_BYTES + ENTRY_BYTES * count;
        if (start > length) revert EntriesBeyondData(count, length);

        uint64 number = tip.nextBlock;
        bytes32 parent = tip.parentRoot;
        uint64 consumed = tip.depositsConsumed;
        for (uint256 i = 0; i < count; i++) {
            uint256 pos = PREFIX_BYTES + ENTRY_BYTES * i;
            bytes calldata h = data[pos:pos + ENTRY_BYTES];
            if (uint8(h[0]) != 0x07) revert NotBlockHeader(i);
            uint64 n = uint64(bytes8(h[1:9]));
            bytes32 p = bytes32(h[9:41]);
            if (i == 0) {
                if (n != number) revert WrongFirstBlock(n, number);
                if (p != parent) revert WrongParent(parent, p);
            } else if (n != number || p != parent) {
                revert BrokenChain(i);
            }
            uint64 c = uint64(bytes8(h[113:121]));
            if (c < consumed) revert DepositsWentBack(i, c, consumed);
            uint64 origin = uint64(bytes8(h[161:169]));
            // casting to 'uint64' is safe because L1 block numbers are far below 2^64
            // forge-lint: disable-next-line(unsafe-typecast)
            if (origin > block.number) revert OriginAhead(i, origin, uint64(block.number));
            uint256 end = uint32(bytes4(h[169:173]));
            if (end < start) revert BodyEndsBeforeStart(i, start, end);
            if (end - start > MAX_BLOCK_BODY_BYTES) revert BodyTooLarge(i, end - start);
            parent = _hashHeader(h);
            number = n + 1;
            consumed = c;
            start = end;
        }
        if (start != length) revert DataEndMismatch(start, length);
        d.lastBlock = number - 1;
        d.outputRoot = parent;
        d.depositsEnd = consumed;
    }

    /// @notice Block `index`'s header (169 bytes) and the calldata range of its body,
    /// for data whose frame `readFrame` accepted.
    function entry(bytes calldata data, uint256 index)
        internal
        pure
        returns (bytes calldata header, uint256 bodyStart, uint256 bodyEnd)
    {
        uint256 pos = PREFIX_BYTES + ENTRY_BYTES * index;
        header = data[pos:pos + BLOCK_HEADER_BYTES];
        bodyEnd = uint32(bytes4(data[pos + BLOCK_HEADER_BYTES:pos + ENTRY_BYTES]));
        if (index == 0) {
            bodyStart = PREFIX_BYTES + ENTRY_BYTES * uint32(bytes4(data[1:5]));
        } else {
            bodyStart = uint32(bytes4(data[pos - 4:pos]));
        }
    }

    /// @notice The number of blocks `data` holds.
    function blockCount(bytes calldata data) internal pure returns (uint256) {
        return uint32(bytes4(data[1:5]));
    }

    /// `keccak` of the 169-byte block header at the start of `h`, hashed in scratch
    /// memory above the free memory pointer (nothing is allocated).
    function _hashHeader(bytes calldata h) private pure returns (bytes32 hash_) {
        assembly ("memory-safe") {
            let buffer := mload(0x40)
            calldatacopy(buffer, h.offset, 169)
            hash_ := keccak256(buffer, 169)
        }
    }
}
