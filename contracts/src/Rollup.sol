// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {BatchData} from "./BatchData.sol";
import {Bridge} from "./Bridge.sol";
import {L2Block} from "./L2Block.sol";

/// @title Rollup
/// @notice Batches of Verdict L2 blocks, posted by a bonded sequencer, final once their
/// dispute window has passed with no dispute open (specs/rollup.md).
/// @dev One storage word per batch: the hash of its header (`BatchData.Header`). Calls
/// about a batch pass the header back and are checked against that word, which keeps a
/// post at its calldata cost plus a fixed overhead. Batches finalize in order: a lost
/// dispute reverts its batch and every later one, so no later batch is final before an
/// earlier one.
contract Rollup {
    /// The share of a slashed bond paid to the challenger who won; the rest is burnt
    /// (kept here forever), so a sequencer gains nothing by challenging itself.
    uint256 public constant SLASH_REWARD_PERCENT = 50;

    /// The rollup's head, packed into one word so a post writes it with one SSTORE.
    struct Head {
        /// Batches currently posted (finalized or not).
        uint64 batchCount;
        /// Batches final: indices below this never change again.
        uint64 finalizedCount;
        /// The first L2 block of the next batch (block 0 is the L2 genesis).
        uint64 nextBlock;
        /// Deposits consumed by the posted batches.
        uint64 depositsConsumed;
    }

    Bridge public immutable bridge;
    address public immutable sequencer;
    /// L1 blocks after a batch's own during which it can be disputed.
    uint64 public immutable disputeWindow;
    /// The sequencer's bond must be at least this to post.
    uint256 public immutable minBond;
    /// A deposit queued in L1 block `b` must be consumed by a batch posted before block
    /// `b + inclusionDeadline` (specs/state.md §4): no batch is accepted while it is due.
    uint64 public immutable inclusionDeadline;
    address private immutable deployer;

    /// The contract allowed to open and close disputes and to revert batches; set once.
    address public disputeGame;
    Head public head;
    /// The hash of the last posted L2 block (the L2 genesis hash before the first batch):
    /// the parent the next batch's first block must name.
    bytes32 public tip;
    /// Header hash of each posted batch, by index.
    mapping(uint256 index => bytes32) public batchHashes;
    /// Games open against each batch (by header hash); `finalize` waits for all of them.
    mapping(bytes32 headerHash => uint256) public openDisputes;
    mapping(address account => uint256) public bonds;
    /// Slashing rewards waiting to be withdrawn (pull payments).
    mapping(address account => uint256) public credits;
    /// Wei slashed and not paid out: locked here for good.
    uint256 public burnt;

    event DisputeGameSet(address indexed game);
    event Bonded(address indexed account, uint256 amount, uint256 total);
    event Unbonded(address indexed account, uint256 amount, uint256 total);
    event BatchPosted(uint64 indexed index, bytes32 indexed headerHash, BatchData.Header header);
    event BatchFinalized(uint64 indexed index, bytes32 indexed headerHash, bytes32 outputRoot);
    event DisputeOpened(uint64 indexed index, bytes32 indexed headerHash, uint256 open);
    event DisputeClosed(bytes32 indexed headerHash, uint256 open);
    /// Batches `fromIndex` up to (not including) `toIndex` are gone; `headerHash` is the
    /// batch that lost its dispute.
    event BatchesReverted(uint64 indexed fromIndex, uint64 toIndex, bytes32 indexed headerHash);
    event BondSlashed(address indexed sequencer, address indexed challenger, uint256 reward, uint256 burnt);
    event CreditWithdrawn(address indexed account, uint256 amount);

    error NotSequencer(address caller);
    error NotDeployer(address caller);
    error NotDisputeGame(address caller);
    error DisputeGameAlreadySet(address game);
    error ZeroAddress();
    error ZeroParameter(string name);
    error ZeroAmount();
    error BondTooLow(uint256 bond, uint256 minimum);
    error BondLocked(uint256 remaining, uint256 minimum, uint64 unfinalizedBatches);
    error InsufficientBond(uint256 bond, uint256 requested);
    error WrongDepositAccumulator(uint64 depositsEnd, bytes32 stated, bytes32 actual);
    /// Deposit `index`, queued at L1 block `queuedAt`, had to be consumed before `deadline`.
    error DepositOverdue(uint64 index, uint64 queuedAt, uint64 deadline);
    error UnknownBatch(uint64 index, bytes32 batchHash);
    error AlreadyFinalized(uint64 index);
    error NotNextToFinalize(uint64 index, uint64 next);
    error WindowOpen(uint64 index, uint256 windowEnd);
    error WindowClosed(uint64 index, uint256 windowEnd);
    error DisputesOpen(uint64 index, uint256 open);
    error NoOpenDispute(bytes32 batchHash);
    error NothingToWithdraw();
    error TransferFailed(address to, uint256 amount);

    constructor(
        Bridge bridge_,
        address sequencer_,
        uint64 disputeWindow_,
        uint256 minBond_,
        uint64 inclusionDeadline_
    ) {
        if (address(bridge_) == address(0) || sequencer_ == address(0)) revert ZeroAddress();
        // A zero window finalizes before anyone can dispute; a zero bond leaves nothing to
        // slash; a zero deadline lets anyone block every post by depositing first.
        if (disputeWindow_ == 0) revert ZeroParameter("disputeWindow");
        if (minBond_ == 0) revert ZeroParameter("minBond");
        if (inclusionDeadline_ == 0) revert ZeroParameter("inclusionDeadline");
        bridge = bridge_;
        sequencer = sequencer_;
        disputeWindow = disputeWindow_;
        minBond = minBond_;
        inclusionDeadline = inclusionDeadline_;
        deployer = msg.sender;
        head = Head({batchCount: 0, finalizedCount: 0, nextBlock: 1, depositsConsumed: 0});
        tip = L2Block.GENESIS_HASH;
    }

    /// @notice Names the dispute game contract (deployed after this one); once.
    function setDisputeGame(address game) external {
        if (msg.sender != deployer) revert NotDeployer(msg.sender);
        if (disputeGame != address(0)) revert DisputeGameAlreadySet(disputeGame);
        if (game == address(0)) revert ZeroAddress();
        disputeGame = game;
        emit DisputeGameSet(game);
    }

    // ---------------------------------------------------------------- bonds

    /// @notice Adds `msg.value` to the caller's bond.
    function bond() external payable {
        if (msg.value == 0) revert ZeroAmount();
        uint256 total = bonds[msg.sender] + msg.value;
        bonds[msg.sender] = total;
        emit Bonded(msg.sender, msg.value, total);
    }

    /// @notice Takes `amount` of the caller's bond back. The sequencer's bond stays at
    /// `minBond` or more while any batch of it is not final.
    function unbond(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        uint256 current = bonds[msg.sender];
        if (amount > current) revert InsufficientBond(current, amount);
        uint256 remaining = current - amount;
        if (msg.sender == sequencer && remaining < minBond) {
            Head memory h = head;
            if (h.finalizedCount < h.batchCount) {
                revert BondLocked(remaining, minBond, h.batchCount - h.finalizedCount);
            }
        }
        bonds[msg.sender] = remaining;
        emit Unbonded(msg.sender, amount, remaining);
        _pay(msg.sender, amount);
    }

    // ---------------------------------------------------------------- batches

    /// @notice Posts the L2 blocks whose headers `data` carries (specs/batch.md). The
    /// batch's block range, output root (its last block's hash) and deposits consumed are
    /// read from those headers here, never stated: the headers must continue the chain
    /// from the last posted output root (`tip`) at `head.nextBlock`, never consume fewer
    /// deposits than before, and name no `l1_origin` after this block
    /// (`BatchData.readFrame`). `depositAccumulator` must be the bridge's
    /// `accumulatorAt(depositsEnd)`, so a post built on a deposit queue an L1 reorg has
    /// since changed fails. Refused while the first deposit the batch leaves in the queue
    /// is overdue (forced inclusion). `data` is hashed here, so the posted hash always
    /// matches what anyone reads from this transaction.
    function postBatch(bytes32 depositAccumulator, bytes calldata data) external returns (uint64 index) {
        if (msg.sender != sequencer) revert NotSequencer(msg.sender);
        uint256 currentBond = bonds[msg.sender];
        if (currentBond < minBond) revert BondTooLow(currentBond, minBond);
        Head memory h = head;
        bytes32 parentRoot = tip;
        BatchData.Derived memory d = BatchData.readFrame(
            data, BatchData.Tip({nextBlock: h.nextBlock, parentRoot: parentRoot, depositsConsumed: h.depositsConsumed})
        );
        // Reverts with the bridge's CountBeyondQueue when the batch claims unqueued deposits.
        bytes32 actual = bridge.accumulatorAt(d.depositsEnd);
        if (actual != depositAccumulator) {
            revert WrongDepositAccumulator(d.depositsEnd, depositAccumulator, actual);
        }
        _checkNotOverdue(d.depositsEnd);

        index = h.batchCount;
        BatchData.Header memory header = BatchData.Header({
            index: index,
            firstBlock: h.nextBlock,
            lastBlock: d.lastBlock,
            parentRoot: parentRoot,
            outputRoot: d.outputRoot,
            dataHash: BatchData.dataHash(data),
            depositsStart: h.depositsConsumed,
            depositsEnd: d.depositsEnd,
            depositAccumulator: actual,
            l1Block: uint64(block.number)
        });
        bytes32 batchHash = BatchData.hash(header);
        batchHashes[index] = batchHash;
        head = Head({
            batchCount: index + 1,
            finalizedCount: h.finalizedCount,
            nextBlock: d.lastBlock + 1,
            depositsConsumed: d.depositsEnd
        });
        tip = d.outputRoot;
        emit BatchPosted(index, batchHash, header);
    }

    /// @notice Makes the next batch final once its window has passed with no dispute
    /// open. Anyone may call it.
    function finalize(BatchData.Header calldata header) external {
        bytes32 batchHash = _requireCurrent(header);
        Head memory h = head;
        if (header.index != h.finalizedCount) revert NotNextToFinalize(header.index, h.finalizedCount);
        uint256 windowEnd = _windowEnd(header);
        if (block.number < windowEnd) revert WindowOpen(header.index, windowEnd);
        uint256 open = openDisputes[batchHash];
        if (open != 0) revert DisputesOpen(header.index, open);
        head.finalizedCount = h.finalizedCount + 1;
        emit BatchFinalized(header.index, batchHash, header.outputRoot);
    }

    // ---------------------------------------------------------------- dispute hooks

    /// @notice Counts a new game against a posted, not yet final batch, inside its window.
    function openDispute(BatchData.Header calldata header) external onlyDisputeGame returns (bytes32 batchHash) {
        batchHash = _requireUnfinalized(header);
        uint256 windowEnd = _windowEnd(header);
        if (block.number >= windowEnd) revert WindowClosed(header.index, windowEnd);
        uint256 open = openDisputes[batchHash] + 1;
        openDisputes[batchHash] = open;
        emit DisputeOpened(header.index, batchHash, open);
    }

    /// @notice A game against the batch `batchHash` ended without reverting it.
    function closeDispute(bytes32 batchHash) external onlyDisputeGame {
        uint256 open = openDisputes[batchHash];
        if (open == 0) revert NoOpenDispute(batchHash);
        openDisputes[batchHash] = open - 1;
        emit DisputeClosed(batchHash, open - 1);
    }

    /// @notice The sequencer lost a game on this batch: it and every later batch are
    /// removed, and the sequencer's whole bond is slashed, `SLASH_REWARD_PERCENT` to
    /// `challenger` (withdrawable with `withdrawCredit`) and the rest burnt.
    function revertBatch(BatchData.Header calldata header, address challenger) external onlyDisputeGame {
        bytes32 batchHash = _requireUnfinalized(header);
        if (challenger == address(0)) revert ZeroAddress();
        Head memory h = head;
        emit BatchesReverted(header.index, h.batchCount, batchHash);
        head = Head({
            batchCount: header.index,
            finalizedCount: h.finalizedCount,
            nextBlock: header.firstBlock,
            depositsConsumed: header.depositsStart
        });
        tip = header.parentRoot;

        uint256 slashed = bonds[sequencer];
        bonds[sequencer] = 0;
        uint256 reward = slashed * SLASH_REWARD_PERCENT / 100;
        credits[challenger] += reward;
        burnt += slashed - reward;
        emit BondSlashed(sequencer, challenger, reward, slashed - reward);
    }

    /// @notice Pays out the caller's slashing rewards.
    function withdrawCredit() external {
        uint256 amount = credits[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        credits[msg.sender] = 0;
        emit CreditWithdrawn(msg.sender, amount);
        _pay(msg.sender, amount);
    }

    // ---------------------------------------------------------------- views

    /// @notice Whether `header` is the batch currently posted at its index.
    function isCurrent(BatchData.Header calldata header) public view returns (bool) {
        return header.index < head.batchCount && batchHashes[header.index] == BatchData.hash(header);
    }

    /// @notice Whether the batch at `index` is final.
    function isFinalized(uint64 index) external view returns (bool) {
        return index < head.finalizedCount;
    }

    /// @notice `keccak` of the header's canonical bytes (`verdict_specs::batch`).
    function headerHash(BatchData.Header calldata header) external pure returns (bytes32) {
        return BatchData.hash(header);
    }

    /// @notice What `postBatch` would read from `data` now: the block range, output root
    /// and deposits consumed of a batch continuing the posted chain (reverts with the
    /// frame rule `data` breaks, exactly as `postBatch` would).
    function previewBatch(bytes calldata data) external view returns (BatchData.Derived memory) {
        Head memory h = head;
        return BatchData.readFrame(
            data, BatchData.Tip({nextBlock: h.nextBlock, parentRoot: tip, depositsConsumed: h.depositsConsumed})
        );
    }

    /// @notice The batch data hash of `data` (`verdict_specs::batch::data_hash`).
    function dataHash(bytes calldata data) external pure returns (bytes32) {
        return BatchData.dataHash(data);
    }

    // ---------------------------------------------------------------- internals

    modifier onlyDisputeGame() {
        if (msg.sender != disputeGame || msg.sender == address(0)) revert NotDisputeGame(msg.sender);
        _;
    }

    function _requireCurrent(BatchData.Header calldata header) private view returns (bytes32 batchHash) {
        batchHash = BatchData.hash(header);
        if (header.index >= head.batchCount || batchHashes[header.index] != batchHash) {
            revert UnknownBatch(header.index, batchHash);
        }
    }

    function _requireUnfinalized(BatchData.Header calldata header) private view returns (bytes32 batchHash) {
        batchHash = _requireCurrent(header);
        if (header.index < head.finalizedCount) revert AlreadyFinalized(header.index);
    }

    /// The oldest deposit left in the queue (`depositsEnd`, if any) must not be due yet.
    function _checkNotOverdue(uint64 depositsEnd) private view {
        if (depositsEnd >= bridge.depositCount()) return;
        uint64 queuedAt = bridge.depositBlock(depositsEnd);
        uint256 deadline = uint256(queuedAt) + inclusionDeadline;
        if (block.number >= deadline) {
            // casting to 'uint64' is safe because deadline <= block.number, far below 2^64
            // forge-lint: disable-next-line(unsafe-typecast)
            revert DepositOverdue(depositsEnd, queuedAt, uint64(deadline));
        }
    }

    function _windowEnd(BatchData.Header calldata header) private view returns (uint256) {
        return uint256(header.l1Block) + disputeWindow;
    }

    function _pay(address to, uint256 amount) private {
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed(to, amount);
    }
}
