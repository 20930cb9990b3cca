// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {BatchData} from "./BatchData.sol";
import {L2Block} from "./L2Block.sol";
import {Merkle} from "./Merkle.sol";
import {Rollup} from "./Rollup.sol";

/// @title BatchDataVerifier
/// @notice The data fault rule (specs/batch.md, "Data faults";
/// `verdict_specs::l2::batch_data::check_body`): a block's body in the batch data must
/// decode as exactly its header's `record_count` inferences and `withdrawal_count`
/// withdrawals, filling it, and their record hashes and withdrawal leaves must give the
/// header's `records_root` and `withdrawals_root`. `DisputeGame.proveDataFault` reverts a
/// batch any of whose blocks breaks it, so no header can commit to records or withdrawals
/// that are not in the public data.
/// @dev Reads the body where it lies in calldata. Each inference's memory is released
/// after its record hash is taken, so memory stays at one word per leaf however long
/// the body is (at most `BatchData.MAX_BLOCK_BODY_BYTES`).
contract BatchDataVerifier {
    /// Why a body does not back its header (`BodyFault` in Rust); `None` when it does.
    enum Fault {
        None,
        Malformed,
        RecordsRoot,
        WithdrawalsRoot
    }

    /// The smallest inference a body can hold; a body too short for its counts is malformed.
    uint256 internal constant MIN_INFERENCE_BYTES = 159;
    /// `sender(20) ‖ nonce(8) ‖ recipient(20) ‖ amount(16) ‖ signature(65)`.
    uint256 internal constant WITHDRAWAL_BYTES = 129;
    /// `sender(20) ‖ nonce(8) ‖ model_id(32) ‖ max_fee(16)`, before the input tensor.
    uint256 internal constant REQUEST_FIXED_BYTES = 76;
    uint256 internal constant SIGNATURE_BYTES = 65;
    uint256 internal constant FEE_BYTES = 16;
    uint256 internal constant MAX_RANK = 6;
    uint256 internal constant MAX_ELEMENTS = 1 << 26;
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 internal constant REQUEST_TYPEHASH =
        keccak256("InferenceRequest(address sender,uint64 nonce,bytes32 modelId,bytes32 input,uint256 maxFee)");

    /// The rollup whose requests the records are signed for (the EIP-712 domain).
    Rollup public immutable rollup;
    uint256 private immutable cachedChainId;
    bytes32 private immutable cachedSeparator;

    error NoSuchBlock(uint256 index, uint256 count);
    error NotCurrent(uint64 index);
    error AlreadyFinal(uint64 index);
    error WindowClosed(uint64 index, uint256 windowEnd);
    error WrongData(bytes32 expected, bytes32 actual);
    error NoDataFault(uint256 blockIndex);

    constructor(Rollup rollup_) {
        rollup = rollup_;
        cachedChainId = block.chainid;
        cachedSeparator = _separator();
    }

    /// One block's body as the frame places it: absolute calldata offsets and the
    /// header fields it must back.
    struct Body {
        uint256 cursor;
        uint256 stop;
        uint256 records;
        uint256 withdrawals;
        bytes32 recordsRoot;
        bytes32 withdrawalsRoot;
    }

    /// @notice The fault of block `index` of the batch `header`, whose data is `data`, for
    /// `DisputeGame.proveDataFault`: reverts unless the batch is posted and current, not
    /// final, inside its dispute window, `data` hashes to its data hash, and the block's
    /// body does not back its header.
    function prove(BatchData.Header calldata header, bytes calldata data, uint256 index)
        external
        view
        returns (Fault fault)
    {
        if (!rollup.isCurrent(header)) revert NotCurrent(header.index);
        if (rollup.isFinalized(header.index)) revert AlreadyFinal(header.index);
        uint256 windowEnd = uint256(header.l1Block) + rollup.disputeWindow();
        if (block.number >= windowEnd) revert WindowClosed(header.index, windowEnd);
        bytes32 actual = BatchData.dataHash(data);
        if (actual != header.dataHash) revert WrongData(header.dataHash, actual);
        fault = findFault(data, index);
        if (fault == Fault.None) revert NoDataFault(index);
    }

    /// @notice Whether block `index` of `data` (a posted batch's data, whose frame the
    /// rollup accepted) is backed by its body, and the fault when it is not.
    function findFault(bytes calldata data, uint256 index) public view returns (Fault) {
        Body memory b = _body(data, index);
        if (b.records * MIN_INFERENCE_BYTES + b.withdrawals * WITHDRAWAL_BYTES > b.stop - b.cursor) {
            return Fault.Malformed;
        }
        (bool ok, bytes32 recordsRoot) = _recordsRoot(b, domainSeparator());
        if (!ok) return Fault.Malformed;
        bytes32[] memory withdrawalLeaves = new bytes32[](b.withdrawals);
        for (uint256 i = 0; i < b.withdrawals; i++) {
            if (b.cursor + WITHDRAWAL_BYTES > b.stop) return Fault.Malformed;
            withdrawalLeaves[i] = _withdrawalLeaf(b.cursor);
            b.cursor += WITHDRAWAL_BYTES;
        }
        if (b.cursor != b.stop) return Fault.Malformed;
        if (recordsRoot != b.recordsRoot) return Fault.RecordsRoot;
        if (Merkle.root(withdrawalLeaves) != b.withdrawalsRoot) return Fault.WithdrawalsRoot;
        return Fault.None;
    }

    /// @notice The EIP-712 domain separator of the rollup's requests (specs/l2.md).
    function domainSeparator() public view returns (bytes32) {
        return block.chainid == cachedChainId ? cachedSeparator : _separator();
    }

    // ---------------------------------------------------------------- parsing

    function _body(bytes calldata data, uint256 index) private pure returns (Body memory b) {
        uint256 count = BatchData.blockCount(data);
        if (index >= count) revert NoSuchBlock(index, count);
        (bytes calldata header, uint256 start, uint256 end) = BatchData.entry(data, index);
        uint256 base;
        assembly ("memory-safe") {
            base := data.offset
        }
        b.cursor = base + start;
        b.stop = base + end;
        b.records = L2Block.recordCount(header);
        b.withdrawals = L2Block.withdrawalCount(header);
        b.recordsRoot = L2Block.recordsRoot(header);
        b.withdrawalsRoot = L2Block.withdrawalsRoot(header);
    }

    /// Reads `b.records` inferences from `b.cursor` (advancing it) and returns the root
    /// over their record hashes; `ok` is false at the first malformed one.
    function _recordsRoot(Body memory b, bytes32 separator) private pure returns (bool ok, bytes32 root) {
        bytes32[] memory leaves = new bytes32[](b.records);
        for (uint256 i = 0; i < b.records; i++) {
            uint256 free;
            assembly ("memory-safe") {
                free := mload(0x40)
            }
            (bool wellFormed, uint256 next, bytes32 recordHash) = _inference(b.cursor, b.stop, separator);
            // Release what hashing this inference allocated: nothing of it is used again.
            assembly ("memory-safe") {
                mstore(0x40, free)
            }
            if (!wellFormed) return (false, 0);
            leaves[i] = recordHash;
            b.cursor = next;
        }
        return (true, Merkle.root(leaves));
    }

    /// The inference at calldata offset `p` (not past `stop`): whether it is well formed,
    /// where it ends, and its record hash
    /// `keccak(0x06 ‖ request_hash ‖ sender ‖ model_id ‖ input_root ‖ output_root ‖ fee)`.
    function _inference(uint256 p, uint256 stop, bytes32 separator)
        private
        pure
        returns (bool ok, uint256 next, bytes32 recordHash)
    {
        if (p + REQUEST_FIXED_BYTES > stop) return (false, 0, 0);
        address sender;
        uint64 nonce;
        bytes32 modelId;
        uint128 maxFee;
        assembly ("memory-safe") {
            sender := shr(96, calldataload(p))
            nonce := shr(192, calldataload(add(p, 20)))
            modelId := calldataload(add(p, 28))
            maxFee := shr(128, calldataload(add(p, 60)))
        }
        bytes32 inputRoot;
        (ok, next, inputRoot) = _tensor(p + REQUEST_FIXED_BYTES, stop);
        if (!ok || next + SIGNATURE_BYTES > stop) return (false, 0, 0);
        bytes32 outputRoot;
        (ok, next, outputRoot) = _tensor(next + SIGNATURE_BYTES, stop);
        if (!ok || next + FEE_BYTES > stop) return (false, 0, 0);
        uint128 fee;
        assembly ("memory-safe") {
            fee := shr(128, calldataload(next))
        }
        next += FEE_BYTES;
        bytes32 requestHash = keccak256(
            abi.encodePacked(
                bytes2(0x1901),
                separator,
                keccak256(abi.encode(REQUEST_TYPEHASH, sender, nonce, modelId, inputRoot, maxFee))
            )
        );
        recordHash = keccak256(abi.encodePacked(bytes1(0x06), requestHash, sender, modelId, inputRoot, outputRoot, fee));
    }

    /// The tensor encoded at calldata offset `p` (`dtype ‖ rank ‖ dims ‖ element bytes`,
    /// specs/tensor.md): whether it is well formed (dtype 0 or 1, rank 1 to 6, every dim at
    /// least 1, at most 2^26 elements, the bytes present), where it ends, and its commitment
    /// `keccak(0x02 ‖ dtype ‖ rank ‖ dims ‖ data_root)`.
    function _tensor(uint256 p, uint256 stop) private pure returns (bool ok, uint256 next, bytes32 commitment) {
        if (p + 2 > stop) return (false, 0, 0);
        uint256 dtype;
        uint256 rank;
        assembly ("memory-safe") {
            let w := calldataload(p)
            dtype := byte(0, w)
            rank := byte(1, w)
        }
        if (dtype > 1 || rank == 0 || rank > MAX_RANK) return (false, 0, 0);
        uint256 headerBytes = 2 + 4 * rank;
        if (p + headerBytes > stop) return (false, 0, 0);
        uint256 count = 1;
        for (uint256 i = 0; i < rank; i++) {
            uint256 d;
            assembly ("memory-safe") {
                d := shr(224, calldataload(add(p, add(2, mul(4, i)))))
            }
            if (d == 0) return (false, 0, 0);
            count *= d;
            if (count > MAX_ELEMENTS) return (false, 0, 0);
        }
        uint256 size = dtype == 0 ? count : count * 4;
        uint256 dataStart = p + headerBytes;
        if (dataStart + size > stop) return (false, 0, 0);
        bytes32 dataRoot = _dataRoot(dataStart, size);
        assembly ("memory-safe") {
            let buffer := mload(0x40)
            mstore8(buffer, 0x02)
            calldatacopy(add(buffer, 1), p, headerBytes)
            mstore(add(buffer, add(1, headerBytes)), dataRoot)
            commitment := keccak256(buffer, add(33, headerBytes))
        }
        return (true, dataStart + size, commitment);
    }

    /// merkle.md root over the 32-byte chunks of the `size` (at least 1) calldata bytes
    /// at `start`, the last chunk zero-padded (specs/tensor.md).
    function _dataRoot(uint256 start, uint256 size) private pure returns (bytes32) {
        uint256 chunks = (size + 31) / 32;
        bytes32[] memory leaves = new bytes32[](chunks);
        assembly ("memory-safe") {
            let scratch := mload(0x40)
            mstore8(scratch, 0x00)
            for { let i := 0 } lt(i, chunks) { i := add(i, 1) } {
                let offset := shl(5, i)
                let word := calldataload(add(start, offset))
                let rest := sub(size, offset)
                if lt(rest, 32) { word := and(word, not(shr(shl(3, rest), not(0)))) }
                mstore(add(scratch, 1), word)
                mstore(add(leaves, shl(5, add(i, 1))), keccak256(scratch, 33))
            }
        }
        return Merkle.root(leaves);
    }

    /// `keccak(0x09 ‖ sender ‖ nonce ‖ recipient ‖ amount)` of the withdrawal at `p`.
    function _withdrawalLeaf(uint256 p) private pure returns (bytes32 leaf) {
        assembly ("memory-safe") {
            let buffer := mload(0x40)
            mstore8(buffer, 0x09)
            calldatacopy(add(buffer, 1), p, 64)
            leaf := keccak256(buffer, 65)
        }
    }

    function _separator() private view returns (bytes32) {
        return
            keccak256(abi.encode(DOMAIN_TYPEHASH, keccak256("Verdict"), keccak256("1"), block.chainid, address(rollup)));
    }
}
