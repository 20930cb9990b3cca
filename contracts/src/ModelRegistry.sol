// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title ModelRegistry
/// @notice The models Verdict serves. A model is pinned by its id, which commits to its
/// integer graph and its weights exactly as `verdict-specs` computes it:
/// `modelId = keccak256(graphHash ‖ weightsRoot)` (specs/model-format.md). The registry
/// stores what a dispute needs about a model (its op count, the root its weights are
/// opened against, its input shape) and what users pay (the fee per inference). Names are
/// unique so clients can ask for `digits-cnn` rather than a hash. The op count and input
/// shape are read from the graph itself at registration (`register` takes the graph's
/// bytes), so no registration can disagree with its model file.
contract ModelRegistry {
    /// @notice Everything registered about one model.
    struct Model {
        bytes32 graphHash;
        bytes32 weightsRoot;
        /// Nodes in the graph: the length of an inference trace.
        uint32 opCount;
        /// Wei charged per inference.
        uint256 feePerInference;
        /// May change the fee and hand the model over.
        address owner;
        /// The model's input shape, one entry per axis.
        uint32[] inputShape;
        string name;
    }

    /// Longest name accepted, in bytes.
    uint256 public constant MAX_NAME_BYTES = 64;
    /// Most input axes a graph may declare (specs/tensor.md).
    uint256 public constant MAX_GRAPH_RANK = 6;
    /// The graph encoding version this registry reads.
    uint16 public constant GRAPH_VERSION = 1;
    /// Version 1 plus per-feature input quantization after the nodes (same prefix).
    uint16 public constant GRAPH_VERSION_FEATURES = 2;
    /// Version 2 plus the input's dtype (an `i32` input) after the nodes (same prefix).
    uint16 public constant GRAPH_VERSION_INPUT_DTYPE = 3;

    /// A fee in force from an L1 block on (until the next change).
    struct FeeChange {
        uint64 fromBlock;
        uint256 fee;
    }

    mapping(bytes32 modelId => Model) private models;
    /// Each model's fees, oldest first: the registration's, then one per block with a
    /// `setFee` (the last call in a block wins). L2 blocks pay `feeAt(model, l1_origin)`.
    mapping(bytes32 modelId => FeeChange[]) private feeHistory;
    mapping(bytes32 nameHash => bytes32 modelId) private idsByName;
    /// Every registered id, in registration order.
    bytes32[] public modelIds;

    event ModelRegistered(
        bytes32 indexed modelId,
        address indexed owner,
        string name,
        bytes32 graphHash,
        bytes32 weightsRoot,
        uint32 opCount,
        uint32[] inputShape,
        uint256 feePerInference
    );
    event FeeChanged(bytes32 indexed modelId, uint256 feePerInference);
    event OwnerChanged(bytes32 indexed modelId, address indexed previousOwner, address indexed newOwner);

    error ModelExists(bytes32 modelId);
    error NameTaken(string name);
    error InvalidName(string name);
    error InvalidShape();
    error InvalidGraph();
    error ZeroOpCount();
    error UnknownModel(bytes32 modelId);
    error NotModelOwner(bytes32 modelId, address caller);
    error ZeroOwner();

    /// @notice Registers the model whose canonical graph encoding is `graph` and whose
    /// weights root is `weights`; the caller owns it (sets its fee, may hand it over).
    /// Returns its id, `keccak(keccak(graph) ‖ weights)`. Everything a dispute relies on is
    /// read from `graph` here, never stated: its hash, its op count (the length of every
    /// inference trace) and its input shape (specs/model-format.md). So a registration
    /// always agrees with the model file its id names, and registering a published model
    /// first gains nothing but its fee: a squatter cannot make its records undefendable.
    /// @param name 1 to 64 bytes of `[a-z0-9._-]`, unique (first come, first served).
    function register(bytes calldata graph, bytes32 weights, uint256 fee, string calldata name)
        external
        returns (bytes32 modelId)
    {
        (uint32 ops, uint32[] memory inputShape) = readGraph(graph);
        return _register(keccak256(graph), weights, ops, inputShape, fee, name);
    }

    function _register(
        bytes32 graphHash,
        bytes32 weights,
        uint32 ops,
        uint32[] memory inputShape,
        uint256 fee,
        string calldata name
    ) private returns (bytes32 modelId) {
        modelId = computeModelId(graphHash, weights);
        if (models[modelId].owner != address(0)) revert ModelExists(modelId);
        if (!validName(name)) revert InvalidName(name);
        bytes32 nameHash = keccak256(bytes(name));
        if (idsByName[nameHash] != bytes32(0)) revert NameTaken(name);

        Model storage m = models[modelId];
        m.graphHash = graphHash;
        m.weightsRoot = weights;
        m.opCount = ops;
        m.feePerInference = fee;
        m.owner = msg.sender;
        m.inputShape = inputShape;
        m.name = name;
        idsByName[nameHash] = modelId;
        modelIds.push(modelId);
        feeHistory[modelId].push(FeeChange({fromBlock: uint64(block.number), fee: fee}));
        emit ModelRegistered(modelId, msg.sender, name, graphHash, weights, ops, inputShape, fee);
    }

    /// @notice The op count and input shape a canonical graph encoding declares:
    /// `u16 version (1 to 3) ‖ u8 rank (1..6) ‖ u32 dim × rank ‖ f32 input_scale ‖
    /// f32 output_scale ‖ u32 node_count ‖ nodes…`. Reverts `InvalidGraph` when the prefix
    /// is malformed, `InvalidShape` for a zero dimension, `ZeroOpCount` for no nodes. The
    /// nodes themselves are not read: a graph that does not validate cannot be loaded by
    /// any node, so its records are never served.
    function readGraph(bytes calldata graph) public pure returns (uint32 ops, uint32[] memory inputShape) {
        if (graph.length < 3) revert InvalidGraph();
        uint16 version = uint16(bytes2(graph[0:2]));
        if (version < GRAPH_VERSION || version > GRAPH_VERSION_INPUT_DTYPE) revert InvalidGraph();
        uint256 rank = uint8(graph[2]);
        if (rank == 0 || rank > MAX_GRAPH_RANK) revert InvalidShape();
        uint256 countAt = 3 + 4 * rank + 8;
        if (graph.length < countAt + 4) revert InvalidGraph();
        inputShape = new uint32[](rank);
        for (uint256 i = 0; i < rank; i++) {
            uint32 d = uint32(bytes4(graph[3 + 4 * i:7 + 4 * i]));
            if (d == 0) revert InvalidShape();
            inputShape[i] = d;
        }
        ops = uint32(bytes4(graph[countAt:countAt + 4]));
        if (ops == 0) revert ZeroOpCount();
    }

    /// @notice Sets the fee per inference (owner only), in force from this L1 block on:
    /// L2 blocks whose `l1_origin` is this block or later pay it.
    function setFee(bytes32 modelId, uint256 fee) external {
        _onlyOwner(modelId);
        models[modelId].feePerInference = fee;
        FeeChange[] storage history = feeHistory[modelId];
        uint64 now_ = uint64(block.number);
        FeeChange storage last = history[history.length - 1];
        if (last.fromBlock == now_) last.fee = fee;
        else history.push(FeeChange({fromBlock: now_, fee: fee}));
        emit FeeChanged(modelId, fee);
    }

    /// @notice Hands a model to a new owner (owner only).
    function transferOwnership(bytes32 modelId, address newOwner) external {
        _onlyOwner(modelId);
        if (newOwner == address(0)) revert ZeroOwner();
        emit OwnerChanged(modelId, models[modelId].owner, newOwner);
        models[modelId].owner = newOwner;
    }

    /// @notice The registered model, or a revert with `UnknownModel`.
    function getModel(bytes32 modelId) external view returns (Model memory) {
        Model storage m = models[modelId];
        if (m.owner == address(0)) revert UnknownModel(modelId);
        return m;
    }

    /// @notice The id registered under `name`, or zero.
    function modelIdOf(string calldata name) external view returns (bytes32) {
        return idsByName[keccak256(bytes(name))];
    }

    function isRegistered(bytes32 modelId) external view returns (bool) {
        return models[modelId].owner != address(0);
    }

    function opCount(bytes32 modelId) external view returns (uint32) {
        return models[modelId].opCount;
    }

    function weightsRoot(bytes32 modelId) external view returns (bytes32) {
        return models[modelId].weightsRoot;
    }

    function feePerInference(bytes32 modelId) external view returns (uint256) {
        return models[modelId].feePerInference;
    }

    /// @notice The fee in force at L1 block `l1Block` (specs/state.md §3): `registered`
    /// is false when the model did not exist yet at that block (or never).
    function feeAt(bytes32 modelId, uint64 l1Block) external view returns (bool registered, uint256 fee) {
        FeeChange[] storage history = feeHistory[modelId];
        uint256 n = history.length;
        if (n == 0 || history[0].fromBlock > l1Block) return (false, 0);
        // The last change at or before l1Block: history[lo].fromBlock <= l1Block always.
        uint256 lo = 0;
        uint256 hi = n;
        while (hi - lo > 1) {
            uint256 mid = (lo + hi) / 2;
            if (history[mid].fromBlock <= l1Block) lo = mid;
            else hi = mid;
        }
        return (true, history[lo].fee);
    }

    /// @notice Every fee change of a model, oldest first (the registration's first).
    function feeChanges(bytes32 modelId) external view returns (FeeChange[] memory) {
        return feeHistory[modelId];
    }

    function modelCount() external view returns (uint256) {
        return modelIds.length;
    }

    /// @notice `keccak256(graphHash ‖ weightsRoot)`, as `verdict-specs` defines a model id.
    function computeModelId(bytes32 graphHash, bytes32 weightsRoot_) public pure returns (bytes32) {
        return keccak256(abi.encodePacked(graphHash, weightsRoot_));
    }

    /// @notice Whether `name` is 1 to 64 bytes of lowercase letters, digits, `.`, `_`, `-`.
    function validName(string calldata name) public pure returns (bool) {
        bytes calldata b = bytes(name);
        if (b.length == 0 || b.length > MAX_NAME_BYTES) return false;
        for (uint256 i = 0; i < b.length; i++) {
            bytes1 c = b[i];
            bool ok = (c >= "a" && c <= "z") || (c >= "0" && c <= "9") || c == "." || c == "_" || c == "-";
            if (!ok) return false;
        }
        return true;
    }

    function _onlyOwner(bytes32 modelId) private view {
        address owner = models[modelId].owner;
        if (owner == address(0)) revert UnknownModel(modelId);
        if (owner != msg.sender) revert NotModelOwner(modelId, msg.sender);
    }
}
