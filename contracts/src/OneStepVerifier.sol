// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title OneStepVerifier
/// @notice Recomputes one element of one op of an inference trace from Merkle openings
/// of the agreed pre-state and of the registered weights (specs/game.md §3), with the
/// integer semantics of `verdict_specs::ops` (specs/ops.md).
/// @dev Stateless and pure: the dispute game passes everything in. Every opening is read
/// straight from calldata; a verified contiguous run of chunks lies contiguously there,
/// so the hot loops read 32 int8 values per `calldataload`.
contract OneStepVerifier {
    /// A tensor's type and data root; its commitment is
    /// `keccak(0x02 ‖ dtype ‖ rank ‖ dims (u32 BE) ‖ dataRoot)` (specs/tensor.md).
    struct TensorHeader {
        uint8 dtype;
        uint32[] shape;
        bytes32 dataRoot;
    }

    /// Some 32-byte chunks of a tensor's element bytes with the siblings that lead from
    /// them to its data root, in the order the multiproof consumes them (game.md §2).
    struct ChunkOpening {
        uint256[] indices;
        bytes32[] chunks;
        bytes32[] siblings;
    }

    /// A value of the trace (`proof` has exactly `stateDepth` siblings, to the pre-state)
    /// or a weight (`proof` is a merkle.md proof under the weights root), with chunks.
    struct TensorOpening {
        uint32 id;
        TensorHeader header;
        bytes32[] proof;
        ChunkOpening chunks;
    }

    /// What the defender supplies to show that element `element` of step `step` holds.
    struct OneStepProof {
        bytes graph;
        TensorOpening[] inputs;
        TensorOpening[] weights;
        TensorHeader output;
        ChunkOpening outputChunks;
    }

    uint8 internal constant I8 = 0;
    uint8 internal constant I32 = 1;
    uint256 internal constant MAX_RANK = 6;
    uint256 internal constant MAX_ELEMENTS = 1 << 26;

    uint256 internal constant MATMUL = 1;
    uint256 internal constant CONV2D = 2;
    uint256 internal constant REQUANTIZE = 3;
    uint256 internal constant RELU = 4;
    uint256 internal constant ADD = 5;
    uint256 internal constant MAX_POOL2D = 6;
    uint256 internal constant AVG_POOL2D = 7;
    uint256 internal constant GLOBAL_AVG_POOL = 8;
    uint256 internal constant RESHAPE = 9;
    uint256 internal constant ARGMAX = 10;
    uint256 internal constant LABEL_LOOKUP = 11;
    uint256 internal constant TABLE = 12;
    uint256 internal constant TABLE_LEN = 256;
    uint256 internal constant TREE_ENSEMBLE = 13;
    uint256 internal constant REDUCE_SUM = 14;
    uint256 internal constant SOFTMAX = 15;
    uint256 internal constant MUL = 16;
    uint256 internal constant TRANSPOSE = 17;
    uint256 internal constant CONCAT = 18;
    uint256 internal constant SLICE = 19;
    /// A Softmax output is 127·e_i/S rounded half up (ops/softmax.rs).
    int256 internal constant SOFTMAX_ONE = 127;
    /// Most comparisons of one tree walk (ops::MAX_TREE_DEPTH), and the bytes of a node row.
    uint256 internal constant MAX_TREE_DEPTH = 64;
    uint256 internal constant TREE_ROW_BYTES = 16;
    /// ReduceSum saturates to [-SUM_MAX, SUM_MAX].
    int256 internal constant SUM_MAX = 2147483647;

    /// Below this many int8 pairs a plain loop is cheaper than the word-at-a-time dot.
    uint256 private constant SHORT_DOT = 8;

    error GraphHashMismatch(bytes32 expected, bytes32 actual);
    error GraphVersion(uint256 version);
    error GraphTruncated(uint256 offset);
    error NodeCountMismatch(uint256 graph, uint256 opCount);
    error StepOutOfRange(uint256 step, uint256 opCount);
    error UnknownOpcode(uint256 offset, uint256 opcode);
    /// A Softmax row's exp entries sum to 0 (a valid model's never do).
    error SoftmaxSum(uint256 element);
    error BadBool(uint256 offset);
    error BadGraphShape(uint256 offset);
    error InvalidNode(uint256 step, uint256 rule);
    error OpeningCount(uint256 given, uint256 expected);
    error WrongId(uint256 given, uint256 expected);
    error BadDType(uint256 dtype);
    error BadShape();
    error StateProofLength(uint256 given, uint256 expected);
    error StateProofMismatch(uint256 id);
    error WeightProofMismatch(uint256 id);
    error OutputCommitmentMismatch(bytes32 expected, bytes32 actual);
    error ElementOutOfRange(uint256 element, uint256 count);
    error EmptyOpening();
    error ChunkCountMismatch(uint256 indices, uint256 chunks);
    error ChunkIndexOutOfRange(uint256 index, uint256 depth);
    error ChunkIndicesNotIncreasing(uint256 position);
    error MissingSibling();
    error UnusedSiblings(uint256 used, uint256 given);
    error DataRootMismatch(bytes32 expected, bytes32 actual);
    error MissingChunk(uint256 byteOffset);
    error LabelOutOfRange(int256 index, uint256 labels);
    error TreeWalk();

    /// Reasons an op's operands break validation (`InvalidNode.rule`).
    uint256 internal constant RULE_INPUT_DTYPE = 1;
    uint256 internal constant RULE_WEIGHT_DTYPE = 2;
    uint256 internal constant RULE_SHAPE = 3;
    uint256 internal constant RULE_WINDOW = 4;
    uint256 internal constant RULE_PARAMS = 5;
    uint256 internal constant RULE_SOURCE = 6;

    /// One decoded node; fields an op lacks stay zero.
    struct Node {
        uint256 opcode;
        uint256 inputCount;
        uint256[2] inputs;
        uint256 weightCount;
        uint256[3] weights;
        uint256[2] stride;
        uint256[4] padding;
        uint256[2] kernel;
        uint256 axis;
        /// Graph offset of the first (multiplier, shift) pair and how many pairs.
        uint256 paramsAt;
        uint256 paramsCount;
        int256 aMultiplier;
        int256 bMultiplier;
        uint256 shift;
        bool countIncludePad;
        /// Reshape's shape, Slice's lengths, Transpose's permutation.
        uint32[] shape;
        /// Slice's first coordinates.
        uint32[] start;
        /// Calldata offset of the graph bytes, and the node's index.
        uint256 graphOffset;
        uint256 step;
    }

    /// A verified opening: its type, and where its chunks lie in calldata.
    struct Opened {
        uint256 dtype;
        uint32[] shape;
        uint256 count;
        /// Calldata offsets of the first chunk index and of the first chunk.
        uint256 indices;
        uint256 chunks;
        uint256 n;
    }

    /// The scalar arguments of `verify`, kept in memory to stay clear of the stack limit.
    struct Claim {
        bytes32 graphHash;
        bytes32 weightsRoot;
        uint256 opCount;
        uint256 step;
        bytes32 preState;
        uint256 stateDepth;
        bytes32 outputCommitment;
        uint256 element;
    }

    /// @notice Whether element `element` of node `step`'s output, as committed by
    /// `outputCommitment`, is what the op computes from the pre-state `preState` (a
    /// trace-state root of depth `stateDepth`) and the weights under `weightsRoot`.
    /// @dev Reverts on a malformed proof; returns false when the claimed output type
    /// differs from the expected one or the claimed element from the recomputed one.
    function verify(
        bytes32 graphHash,
        bytes32 weightsRoot,
        uint256 opCount,
        uint256 step,
        bytes32 preState,
        uint256 stateDepth,
        bytes32 outputCommitment,
        uint256 element,
        OneStepProof calldata proof
    ) external pure returns (bool claimHolds) {
        Claim memory c = Claim({
            graphHash: graphHash,
            weightsRoot: weightsRoot,
            opCount: opCount,
            step: step,
            preState: preState,
            stateDepth: stateDepth,
            outputCommitment: outputCommitment,
            element: element
        });
        return _verify(c, proof);
    }

    /// @notice The commitment of a tensor header (specs/tensor.md).
    function commitment(TensorHeader calldata header) external pure returns (bytes32) {
        return _commitment(header.dtype, header.shape, header.dataRoot);
    }

    function _verify(Claim memory c, OneStepProof calldata proof) private pure returns (bool) {
        if (c.step >= c.opCount) revert StepOutOfRange(c.step, c.opCount);
        Node memory node = _decodeNode(proof.graph, c);
        Opened[] memory ins = _openInputs(proof.inputs, node, c);
        Opened[] memory ws = _openWeights(proof.weights, node, c.weightsRoot);
        Opened memory out = _openOutput(proof.output, proof.outputChunks, c);
        (uint256 dtype, uint32[] memory shape) = _expectedType(node, ins, ws, c.step);
        if (dtype != out.dtype || !_sameShape(shape, out.shape)) return false;
        return _element(node, ins, ws, out, c.element) == _readElement(out, c.element);
    }

    // ---------------------------------------------------------------- graph

    function _decodeNode(bytes calldata g, Claim memory c) private pure returns (Node memory node) {
        bytes32 actual;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, g.offset, g.length)
            actual := keccak256(ptr, g.length)
        }
        if (actual != c.graphHash) revert GraphHashMismatch(c.graphHash, actual);
        uint256 version = _u(g, 0, 2);
        // Versions 2 and 3 are version 1 plus the per-feature input quantization and the
        // input dtype after the nodes: what the input is, which the openings' headers carry
        // anyway, so the nodes are found the same way.
        if (version == 0 || version > 3) revert GraphVersion(version);
        uint256 rank = _u(g, 2, 1);
        if (rank == 0 || rank > MAX_RANK) revert BadGraphShape(2);
        // Skip the input dims and the two f32 scales.
        uint256 pos = 3 + 4 * rank + 8;
        uint256 count = _u(g, pos, 4);
        if (count != c.opCount) revert NodeCountMismatch(count, c.opCount);
        pos += 4;
        for (uint256 i = 0; i < c.step; i++) {
            pos = _skipNode(g, pos);
        }
        node = _readNode(g, pos);
        node.step = c.step;
        uint256 graphOffset;
        assembly ("memory-safe") {
            graphOffset := g.offset
        }
        node.graphOffset = graphOffset;
        // LabelLookup may only read an ArgMax output (validate.rs); that node is earlier.
        if (node.opcode == LABEL_LOOKUP) {
            uint256 source = node.inputs[0];
            if (source == 0 || _u(g, _nodeOffset(g, rank, source - 1), 1) != ARGMAX) {
                revert InvalidNode(c.step, RULE_SOURCE);
            }
        }
    }

    function _nodeOffset(bytes calldata g, uint256 rank, uint256 index) private pure returns (uint256 pos) {
        pos = 3 + 4 * rank + 12;
        for (uint256 i = 0; i < index; i++) {
            pos = _skipNode(g, pos);
        }
    }

    /// Big-endian unsigned integer of `size` bytes at `at`.
    function _u(bytes calldata g, uint256 pos, uint256 size) private pure returns (uint256 v) {
        if (pos + size > g.length) revert GraphTruncated(pos);
        assembly ("memory-safe") {
            v := shr(sub(256, shl(3, size)), calldataload(add(g.offset, pos)))
        }
    }

    function _i32(uint256 v) private pure returns (int256 r) {
        assembly ("memory-safe") {
            r := signextend(3, v)
        }
    }

    function _bias(bytes calldata g, uint256 pos) private pure returns (bool) {
        uint256 flag = _u(g, pos, 1);
        if (flag > 1) revert BadBool(pos);
        return flag == 1;
    }

    function _skipNode(bytes calldata g, uint256 pos) private pure returns (uint256) {
        uint256 code = _u(g, pos, 1);
        if (code == MATMUL) return pos + 10 + (_bias(g, pos + 9) ? 4 : 0);
        if (code == CONV2D) return pos + 34 + (_bias(g, pos + 9) ? 4 : 0);
        if (code == REQUANTIZE) return pos + 10 + 5 * _u(g, pos + 6, 4);
        if (code == RELU || code == GLOBAL_AVG_POOL || code == ARGMAX) return pos + 5;
        if (code == ADD) return pos + 18;
        if (code == MAX_POOL2D) return pos + 37;
        if (code == AVG_POOL2D) return pos + 38;
        if (code == RESHAPE) return pos + 6 + 4 * _u(g, pos + 5, 1);
        if (code == LABEL_LOOKUP || code == TABLE) return pos + 9;
        if (code == TREE_ENSEMBLE) return pos + 17;
        if (code == REDUCE_SUM) return pos + 6;
        if (code == SOFTMAX) return pos + 9;
        if (code == MUL) return pos + 14;
        if (code == TRANSPOSE) return pos + 6 + _u(g, pos + 5, 1);
        if (code == CONCAT) return pos + 10;
        if (code == SLICE) return pos + 6 + 8 * _u(g, pos + 5, 1);
        revert UnknownOpcode(pos, code);
    }

    function _readNode(bytes calldata g, uint256 pos) private pure returns (Node memory n) {
        uint256 code = _u(g, pos, 1);
        n.opcode = code;
        n.inputCount = 1;
        n.inputs[0] = _u(g, pos + 1, 4);
        if (code == MATMUL || code == CONV2D) {
            n.weights[0] = _u(g, pos + 5, 4);
            n.weightCount = 1;
            uint256 next = pos + 10;
            if (_bias(g, pos + 9)) {
                n.weights[1] = _u(g, pos + 10, 4);
                n.weightCount = 2;
                next += 4;
            }
            if (code == CONV2D) {
                n.stride = [_u(g, next, 4), _u(g, next + 4, 4)];
                n.padding = [_u(g, next + 8, 4), _u(g, next + 12, 4), _u(g, next + 16, 4), _u(g, next + 20, 4)];
            }
        } else if (code == REQUANTIZE) {
            n.axis = _u(g, pos + 5, 1);
            n.paramsCount = _u(g, pos + 6, 4);
            n.paramsAt = pos + 10;
            _u(g, n.paramsAt, 5 * n.paramsCount); // every pair is present
        } else if (code == ADD) {
            n.inputCount = 2;
            n.inputs[1] = _u(g, pos + 5, 4);
            n.aMultiplier = _i32(_u(g, pos + 9, 4));
            n.bMultiplier = _i32(_u(g, pos + 13, 4));
            n.shift = _u(g, pos + 17, 1);
        } else if (code == MAX_POOL2D || code == AVG_POOL2D) {
            n.kernel = [_u(g, pos + 5, 4), _u(g, pos + 9, 4)];
            n.stride = [_u(g, pos + 13, 4), _u(g, pos + 17, 4)];
            n.padding = [_u(g, pos + 21, 4), _u(g, pos + 25, 4), _u(g, pos + 29, 4), _u(g, pos + 33, 4)];
            if (code == AVG_POOL2D) {
                uint256 flag = _u(g, pos + 37, 1);
                if (flag > 1) revert BadBool(pos + 37);
                n.countIncludePad = flag == 1;
            }
        } else if (code == RESHAPE) {
            uint256 rank = _u(g, pos + 5, 1);
            if (rank == 0 || rank > MAX_RANK) revert BadGraphShape(pos + 5);
            n.shape = new uint32[](rank);
            for (uint256 i = 0; i < rank; i++) {
                n.shape[i] = uint32(_u(g, pos + 6 + 4 * i, 4));
            }
        } else if (code == LABEL_LOOKUP || code == TABLE || code == SOFTMAX) {
            n.weights[0] = _u(g, pos + 5, 4);
            n.weightCount = 1;
        } else if (code == MUL) {
            n.inputCount = 2;
            n.inputs[1] = _u(g, pos + 5, 4);
            n.aMultiplier = _i32(_u(g, pos + 9, 4));
            n.shift = _u(g, pos + 13, 1);
        } else if (code == TRANSPOSE) {
            uint256 rank = _u(g, pos + 5, 1);
            n.shape = new uint32[](rank);
            for (uint256 i = 0; i < rank; i++) {
                n.shape[i] = uint32(_u(g, pos + 6 + i, 1));
            }
        } else if (code == CONCAT) {
            n.inputCount = 2;
            n.inputs[1] = _u(g, pos + 5, 4);
            n.axis = _u(g, pos + 9, 1);
        } else if (code == SLICE) {
            uint256 rank = _u(g, pos + 5, 1);
            n.start = new uint32[](rank);
            n.shape = new uint32[](rank);
            for (uint256 i = 0; i < rank; i++) {
                n.start[i] = uint32(_u(g, pos + 6 + 8 * i, 4));
                n.shape[i] = uint32(_u(g, pos + 10 + 8 * i, 4));
            }
        } else if (code == TREE_ENSEMBLE) {
            n.weights = [_u(g, pos + 5, 4), _u(g, pos + 9, 4), _u(g, pos + 13, 4)];
            n.weightCount = 3;
        } else if (code == REDUCE_SUM) {
            n.axis = _u(g, pos + 5, 1);
        } else if (code != RELU && code != GLOBAL_AVG_POOL && code != ARGMAX) {
            revert UnknownOpcode(pos, code);
        }
    }

    // ---------------------------------------------------------------- openings

    function _openInputs(TensorOpening[] calldata openings, Node memory node, Claim memory c)
        private
        pure
        returns (Opened[] memory opened)
    {
        if (openings.length != node.inputCount) revert OpeningCount(openings.length, node.inputCount);
        opened = new Opened[](openings.length);
        for (uint256 i = 0; i < openings.length; i++) {
            TensorOpening calldata o = openings[i];
            if (o.id != node.inputs[i]) revert WrongId(o.id, node.inputs[i]);
            bytes32[] calldata proof = o.proof;
            if (proof.length != c.stateDepth) revert StateProofLength(proof.length, c.stateDepth);
            bytes32 leaf = _leaf(_commitment(o.header.dtype, o.header.shape, o.header.dataRoot));
            if (c.stateDepth >= 256 || o.id >> c.stateDepth != 0 || _fold(leaf, o.id, proof) != c.preState) {
                revert StateProofMismatch(o.id);
            }
            opened[i] = _openChunks(o.header, o.chunks);
        }
    }

    function _openWeights(TensorOpening[] calldata openings, Node memory node, bytes32 weightsRoot)
        private
        pure
        returns (Opened[] memory opened)
    {
        if (openings.length != node.weightCount) revert OpeningCount(openings.length, node.weightCount);
        opened = new Opened[](openings.length);
        for (uint256 i = 0; i < openings.length; i++) {
            TensorOpening calldata o = openings[i];
            if (o.id != node.weights[i]) revert WrongId(o.id, node.weights[i]);
            bytes32[] calldata proof = o.proof;
            bytes32 leaf = _leaf(_commitment(o.header.dtype, o.header.shape, o.header.dataRoot));
            // merkle.md: no index bits above the proof's depth, so a leaf has one position.
            if (proof.length < 256 && o.id >> proof.length != 0 || _fold(leaf, o.id, proof) != weightsRoot) {
                revert WeightProofMismatch(o.id);
            }
            opened[i] = _openChunks(o.header, o.chunks);
        }
    }

    function _openOutput(TensorHeader calldata header, ChunkOpening calldata chunks, Claim memory c)
        private
        pure
        returns (Opened memory out)
    {
        bytes32 actual = _commitment(header.dtype, header.shape, header.dataRoot);
        if (actual != c.outputCommitment) revert OutputCommitmentMismatch(c.outputCommitment, actual);
        out = _openChunks(header, chunks);
        if (c.element >= out.count) revert ElementOutOfRange(c.element, out.count);
    }

    /// Checks the header's type and the chunk multiproof against its data root.
    function _openChunks(TensorHeader calldata header, ChunkOpening calldata c) private pure returns (Opened memory t) {
        t.dtype = header.dtype;
        if (t.dtype > I32) revert BadDType(t.dtype);
        t.shape = header.shape;
        t.count = _count(t.shape);
        uint256 depth = _depth((t.count * _size(t.dtype) + 31) / 32);
        _verifyMultiproof(c, depth, header.dataRoot);
        uint256[] calldata indices = c.indices;
        bytes32[] calldata chunks = c.chunks;
        uint256 ip;
        uint256 cp;
        assembly ("memory-safe") {
            ip := indices.offset
            cp := chunks.offset
        }
        t.indices = ip;
        t.chunks = cp;
        t.n = indices.length;
    }

    /// game.md §2: fold the opened chunks level by level, taking a sibling wherever the
    /// neighbour was not opened; valid iff one node at index 0 equal to `root` remains and
    /// every sibling was used.
    function _verifyMultiproof(ChunkOpening calldata c, uint256 depth, bytes32 root) private pure {
        uint256 m = c.indices.length;
        if (m == 0) revert EmptyOpening();
        if (m != c.chunks.length) revert ChunkCountMismatch(m, c.chunks.length);
        uint256 layer = _leafLayer(c.indices, c.chunks, depth);
        (bytes32 top, uint256 used) = _reduce(layer, m, c.siblings, depth);
        // Reading past the siblings only yields garbage that is rejected here.
        if (used > c.siblings.length) revert MissingSibling();
        if (top != root) revert DataRootMismatch(root, top);
        if (used != c.siblings.length) revert UnusedSiblings(used, c.siblings.length);
    }

    /// The opened chunks as (index, leaf hash) word pairs in fresh memory.
    function _leafLayer(uint256[] calldata indices, bytes32[] calldata chunks, uint256 depth)
        private
        pure
        returns (uint256 layer)
    {
        uint256 bad; // 1: index out of range, 2: not increasing
        uint256 badAt;
        assembly ("memory-safe") {
            layer := mload(0x40)
            mstore(0x40, add(layer, shl(6, indices.length)))
            let scratch := mload(0x40)
            let limit := shl(depth, 1)
            for { let i := 0 } lt(i, indices.length) { i := add(i, 1) } {
                let x := calldataload(add(indices.offset, shl(5, i)))
                if iszero(or(bad, lt(x, limit))) {
                    bad := 1
                    badAt := x
                }
                if and(iszero(bad), gt(i, 0)) {
                    if iszero(gt(x, mload(add(layer, shl(6, sub(i, 1)))))) {
                        bad := 2
                        badAt := i
                    }
                }
                mstore8(scratch, 0x00)
                mstore(add(scratch, 1), calldataload(add(chunks.offset, shl(5, i))))
                let entry := add(layer, shl(6, i))
                mstore(entry, x)
                mstore(add(entry, 0x20), keccak256(scratch, 33))
            }
        }
        if (bad == 1) revert ChunkIndexOutOfRange(badAt, depth);
        if (bad == 2) revert ChunkIndicesNotIncreasing(badAt);
    }

    /// `depth` rounds of game.md §2's pairing, in place; the single remaining hash (or
    /// all ones when more remain, which no valid root equals) and the siblings used.
    function _reduce(uint256 layer, uint256 m, bytes32[] calldata siblings, uint256 depth)
        private
        pure
        returns (bytes32 top, uint256 used)
    {
        assembly ("memory-safe") {
            for { let level := 0 } lt(level, depth) { level := add(level, 1) } {
                let out := 0
                for { let i := 0 } lt(i, m) {} {
                    let entry := add(layer, shl(6, i))
                    let x := mload(entry)
                    let scratch := mload(0x40)
                    mstore8(scratch, 0x01)
                    switch and(x, 1)
                    case 0 {
                        let paired := 0
                        if lt(add(i, 1), m) { paired := eq(mload(add(entry, 0x40)), add(x, 1)) }
                        mstore(add(scratch, 1), mload(add(entry, 0x20)))
                        switch paired
                        case 1 {
                            mstore(add(scratch, 33), mload(add(entry, 0x60)))
                            i := add(i, 2)
                        }
                        default {
                            mstore(add(scratch, 33), calldataload(add(siblings.offset, shl(5, used))))
                            used := add(used, 1)
                            i := add(i, 1)
                        }
                    }
                    default {
                        mstore(add(scratch, 1), calldataload(add(siblings.offset, shl(5, used))))
                        mstore(add(scratch, 33), mload(add(entry, 0x20)))
                        used := add(used, 1)
                        i := add(i, 1)
                    }
                    let target := add(layer, shl(6, out))
                    mstore(target, shr(1, x))
                    mstore(add(target, 0x20), keccak256(scratch, 65))
                    out := add(out, 1)
                }
                m := out
            }
            top := not(0)
            if eq(m, 1) { top := mload(add(layer, 0x20)) }
        }
    }

    /// Folds a merkle.md-style path (bit `k` of `index` set: the running hash is the right child).
    function _fold(bytes32 leaf, uint256 index, bytes32[] calldata siblings) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let scratch := mload(0x40)
            mstore8(scratch, 0x01)
            h := leaf
            for { let k := 0 } lt(k, siblings.length) { k := add(k, 1) } {
                let s := calldataload(add(siblings.offset, shl(5, k)))
                switch and(shr(k, index), 1)
                case 0 {
                    mstore(add(scratch, 1), h)
                    mstore(add(scratch, 33), s)
                }
                default {
                    mstore(add(scratch, 1), s)
                    mstore(add(scratch, 33), h)
                }
                h := keccak256(scratch, 65)
            }
        }
    }

    function _leaf(bytes32 value) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let scratch := mload(0x40)
            mstore8(scratch, 0x00)
            mstore(add(scratch, 1), value)
            h := keccak256(scratch, 33)
        }
    }

    function _commitment(uint256 dtype, uint32[] memory shape, bytes32 dataRoot) internal pure returns (bytes32 h) {
        uint256 rank = shape.length;
        if (rank > 255) revert BadShape();
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore8(ptr, 0x02)
            mstore8(add(ptr, 1), dtype)
            mstore8(add(ptr, 2), rank)
            for { let i := 0 } lt(i, rank) { i := add(i, 1) } {
                mstore(add(add(ptr, 3), shl(2, i)), shl(224, mload(add(shape, shl(5, add(i, 1))))))
            }
            let tail := add(add(ptr, 3), shl(2, rank))
            mstore(tail, dataRoot)
            h := keccak256(ptr, add(sub(tail, ptr), 32))
        }
    }

    /// Element count of a valid shape (rank 1..6, dims >= 1, at most 2^26 elements).
    function _count(uint32[] memory shape) internal pure returns (uint256 count) {
        if (shape.length == 0 || shape.length > MAX_RANK) revert BadShape();
        count = 1;
        for (uint256 i = 0; i < shape.length; i++) {
            if (shape[i] == 0) revert BadShape();
            count *= shape[i];
            if (count > MAX_ELEMENTS) revert BadShape();
        }
    }

    /// Levels above `leaves` leaves: `ceil(log2(leaves))`, 0 for one leaf.
    function _depth(uint256 leaves) internal pure returns (uint256 d) {
        while ((uint256(1) << d) < leaves) d++;
    }

    function _size(uint256 dtype) private pure returns (uint256) {
        return dtype == I8 ? 1 : 4;
    }

    // ---------------------------------------------------------------- types

    /// Whether `b` broadcasts to `a` (ops/layout.rs): the same rank, each dimension equal or 1.
    function _broadcasts(uint32[] memory b, uint32[] memory a) private pure returns (bool) {
        if (a.length != b.length) return false;
        for (uint256 i = 0; i < a.length; i++) {
            if (b[i] != a[i] && b[i] != 1) return false;
        }
        return true;
    }

    function _sameShape(uint32[] memory a, uint32[] memory b) private pure returns (bool) {
        if (a.length != b.length) return false;
        for (uint256 i = 0; i < a.length; i++) {
            if (a[i] != b[i]) return false;
        }
        return true;
    }

    function _require(bool ok, uint256 step, uint256 rule) private pure {
        if (!ok) revert InvalidNode(step, rule);
    }

    /// The output type validation infers (validate.rs) from the opened operand types.
    function _expectedType(Node memory n, Opened[] memory ins, Opened[] memory ws, uint256 step)
        private
        pure
        returns (uint256 dtype, uint32[] memory shape)
    {
        uint256 code = n.opcode;
        Opened memory x = ins[0];
        if (code == MATMUL) {
            _require(x.dtype == I8, step, RULE_INPUT_DTYPE);
            Opened memory w = ws[0];
            _require(w.dtype == I8, step, RULE_WEIGHT_DTYPE);
            _require(w.shape.length == 2 && w.shape[1] == x.shape[x.shape.length - 1], step, RULE_SHAPE);
            _requireBias(n, ws, w.shape[0], step);
            shape = _copy(x.shape);
            shape[shape.length - 1] = w.shape[0];
            return (I32, shape);
        }
        if (code == CONV2D) {
            _require(x.dtype == I8 && x.shape.length == 3, step, RULE_INPUT_DTYPE);
            Opened memory w = ws[0];
            _require(w.dtype == I8, step, RULE_WEIGHT_DTYPE);
            _require(w.shape.length == 4 && w.shape[1] == x.shape[0], step, RULE_SHAPE);
            _requireBias(n, ws, w.shape[0], step);
            n.kernel = [uint256(w.shape[2]), uint256(w.shape[3])];
            (uint256 oh, uint256 ow) = _window(n, x.shape[1], x.shape[2], step);
            return (I32, _shape3(w.shape[0], oh, ow));
        }
        if (code == REQUANTIZE) {
            _require(x.dtype == I32, step, RULE_INPUT_DTYPE);
            _require(n.axis < x.shape.length, step, RULE_SHAPE);
            uint256 channels = x.shape[n.axis];
            _require(n.paramsCount == 1 || n.paramsCount == channels, step, RULE_PARAMS);
            return (I8, _copy(x.shape));
        }
        if (code == RELU) return (x.dtype, _copy(x.shape));
        if (code == ADD || code == MUL) {
            _require(x.dtype == I8 && ins[1].dtype == I8, step, RULE_INPUT_DTYPE);
            if (code == ADD) {
                _require(_sameShape(x.shape, ins[1].shape), step, RULE_SHAPE);
            } else {
                _require(_broadcasts(ins[1].shape, x.shape), step, RULE_SHAPE);
            }
            // Multipliers are i32 other than -2^31 (Add's b is zero for Mul); shift in 1..=62.
            int256 least = type(int32).min;
            _require(n.aMultiplier > least && n.bMultiplier > least, step, RULE_PARAMS);
            _require(n.shift >= 1 && n.shift <= 62, step, RULE_PARAMS);
            return (I8, _copy(x.shape));
        }
        if (code == TRANSPOSE) {
            uint256 rank = x.shape.length;
            _require(n.shape.length == rank, step, RULE_SHAPE);
            uint256 seen;
            shape = new uint32[](rank);
            for (uint256 i = 0; i < rank; i++) {
                uint256 p = n.shape[i];
                _require(p < rank && (seen >> p) & 1 == 0, step, RULE_SHAPE);
                seen |= uint256(1) << p;
                shape[i] = x.shape[p];
            }
            return (x.dtype, shape);
        }
        if (code == SLICE) {
            uint256 rank = x.shape.length;
            _require(n.shape.length == rank, step, RULE_SHAPE);
            for (uint256 i = 0; i < rank; i++) {
                _require(n.shape[i] >= 1 && uint256(n.start[i]) + n.shape[i] <= x.shape[i], step, RULE_SHAPE);
            }
            return (x.dtype, _copy(n.shape));
        }
        if (code == CONCAT) {
            Opened memory b = ins[1];
            _require(b.dtype == x.dtype, step, RULE_INPUT_DTYPE);
            uint256 rank = x.shape.length;
            _require(b.shape.length == rank && n.axis < rank, step, RULE_SHAPE);
            shape = _copy(x.shape);
            uint256 count = 1;
            for (uint256 i = 0; i < rank; i++) {
                if (i == n.axis) {
                    uint256 joined = uint256(x.shape[i]) + b.shape[i];
                    _require(joined <= type(uint32).max, step, RULE_SHAPE);
                    // casting to 'uint32' is safe because the sum was just checked to fit
                    // forge-lint: disable-next-line(unsafe-typecast)
                    shape[i] = uint32(joined);
                } else {
                    _require(x.shape[i] == b.shape[i], step, RULE_SHAPE);
                }
                count *= shape[i];
            }
            _require(count <= MAX_ELEMENTS, step, RULE_SHAPE);
            return (x.dtype, shape);
        }
        if (code == SOFTMAX) {
            _require(x.dtype == I8, step, RULE_INPUT_DTYPE);
            _require(ws[0].dtype == I32, step, RULE_WEIGHT_DTYPE);
            _require(ws[0].shape.length == 1 && ws[0].shape[0] == TABLE_LEN, step, RULE_SHAPE);
            return (I8, _copy(x.shape));
        }
        if (code == MAX_POOL2D || code == AVG_POOL2D) {
            _require(x.dtype == I8 && x.shape.length == 3, step, RULE_INPUT_DTYPE);
            (uint256 oh, uint256 ow) = _window(n, x.shape[1], x.shape[2], step);
            return (I8, _shape3(x.shape[0], oh, ow));
        }
        if (code == GLOBAL_AVG_POOL) {
            _require(x.dtype == I8 && x.shape.length == 3, step, RULE_INPUT_DTYPE);
            return (I8, _shape3(x.shape[0], 1, 1));
        }
        if (code == RESHAPE) {
            uint256 count = 1;
            for (uint256 i = 0; i < n.shape.length; i++) {
                _require(n.shape[i] != 0, step, RULE_SHAPE);
                count *= n.shape[i];
            }
            _require(count == x.count, step, RULE_SHAPE);
            return (x.dtype, _copy(n.shape));
        }
        if (code == ARGMAX) {
            shape = _copy(x.shape);
            shape[shape.length - 1] = 1;
            return (I32, shape);
        }
        if (code == TABLE) {
            _require(x.dtype == I8, step, RULE_INPUT_DTYPE);
            _require(ws[0].dtype == I8, step, RULE_WEIGHT_DTYPE);
            _require(ws[0].shape.length == 1 && ws[0].shape[0] == TABLE_LEN, step, RULE_SHAPE);
            return (I8, _copy(x.shape));
        }
        if (code == TREE_ENSEMBLE) {
            _require(ws[0].dtype == I32 && ws[1].dtype == I32 && ws[2].dtype == I32, step, RULE_WEIGHT_DTYPE);
            _require(ws[0].shape.length == 2 && ws[0].shape[1] == 4, step, RULE_SHAPE);
            _require(ws[1].shape.length == 2 && ws[2].shape.length == 1, step, RULE_SHAPE);
            shape = new uint32[](2);
            (shape[0], shape[1]) = (ws[1].shape[1], ws[2].shape[0]);
            return (I32, shape);
        }
        if (code == REDUCE_SUM) {
            _require(n.axis < x.shape.length, step, RULE_SHAPE);
            shape = _copy(x.shape);
            shape[n.axis] = 1;
            return (I32, shape);
        }
        // LABEL_LOOKUP (the source ArgMax was checked while decoding)
        _require(x.dtype == I32, step, RULE_INPUT_DTYPE);
        _require(ws[0].dtype == I32 && ws[0].shape.length == 1, step, RULE_WEIGHT_DTYPE);
        return (I32, _copy(x.shape));
    }

    function _requireBias(Node memory n, Opened[] memory ws, uint256 outputs, uint256 step) private pure {
        if (n.weightCount == 2) {
            Opened memory b = ws[1];
            _require(b.dtype == I32, step, RULE_WEIGHT_DTYPE);
            _require(b.shape.length == 1 && b.shape[0] == outputs, step, RULE_SHAPE);
        }
    }

    /// Output size of a window (Window::output_size) after validate.rs's rules: stride and
    /// kernel at least 1, every padding smaller than the kernel, at least one window.
    function _window(Node memory n, uint256 h, uint256 w, uint256 step) private pure returns (uint256 oh, uint256 ow) {
        uint256 kh = n.kernel[0];
        uint256 kw = n.kernel[1];
        uint256[4] memory p = n.padding;
        _require(p[0] < kh && p[2] < kh && p[1] < kw && p[3] < kw, step, RULE_WINDOW);
        _require(n.stride[0] != 0 && n.stride[1] != 0, step, RULE_WINDOW);
        uint256 ph = h + p[0] + p[2];
        uint256 pw = w + p[1] + p[3];
        _require(ph >= kh && pw >= kw, step, RULE_WINDOW);
        oh = (ph - kh) / n.stride[0] + 1;
        ow = (pw - kw) / n.stride[1] + 1;
        _require(oh <= type(uint32).max && ow <= type(uint32).max, step, RULE_WINDOW);
    }

    function _copy(uint32[] memory a) private pure returns (uint32[] memory b) {
        b = new uint32[](a.length);
        for (uint256 i = 0; i < a.length; i++) {
            b[i] = a[i];
        }
    }

    function _shape3(uint256 a, uint256 b, uint256 c) private pure returns (uint32[] memory s) {
        s = new uint32[](3);
        // casting to 'uint32' is safe because every caller passes a dim or a checked window size
        // forge-lint: disable-next-line(unsafe-typecast)
        (s[0], s[1], s[2]) = (uint32(a), uint32(b), uint32(c));
    }

    // ---------------------------------------------------------------- elements

    /// Recomputes output element `j` (types already match the expected ones).
    function _element(Node memory n, Opened[] memory ins, Opened[] memory ws, Opened memory out, uint256 j)
        private
        pure
        returns (int256)
    {
        uint256 code = n.opcode;
        Opened memory x = ins[0];
        if (code == MATMUL) return _matmul(x, ws, out, j);
        if (code == CONV2D) return _conv(n, x, ws, out, j);
        if (code == REQUANTIZE) return _requantize(n, x, j);
        if (code == RELU) {
            int256 v = _readElement(x, j);
            return v > 0 ? v : int256(0);
        }
        if (code == ADD) {
            int256 s = _readElement(x, j) * n.aMultiplier + _readElement(ins[1], j) * n.bMultiplier;
            return _clamp(_roundShift(s, n.shift));
        }
        if (code == MUL) {
            uint256 idx = _broadcastSource(j, x.shape, ins[1].shape);
            int256 p = _readElement(x, j) * _readElement(ins[1], idx) * n.aMultiplier;
            return _clamp(_roundShift(p, n.shift));
        }
        if (code == TRANSPOSE || code == SLICE) return _readElement(x, _moveSource(n, x.shape, out.shape, j));
        if (code == CONCAT) return _concat(n, x, ins[1], out.shape, j);
        if (code == SOFTMAX) return _softmax(x, ws[0], j);
        if (code == MAX_POOL2D || code == AVG_POOL2D) return _pool(n, x, out, j);
        if (code == GLOBAL_AVG_POOL) {
            uint256 plane = uint256(x.shape[1]) * x.shape[2];
            (uint256 p,) = _locate(x, 0, j * plane, plane);
            return _clamp(_roundDiv(_sumI8(p, plane), plane));
        }
        if (code == RESHAPE) return _readElement(x, j);
        if (code == ARGMAX) return _argmax(x, j);
        if (code == TABLE) {
            // An i8 input is in [-127, 127], so x + 128 is an index in [1, 255].
            int256 v = _readElement(x, j);
            // forge-lint: disable-next-line(unsafe-typecast)
            return _readElement(ws[0], uint256(v + 128));
        }
        if (code == TREE_ENSEMBLE) return _tree(x, ws, j);
        if (code == REDUCE_SUM) return _reduceSum(n, x, j);
        // LABEL_LOOKUP
        int256 index = _readElement(x, j);
        Opened memory labels = ws[0];
        if (index < 0 || index >= int256(labels.count)) revert LabelOutOfRange(index, labels.count);
        // casting to 'uint256' is safe because the index was just checked to be >= 0
        // forge-lint: disable-next-line(unsafe-typecast)
        return _readElement(labels, uint256(index));
    }

    function _matmul(Opened memory x, Opened[] memory ws, Opened memory out, uint256 j) private pure returns (int256) {
        Opened memory w = ws[0];
        uint256 k = w.shape[1];
        uint256 cols = out.shape[out.shape.length - 1];
        uint256 row = j / cols;
        uint256 col = j % cols;
        (uint256 px,) = _locate(x, 0, row * k, k);
        (uint256 pw,) = _locate(w, 0, col * k, k);
        int256 sum = _dot(px, pw, k);
        if (ws.length == 2) sum += _readElement(ws[1], col);
        return _wrap32(sum);
    }

    /// Window geometry of one output position, kept in memory for the conv and pool loops.
    struct Win {
        uint256 channels;
        uint256 h;
        uint256 w;
        uint256 kh;
        uint256 kw;
        uint256 top;
        uint256 left;
        uint256 y0; // oy·sh: the window's first row, counted in the padded plane
        uint256 x0; // ox·sw
        uint256 kx0; // in-bounds kernel columns [kx0, kx1)
        uint256 kx1;
        uint256 filter; // calldata position of the conv filter w[o]
        uint256 rowStart; // x0 + kx0 - left: the first in-bounds column
        uint256 filterStart; // filter + kx0
        uint256 len; // kx1 - kx0
    }

    function _win(Node memory n, Opened memory x, Opened memory out, uint256 rem) private pure returns (Win memory v) {
        uint256 ow = out.shape[2];
        v.channels = x.shape[0];
        v.h = x.shape[1];
        v.w = x.shape[2];
        v.kh = n.kernel[0];
        v.kw = n.kernel[1];
        v.top = n.padding[0];
        v.left = n.padding[1];
        uint256 oy = rem / ow;
        v.y0 = oy * n.stride[0];
        v.x0 = (rem % ow) * n.stride[1];
        v.kx0 = v.left > v.x0 ? v.left - v.x0 : 0;
        v.kx1 = v.w + v.left > v.x0 ? v.w + v.left - v.x0 : 0;
        if (v.kx1 > v.kw) v.kx1 = v.kw;
    }

    /// Whether kernel row `ky` falls inside the plane.
    function _rowIn(Win memory v, uint256 ky) private pure returns (bool) {
        return v.y0 + ky >= v.top && v.y0 + ky - v.top < v.h;
    }

    /// Byte offset in x of the in-bounds part of kernel row `ky` over channel `c`.
    function _rowAt(Win memory v, uint256 c, uint256 ky) private pure returns (uint256) {
        return (c * v.h + v.y0 + ky - v.top) * v.w + v.x0 + v.kx0 - v.left;
    }

    function _conv(Node memory n, Opened memory x, Opened[] memory ws, Opened memory out, uint256 j)
        private
        pure
        returns (int256 sum)
    {
        uint256 plane = uint256(out.shape[1]) * out.shape[2];
        uint256 o = j / plane;
        Win memory v = _win(n, x, out, j % plane);
        v.filter = o * v.channels * v.kh * v.kw;
        sum = _convWindow(v, x, ws[0]);
        if (ws.length == 2) sum += _readElement(ws[1], o);
        return _wrap32(sum);
    }

    /// Σ over channels and in-bounds window rows of x-row · filter-row (conv_element).
    /// Only the filter rows that meet in-bounds positions need to be opened.
    function _convWindow(Win memory v, Opened memory x, Opened memory w) private pure returns (int256 sum) {
        if (v.kx1 <= v.kx0) return 0;
        v.rowStart = v.x0 + v.kx0 - v.left;
        v.filterStart = v.filter + v.kx0;
        v.len = v.kx1 - v.kx0;
        if (v.len < SHORT_DOT) return _convNarrow(v, x, w);
        uint256[2] memory cursors;
        for (uint256 c = 0; c < v.channels; c++) {
            for (uint256 ky = 0; ky < v.kh; ky++) {
                if (!_rowIn(v, ky)) continue;
                uint256 px;
                uint256 pw;
                (px, cursors[0]) = _locate(x, cursors[0], _rowAt(v, c, ky), v.len);
                (pw, cursors[1]) = _locate(w, cursors[1], v.filterStart + (c * v.kh + ky) * v.kw, v.len);
                sum += _dot(px, pw, v.len);
            }
        }
    }

    /// `_convWindow` for rows narrower than `SHORT_DOT` (3x3 kernels and the like), in one
    /// assembly loop: per row the call overhead of the general path costs more than the
    /// products. Rows r = c·kh + ky run in memory order of both x and the filter, so both
    /// chunk cursors only move forward.
    function _convNarrow(Win memory v, Opened memory x, Opened memory w) private pure returns (int256 sum) {
        uint256 missing; // byte offset + 1 of a row whose chunks were not opened
        assembly ("memory-safe") {
            // `_locate` in Yul: the row [off, off + len) must lie in consecutive opened chunks.
            function locate(t, cursor, off, len) -> ptr, next, ok {
                let indices := mload(add(t, 0x60))
                let n := mload(add(t, 0xa0))
                let first := shr(5, off)
                let last := shr(5, add(off, sub(len, 1)))
                for {} and(lt(cursor, n), lt(calldataload(add(indices, shl(5, cursor))), first)) {
                    cursor := add(cursor, 1)
                } {}
                let end := add(cursor, sub(last, first))
                ok := and(
                    lt(end, n),
                    and(
                        eq(calldataload(add(indices, shl(5, cursor))), first),
                        eq(calldataload(add(indices, shl(5, end))), last)
                    )
                )
                ptr := add(add(mload(add(t, 0x80)), shl(5, cursor)), and(off, 31))
                next := cursor
            }
            let kh := mload(add(v, 0x60))
            let len := mload(add(v, 0x1c0))
            let xc := 0
            let wc := 0
            for { let r := 0 } lt(r, mul(mload(v), kh)) { r := add(r, 1) } {
                // y0 + ky - top; wraps to a huge value above the plane when negative.
                let y := sub(add(mload(add(v, 0xe0)), mod(r, kh)), mload(add(v, 0xa0)))
                if lt(y, mload(add(v, 0x20))) {
                    let off :=
                        add(
                            mul(add(mul(div(r, kh), mload(add(v, 0x20))), y), mload(add(v, 0x40))),
                            mload(add(v, 0x180))
                        )
                    let px, nx, ok := locate(x, xc, off, len)
                    xc := nx
                    if iszero(ok) {
                        missing := add(off, 1)
                        break
                    }
                    off := add(mload(add(v, 0x1a0)), mul(r, mload(add(v, 0x80))))
                    let pw, nw, wok := locate(w, wc, off, len)
                    wc := nw
                    if iszero(wok) {
                        missing := add(off, 1)
                        break
                    }
                    for { let i := 0 } lt(i, len) { i := add(i, 1) } {
                        sum := add(
                            sum,
                            mul(
                                signextend(0, byte(0, calldataload(add(px, i)))),
                                signextend(0, byte(0, calldataload(add(pw, i))))
                            )
                        )
                    }
                }
            }
        }
        if (missing != 0) revert MissingChunk(missing - 1);
    }

    function _pool(Node memory n, Opened memory x, Opened memory out, uint256 j) private pure returns (int256) {
        uint256 plane = uint256(out.shape[1]) * out.shape[2];
        uint256 c = j / plane;
        Win memory v = _win(n, x, out, j % plane);
        bool isMax = n.opcode == MAX_POOL2D;
        int256 acc = isMax ? type(int256).min : int256(0);
        uint256 inBounds;
        uint256 cursor;
        uint256 len = v.kx1 > v.kx0 ? v.kx1 - v.kx0 : 0;
        for (uint256 ky = 0; ky < v.kh && len != 0; ky++) {
            if (!_rowIn(v, ky)) continue;
            uint256 p;
            (p, cursor) = _locate(x, cursor, _rowAt(v, c, ky), len);
            if (isMax) {
                int256 m = _maxI8(p, len);
                if (m > acc) acc = m;
            } else {
                acc += _sumI8(p, len);
            }
            inBounds += len;
        }
        // validate.rs keeps every padding below the kernel, so a window always has an
        // in-bounds element; max_pool_element's fallback is -127.
        if (isMax) return inBounds == 0 ? int256(-127) : acc;
        uint256 divisor = n.countIncludePad ? v.kh * v.kw : inBounds;
        return _clamp(_roundDiv(acc, divisor));
    }

    function _requantize(Node memory n, Opened memory x, uint256 j) private pure returns (int256) {
        uint256 inner = 1;
        for (uint256 i = n.axis + 1; i < x.shape.length; i++) {
            inner *= x.shape[i];
        }
        uint256 channel = n.paramsCount == 1 ? 0 : (j / inner) % x.shape[n.axis];
        uint256 pair = n.graphOffset + n.paramsAt + 5 * channel;
        uint256 packed;
        // In range: decoding checked that every pair is inside the graph bytes.
        assembly ("memory-safe") {
            packed := shr(216, calldataload(pair))
        }
        int256 multiplier;
        assembly ("memory-safe") {
            multiplier := signextend(3, shr(8, packed))
        }
        uint256 shift = packed & 0xff;
        if (multiplier < 0 || shift == 0 || shift > 62) revert InvalidNode(n.step, RULE_PARAMS);
        int256 v = _readElement(x, j);
        return _clamp(_roundShift(v * multiplier, shift));
    }

    /// Target `j / T` of the leaf tree `j % T` reaches (ops/tree.rs `walk_tree`): from the
    /// root, `x[feature] <= threshold` goes to `if_true`, else `if_false`; a child `c >= 0`
    /// is a later row, `c < 0` leaf `-1 - c`. Every index is checked against its tensor
    /// (an opened chunk's padding would read as zeros), and a walk that points backwards or
    /// makes more than MAX_TREE_DEPTH comparisons reverts: no valid model has one.
    function _tree(Opened memory x, Opened[] memory ws, uint256 j) private pure returns (int256) {
        uint256 trees = ws[2].shape[0];
        int256 pos = _readElement(ws[2], j % trees);
        uint256 cursor;
        for (uint256 steps = 0; pos >= 0; steps++) {
            if (steps == MAX_TREE_DEPTH) revert TreeWalk();
            (pos, cursor) = _treeStep(x, ws[0], pos, cursor);
        }
        // forge-lint: disable-next-line(unsafe-typecast)
        uint256 leaf = uint256(-1 - pos);
        Opened memory leaves = ws[1];
        if (leaf >= leaves.shape[0]) revert TreeWalk();
        return _readElement(leaves, leaf * leaves.shape[1] + j / trees);
    }

    /// One comparison pos node row `pos` (>= 0): the child it leads to, and the chunk cursor.
    function _treeStep(Opened memory x, Opened memory rows, int256 pos, uint256 cursor)
        private
        pure
        returns (int256 next, uint256)
    {
        // forge-lint: disable-next-line(unsafe-typecast)
        uint256 i = uint256(pos);
        if (i >= rows.shape[0]) revert TreeWalk();
        // A row is 16 bytes pos a multiple of 16, so it lies in one chunk; rows only move
        // forward, so the chunk search can too.
        uint256 p;
        (p, cursor) = _locate(rows, cursor, i * TREE_ROW_BYTES, TREE_ROW_BYTES);
        int256 feature;
        int256 threshold;
        assembly ("memory-safe") {
            let word := calldataload(p)
            feature := signextend(3, shr(224, word))
            threshold := signextend(3, shr(192, word))
        }
        // forge-lint: disable-next-line(unsafe-typecast)
        if (feature < 0 || uint256(feature) >= x.count) revert TreeWalk();
        // forge-lint: disable-next-line(unsafe-typecast)
        bool goesTrue = _readElement(x, uint256(feature)) <= threshold;
        assembly ("memory-safe") {
            let word := calldataload(p)
            switch goesTrue
            case 1 { next := signextend(3, shr(160, word)) }
            default { next := signextend(3, shr(128, word)) }
        }
        if (next >= 0 && next <= pos) revert TreeWalk();
        return (next, cursor);
    }

    /// The saturated sum along `axis` for output element `j` (ops/tree.rs `reduce_positions`).
    function _reduceSum(Node memory n, Opened memory x, uint256 j) private pure returns (int256 sum) {
        uint256 inner = 1;
        for (uint256 d = n.axis + 1; d < x.shape.length; d++) {
            inner *= x.shape[d];
        }
        uint256 len = x.shape[n.axis];
        uint256 outer = j / inner;
        uint256 first = outer * len * inner + j % inner;
        bool wide = x.dtype == I32;
        uint256 size = wide ? 4 : 1;
        uint256 cursor;
        if (inner == 1) {
            // One contiguous run: locate it once.
            uint256 p;
            (p,) = _locate(x, 0, first * size, len * size);
            assembly ("memory-safe") {
                for { let i := 0 } lt(i, len) { i := add(i, 1) } {
                    switch wide
                    case 0 { sum := add(sum, signextend(0, byte(0, calldataload(add(p, i))))) }
                    default { sum := add(sum, signextend(3, shr(224, calldataload(add(p, shl(2, i)))))) }
                }
            }
        } else {
            for (uint256 i = 0; i < len; i++) {
                uint256 p;
                (p, cursor) = _locate(x, cursor, (first + i * inner) * size, size);
                int256 v;
                assembly ("memory-safe") {
                    switch wide
                    case 0 { v := signextend(0, byte(0, calldataload(p))) }
                    default { v := signextend(3, shr(224, calldataload(p))) }
                }
                sum += v;
            }
        }
        if (sum > SUM_MAX) return SUM_MAX;
        if (sum < -SUM_MAX) return -SUM_MAX;
    }

    /// Softmax element `j` (ops/softmax.rs): the row's maximum m, every element's exp entry
    /// table[m − x_k] and their sum S, then floor((254·e_j + S) / (2·S)).
    /// @dev The opened chunks of the table (8 entries each) are copied to memory once, with
    /// a bitmap of which are present, so each of the row's lookups is one memory read; a
    /// lookup in a chunk that was not opened reverts as `_locate` would.
    function _softmax(Opened memory x, Opened memory table, uint256 j) private pure returns (int256) {
        uint256 n = x.shape[x.shape.length - 1];
        uint256 col = j % n;
        (uint256 p,) = _locate(x, 0, j - col, n);
        int256 m = _maxI8(p, n);
        uint256[] memory words = new uint256[](TABLE_LEN / 8);
        uint256 present;
        {
            uint256 indices = table.indices;
            uint256 chunks = table.chunks;
            uint256 opened = table.n;
            assembly ("memory-safe") {
                for { let i := 0 } lt(i, opened) { i := add(i, 1) } {
                    let c := calldataload(add(indices, shl(5, i)))
                    // A table has 32 chunks; the openings checked every index against them.
                    if lt(c, 32) {
                        mstore(add(add(words, 32), shl(5, c)), calldataload(add(chunks, shl(5, i))))
                        present := or(present, shl(c, 1))
                    }
                }
            }
        }
        int256 sum;
        int256 mine;
        bool missing;
        assembly ("memory-safe") {
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                // m is the row's maximum, so d = m - x_i is in [0, 254].
                let d := sub(m, signextend(0, byte(0, calldataload(add(p, i)))))
                let c := shr(3, d)
                if iszero(and(shr(c, present), 1)) { missing := 1 }
                let word := mload(add(add(words, 32), shl(5, c)))
                let e := signextend(3, and(shr(sub(224, shl(5, and(d, 7))), word), 0xffffffff))
                sum := add(sum, e)
                if eq(i, col) { mine := e }
            }
        }
        if (missing) revert MissingChunk(0);
        if (sum <= 0) revert SoftmaxSum(j);
        // Both operands are non-negative (entries are in [0, 2^24]), so sdiv floors.
        return (2 * SOFTMAX_ONE * mine + sum) / (2 * sum);
    }

    /// The element of `b` that element `j` of `a` meets (ops/layout.rs `broadcast_source`).
    function _broadcastSource(uint256 j, uint32[] memory a, uint32[] memory b) private pure returns (uint256 idx) {
        uint256 rem = j;
        uint256 stride = 1;
        for (uint256 i = a.length; i > 0; i--) {
            uint256 c = rem % a[i - 1];
            rem /= a[i - 1];
            if (b[i - 1] != 1) idx += c * stride;
            stride *= b[i - 1];
        }
    }

    /// The input element output element `j` of a Transpose (`n.shape` is the permutation)
    /// or a Slice (`n.start` the first coordinates) is (ops/layout.rs).
    function _moveSource(Node memory n, uint32[] memory xs, uint32[] memory outs, uint256 j)
        private
        pure
        returns (uint256 idx)
    {
        uint256 rank = xs.length;
        uint256[] memory coords = new uint256[](rank);
        uint256 rem = j;
        bool transpose = n.opcode == TRANSPOSE;
        for (uint256 i = rank; i > 0; i--) {
            uint256 c = rem % outs[i - 1];
            rem /= outs[i - 1];
            if (transpose) coords[n.shape[i - 1]] = c;
            else coords[i - 1] = c + n.start[i - 1];
        }
        for (uint256 i = 0; i < rank; i++) {
            idx = idx * xs[i] + coords[i];
        }
    }

    /// Output element `j` of `a` then `b` along `n.axis` (ops/layout.rs `concat_source`).
    function _concat(Node memory n, Opened memory a, Opened memory b, uint32[] memory outs, uint256 j)
        private
        pure
        returns (int256)
    {
        uint256 rank = outs.length;
        uint256[] memory coords = new uint256[](rank);
        uint256 rem = j;
        for (uint256 i = rank; i > 0; i--) {
            coords[i - 1] = rem % outs[i - 1];
            rem /= outs[i - 1];
        }
        Opened memory part = a;
        if (coords[n.axis] >= a.shape[n.axis]) {
            coords[n.axis] -= a.shape[n.axis];
            part = b;
        }
        uint256 idx;
        for (uint256 i = 0; i < rank; i++) {
            idx = idx * part.shape[i] + coords[i];
        }
        return _readElement(part, idx);
    }

    function _argmax(Opened memory x, uint256 j) private pure returns (int256 best) {
        uint256 k = x.shape[x.shape.length - 1];
        uint256 size = _size(x.dtype);
        (uint256 p,) = _locate(x, 0, j * k * size, k * size);
        bool wide = x.dtype == I32;
        assembly ("memory-safe") {
            let top := 0
            for { let i := 0 } lt(i, k) { i := add(i, 1) } {
                let v
                switch wide
                case 0 { v := signextend(0, byte(0, calldataload(add(p, i)))) }
                default { v := signextend(3, shr(224, calldataload(add(p, shl(2, i))))) }
                if or(iszero(i), sgt(v, top)) {
                    top := v
                    best := i
                }
            }
        }
    }

    // ---------------------------------------------------------------- reading

    /// Calldata position of the byte range `[off, off + len)` of an opened tensor, which
    /// must lie in consecutive opened chunks; `cursor` lets ordered reads scan forward.
    function _locate(Opened memory t, uint256 cursor, uint256 off, uint256 len)
        private
        pure
        returns (uint256 ptr, uint256 next)
    {
        uint256 first = off >> 5;
        uint256 last = (off + len - 1) >> 5;
        uint256 indices = t.indices;
        uint256 n = t.n;
        bool found;
        assembly ("memory-safe") {
            for {} and(lt(cursor, n), lt(calldataload(add(indices, shl(5, cursor))), first)) {
                cursor := add(cursor, 1)
            } {}
            let end := add(cursor, sub(last, first))
            // Indices strictly increase, so matching both ends means every chunk between is there.
            found := and(
                lt(end, n),
                and(
                    eq(calldataload(add(indices, shl(5, cursor))), first),
                    eq(calldataload(add(indices, shl(5, end))), last)
                )
            )
        }
        if (!found) revert MissingChunk(off);
        ptr = t.chunks + (cursor << 5) + (off & 31);
        next = cursor;
    }

    function _readElement(Opened memory t, uint256 i) private pure returns (int256 v) {
        bool wide = t.dtype == I32;
        uint256 size = wide ? 4 : 1;
        (uint256 p,) = _locate(t, 0, i * size, size);
        assembly ("memory-safe") {
            switch wide
            case 0 { v := signextend(0, byte(0, calldataload(p))) }
            default { v := signextend(3, shr(224, calldataload(p))) }
        }
    }

    /// Σ x[i]·w[i] over `len` int8 pairs at calldata `px` and `pw`.
    /// @dev Word at a time: each byte b becomes b' = b + 128 in [0, 255] (b xor 0x80), so
    /// Σ x·w = Σ x'·w' − 128·(Σ x' + Σ w') + 16384·len. The bytes of x' are spread into
    /// eight 32-bit lanes per group of four (and with a lane mask after a shift), those of
    /// w' likewise after reversing w's bytes, so one 256-bit multiply of the two groups
    /// holds Σ x'_j·w'_j of the group in its top lane (the coefficient of a polynomial
    /// product). Lanes stay below 2^32 for 1024 words (each word adds at most
    /// 4·8·255² < 2^21 to any lane), so sums are flushed every 1024 words.
    function _dot(uint256 px, uint256 pw, uint256 len) private pure returns (int256 sum) {
        if (len < SHORT_DOT) {
            assembly ("memory-safe") {
                for { let i := 0 } lt(i, len) { i := add(i, 1) } {
                    sum := add(
                        sum,
                        mul(
                            signextend(0, byte(0, calldataload(add(px, i)))),
                            signextend(0, byte(0, calldataload(add(pw, i))))
                        )
                    )
                }
            }
            return sum;
        }
        assembly ("memory-safe") {
            let lane := 0x000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff
            let products := 0
            let sums := 0
            let total := 0
            for { let o := 0 } lt(o, len) {} {
                let flushAt := add(o, 32768)
                if gt(flushAt, len) { flushAt := len }
                products := 0
                sums := 0
                for {} lt(o, flushAt) { o := add(o, 32) } {
                    let x :=
                        xor(
                            calldataload(add(px, o)),
                            0x8080808080808080808080808080808080808080808080808080808080808080
                        )
                    let w :=
                        xor(
                            calldataload(add(pw, o)),
                            0x8080808080808080808080808080808080808080808080808080808080808080
                        )
                    if lt(sub(len, o), 32) {
                        let keep := not(shr(shl(3, sub(len, o)), not(0)))
                        x := and(x, keep)
                        w := and(w, keep)
                    }
                    w := or(
                        shr(8, and(w, 0xff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00)),
                        shl(8, and(w, 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff))
                    )
                    w := or(
                        shr(16, and(w, 0xffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000)),
                        shl(16, and(w, 0x0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff))
                    )
                    w := or(
                        shr(32, and(w, 0xffffffff00000000ffffffff00000000ffffffff00000000ffffffff00000000)),
                        shl(32, and(w, 0x00000000ffffffff00000000ffffffff00000000ffffffff00000000ffffffff))
                    )
                    w := or(
                        shr(64, and(w, 0xffffffffffffffff0000000000000000ffffffffffffffff0000000000000000)),
                        shl(64, and(w, 0x0000000000000000ffffffffffffffff0000000000000000ffffffffffffffff))
                    )
                    w := or(shr(128, w), shl(128, w))
                    // x byte 4j+g (from the low end) meets w byte 4j+g, now at 4(7-j)+(3-g).
                    {
                        let a := and(x, lane)
                        let b := and(shr(24, w), lane)
                        products := add(products, mul(a, b))
                        sums := add(sums, add(a, b))
                    }
                    {
                        let a := and(shr(8, x), lane)
                        let b := and(shr(16, w), lane)
                        products := add(products, mul(a, b))
                        sums := add(sums, add(a, b))
                    }
                    {
                        let a := and(shr(16, x), lane)
                        let b := and(shr(8, w), lane)
                        products := add(products, mul(a, b))
                        sums := add(sums, add(a, b))
                    }
                    {
                        let a := and(shr(24, x), lane)
                        let b := and(w, lane)
                        products := add(products, mul(a, b))
                        sums := add(sums, add(a, b))
                    }
                }
                // The top lane of a product with all-ones lanes is the sum of all lanes.
                total := add(total, shr(224, products))
                total := sub(
                    total,
                    mul(128, shr(224, mul(sums, 0x0000000100000001000000010000000100000001000000010000000100000001)))
                )
            }
            sum := add(total, mul(16384, len))
        }
    }

    /// Σ of `len` int8 values at calldata `p` (the same +128 trick, 16-bit lanes per word).
    function _sumI8(uint256 p, uint256 len) private pure returns (int256 sum) {
        assembly ("memory-safe") {
            let lanes := 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff
            let total := 0
            for { let o := 0 } lt(o, len) { o := add(o, 32) } {
                let v :=
                    xor(calldataload(add(p, o)), 0x8080808080808080808080808080808080808080808080808080808080808080)
                if lt(sub(len, o), 32) { v := and(v, not(shr(shl(3, sub(len, o)), not(0)))) }
                let t := add(and(v, lanes), and(shr(8, v), lanes))
                total := add(
                    total,
                    shr(240, mul(t, 0x0001000100010001000100010001000100010001000100010001000100010001))
                )
            }
            sum := sub(total, mul(128, len))
        }
    }

    function _maxI8(uint256 p, uint256 len) private pure returns (int256 best) {
        assembly ("memory-safe") {
            best := signextend(0, byte(0, calldataload(p)))
            for { let i := 1 } lt(i, len) { i := add(i, 1) } {
                let v := signextend(0, byte(0, calldataload(add(p, i))))
                if sgt(v, best) { best := v }
            }
        }
    }

    /// `floor((2·sum + n) / (2·n))` for n > 0: sum / n rounded half up (pool.rs).
    function _roundDiv(int256 sum, uint256 n) private pure returns (int256 q) {
        assembly ("memory-safe") {
            let a := add(mul(2, sum), n)
            let d := mul(2, n)
            q := sdiv(a, d)
            if and(slt(a, 0), iszero(iszero(smod(a, d)))) { q := sub(q, 1) }
        }
    }

    /// `(v + 2^(s-1)) >> s` with an arithmetic (flooring) shift, 1 <= s <= 62 (requantize.rs).
    function _roundShift(int256 v, uint256 s) private pure returns (int256 r) {
        assembly ("memory-safe") {
            r := sar(s, add(v, shl(sub(s, 1), 1)))
        }
    }

    function _clamp(int256 v) private pure returns (int256) {
        if (v > 127) return 127;
        if (v < -127) return -127;
        return v;
    }

    /// `as i32` in Rust: validation keeps accumulators in range, this mirrors it anyway.
    function _wrap32(int256 v) private pure returns (int256 r) {
        assembly ("memory-safe") {
            r := signextend(3, v)
        }
    }
}
