// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {BatchData} from "./BatchData.sol";
import {BatchDataVerifier} from "./BatchDataVerifier.sol";
import {L2Block} from "./L2Block.sol";
import {Merkle} from "./Merkle.sol";
import {ModelRegistry} from "./ModelRegistry.sol";
import {OneStepVerifier} from "./OneStepVerifier.sol";
import {Rollup} from "./Rollup.sol";
import {StateStepVerifier} from "./StateStepVerifier.sol";

/// @title DisputeGame
/// @notice Bisection games of two kinds. Inference games (specs/game.md §4): a bonded
/// challenger disputes one record of a posted batch, the sequencer defends it, and the
/// `OneStepVerifier` settles the single op they end up disagreeing on. State games
/// (specs/state.md §6): the challenger disputes one block's state transition, and the
/// `StateStepVerifier` settles the single transaction they end up disagreeing on. Data
/// faults (specs/batch.md): anyone shows, with the batch data alone, that a block's body
/// does not back its header (`BatchDataVerifier`), and the batch is reverted at once.
/// @dev Many games may run at once; each holds its batch header, so resolving a game needs
/// nothing re-supplied. Bonds and rewards are paid out by `withdraw` (pull payments).
contract DisputeGame {
    /// Order fixed by game.md; the Rust side decodes it by position.
    enum Status {
        None,
        AwaitingFinal,
        AwaitingChoice,
        AwaitingMidpoint,
        AwaitingReveal,
        AwaitingElement,
        AwaitingProof,
        ChallengerWon,
        DefenderWon,
        Abandoned
    }

    /// What a game disputes: one record's inference trace, or one block's state trace.
    enum Kind {
        Inference,
        State
    }

    /// How a record is shown to be in a batch (specs/l2.md): its path to the block's
    /// records root, the block header (169 bytes) and every later header of the batch.
    struct RecordInclusion {
        bytes32[] recordProof;
        uint256 index;
        bytes blockHeader;
        bytes[] laterHeaders;
    }

    /// A batch header packed into six words.
    struct PackedHeader {
        uint64 index;
        uint64 firstBlock;
        uint64 lastBlock;
        uint64 depositsStart;
        uint64 depositsEnd;
        uint64 l1Block;
        bytes32 parentRoot;
        bytes32 outputRoot;
        bytes32 dataHash;
        bytes32 depositAccumulator;
    }

    /// One game as stored; `getGame` returns it with the derived fields.
    struct Game {
        Status status;
        Kind kind;
        address challenger;
        uint32 opCount;
        uint8 depth;
        uint64 lo;
        uint64 hi;
        uint64 element;
        uint64 elementCount;
        uint64 challengerClock;
        uint64 defenderClock;
        uint64 lastMove;
        /// The disputed L2 block (state games).
        uint64 blockNumber;
        bytes32 stateLo;
        bytes32 stateHi;
        bytes32 midState;
        bytes32 outputCommitment;
        bytes32 recordHash;
        bytes32 modelId;
        /// The record's output commitment, which leaf `n` of the final state must hold.
        bytes32 recordOutput;
        bytes32 batchHash;
        PackedHeader header;
    }

    /// Everything an indexer or a party needs about one game.
    struct GameView {
        Status status;
        address challenger;
        uint256 opCount;
        uint256 depth;
        uint256 lo;
        uint256 hi;
        uint256 mid;
        bytes32 stateLo;
        bytes32 stateHi;
        bytes32 midState;
        uint256 element;
        uint256 elementCount;
        bytes32 outputCommitment;
        uint256 challengerClock;
        uint256 defenderClock;
        uint256 lastMove;
        uint64 batchIndex;
        bytes32 batchHash;
        bytes32 recordHash;
        bytes32 modelId;
        bytes32 recordOutput;
        /// Appended after the inference-game fields; `opCount` of a state game is its `n`.
        Kind kind;
        uint64 blockNumber;
    }

    uint256 internal constant RECORD_BYTES = 165;
    uint8 internal constant RECORD_DOMAIN = 0x06;

    Rollup public immutable rollup;
    ModelRegistry public immutable registry;
    OneStepVerifier public immutable verifier;
    StateStepVerifier public immutable stateVerifier;
    BatchDataVerifier public immutable dataVerifier;
    /// Wei a challenger locks to open a game.
    uint256 public immutable challengerBond;
    /// Each party's chess clock, in L1 blocks, for a whole game.
    uint64 public immutable clockBlocks;

    uint256 public gameCount;
    mapping(uint256 gameId => Game) internal games;
    /// What the steps of each state game are checked against.
    mapping(uint256 gameId => StateStepVerifier.StepContext) internal stateContexts;
    /// Bonds won or returned, waiting for `withdraw`.
    mapping(address account => uint256) public credits;

    event GameOpened(
        uint256 indexed gameId,
        uint64 indexed batchIndex,
        bytes32 indexed batchHash,
        bytes32 recordHash,
        uint256 recordIndex,
        address challenger,
        bytes32 modelId,
        uint256 opCount
    );
    event StateGameOpened(
        uint256 indexed gameId,
        uint64 indexed batchIndex,
        bytes32 indexed batchHash,
        uint64 blockNumber,
        address challenger,
        uint256 steps
    );
    event FinalStatePosted(uint256 indexed gameId, bytes32 finalState);
    event MidpointPosted(uint256 indexed gameId, uint256 lo, uint256 hi, uint256 mid, bytes32 state);
    event Chosen(uint256 indexed gameId, bool agree, uint256 lo, uint256 hi);
    /// The defender's claimed value `hi` (the output of node `step = lo`) in full.
    event Revealed(uint256 indexed gameId, uint256 step, uint8 dtype, uint32[] shape, bytes32 dataRoot, bytes data);
    event ElementNamed(uint256 indexed gameId, uint256 element);
    event GameResolved(uint256 indexed gameId, Status status, address winner);
    /// Block `blockIndex` of the batch does not back its header: the batch was reverted.
    event DataFaultProven(
        uint64 indexed batchIndex,
        bytes32 indexed batchHash,
        uint256 blockIndex,
        BatchDataVerifier.Fault fault,
        address indexed challenger
    );
    event Withdrawn(address indexed account, uint256 amount);

    error WrongBond(uint256 sent, uint256 required);
    error BadRecord();
    error RecordNotInBlock(uint256 index);
    /// A block without transactions whose state root equals its parent's.
    error NothingToDispute();
    error WrongKind(uint256 gameId, Kind kind);
    error NoSuchGame(uint256 gameId);
    error WrongStatus(uint256 gameId, Status status);
    error NotDefender(address caller);
    error NotChallenger(address caller);
    error ClockExpired(uint256 gameId, uint256 elapsed, uint256 remaining);
    error ClockRunning(uint256 gameId, uint256 elapsed, uint256 remaining);
    error WrongProofLength(uint256 given, uint256 expected);
    error FinalStateMismatch();
    error BadHeader();
    error DataLength(uint256 given, uint256 expected);
    error DataRootMismatch(bytes32 header, bytes32 computed);
    error RevealMismatch();
    error ElementOutOfRange(uint256 element, uint256 count);
    error BatchStillCurrent(uint256 gameId);
    error ZeroParameter(string name);
    error NothingToWithdraw();
    error TransferFailed(address to, uint256 amount);

    constructor(
        Rollup rollup_,
        ModelRegistry registry_,
        OneStepVerifier verifier_,
        StateStepVerifier stateVerifier_,
        BatchDataVerifier dataVerifier_,
        uint256 challengerBond_,
        uint64 clockBlocks_
    ) {
        // A zero bond makes lying free; a zero clock lets the first mover win by timeout.
        if (challengerBond_ == 0) revert ZeroParameter("challengerBond");
        if (clockBlocks_ == 0) revert ZeroParameter("clockBlocks");
        rollup = rollup_;
        registry = registry_;
        verifier = verifier_;
        stateVerifier = stateVerifier_;
        dataVerifier = dataVerifier_;
        challengerBond = challengerBond_;
        clockBlocks = clockBlocks_;
    }

    // ---------------------------------------------------------------- moves

    /// @notice Opens a game against `record`, shown by `inclusion` to be in the batch
    /// `header`, with the bond `challengerBond`, inside the batch's dispute window.
    function open(BatchData.Header calldata header, bytes calldata record, RecordInclusion calldata inclusion)
        external
        payable
        returns (uint256 gameId)
    {
        if (msg.value != challengerBond) revert WrongBond(msg.value, challengerBond);
        if (record.length != RECORD_BYTES || uint8(record[0]) != RECORD_DOMAIN) revert BadRecord();
        bytes32 recordHash = keccak256(record);
        _checkInclusion(header, recordHash, inclusion);

        bytes32 modelId = bytes32(record[53:85]);
        ModelRegistry.Model memory model = registry.getModel(modelId);
        uint32 n = model.opCount;
        uint256 depth = _depth(uint256(n) + 1);
        // Reverts unless the batch is current, not final and inside its window.
        bytes32 batchHash = rollup.openDispute(header);

        gameId = ++gameCount;
        Game storage g = games[gameId];
        g.status = Status.AwaitingFinal;
        g.challenger = msg.sender;
        g.opCount = n;
        // casting to 'uint8' is safe because depth(n + 1) <= 33 for a u32 op count
        // forge-lint: disable-next-line(unsafe-typecast)
        g.depth = uint8(depth);
        g.hi = n;
        g.challengerClock = clockBlocks;
        g.defenderClock = clockBlocks;
        g.lastMove = uint64(block.number);
        g.stateLo = _initialState(bytes32(record[85:117]), depth);
        g.recordHash = recordHash;
        g.modelId = modelId;
        g.recordOutput = bytes32(record[117:149]);
        g.batchHash = batchHash;
        _storeHeader(g, header);
        emit GameOpened(gameId, header.index, batchHash, recordHash, inclusion.index, msg.sender, modelId, n);
    }

    /// @notice Opens a state game against block `headers[1]` of `batch` (specs/state.md
    /// §6) with the bond `challengerBond`, inside the batch's dispute window: `headers[0]`
    /// is its parent and `headers[1..]` chain to the batch's output root; `previousBatch`
    /// is only read when the block is the batch's first (and not block 1). A block without
    /// transactions, or whose header breaks a rule by itself, is decided at once.
    function openState(
        BatchData.Header calldata batch,
        BatchData.Header calldata previousBatch,
        bytes[] calldata headers
    ) external payable returns (uint256 gameId) {
        if (msg.value != challengerBond) {
            revert WrongBond(msg.value, challengerBond);
        }
        StateStepVerifier.StateClaim memory c = stateVerifier.readClaim(batch, previousBatch, headers);
        bool decided = c.headerInvalid || c.steps == 0;
        if (decided && !c.headerInvalid && c.startState == c.endState) revert NothingToDispute();
        // Reverts unless the batch is current, not final and inside its window.
        bytes32 batchHash = rollup.openDispute(batch);

        gameId = ++gameCount;
        Game storage g = games[gameId];
        g.status = c.steps == 1 ? Status.AwaitingProof : Status.AwaitingMidpoint;
        g.kind = Kind.State;
        g.challenger = msg.sender;
        g.hi = c.steps;
        g.challengerClock = clockBlocks;
        g.defenderClock = clockBlocks;
        g.lastMove = uint64(block.number);
        g.blockNumber = c.blockNumber;
        g.stateLo = c.startState;
        g.stateHi = c.endState;
        g.batchHash = batchHash;
        _storeHeader(g, batch);
        stateContexts[gameId] = c.context;
        emit StateGameOpened(gameId, batch.index, batchHash, c.blockNumber, msg.sender, c.steps);
        if (decided) _resolve(gameId, g, Status.ChallengerWon);
    }

    /// @notice Reverts the batch `header` because block `blockIndex` of its data (`data`,
    /// which must hash to the header's data hash) is not backed by its body: the body does
    /// not decode as the header's records and withdrawals, or their roots differ from the
    /// header's (specs/batch.md, "Data faults"; `BatchDataVerifier.prove` checks it all).
    /// Anyone may call it inside the batch's dispute window; no bond is needed, since a
    /// proof that fails reverts. The sequencer's bond is slashed and the caller credited
    /// the reward, as for a lost game.
    function proveDataFault(BatchData.Header calldata header, bytes calldata data, uint256 blockIndex)
        external
        returns (BatchDataVerifier.Fault fault)
    {
        fault = dataVerifier.prove(header, data, blockIndex);
        emit DataFaultProven(header.index, BatchData.hash(header), blockIndex, fault, msg.sender);
        rollup.revertBatch(header, msg.sender);
    }

    /// @notice The defender's proof of state step `k = lo` of a state game at
    /// `hi = lo + 1`. A malformed proof reverts (the defender may retry while its clock
    /// runs); a well-formed one decides the game.
    function proveState(uint256 gameId, StateStepVerifier.StateStepProof calldata proof) external {
        Game storage g = _defenderMove(gameId, Status.AwaitingProof);
        if (g.kind != Kind.State) revert WrongKind(gameId, g.kind);
        bool holds = stateVerifier.verify(stateContexts[gameId], g.lo, g.stateLo, g.stateHi, proof);
        _resolve(gameId, g, holds ? Status.DefenderWon : Status.ChallengerWon);
    }

    /// @notice The defender's final state `S_n` (with the proof that leaf `n` holds the
    /// record's output) and its first midpoint `S_mid` (ignored when `n = 1`).
    function start(uint256 gameId, bytes32 finalState, bytes32[] calldata finalProof, bytes32 midState) external {
        Game storage g = _defenderMove(gameId, Status.AwaitingFinal);
        if (finalProof.length != g.depth) revert WrongProofLength(finalProof.length, g.depth);
        if (Merkle.rootFrom(_leaf(g.recordOutput), g.hi, finalProof) != finalState) revert FinalStateMismatch();
        g.stateHi = finalState;
        emit FinalStatePosted(gameId, finalState);
        if (g.hi - g.lo == 1) {
            g.status = Status.AwaitingReveal;
        } else {
            _postMid(gameId, g, midState);
        }
    }

    /// @notice The challenger agrees (`lo` moves up) or disagrees (`hi` moves down) with
    /// the defender's state at the midpoint.
    function choose(uint256 gameId, bool agree) external {
        Game storage g = _challengerMove(gameId, Status.AwaitingChoice);
        uint64 mid = _mid(g);
        if (agree) {
            g.lo = mid;
            g.stateLo = g.midState;
        } else {
            g.hi = mid;
            g.stateHi = g.midState;
        }
        g.midState = bytes32(0);
        Status atOne = g.kind == Kind.State ? Status.AwaitingProof : Status.AwaitingReveal;
        g.status = g.hi - g.lo == 1 ? atOne : Status.AwaitingMidpoint;
        emit Chosen(gameId, agree, g.lo, g.hi);
    }

    /// @notice The defender's state at the new midpoint.
    function bisect(uint256 gameId, bytes32 midState) external {
        Game storage g = _defenderMove(gameId, Status.AwaitingMidpoint);
        _postMid(gameId, g, midState);
    }

    /// @notice The defender's claimed value `hi` in full: `data` is its element bytes;
    /// `siblings` lead from leaf `hi` = 0 to `S_lo` and from leaf `hi` = its commitment
    /// to `S_hi`, so the two states differ in that leaf only.
    function reveal(
        uint256 gameId,
        OneStepVerifier.TensorHeader calldata header,
        bytes calldata data,
        bytes32[] calldata siblings
    ) external {
        Game storage g = _defenderMove(gameId, Status.AwaitingReveal);
        if (header.dtype > 1) revert BadHeader();
        uint256 count = _count(header.shape);
        uint256 size = header.dtype == 0 ? 1 : 4;
        if (data.length != count * size) revert DataLength(data.length, count * size);
        bytes32 root = _dataRoot(data);
        if (root != header.dataRoot) revert DataRootMismatch(header.dataRoot, root);
        if (siblings.length != g.depth) revert WrongProofLength(siblings.length, g.depth);
        bytes32 c = verifier.commitment(header);
        if (
            Merkle.rootFrom(bytes32(0), g.hi, siblings) != g.stateLo
                || Merkle.rootFrom(_leaf(c), g.hi, siblings) != g.stateHi
        ) revert RevealMismatch();
        g.outputCommitment = c;
        // casting to 'uint64' is safe because _count allows at most 2^26 elements
        // forge-lint: disable-next-line(unsafe-typecast)
        g.elementCount = uint64(count);
        g.status = Status.AwaitingElement;
        emit Revealed(gameId, g.lo, header.dtype, header.shape, header.dataRoot, data);
    }

    /// @notice The challenger names the element of the revealed value it disputes.
    function nameElement(uint256 gameId, uint256 element) external {
        Game storage g = _challengerMove(gameId, Status.AwaitingElement);
        if (element >= g.elementCount) revert ElementOutOfRange(element, g.elementCount);
        // casting to 'uint64' is safe because the element is below a uint64 count
        // forge-lint: disable-next-line(unsafe-typecast)
        g.element = uint64(element);
        g.status = Status.AwaitingProof;
        emit ElementNamed(gameId, element);
    }

    /// @notice The defender's one-step proof of the named element at step `lo`. A
    /// malformed proof reverts (the defender may retry while its clock runs); a
    /// well-formed one decides the game.
    function prove(uint256 gameId, OneStepVerifier.OneStepProof calldata proof) external {
        Game storage g = _defenderMove(gameId, Status.AwaitingProof);
        if (g.kind != Kind.Inference) revert WrongKind(gameId, g.kind);
        ModelRegistry.Model memory model = registry.getModel(g.modelId);
        bool holds = verifier.verify(
            model.graphHash,
            model.weightsRoot,
            g.opCount,
            g.lo,
            g.stateLo,
            g.depth,
            g.outputCommitment,
            g.element,
            proof
        );
        _resolve(gameId, g, holds ? Status.DefenderWon : Status.ChallengerWon);
    }

    /// @notice Ends a game whose mover has let its clock run out: the other party wins.
    function timeout(uint256 gameId) external {
        Game storage g = _game(gameId);
        Status s = g.status;
        if (s == Status.None || s >= Status.ChallengerWon) revert WrongStatus(gameId, s);
        bool challengerMoves = s == Status.AwaitingChoice || s == Status.AwaitingElement;
        uint256 remaining = challengerMoves ? g.challengerClock : g.defenderClock;
        uint256 elapsed = block.number - g.lastMove;
        if (elapsed <= remaining) revert ClockRunning(gameId, elapsed, remaining);
        _resolve(gameId, g, challengerMoves ? Status.DefenderWon : Status.ChallengerWon);
    }

    /// @notice Ends a game whose batch another game has reverted: the bond goes back.
    function abandon(uint256 gameId) external {
        Game storage g = _game(gameId);
        Status s = g.status;
        if (s == Status.None || s >= Status.ChallengerWon) revert WrongStatus(gameId, s);
        if (rollup.isCurrent(_header(g))) revert BatchStillCurrent(gameId);
        g.status = Status.Abandoned;
        credits[g.challenger] += challengerBond;
        emit GameResolved(gameId, Status.Abandoned, g.challenger);
    }

    /// @notice Pays out the caller's credits.
    function withdraw() external {
        uint256 amount = credits[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        credits[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert TransferFailed(msg.sender, amount);
    }

    // ---------------------------------------------------------------- views

    /// @notice One game with its derived fields (`mid`, batch index).
    function getGame(uint256 gameId) external view returns (GameView memory v) {
        Game storage g = games[gameId];
        v.status = g.status;
        v.challenger = g.challenger;
        if (g.kind == Kind.State) {
            StateStepVerifier.StepContext storage c = stateContexts[gameId];
            v.opCount = uint256(c.deposits) + c.records + c.withdrawals;
        } else {
            v.opCount = g.opCount;
        }
        v.depth = g.depth;
        v.lo = g.lo;
        v.hi = g.hi;
        v.mid = g.hi > g.lo ? _mid(g) : g.lo;
        v.stateLo = g.stateLo;
        v.stateHi = g.stateHi;
        v.midState = g.midState;
        v.element = g.element;
        v.elementCount = g.elementCount;
        v.outputCommitment = g.outputCommitment;
        v.challengerClock = g.challengerClock;
        v.defenderClock = g.defenderClock;
        v.lastMove = g.lastMove;
        v.batchIndex = g.header.index;
        v.batchHash = g.batchHash;
        v.recordHash = g.recordHash;
        v.modelId = g.modelId;
        v.recordOutput = g.recordOutput;
        v.kind = g.kind;
        v.blockNumber = g.blockNumber;
    }

    /// @notice What the steps of state game `gameId` are checked against.
    function stateContext(uint256 gameId) external view returns (StateStepVerifier.StepContext memory) {
        return stateContexts[gameId];
    }

    /// @notice The batch header a game disputes.
    function gameHeader(uint256 gameId) external view returns (BatchData.Header memory) {
        return _header(games[gameId]);
    }

    /// @notice `S_0` of a model with `opCount` nodes run on the input `inputRoot`.
    function initialState(bytes32 inputRoot, uint256 opCount) external pure returns (bytes32) {
        return _initialState(inputRoot, _depth(opCount + 1));
    }

    // ---------------------------------------------------------------- internals

    function _game(uint256 gameId) private view returns (Game storage g) {
        g = games[gameId];
        if (g.status == Status.None) revert NoSuchGame(gameId);
    }

    /// Charges the mover's clock for the blocks since the last move.
    function _tick(uint256 gameId, Game storage g, bool challenger) private {
        uint256 elapsed = block.number - g.lastMove;
        uint256 remaining = challenger ? g.challengerClock : g.defenderClock;
        if (elapsed > remaining) revert ClockExpired(gameId, elapsed, remaining);
        // casting to 'uint64' is safe because the result is at most a stored uint64
        // forge-lint: disable-next-line(unsafe-typecast)
        uint64 left = uint64(remaining - elapsed);
        if (challenger) g.challengerClock = left;
        else g.defenderClock = left;
        g.lastMove = uint64(block.number);
    }

    function _defenderMove(uint256 gameId, Status expected) private returns (Game storage g) {
        g = _game(gameId);
        if (g.status != expected) revert WrongStatus(gameId, g.status);
        if (msg.sender != rollup.sequencer()) revert NotDefender(msg.sender);
        _tick(gameId, g, false);
    }

    function _challengerMove(uint256 gameId, Status expected) private returns (Game storage g) {
        g = _game(gameId);
        if (g.status != expected) revert WrongStatus(gameId, g.status);
        if (msg.sender != g.challenger) revert NotChallenger(msg.sender);
        _tick(gameId, g, true);
    }

    function _mid(Game storage g) private view returns (uint64) {
        return g.lo + (g.hi - g.lo) / 2;
    }

    function _postMid(uint256 gameId, Game storage g, bytes32 midState) private {
        g.midState = midState;
        g.status = Status.AwaitingChoice;
        emit MidpointPosted(gameId, g.lo, g.hi, _mid(g), midState);
    }

    /// Settles bonds. A game over a batch that is gone (another game or a data fault
    /// proof reverted it) decides nothing: it ends `Abandoned` and the challenger's bond
    /// goes back, whoever moved last, so a `timeout` cannot hand the bond to the sequencer.
    function _resolve(uint256 gameId, Game storage g, Status outcome) private {
        BatchData.Header memory header = _header(g);
        address winner;
        if (!rollup.isCurrent(header)) {
            outcome = Status.Abandoned;
            winner = g.challenger;
            credits[winner] += challengerBond;
        } else if (outcome == Status.ChallengerWon) {
            winner = g.challenger;
            credits[winner] += challengerBond;
            rollup.revertBatch(header, winner);
        } else {
            winner = rollup.sequencer();
            credits[winner] += challengerBond;
            rollup.closeDispute(g.batchHash);
        }
        g.status = outcome;
        emit GameResolved(gameId, outcome, winner);
    }

    function _storeHeader(Game storage g, BatchData.Header calldata header) private {
        g.header = PackedHeader({
            index: header.index,
            firstBlock: header.firstBlock,
            lastBlock: header.lastBlock,
            depositsStart: header.depositsStart,
            depositsEnd: header.depositsEnd,
            l1Block: header.l1Block,
            parentRoot: header.parentRoot,
            outputRoot: header.outputRoot,
            dataHash: header.dataHash,
            depositAccumulator: header.depositAccumulator
        });
    }

    function _header(Game storage g) private view returns (BatchData.Header memory) {
        PackedHeader storage p = g.header;
        return BatchData.Header({
            index: p.index,
            firstBlock: p.firstBlock,
            lastBlock: p.lastBlock,
            parentRoot: p.parentRoot,
            outputRoot: p.outputRoot,
            dataHash: p.dataHash,
            depositsStart: p.depositsStart,
            depositsEnd: p.depositsEnd,
            depositAccumulator: p.depositAccumulator,
            l1Block: p.l1Block
        });
    }

    /// record → records root → block hash → later headers → the batch's output root.
    function _checkInclusion(BatchData.Header calldata header, bytes32 recordHash, RecordInclusion calldata inc)
        private
        pure
    {
        bytes calldata block_ = inc.blockHeader;
        L2Block.check(block_, 0);
        if (
            inc.index >= L2Block.recordCount(block_)
                || !Merkle.verify(recordHash, inc.index, inc.recordProof, L2Block.recordsRoot(block_))
        ) {
            revert RecordNotInBlock(inc.index);
        }
        L2Block.checkInBatch(header, block_, inc.laterHeaders, 0, 0);
    }

    /// game.md §1: leaf 0 holds the input, every other leaf is zero, all nodes hashed.
    function _initialState(bytes32 inputRoot, uint256 depth) private pure returns (bytes32 h) {
        h = _leaf(inputRoot);
        bytes32 empty;
        for (uint256 l = 0; l < depth; l++) {
            h = Merkle.nodeHash(h, empty);
            empty = Merkle.nodeHash(empty, empty);
        }
    }

    function _leaf(bytes32 value) private pure returns (bytes32) {
        return keccak256(abi.encodePacked(bytes1(0x00), value));
    }

    /// `ceil(log2(leaves))`.
    function _depth(uint256 leaves) private pure returns (uint256 d) {
        while ((uint256(1) << d) < leaves) d++;
    }

    /// Element count of a shape tensor.md allows (rank 1..6, dims >= 1, at most 2^26).
    function _count(uint32[] calldata shape) private pure returns (uint256 count) {
        if (shape.length == 0 || shape.length > 6) revert BadHeader();
        count = 1;
        for (uint256 i = 0; i < shape.length; i++) {
            if (shape[i] == 0) revert BadHeader();
            count *= shape[i];
            if (count > 1 << 26) revert BadHeader();
        }
    }

    /// merkle.md root over the 32-byte chunks of `data` (the last one zero-padded).
    function _dataRoot(bytes calldata data) private pure returns (bytes32) {
        uint256 chunks = (data.length + 31) / 32;
        bytes32[] memory leaves = new bytes32[](chunks);
        assembly ("memory-safe") {
            let scratch := mload(0x40)
            mstore8(scratch, 0x00)
            for { let i := 0 } lt(i, chunks) { i := add(i, 1) } {
                let offset := shl(5, i)
                let word := calldataload(add(data.offset, offset))
                let rest := sub(data.length, offset)
                if lt(rest, 32) { word := and(word, not(shr(shl(3, rest), not(0)))) }
                mstore(add(scratch, 1), word)
                mstore(add(leaves, shl(5, add(i, 1))), keccak256(scratch, 33))
            }
        }
        return Merkle.root(leaves);
    }
}
