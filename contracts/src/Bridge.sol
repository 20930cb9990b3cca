// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title Bridge
/// @notice ETH deposits from L1 into Verdict, as an ordered queue the sequencer must
/// consume in order (specs/bridge.md). For each queue length `n` the bridge keeps the
/// accumulator `acc(n)` (`acc(0) = 0`, `acc(n + 1) = keccak(acc(n) ‖ depositHash(n))`),
/// so a batch that claims to have consumed `n` deposits is checked with one read.
/// Withdrawals (paid once a batch is final) come with the Rollup; the ETH stays here.
contract Bridge {
    /// `DEPOSIT_DOMAIN` of `verdict-specs`: the first byte of a deposit's canonical bytes.
    bytes1 public constant DEPOSIT_DOMAIN = 0x03;

    /// `accumulators[n]` is `acc(n + 1)`: the accumulator after deposit `n`.
    bytes32[] private accumulators;

    event DepositQueued(
        uint64 indexed index,
        address indexed sender,
        address indexed recipient,
        uint256 amount,
        uint64 l1Block,
        bytes32 depositHash,
        bytes32 accumulator
    );

    error ZeroAmount();
    error ZeroRecipient();
    /// L2 balances are 128-bit (`verdict-specs`); no real deposit comes near.
    error AmountTooLarge(uint256 amount);
    error CountBeyondQueue(uint256 count, uint256 length);

    /// @notice Deposits `msg.value` wei for `recipient` on L2; returns its queue index.
    function deposit(address recipient) public payable returns (uint64 index) {
        if (msg.value == 0) revert ZeroAmount();
        if (recipient == address(0)) revert ZeroRecipient();
        if (msg.value > type(uint128).max) revert AmountTooLarge(msg.value);
        index = uint64(accumulators.length);
        uint64 l1Block = uint64(block.number);
        bytes32 hash = depositHash(index, msg.sender, recipient, msg.value, l1Block);
        bytes32 previous = index == 0 ? bytes32(0) : accumulators[index - 1];
        bytes32 accumulator = keccak256(abi.encodePacked(previous, hash));
        accumulators.push(accumulator);
        emit DepositQueued(index, msg.sender, recipient, msg.value, l1Block, hash, accumulator);
    }

    /// @notice A plain transfer deposits to the sender's own L2 account.
    receive() external payable {
        deposit(msg.sender);
    }

    /// @notice Deposits queued so far.
    function depositCount() external view returns (uint256) {
        return accumulators.length;
    }

    /// @notice `acc(count)`: the accumulator after the first `count` deposits.
    function accumulatorAt(uint256 count) external view returns (bytes32) {
        if (count > accumulators.length) revert CountBeyondQueue(count, accumulators.length);
        return count == 0 ? bytes32(0) : accumulators[count - 1];
    }

    /// @notice `keccak(0x03 ‖ index ‖ sender ‖ recipient ‖ amount ‖ l1Block)`, as
    /// `verdict_specs::bridge::Deposit::hash` computes it.
    function depositHash(uint64 index, address sender, address recipient, uint256 amount, uint64 l1Block)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encodePacked(DEPOSIT_DOMAIN, index, sender, recipient, amount, l1Block));
    }
}
