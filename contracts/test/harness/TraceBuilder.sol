// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Merkle} from "../../src/Merkle.sol";
import {OneStepVerifier} from "../../src/OneStepVerifier.sol";

/// A tensor as the tests build it: dtype (0 i8, 1 i32), shape, canonical element bytes.
struct T {
    uint8 dtype;
    uint32[] shape;
    bytes data;
}

/// The prover's side of the one-step game, written plainly for tests: tensors, chunk
/// multiproofs (game.md §2), trace states (game.md §1) and weight proofs (merkle.md).
library TraceBuilder {
    function i8s(int256[] memory v) internal pure returns (bytes memory out) {
        out = new bytes(v.length);
        for (uint256 i = 0; i < v.length; i++) {
            out[i] = bytes1(uint8(int8(v[i])));
        }
    }

    function i32s(int256[] memory v) internal pure returns (bytes memory out) {
        for (uint256 i = 0; i < v.length; i++) {
            out = abi.encodePacked(out, int32(v[i]));
        }
    }

    function tensor(uint8 dtype, uint32[] memory shape, int256[] memory v) internal pure returns (T memory t) {
        t.dtype = dtype;
        t.shape = shape;
        t.data = dtype == 0 ? i8s(v) : i32s(v);
    }

    function leaves(bytes memory data) internal pure returns (bytes32[] memory hs) {
        uint256 n = (data.length + 31) / 32;
        hs = new bytes32[](n);
        for (uint256 i = 0; i < n; i++) {
            hs[i] = keccak256(abi.encodePacked(bytes1(0x00), chunk(data, i)));
        }
    }

    function chunk(bytes memory data, uint256 i) internal pure returns (bytes32 c) {
        for (uint256 b = 0; b < 32 && 32 * i + b < data.length; b++) {
            c |= bytes32(uint256(uint8(data[32 * i + b])) << (8 * (31 - b)));
        }
    }

    function dataRoot(bytes memory data) internal pure returns (bytes32) {
        return Merkle.root(leaves(data));
    }

    function header(T memory t) internal pure returns (OneStepVerifier.TensorHeader memory h) {
        h.dtype = t.dtype;
        h.shape = t.shape;
        h.dataRoot = dataRoot(t.data);
    }

    function commitment(T memory t) internal pure returns (bytes32) {
        bytes memory b = abi.encodePacked(bytes1(0x02), t.dtype, uint8(t.shape.length));
        for (uint256 i = 0; i < t.shape.length; i++) {
            b = abi.encodePacked(b, t.shape[i]);
        }
        return keccak256(abi.encodePacked(b, dataRoot(t.data)));
    }

    function leafOf(bytes32 c) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(bytes1(0x00), c));
    }

    function depthOf(uint256 n) internal pure returns (uint256 d) {
        while ((uint256(1) << d) < n) d++;
    }

    /// The levels of a merkle.md tree (each level padded with zero when odd).
    function levels(bytes32[] memory hs) internal pure returns (bytes32[][] memory ls) {
        uint256 d = depthOf(hs.length);
        ls = new bytes32[][](d + 1);
        ls[0] = hs;
        for (uint256 l = 1; l <= d; l++) {
            bytes32[] memory below = ls[l - 1];
            bytes32[] memory level = new bytes32[]((below.length + 1) / 2);
            for (uint256 i = 0; i < level.length; i++) {
                bytes32 right = 2 * i + 1 < below.length ? below[2 * i + 1] : bytes32(0);
                level[i] = Merkle.nodeHash(below[2 * i], right);
            }
            ls[l] = level;
        }
    }

    /// A multiproof of chunks `indices` (increasing) of `data`: siblings in consumption order.
    function open(bytes memory data, uint256[] memory indices)
        internal
        pure
        returns (OneStepVerifier.ChunkOpening memory o)
    {
        bytes32[][] memory ls = levels(leaves(data));
        o.indices = indices;
        o.chunks = new bytes32[](indices.length);
        for (uint256 i = 0; i < indices.length; i++) {
            o.chunks[i] = chunk(data, indices[i]);
        }
        bytes32[] memory sib = new bytes32[](64 * (indices.length + 1));
        uint256 s;
        uint256[] memory layer = indices;
        for (uint256 l = 0; l + 1 < ls.length; l++) {
            uint256[] memory next = new uint256[](layer.length);
            uint256 m;
            for (uint256 i = 0; i < layer.length;) {
                uint256 x = layer[i];
                if (x % 2 == 0 && i + 1 < layer.length && layer[i + 1] == x + 1) {
                    i += 2;
                } else {
                    uint256 other = x ^ 1;
                    sib[s++] = other < ls[l].length ? ls[l][other] : bytes32(0);
                    i += 1;
                }
                next[m++] = x / 2;
            }
            layer = new uint256[](m);
            for (uint256 i = 0; i < m; i++) {
                layer[i] = next[i];
            }
        }
        o.siblings = new bytes32[](s);
        for (uint256 i = 0; i < s; i++) {
            o.siblings[i] = sib[i];
        }
    }

    /// A multiproof of every chunk touched by the byte range `[start, start + len)`.
    function openBytes(bytes memory data, uint256 start, uint256 len)
        internal
        pure
        returns (OneStepVerifier.ChunkOpening memory)
    {
        uint256 first = start / 32;
        uint256 last = (start + len - 1) / 32;
        uint256[] memory idx = new uint256[](last - first + 1);
        for (uint256 i = 0; i < idx.length; i++) {
            idx[i] = first + i;
        }
        return open(data, idx);
    }

    function openAll(T memory t) internal pure returns (OneStepVerifier.ChunkOpening memory) {
        return openBytes(t.data, 0, t.data.length);
    }

    /// A merkle.md proof of leaf `index` among `hs`.
    function prove(bytes32[] memory hs, uint256 index) internal pure returns (bytes32[] memory p) {
        bytes32[][] memory ls = levels(hs);
        p = new bytes32[](ls.length - 1);
        for (uint256 l = 0; l + 1 < ls.length; l++) {
            uint256 other = (index >> l) ^ 1;
            p[l] = other < ls[l].length ? ls[l][other] : bytes32(0);
        }
    }

    /// The full trace-state tree of depth `d` over `commitments` (zero leaves after them).
    function stateLevels(bytes32[] memory commitments, uint256 d) internal pure returns (bytes32[][] memory ls) {
        ls = new bytes32[][](d + 1);
        ls[0] = new bytes32[](2 ** d);
        for (uint256 i = 0; i < commitments.length; i++) {
            ls[0][i] = leafOf(commitments[i]);
        }
        for (uint256 l = 1; l <= d; l++) {
            ls[l] = new bytes32[](2 ** (d - l));
            for (uint256 i = 0; i < ls[l].length; i++) {
                ls[l][i] = Merkle.nodeHash(ls[l - 1][2 * i], ls[l - 1][2 * i + 1]);
            }
        }
    }

    function stateRoot(bytes32[] memory commitments, uint256 d) internal pure returns (bytes32) {
        bytes32[][] memory ls = stateLevels(commitments, d);
        return ls[d][0];
    }

    function stateProof(bytes32[] memory commitments, uint256 d, uint256 index)
        internal
        pure
        returns (bytes32[] memory p)
    {
        bytes32[][] memory ls = stateLevels(commitments, d);
        p = new bytes32[](d);
        for (uint256 l = 0; l < d; l++) {
            p[l] = ls[l][(index >> l) ^ 1];
        }
    }

    /// A test size as a dim; the tests keep sizes far below 2^32.
    function u32(uint256 v) internal pure returns (uint32) {
        require(v <= type(uint32).max, "dim too large");
        // casting to 'uint32' is safe because of the check above
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint32(v);
    }

    /// A small index as a signed value.
    function int_(uint256 v) internal pure returns (int256) {
        require(v <= uint256(type(int256).max), "too large");
        // casting to 'int256' is safe because of the check above
        // forge-lint: disable-next-line(unsafe-typecast)
        return int256(v);
    }

    function shape1(uint32 a) internal pure returns (uint32[] memory s) {
        s = new uint32[](1);
        s[0] = a;
    }

    function shape2(uint32 a, uint32 b) internal pure returns (uint32[] memory s) {
        s = new uint32[](2);
        (s[0], s[1]) = (a, b);
    }

    function shape3(uint32 a, uint32 b, uint32 c) internal pure returns (uint32[] memory s) {
        s = new uint32[](3);
        (s[0], s[1], s[2]) = (a, b, c);
    }

    function shape4(uint32 a, uint32 b, uint32 c, uint32 d) internal pure returns (uint32[] memory s) {
        s = new uint32[](4);
        (s[0], s[1], s[2], s[3]) = (a, b, c, d);
    }

    /// Graph bytes: version 1, input shape, scales 1.0 and 0.0, then the encoded nodes.
    function graph(uint32[] memory inputShape, bytes[] memory nodes) internal pure returns (bytes memory g) {
        g = abi.encodePacked(uint16(1), uint8(inputShape.length));
        for (uint256 i = 0; i < inputShape.length; i++) {
            g = abi.encodePacked(g, inputShape[i]);
        }
        g = abi.encodePacked(g, uint32(0x3f800000), uint32(0), uint32(nodes.length));
        for (uint256 i = 0; i < nodes.length; i++) {
            g = abi.encodePacked(g, nodes[i]);
        }
    }
}
