// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {Merkle} from "../src/Merkle.sol";
import {OneStepVerifier} from "../src/OneStepVerifier.sol";
import {T, TraceBuilder as B} from "./harness/TraceBuilder.sol";

/// One step of a trace as a test states it: the graph, the values up to the step (the
/// pre-state), the op's operands and weights, the claimed output and the named element.
struct Case {
    bytes graph;
    uint256 opCount;
    uint256 step;
    T[] values;
    uint256[] inputIds;
    T[] weights;
    uint256[] weightIds;
    T output;
    uint256 element;
}

/// Node encodings (specs/model-format.md).
library Nodes {
    function matmul(uint32 input, uint32 weight, bool bias, uint32 b) internal pure returns (bytes memory) {
        return bias
            ? abi.encodePacked(uint8(1), input, weight, uint8(1), b)
            : abi.encodePacked(uint8(1), input, weight, uint8(0));
    }

    function conv(uint32 input, uint32 weight, uint32 bias, uint32[2] memory stride, uint32[4] memory pad)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodePacked(
            uint8(2), input, weight, uint8(1), bias, stride[0], stride[1], pad[0], pad[1], pad[2], pad[3]
        );
    }

    function requant(uint32 input, uint8 axis, int32[] memory m, uint8[] memory s)
        internal
        pure
        returns (bytes memory b)
    {
        b = abi.encodePacked(uint8(3), input, axis, uint32(m.length));
        for (uint256 i = 0; i < m.length; i++) {
            b = abi.encodePacked(b, m[i], s[i]);
        }
    }

    function unary(uint8 code, uint32 input) internal pure returns (bytes memory) {
        return abi.encodePacked(code, input);
    }

    function add(uint32 a, uint32 b, int32 ma, int32 mb, uint8 s) internal pure returns (bytes memory) {
        return abi.encodePacked(uint8(5), a, b, ma, mb, s);
    }

    function pool(uint8 code, uint32 input, uint32[2] memory k, uint32[2] memory st, uint32[4] memory p)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodePacked(code, input, k[0], k[1], st[0], st[1], p[0], p[1], p[2], p[3]);
    }

    function reshape(uint32 input, uint32[] memory shape) internal pure returns (bytes memory b) {
        b = abi.encodePacked(uint8(9), input, uint8(shape.length));
        for (uint256 i = 0; i < shape.length; i++) {
            b = abi.encodePacked(b, shape[i]);
        }
    }

    function labels(uint32 input, uint32 table) internal pure returns (bytes memory) {
        return abi.encodePacked(uint8(11), input, table);
    }
}

/// Builds proofs for `Case`s and runs them through the verifier.
abstract contract StepFixture is Test {
    OneStepVerifier internal verifier;

    event GasReport(string what, uint256 execution, uint256 calldataGas);

    function setUp() public virtual {
        verifier = new OneStepVerifier();
    }

    function depthFor(uint256 opCount) internal pure returns (uint256) {
        return B.depthOf(opCount + 1);
    }

    function preState(Case memory c) internal pure returns (bytes32[] memory commitments) {
        commitments = new bytes32[](c.values.length);
        for (uint256 i = 0; i < c.values.length; i++) {
            commitments[i] = B.commitment(c.values[i]);
        }
    }

    function weightLeaves(Case memory c) internal pure returns (bytes32[] memory hs) {
        hs = new bytes32[](c.weights.length);
        for (uint256 i = 0; i < c.weights.length; i++) {
            hs[i] = B.leafOf(B.commitment(c.weights[i]));
        }
    }

    /// A proof opening every chunk of every operand.
    function proofFor(Case memory c) internal pure returns (OneStepVerifier.OneStepProof memory p) {
        uint256 d = depthFor(c.opCount);
        bytes32[] memory commitments = preState(c);
        p.graph = c.graph;
        p.inputs = new OneStepVerifier.TensorOpening[](c.inputIds.length);
        for (uint256 i = 0; i < c.inputIds.length; i++) {
            T memory t = c.values[c.inputIds[i]];
            p.inputs[i] = OneStepVerifier.TensorOpening({
                id: uint32(c.inputIds[i]),
                header: B.header(t),
                proof: B.stateProof(commitments, d, c.inputIds[i]),
                chunks: B.openAll(t)
            });
        }
        bytes32[] memory wl = weightLeaves(c);
        p.weights = new OneStepVerifier.TensorOpening[](c.weightIds.length);
        for (uint256 i = 0; i < c.weightIds.length; i++) {
            T memory t = c.weights[c.weightIds[i]];
            p.weights[i] = OneStepVerifier.TensorOpening({
                id: uint32(c.weightIds[i]),
                header: B.header(t),
                proof: B.prove(wl, c.weightIds[i]),
                chunks: B.openAll(t)
            });
        }
        p.output = B.header(c.output);
        uint256 size = c.output.dtype == 0 ? 1 : 4;
        p.outputChunks = B.openBytes(c.output.data, c.element * size, size);
    }

    function weightsRoot(Case memory c) internal pure returns (bytes32) {
        return Merkle.root(weightLeaves(c));
    }

    function run(Case memory c, OneStepVerifier.OneStepProof memory p) internal view returns (bool) {
        return verifier.verify(
            keccak256(c.graph),
            weightsRoot(c),
            c.opCount,
            c.step,
            B.stateRoot(preState(c), depthFor(c.opCount)),
            depthFor(c.opCount),
            B.commitment(c.output),
            c.element,
            p
        );
    }

    function run(Case memory c) internal view returns (bool) {
        return run(c, proofFor(c));
    }

    /// Runs `c` and reports the verifier's execution gas and its calldata's cost.
    function measure(string memory what, Case memory c, OneStepVerifier.OneStepProof memory p)
        internal
        returns (bool holds)
    {
        bytes memory input = abi.encodeCall(
            OneStepVerifier.verify,
            (
                keccak256(c.graph),
                weightsRoot(c),
                c.opCount,
                c.step,
                B.stateRoot(preState(c), depthFor(c.opCount)),
                depthFor(c.opCount),
                B.commitment(c.output),
                c.element,
                p
            )
        );
        uint256 calldataGas;
        for (uint256 i = 0; i < input.length; i++) {
            calldataGas += input[i] == 0 ? 4 : 16;
        }
        // The call writes its result to scratch space: copying it into the test's large
        // memory would bill the caller's memory growth to the verifier.
        address target = address(verifier);
        bool ok;
        uint256 used;
        assembly ("memory-safe") {
            let before := gas()
            ok := staticcall(gas(), target, add(input, 32), mload(input), 0, 32)
            used := sub(before, gas())
            holds := mload(0)
        }
        assertTrue(ok, "verify reverted");
        emit GasReport(what, used, calldataGas);
    }

    // ------------------------------------------------------------ small builders

    function ints(int256 a) internal pure returns (int256[] memory v) {
        v = new int256[](1);
        v[0] = a;
    }

    function ints(int256 a, int256 b) internal pure returns (int256[] memory v) {
        v = new int256[](2);
        (v[0], v[1]) = (a, b);
    }

    function ids(uint256 a) internal pure returns (uint256[] memory v) {
        v = new uint256[](1);
        v[0] = a;
    }

    function ids(uint256 a, uint256 b) internal pure returns (uint256[] memory v) {
        v = new uint256[](2);
        (v[0], v[1]) = (a, b);
    }

    function none() internal pure returns (uint256[] memory) {
        return new uint256[](0);
    }

    function one(T memory t) internal pure returns (T[] memory ts) {
        ts = new T[](1);
        ts[0] = t;
    }

    function two(T memory a, T memory b) internal pure returns (T[] memory ts) {
        ts = new T[](2);
        (ts[0], ts[1]) = (a, b);
    }

    function nodes(bytes memory a) internal pure returns (bytes[] memory ns) {
        ns = new bytes[](1);
        ns[0] = a;
    }

    function nodes(bytes memory a, bytes memory b) internal pure returns (bytes[] memory ns) {
        ns = new bytes[](2);
        (ns[0], ns[1]) = (a, b);
    }

    /// A deterministic int8 stream in [-127, 127].
    function noise(uint256 seed, uint256 n) internal pure returns (int256[] memory v) {
        v = new int256[](n);
        for (uint256 i = 0; i < n; i++) {
            v[i] = int256(uint256(keccak256(abi.encode(seed, i))) % 255) - 127;
        }
    }

    function single(bytes memory node, uint256 opCount, T memory x, T[] memory ws, uint256[] memory wids)
        internal
        pure
        returns (Case memory c)
    {
        c.graph = B.graph(x.shape, nodes(node));
        c.opCount = opCount;
        c.values = one(x);
        c.inputIds = ids(0);
        c.weights = ws;
        c.weightIds = wids;
    }

    /// `c` with output `out` and element `j`: does the claim hold?
    function claim(Case memory c, T memory out, uint256 j) internal view returns (bool) {
        c.output = out;
        c.element = j;
        return run(c);
    }
}

contract OneStepVerifierTest is StepFixture {
    // ------------------------------------------------------------ MatMul

    function matmulCase() internal pure returns (Case memory c) {
        T memory x = B.tensor(0, B.shape2(1, 3), _v3(127, -127, 3));
        int256[] memory w = new int256[](6);
        (w[0], w[1], w[2], w[3], w[4], w[5]) = (1, 1, 2, 5, -3, 7);
        T memory wt = B.tensor(0, B.shape2(2, 3), w);
        T memory b = B.tensor(1, B.shape1(2), ints(10, -100));
        c = single(Nodes.matmul(0, 0, true, 1), 1, x, two(wt, b), ids(0, 1));
    }

    function _v3(int256 a, int256 b, int256 c) internal pure returns (int256[] memory v) {
        v = new int256[](3);
        (v[0], v[1], v[2]) = (a, b, c);
    }

    /// ops.md's example: [127, -127, 3]·[1, 1, 2] + 10 = 16; the second row gives 937.
    function test_matmul_recomputes_dot_plus_bias() public view {
        Case memory c = matmulCase();
        T memory good = B.tensor(1, B.shape2(1, 2), ints(16, 937));
        assertTrue(claim(c, good, 0), "element 0 holds");
        assertTrue(claim(c, good, 1), "element 1 holds");
        T memory bad = B.tensor(1, B.shape2(1, 2), ints(16, 936));
        assertTrue(claim(c, bad, 0), "a right element of a wrong value still holds");
        assertTrue(!claim(c, bad, 1), "the wrong element fails");
        T memory wrongType = B.tensor(1, B.shape1(2), ints(16, 937));
        assertTrue(!claim(c, wrongType, 0), "a wrong shape fails");
        T memory wrongDType = B.tensor(0, B.shape2(1, 2), ints(16, 93));
        assertTrue(!claim(c, wrongDType, 0), "a wrong dtype fails");
    }

    /// The word-at-a-time dot equals a plain loop, across chunk boundaries and tails.
    function testFuzz_dot_matches_a_plain_loop(uint256 seed, uint16 kRaw, uint8 rowRaw) public view {
        uint256 k = bound(kRaw, 1, 200);
        uint256 rows = 3;
        uint256 row = bound(rowRaw, 0, rows - 1);
        int256[] memory xs = noise(seed, k);
        int256[] memory ws = noise(seed ^ 1, rows * k);
        if (seed % 4 == 0) {
            for (uint256 i = 0; i < k; i++) {
                xs[i] = seed % 8 == 0 ? int256(127) : int256(-127);
            }
        }
        T memory x = B.tensor(0, B.shape2(1, B.u32(k)), xs);
        T memory w = B.tensor(0, B.shape2(3, B.u32(k)), ws);
        Case memory c = single(Nodes.matmul(0, 0, false, 0), 1, x, one(w), ids(0));
        int256[] memory out = new int256[](rows);
        for (uint256 r = 0; r < rows; r++) {
            for (uint256 i = 0; i < k; i++) {
                out[r] += xs[i] * ws[r * k + i];
            }
        }
        T memory good = B.tensor(1, B.shape2(1, 3), out);
        assertTrue(claim(c, good, row), "recomputed");
        out[row] += 1;
        assertTrue(!claim(c, B.tensor(1, B.shape2(1, 3), out), row), "off by one fails");
    }

    /// Gas of a MatMul step with dot length `k` (the x row and one weight row opened).
    function matmulGas(uint256 k) internal returns (bool) {
        int256[] memory xs = noise(k, k);
        int256[] memory ws = noise(k + 1, 4 * k);
        int256[] memory bs = new int256[](4);
        T memory x = B.tensor(0, B.shape2(1, B.u32(k)), xs);
        T memory w = B.tensor(0, B.shape2(4, B.u32(k)), ws);
        T memory b = B.tensor(1, B.shape1(4), bs);
        Case memory c = single(Nodes.matmul(0, 0, true, 1), 1, x, two(w, b), ids(0, 1));
        int256[] memory out = new int256[](4);
        for (uint256 r = 0; r < 4; r++) {
            for (uint256 i = 0; i < k; i++) {
                out[r] += xs[i] * ws[r * k + i];
            }
        }
        c.output = B.tensor(1, B.shape2(1, 4), out);
        c.element = 2;
        OneStepVerifier.OneStepProof memory p = proofFor(c);
        p.weights[0].chunks = B.openBytes(w.data, 2 * k, k);
        return measure(string.concat("matmul k=", vm.toString(k)), c, p);
    }

    function test_gas_matmul_64() public {
        assertTrue(matmulGas(64), "holds");
    }

    function test_gas_matmul_256() public {
        assertTrue(matmulGas(256), "holds");
    }

    function test_gas_matmul_1024() public {
        assertTrue(matmulGas(1024), "holds");
    }

    function test_gas_matmul_4096() public {
        assertTrue(matmulGas(4096), "holds");
    }

    // ------------------------------------------------------------ Conv2d

    /// conv_element with a 3x3 kernel, stride 1, padding 1; `pos` = (o, oy, ox).
    function convRef(int256[] memory x, int256[] memory w, int256 bias, uint256[3] memory chw, uint256[3] memory pos)
        internal
        pure
        returns (int256 sum)
    {
        sum = bias;
        for (uint256 c = 0; c < chw[0]; c++) {
            for (uint256 ky = 0; ky < 3; ky++) {
                for (uint256 kx = 0; kx < 3; kx++) {
                    if (pos[1] + ky < 1 || pos[2] + kx < 1) continue;
                    uint256 y = pos[1] + ky - 1;
                    uint256 xx = pos[2] + kx - 1;
                    if (y >= chw[1] || xx >= chw[2]) continue;
                    sum += x[(c * chw[1] + y) * chw[2] + xx] * w[((pos[0] * chw[0] + c) * 3 + ky) * 3 + kx];
                }
            }
        }
    }

    function convCase(uint32 channels, uint32 size, uint32 outs)
        internal
        pure
        returns (Case memory c, int256[] memory xs, int256[] memory ws)
    {
        xs = noise(channels, uint256(channels) * size * size);
        ws = noise(channels + 7, uint256(outs) * channels * 9);
        T memory x = B.tensor(0, B.shape3(channels, size, size), xs);
        T memory w = B.tensor(0, B.shape4(outs, channels, 3, 3), ws);
        int256[] memory bs = new int256[](outs);
        for (uint256 i = 0; i < outs; i++) {
            bs[i] = B.int_(i) * 1000 - 3;
        }
        T memory b = B.tensor(1, B.shape1(outs), bs);
        c = single(Nodes.conv(0, 0, 1, [uint32(1), 1], [uint32(1), 1, 1, 1]), 1, x, two(w, b), ids(0, 1));
    }

    /// 3x3, stride 1, zero padding 1: corners, edges and the centre against a plain loop.
    function test_conv2d_recomputes_windows_with_padding() public view {
        (Case memory c, int256[] memory xs, int256[] memory ws) = convCase(3, 4, 2);
        int256[] memory out = new int256[](2 * 16);
        for (uint256 o = 0; o < 2; o++) {
            for (uint256 p = 0; p < 16; p++) {
                out[o * 16 + p] = convRef(xs, ws, B.int_(o) * 1000 - 3, [uint256(3), 4, 4], [o, p / 4, p % 4]);
            }
        }
        T memory good = B.tensor(1, B.shape3(2, 4, 4), out);
        uint256[5] memory probes = [uint256(0), 5, 15, 16 + 3, 31];
        for (uint256 i = 0; i < probes.length; i++) {
            assertTrue(claim(c, good, probes[i]), "element holds");
        }
        out[5] -= 1;
        assertTrue(!claim(c, B.tensor(1, B.shape3(2, 4, 4), out), 5), "wrong element fails");
        assertTrue(!claim(c, B.tensor(1, B.shape3(2, 4, 3), noise(1, 24)), 0), "wrong shape fails");
    }

    /// Gas of one 3x3x64 window (x rows and the whole filter opened).
    function test_gas_conv_3x3x64() public {
        (Case memory c, int256[] memory xs, int256[] memory ws) = convCase(64, 6, 2);
        int256[] memory out = new int256[](2 * 36);
        uint256 j = 36 + 2 * 6 + 3;
        out[j] = convRef(xs, ws, 997, [uint256(64), 6, 6], [uint256(1), 2, 3]);
        c.output = B.tensor(1, B.shape3(2, 6, 6), out);
        c.element = j;
        OneStepVerifier.OneStepProof memory p = proofFor(c);
        p.weights[0].chunks = B.openBytes(c.weights[0].data, 64 * 9, 64 * 9);
        assertTrue(measure("conv 3x3x64", c, p), "holds");
    }

    // ------------------------------------------------------------ Requantize, Relu, Add

    /// Per-channel (M, s) along axis 0; ops.md's half rounding and saturation.
    function test_requantize_per_channel() public view {
        int32[] memory m = new int32[](2);
        uint8[] memory s = new uint8[](2);
        (m[0], s[0], m[1], s[1]) = (int32(1 << 30), 31, int32(1 << 30), 30);
        int256[] memory xs = new int256[](4);
        (xs[0], xs[1], xs[2], xs[3]) = (3, -3, 1000, -1);
        T memory x = B.tensor(1, B.shape2(2, 2), xs);
        Case memory c = single(Nodes.requant(0, 0, m, s), 1, x, new T[](0), none());
        int256[] memory ys = new int256[](4);
        (ys[0], ys[1], ys[2], ys[3]) = (2, -1, 127, -1);
        T memory y = B.tensor(0, B.shape2(2, 2), ys);
        for (uint256 j = 0; j < 4; j++) {
            assertTrue(claim(c, y, j), "element holds");
        }
        ys[1] = -2;
        assertTrue(!claim(c, B.tensor(0, B.shape2(2, 2), ys), 1), "round half up, not away from zero");
        assertTrue(!claim(c, B.tensor(1, B.shape2(2, 2), ys), 0), "output must be i8");
    }

    function test_relu_on_i8_and_i32() public view {
        Case memory c = single(Nodes.unary(4, 0), 1, B.tensor(1, B.shape1(2), ints(-5, 70000)), new T[](0), none());
        assertTrue(claim(c, B.tensor(1, B.shape1(2), ints(0, 70000)), 0), "i32 negative");
        assertTrue(claim(c, B.tensor(1, B.shape1(2), ints(0, 70000)), 1), "i32 positive");
        c = single(Nodes.unary(4, 0), 1, B.tensor(0, B.shape1(2), ints(-5, 7)), new T[](0), none());
        assertTrue(claim(c, B.tensor(0, B.shape1(2), ints(0, 7)), 0), "i8");
        assertTrue(!claim(c, B.tensor(0, B.shape1(2), ints(-5, 7)), 0), "negative passes through: fails");
    }

    /// ops.md: a = 3, b = -2, Ma = 2^30, Mb = 2^29, s = 31 gives 1.
    function test_add_with_two_scales() public view {
        Case memory c;
        c.graph = B.graph(B.shape1(2), nodes(Nodes.unary(4, 0), Nodes.add(0, 1, 1 << 30, 1 << 29, 31)));
        c.opCount = 2;
        c.step = 1;
        c.values = two(B.tensor(0, B.shape1(2), ints(3, 127)), B.tensor(0, B.shape1(2), ints(-2, 127)));
        c.inputIds = ids(0, 1);
        c.weightIds = none();
        assertTrue(claim(c, B.tensor(0, B.shape1(2), ints(1, 95)), 0), "1.5 - 0.5");
        assertTrue(claim(c, B.tensor(0, B.shape1(2), ints(1, 95)), 1), "63.5 + 31.75 = 95.25");
        assertTrue(!claim(c, B.tensor(0, B.shape1(2), ints(1, 96)), 1), "wrong");
    }

    // ------------------------------------------------------------ pooling

    /// Kernel 3, stride 2, padding 1 over `[C, h, w]`; `g` = (h, w, c, oy, ox).
    function poolRef(int256[] memory x, uint256[5] memory g, uint8 code, bool cip) internal pure returns (int256) {
        int256[3] memory acc = [type(int256).min, int256(0), int256(0)]; // best, sum, n
        for (uint256 ky = 0; ky < 3; ky++) {
            for (uint256 kx = 0; kx < 3; kx++) {
                if (g[3] * 2 + ky < 1 || g[4] * 2 + kx < 1) continue;
                uint256 y = g[3] * 2 + ky - 1;
                uint256 xx = g[4] * 2 + kx - 1;
                if (y >= g[0] || xx >= g[1]) continue;
                int256 v = x[(g[2] * g[0] + y) * g[1] + xx];
                if (v > acc[0]) acc[0] = v;
                acc[1] += v;
                acc[2]++;
            }
        }
        if (code == 6) return acc[0];
        int256 d = cip ? int256(9) : acc[2];
        int256 a = 2 * acc[1] + d;
        int256 q = a / (2 * d);
        if (a % (2 * d) != 0 && a < 0) q--;
        return q;
    }

    function poolCheck(uint8 code, bool cip) internal view {
        int256[] memory xs = noise(code, 2 * 5 * 5);
        xs[0] = -127;
        bytes memory node = Nodes.pool(code, 0, [uint32(3), 3], [uint32(2), 2], [uint32(1), 1, 1, 1]);
        if (code == 7) node = abi.encodePacked(node, cip ? uint8(1) : uint8(0));
        Case memory c = single(node, 1, B.tensor(0, B.shape3(2, 5, 5), xs), new T[](0), none());
        int256[] memory out = new int256[](2 * 9);
        for (uint256 j = 0; j < 18; j++) {
            out[j] = poolRef(xs, [uint256(5), 5, j / 9, (j % 9) / 3, j % 3], code, cip);
        }
        T memory good = B.tensor(0, B.shape3(2, 3, 3), out);
        for (uint256 j = 0; j < 18; j += 4) {
            assertTrue(claim(c, good, j), "window holds");
        }
        out[4] += out[4] > 0 ? int256(-1) : int256(1);
        assertTrue(!claim(c, B.tensor(0, B.shape3(2, 3, 3), out), 4), "wrong window fails");
    }

    function test_max_pool_skips_padding() public view {
        poolCheck(6, false);
    }

    function test_avg_pool_counts_in_bounds_elements() public view {
        poolCheck(7, false);
    }

    function test_avg_pool_count_include_pad() public view {
        poolCheck(7, true);
    }

    /// ops.md's rounding examples through GlobalAvgPool: [-1, -2, 0, 0] → -1, [1, 1, 0, 0] → 1,
    /// [-1, -1, 0, 0] → 0.
    function test_global_avg_pool_rounds_half_up() public view {
        int256[] memory xs = new int256[](12);
        (xs[0], xs[1]) = (-1, -2);
        (xs[4], xs[5]) = (1, 1);
        (xs[8], xs[9]) = (-1, -1);
        Case memory c = single(Nodes.unary(8, 0), 1, B.tensor(0, B.shape3(3, 2, 2), xs), new T[](0), none());
        T memory y = B.tensor(0, B.shape3(3, 1, 1), _v3(-1, 1, 0));
        for (uint256 j = 0; j < 3; j++) {
            assertTrue(claim(c, y, j), "plane holds");
        }
        assertTrue(!claim(c, B.tensor(0, B.shape3(3, 1, 1), _v3(0, 1, 0)), 0), "-0.75 is -1");
    }

    // ------------------------------------------------------------ Reshape, ArgMax, LabelLookup

    function test_reshape_keeps_flat_order() public view {
        int256[] memory xs = noise(9, 6);
        Case memory c = single(Nodes.reshape(0, B.shape2(3, 2)), 1, B.tensor(0, B.shape2(2, 3), xs), new T[](0), none());
        assertTrue(claim(c, B.tensor(0, B.shape2(3, 2), xs), 4), "same element");
        assertTrue(!claim(c, B.tensor(0, B.shape2(2, 3), xs), 4), "shape from the node");
    }

    /// ops.md: [5, 127, -3, 127, 127, 0] → 1 (lowest index on ties), per row of the last axis.
    function test_argmax_takes_the_lowest_index() public view {
        int256[] memory xs = new int256[](12);
        (xs[0], xs[1], xs[2], xs[3], xs[4], xs[5]) = (5, 127, -3, 127, 127, 0);
        (xs[6], xs[7], xs[8], xs[9], xs[10], xs[11]) = (-9, -9, -9, -9, -9, -8);
        Case memory c = single(Nodes.unary(10, 0), 1, B.tensor(0, B.shape2(2, 6), xs), new T[](0), none());
        T memory y = B.tensor(1, B.shape2(2, 1), ints(1, 5));
        assertTrue(claim(c, y, 0), "row 0");
        assertTrue(claim(c, y, 1), "row 1");
        assertTrue(!claim(c, B.tensor(1, B.shape2(2, 1), ints(3, 5)), 0), "a later tie fails");
        int256[] memory wide = new int256[](3);
        (wide[0], wide[1], wide[2]) = (-70000, 70000, 69999);
        c = single(Nodes.unary(10, 0), 1, B.tensor(1, B.shape1(3), wide), new T[](0), none());
        assertTrue(claim(c, B.tensor(1, B.shape1(1), ints(1)), 0), "i32 input");
    }

    function labelCase() internal pure returns (Case memory c) {
        c.graph = B.graph(B.shape1(3), nodes(Nodes.unary(10, 0), Nodes.labels(1, 0)));
        c.opCount = 2;
        c.step = 1;
        c.values = two(B.tensor(0, B.shape1(3), _v3(1, 2, 9)), B.tensor(1, B.shape1(1), ints(2)));
        c.inputIds = ids(1);
        c.weights = one(B.tensor(1, B.shape1(3), _v3(10, 20, -30)));
        c.weightIds = ids(0);
    }

    function test_label_lookup_reads_the_table() public view {
        Case memory c = labelCase();
        assertTrue(claim(c, B.tensor(1, B.shape1(1), ints(-30)), 0), "labels[2]");
        assertTrue(!claim(c, B.tensor(1, B.shape1(1), ints(20)), 0), "labels[1] fails");
    }

    // ------------------------------------------------------------ malformed proofs revert

    function test_malformed_proofs_revert() public {
        Case memory c = matmulCase();
        c.output = B.tensor(1, B.shape2(1, 2), ints(16, 937));
        OneStepVerifier.OneStepProof memory p;
        bytes32 d0 = B.dataRoot(c.values[0].data);

        p = proofFor(c);
        p.graph = abi.encodePacked(p.graph, uint8(0));
        vm.expectRevert(
            abi.encodeWithSelector(OneStepVerifier.GraphHashMismatch.selector, keccak256(c.graph), keccak256(p.graph))
        );
        this.callRun(c, p);

        p = proofFor(c);
        p.inputs[0].id = 1;
        vm.expectRevert(abi.encodeWithSelector(OneStepVerifier.WrongId.selector, 1, 0));
        this.callRun(c, p);

        p = proofFor(c);
        p.inputs[0].proof[0] = bytes32(uint256(1));
        vm.expectRevert(abi.encodeWithSelector(OneStepVerifier.StateProofMismatch.selector, 0));
        this.callRun(c, p);

        p = proofFor(c);
        p.inputs[0].proof = new bytes32[](0);
        vm.expectRevert(abi.encodeWithSelector(OneStepVerifier.StateProofLength.selector, 0, 1));
        this.callRun(c, p);

        p = proofFor(c);
        p.weights[1].proof[0] = bytes32(uint256(1));
        vm.expectRevert(abi.encodeWithSelector(OneStepVerifier.WeightProofMismatch.selector, 1));
        this.callRun(c, p);

        p = proofFor(c);
        p.inputs[0].chunks.chunks[0] = bytes32(uint256(1));
        bytes32 forged = keccak256(abi.encodePacked(bytes1(0x00), bytes32(uint256(1))));
        vm.expectRevert(abi.encodeWithSelector(OneStepVerifier.DataRootMismatch.selector, d0, forged));
        this.callRun(c, p);

        p = proofFor(c);
        p.weights = new OneStepVerifier.TensorOpening[](1);
        vm.expectRevert(abi.encodeWithSelector(OneStepVerifier.OpeningCount.selector, 1, 2));
        this.callRun(c, p);
    }

    function test_multiproof_rules() public {
        // A 5-chunk tensor: depth 3, the padding shows up as zero siblings.
        T memory x = B.tensor(0, B.shape2(1, 150), noise(3, 150));
        int256[] memory ws = noise(4, 150);
        Case memory c = single(Nodes.matmul(0, 0, false, 0), 1, x, one(B.tensor(0, B.shape2(1, 150), ws)), ids(0));
        int256 dot;
        for (uint256 i = 0; i < 150; i++) {
            dot += noise(3, 150)[i] * ws[i];
        }
        c.output = B.tensor(1, B.shape2(1, 1), ints(dot));
        OneStepVerifier.OneStepProof memory p = proofFor(c);
        assertTrue(this.callRun(c, p), "full openings hold");

        uint256[] memory idx = new uint256[](2);
        (idx[0], idx[1]) = (0, 4);
        p.inputs[0].chunks = B.open(x.data, idx);
        vm.expectRevert(abi.encodeWithSelector(OneStepVerifier.MissingChunk.selector, 0));
        this.callRun(c, p);

        OneStepVerifier.ChunkOpening memory o = B.openAll(x);
        bytes32[] memory extra = new bytes32[](o.siblings.length + 1);
        for (uint256 i = 0; i < o.siblings.length; i++) {
            extra[i] = o.siblings[i];
        }
        o.siblings = extra;
        p.inputs[0].chunks = o;
        vm.expectRevert(abi.encodeWithSelector(OneStepVerifier.UnusedSiblings.selector, extra.length - 1, extra.length));
        this.callRun(c, p);

        o = B.openAll(x);
        (o.indices[0], o.indices[1]) = (o.indices[1], o.indices[0]);
        p.inputs[0].chunks = o;
        vm.expectRevert(abi.encodeWithSelector(OneStepVerifier.ChunkIndicesNotIncreasing.selector, 1));
        this.callRun(c, p);

        o = B.openAll(x);
        o.indices[4] = 8;
        p.inputs[0].chunks = o;
        vm.expectRevert(abi.encodeWithSelector(OneStepVerifier.ChunkIndexOutOfRange.selector, 8, 3));
        this.callRun(c, p);

        p.inputs[0].chunks.indices = new uint256[](0);
        p.inputs[0].chunks.chunks = new bytes32[](0);
        vm.expectRevert(OneStepVerifier.EmptyOpening.selector);
        this.callRun(c, p);
    }

    function test_graph_decoding_rules() public {
        Case memory c = matmulCase();
        c.output = B.tensor(1, B.shape2(1, 2), ints(16, 937));
        OneStepVerifier.OneStepProof memory p = proofFor(c);
        c.opCount = 2;
        // opCount 2 changes the state depth too; the count is checked first.
        vm.expectRevert(abi.encodeWithSelector(OneStepVerifier.NodeCountMismatch.selector, 1, 2));
        this.callRun(c, p);
        c.opCount = 1;
        c.step = 1;
        vm.expectRevert(abi.encodeWithSelector(OneStepVerifier.StepOutOfRange.selector, 1, 1));
        this.callRun(c, p);

        // A LabelLookup must read an ArgMax output.
        c = labelCase();
        c.graph = B.graph(B.shape1(3), nodes(Nodes.unary(4, 0), Nodes.labels(1, 0)));
        c.output = B.tensor(1, B.shape1(1), ints(-30));
        vm.expectRevert(abi.encodeWithSelector(OneStepVerifier.InvalidNode.selector, 1, 6));
        this.callRun(c, proofFor(c));
    }

    /// Every case of specs/vectors/one_step.json (written by the Rust reference): its
    /// ABI-encoded `verify` call holds, fails or reverts exactly as `expect` says.
    function test_one_step_vectors() public view {
        string memory json = vm.readFile("../specs/vectors/one_step.json");
        uint256[3] memory seen; // holds, fails, reverts
        uint256 c;
        for (;; c++) {
            string memory entry = string.concat("[", vm.toString(c), "]");
            if (!vm.keyExistsJson(json, entry)) break;
            bytes memory input = vm.parseJsonBytes(json, string.concat(entry, ".calldata"));
            bytes32 expect = keccak256(bytes(vm.parseJsonString(json, string.concat(entry, ".expect"))));
            string memory name = vm.parseJsonString(json, string.concat(entry, ".name"));
            (bool ok, bytes memory ret) = address(verifier).staticcall(input);
            if (expect == keccak256("reverts")) {
                assertTrue(!ok, string.concat("reverts: ", name));
                seen[2]++;
            } else {
                assertTrue(ok, string.concat("does not revert: ", name));
                bool holds = abi.decode(ret, (bool));
                bool want = expect == keccak256("holds");
                assertTrue(want || expect == keccak256("fails"), string.concat("known expectation: ", name));
                assertTrue(holds == want, string.concat(want ? "holds: " : "fails: ", name));
                seen[want ? 0 : 1]++;
            }
        }
        assertTrue(c > 0 && seen[0] > 0 && seen[1] > 0 && seen[2] > 0, "every kind of case was read");
    }

    function callRun(Case memory c, OneStepVerifier.OneStepProof memory p) external view returns (bool) {
        return run(c, p);
    }
}
