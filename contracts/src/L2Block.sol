// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {BatchData} from "./BatchData.sol";

/// @title L2Block
/// @notice Reading L2 block headers (version 2, 169 bytes; specs/state.md §2) and checking
/// that a run of them is the tail of a posted batch: each names the previous one's hash as
/// parent, and the last one's hash is the batch's output root at its `lastBlock`.
/// Used by the record inclusion of the dispute game, the withdrawal inclusion of the
/// bridge and the opening of state games.
library L2Block {
    /// `0x07 ‖ number(8) ‖ parent_hash(32) ‖ timestamp(8) ‖ records_root(32) ‖
    /// state_root(32) ‖ deposits_consumed(8) ‖ withdrawals_root(32) ‖ record_count(4) ‖
    /// withdrawal_count(4) ‖ l1_origin(8)`.
    uint256 internal constant HEADER_BYTES = 169;
    uint8 internal constant DOMAIN = 0x07;
    /// `keccak` of the genesis header: `0x07` followed by 168 zero bytes.
    bytes32 internal constant GENESIS_HASH = 0xdeda700fe6582ab8e5d3efb90ee2802f01dcb9762d43fc9c6ca1c4412bffa0cc;

    /// Header `which` (0 = the first one given) is not 169 bytes starting with `0x07`.
    error BadBlockHeader(uint256 which);
    error BlockBeforeBatch(uint64 block_, uint64 firstBlock);
    /// Header `which` does not name the previous header as parent, or skips a number.
    error BrokenChain(uint256 which);
    error WrongOutputRoot(bytes32 expected, bytes32 actual);
    error WrongLastBlock(uint64 expected, uint64 actual);

    function check(bytes calldata h, uint256 which) internal pure {
        if (h.length != HEADER_BYTES || uint8(h[0]) != DOMAIN) revert BadBlockHeader(which);
    }

    function number(bytes calldata h) internal pure returns (uint64) {
        return uint64(bytes8(h[1:9]));
    }

    function parentHash(bytes calldata h) internal pure returns (bytes32) {
        return bytes32(h[9:41]);
    }

    function recordsRoot(bytes calldata h) internal pure returns (bytes32) {
        return bytes32(h[49:81]);
    }

    function stateRoot(bytes calldata h) internal pure returns (bytes32) {
        return bytes32(h[81:113]);
    }

    function depositsConsumed(bytes calldata h) internal pure returns (uint64) {
        return uint64(bytes8(h[113:121]));
    }

    function withdrawalsRoot(bytes calldata h) internal pure returns (bytes32) {
        return bytes32(h[121:153]);
    }

    function recordCount(bytes calldata h) internal pure returns (uint32) {
        return uint32(bytes4(h[153:157]));
    }

    function withdrawalCount(bytes calldata h) internal pure returns (uint32) {
        return uint32(bytes4(h[157:161]));
    }

    function l1Origin(bytes calldata h) internal pure returns (uint64) {
        return uint64(bytes8(h[161:169]));
    }

    /// @notice Checks that `first` is a block of `batch`: its number is at least the
    /// batch's first block and `first, later[from], later[from + 1], …` chain to the batch's
    /// output root, the last at `lastBlock`. Headers are numbered for errors from `which`
    /// (`first`) upward.
    function checkInBatch(
        BatchData.Header calldata batch,
        bytes calldata first,
        bytes[] calldata later,
        uint256 from,
        uint256 which
    ) internal pure {
        check(first, which);
        uint64 n = number(first);
        if (n < batch.firstBlock) revert BlockBeforeBatch(n, batch.firstBlock);
        bytes32 hash = keccak256(first);
        for (uint256 i = from; i < later.length; i++) {
            bytes calldata h = later[i];
            which++;
            check(h, which);
            if (parentHash(h) != hash || number(h) != n + 1) revert BrokenChain(which);
            hash = keccak256(h);
            n++;
        }
        if (hash != batch.outputRoot) revert WrongOutputRoot(batch.outputRoot, hash);
        if (n != batch.lastBlock) revert WrongLastBlock(batch.lastBlock, n);
    }
}
