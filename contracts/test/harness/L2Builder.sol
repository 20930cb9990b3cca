// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {StateStepVerifier} from "../../src/StateStepVerifier.sol";

/// One L2 block header's fields (specs/state.md §2).
struct Hdr {
    uint64 number;
    bytes32 parent;
    uint64 timestamp;
    bytes32 recordsRoot;
    bytes32 stateRoot;
    uint64 depositsConsumed;
    bytes32 withdrawalsRoot;
    uint32 recordCount;
    uint32 withdrawalCount;
    uint64 l1Origin;
}

/// An account of the L2 state.
struct Acct {
    address addr;
    uint128 balance;
    uint64 nonce;
}

/// Test-side L2 pieces written from the spec, independently of the contracts: block
/// headers, and the sparse state tree of specs/l2.md computed by plain recursion over a
/// handful of accounts (the verifier folds one path in assembly; this builds whole trees).
library L2Builder {
    function encode(Hdr memory h) internal pure returns (bytes memory) {
        return abi.encodePacked(
            abi.encodePacked(uint8(7), h.number, h.parent, h.timestamp, h.recordsRoot, h.stateRoot),
            abi.encodePacked(h.depositsConsumed, h.withdrawalsRoot, h.recordCount, h.withdrawalCount, h.l1Origin)
        );
    }

    function genesis() internal pure returns (bytes memory) {
        Hdr memory h;
        return encode(h);
    }

    function leaf(Acct memory a) internal pure returns (bytes32) {
        if (a.balance == 0 && a.nonce == 0) return bytes32(0);
        return keccak256(abi.encodePacked(uint8(8), a.addr, a.balance, a.nonce));
    }

    function parent(bytes32 l, bytes32 r) internal pure returns (bytes32) {
        if (l == 0 && r == 0) return 0;
        return keccak256(abi.encodePacked(uint8(1), l, r));
    }

    /// The root of the subtree under the first `len` bits of `key` (most significant first).
    function subtree(Acct[] memory accts, uint256 key, uint256 len) internal pure returns (bytes32) {
        uint256 count;
        uint256 only;
        for (uint256 i = 0; i < accts.length; i++) {
            if (leaf(accts[i]) == 0) continue;
            if (len == 0 || uint256(uint160(accts[i].addr)) >> (160 - len) == key >> (160 - len)) {
                count++;
                only = i;
            }
        }
        if (count == 0) return 0;
        if (count == 1) return up(leaf(accts[only]), uint160(accts[only].addr), 160, len);
        // Descend (without recursion) to where the accounts below part ways.
        uint256 k = uint160(accts[only].addr);
        uint256 split = len;
        while (sameBit(accts, k, split)) split++;
        uint256 bit = uint256(1) << (159 - split);
        bytes32 h = parent(subtree(accts, k & ~bit, split + 1), subtree(accts, k | bit, split + 1));
        return up(h, k, split, len);
    }

    /// Hashes the node under the first `from` bits of `key` up to the first `to` bits,
    /// with zero siblings.
    function up(bytes32 h, uint256 key, uint256 from, uint256 to) internal pure returns (bytes32) {
        for (uint256 l = 160 - from; l < 160 - to; l++) {
            h = (key >> l) & 1 == 1 ? parent(0, h) : parent(h, 0);
        }
        return h;
    }

    /// Whether every non-empty account under the first `len` bits of `key` has the same
    /// bit `len` (most significant first).
    function sameBit(Acct[] memory accts, uint256 key, uint256 len) internal pure returns (bool) {
        uint256 seen = 2;
        for (uint256 i = 0; i < accts.length; i++) {
            uint256 a = uint160(accts[i].addr);
            if (leaf(accts[i]) == 0 || (len != 0 && a >> (160 - len) != key >> (160 - len))) continue;
            uint256 b = (a >> (159 - len)) & 1;
            if (seen == 2) seen = b;
            else if (seen != b) return false;
        }
        return true;
    }

    function root(Acct[] memory accts) internal pure returns (bytes32) {
        return subtree(accts, 0, 0);
    }

    /// The opening of `who` (its value in `accts`, or zero) in the state `accts`.
    function opening(Acct[] memory accts, address who)
        internal
        pure
        returns (StateStepVerifier.AccountOpening memory o)
    {
        o.account = who;
        (o.balance, o.nonce) = valueOf(accts, who);
        bytes32[] memory all = new bytes32[](160);
        uint256 n;
        for (uint256 l = 0; l < 160; l++) {
            bytes32 s = subtree(accts, uint256(uint160(who)) ^ (uint256(1) << l), 160 - l);
            if (s != 0) {
                o.present |= uint256(1) << l;
                all[n++] = s;
            }
        }
        o.siblings = new bytes32[](n);
        for (uint256 i = 0; i < n; i++) {
            o.siblings[i] = all[i];
        }
    }

    function valueOf(Acct[] memory accts, address who) internal pure returns (uint128 balance, uint64 nonce) {
        for (uint256 i = 0; i < accts.length; i++) {
            if (accts[i].addr == who) return (accts[i].balance, accts[i].nonce);
        }
    }

    /// A copy of `accts` with `who` set to `(balance, nonce)` (added when absent).
    function with_(Acct[] memory accts, address who, uint128 balance, uint64 nonce)
        internal
        pure
        returns (Acct[] memory out)
    {
        bool found;
        for (uint256 i = 0; i < accts.length; i++) {
            found = found || accts[i].addr == who;
        }
        out = new Acct[](accts.length + (found ? 0 : 1));
        for (uint256 i = 0; i < accts.length; i++) {
            out[i] = Acct(accts[i].addr, accts[i].balance, accts[i].nonce);
            if (accts[i].addr == who) (out[i].balance, out[i].nonce) = (balance, nonce);
        }
        if (!found) out[accts.length] = Acct(who, balance, nonce);
    }

    // ------------------------------------------------------------ batch data

    /// Batch data version 3 (specs/batch.md): `3 ‖ count ‖ (header ‖ body_end)… ‖ bodies`.
    function batchData(bytes[] memory headers, bytes[] memory bodies) internal pure returns (bytes memory out) {
        require(headers.length == bodies.length, "one body per header");
        uint256 end = 5 + 173 * headers.length;
        // casting to 'uint32' is safe because tests build small batches
        // forge-lint: disable-next-line(unsafe-typecast)
        out = abi.encodePacked(uint8(3), uint32(headers.length));
        for (uint256 i = 0; i < headers.length; i++) {
            end += bodies[i].length;
            // forge-lint: disable-next-line(unsafe-typecast)
            out = abi.encodePacked(out, headers[i], uint32(end));
        }
        for (uint256 i = 0; i < bodies.length; i++) {
            out = abi.encodePacked(out, bodies[i]);
        }
    }

    /// Batch data of `headers` with empty bodies.
    function batchData(bytes[] memory headers) internal pure returns (bytes memory) {
        return batchData(headers, new bytes[](headers.length));
    }

    /// `count` header-only blocks from `first` (after `parent`), each having consumed
    /// `consumed` deposits; returns their encodings and the last one's hash.
    function emptyBlocks(uint64 first, bytes32 parentHash, uint64 count, uint64 consumed)
        internal
        pure
        returns (bytes[] memory headers, bytes32 last)
    {
        headers = new bytes[](count);
        last = parentHash;
        for (uint64 i = 0; i < count; i++) {
            Hdr memory h;
            h.number = first + i;
            h.parent = last;
            h.depositsConsumed = consumed;
            headers[i] = encode(h);
            last = keccak256(headers[i]);
        }
    }
}
