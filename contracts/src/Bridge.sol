// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {BatchData} from "./BatchData.sol";
import {L2Block} from "./L2Block.sol";
import {Merkle} from "./Merkle.sol";
import {Rollup} from "./Rollup.sol";

/// @title Bridge
/// @notice ETH in and out of Verdict. Deposits form an ordered queue the sequencer must
/// consume in order (specs/bridge.md): for each queue length `n` the bridge keeps the
/// accumulator `acc(n)` (`acc(0) = 0`, `acc(n + 1) = keccak(acc(n) ‖ depositHash(n))`),
/// so a batch that claims to have consumed `n` deposits is checked with one read, and the
/// L1 block of each deposit, which bounds how long the sequencer may ignore it
/// (specs/state.md §4). Withdrawals are paid from the same ETH once the batch that
/// committed to them is final (specs/state.md §5).
contract Bridge {
    /// `DEPOSIT_DOMAIN` of `verdict-specs`: the first byte of a deposit's canonical bytes.
    bytes1 public constant DEPOSIT_DOMAIN = 0x03;
    /// The first byte of a withdrawal leaf (specs/state.md §1).
    bytes1 public constant WITHDRAWAL_DOMAIN = 0x09;

    /// How a withdrawal is shown to be in a batch: its path to the block's withdrawals
    /// root, the block header (169 bytes) and every later header of the batch.
    struct WithdrawalInclusion {
        bytes32[] proof;
        uint256 index;
        bytes blockHeader;
        bytes[] laterHeaders;
    }

    address private immutable deployer;
    /// The rollup whose final batches release withdrawals; set once, after it exists.
    Rollup public rollup;
    /// `accumulators[n]` is `acc(n + 1)`: the accumulator after deposit `n`.
    bytes32[] private accumulators;
    /// The L1 block of deposit `n`, four to a word: word `n / 4`, bits `64 · (n % 4)`.
    mapping(uint256 word => uint256) private depositBlocks;
    /// Withdrawal leaves already paid.
    mapping(bytes32 leaf => bool) public claimed;

    event DepositQueued(
        uint64 indexed index,
        address indexed sender,
        address indexed recipient,
        uint256 amount,
        uint64 l1Block,
        bytes32 depositHash,
        bytes32 accumulator
    );
    event RollupSet(address indexed rollup);
    event WithdrawalFinalized(bytes32 indexed leaf, address indexed sender, address indexed recipient, uint256 amount);

    error ZeroAmount();
    error ZeroRecipient();
    /// L2 balances are 128-bit (`verdict-specs`); no real deposit comes near.
    error AmountTooLarge(uint256 amount);
    error CountBeyondQueue(uint256 count, uint256 length);
    error NoSuchDeposit(uint256 index, uint256 length);
    error NotDeployer(address caller);
    error ZeroAddress();
    error RollupAlreadySet(address rollup);
    error RollupNotSet();
    error UnknownBatch(uint64 index);
    error NotFinal(uint64 index);
    error AlreadyClaimed(bytes32 leaf);
    error WithdrawalNotInBlock(uint256 index);
    error TransferFailed(address to, uint256 amount);

    constructor() {
        deployer = msg.sender;
    }

    /// @notice Names the rollup (deployed after the bridge, since it takes the bridge); once.
    function setRollup(address rollup_) external {
        if (msg.sender != deployer) revert NotDeployer(msg.sender);
        if (address(rollup) != address(0)) revert RollupAlreadySet(address(rollup));
        if (rollup_ == address(0)) revert ZeroAddress();
        rollup = Rollup(rollup_);
        emit RollupSet(rollup_);
    }

    // ---------------------------------------------------------------- deposits

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
        depositBlocks[index >> 2] |= uint256(l1Block) << ((index & 3) << 6);
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

    /// @notice The L1 block that included deposit `index`.
    function depositBlock(uint256 index) external view returns (uint64) {
        if (index >= accumulators.length) revert NoSuchDeposit(index, accumulators.length);
        // casting to 'uint64' is safe because the shifted word holds a uint64 in its low bits
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint64(depositBlocks[index >> 2] >> ((index & 3) << 6));
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

    // ---------------------------------------------------------------- withdrawals

    /// @notice Pays `amount` to `recipient` for the withdrawal `(sender, nonce)` of a final
    /// batch, once. Anyone may call it; the wei always goes to `recipient`.
    /// @param batch the batch currently posted at its index; it must be final.
    /// @param inclusion the leaf's path under the withdrawals root of `blockHeader`, whose
    /// `withdrawal_count` it is below, and the later headers up to the batch's output root.
    function finalizeWithdrawal(
        BatchData.Header calldata batch,
        WithdrawalInclusion calldata inclusion,
        address sender,
        uint64 nonce,
        address recipient,
        uint256 amount
    ) external returns (bytes32 leaf) {
        Rollup rollup_ = rollup;
        if (address(rollup_) == address(0)) revert RollupNotSet();
        if (!rollup_.isCurrent(batch)) revert UnknownBatch(batch.index);
        if (!rollup_.isFinalized(batch.index)) revert NotFinal(batch.index);
        leaf = withdrawalLeaf(sender, nonce, recipient, amount);
        if (claimed[leaf]) revert AlreadyClaimed(leaf);

        bytes calldata header = inclusion.blockHeader;
        L2Block.checkInBatch(batch, header, inclusion.laterHeaders, 0, 0);
        if (
            inclusion.index >= L2Block.withdrawalCount(header)
                || !Merkle.verify(leaf, inclusion.index, inclusion.proof, L2Block.withdrawalsRoot(header))
        ) revert WithdrawalNotInBlock(inclusion.index);

        // Marked before paying: a reentrant call finds the leaf claimed.
        claimed[leaf] = true;
        emit WithdrawalFinalized(leaf, sender, recipient, amount);
        (bool ok,) = recipient.call{value: amount}("");
        if (!ok) revert TransferFailed(recipient, amount);
    }

    /// @notice `keccak(0x09 ‖ sender(20) ‖ nonce(8) ‖ recipient(20) ‖ amount(16))`, the
    /// leaf a block's withdrawals root commits to (`amount` must fit 128 bits).
    function withdrawalLeaf(address sender, uint64 nonce, address recipient, uint256 amount)
        public
        pure
        returns (bytes32)
    {
        if (amount > type(uint128).max) revert AmountTooLarge(amount);
        // casting to 'uint128' is safe because the amount was checked above
        // forge-lint: disable-next-line(unsafe-typecast)
        return keccak256(abi.encodePacked(WITHDRAWAL_DOMAIN, sender, nonce, recipient, uint128(amount)));
    }
}
