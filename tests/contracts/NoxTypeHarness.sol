// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {INoxCompute} from "./INoxCompute.sol";

/// @title NoxTypeHarness — NoxCompute's type rules, many combinations per eth_call
/// @notice For tests/contracts/test_type_conformance.py, which compares what NoxCompute accepts with
///         what the engine accepts (`nox-eval --check-types`). One call of `run` first obtains a
///         handle of every type code 0..255 the legitimate ways (below), then tries each case in a
///         sub-call that always reverts: the case's events, transient grants and per-transaction
///         event count are rolled back, so one eth_call can try thousands of cases.
///
///         Handles, all usable by this contract in the call:
///          - bool, address, uint8..int256, bytes1..bytes32: plaintextToEncrypted;
///          - uint512..int2048 (100..105): compute(castId, [the uint256 handle], [type]), the cast
///            extension operator — the one way a wide handle is made on-chain without the Gateway;
///          - bytes, string (2, 3): validateInputProof of Gateway-signed inputs (the test signs the
///            proofs with the Gateway key; plaintextToEncrypted takes only types that fit a word);
///          - 106..255: a well-formed handle of this chain with that type byte. No handle of a
///            reserved type can ever be valid or allowed: NoxCompute refuses it first (UnknownType).
contract NoxTypeHarness {
    INoxCompute public immutable nox;

    /// @dev revert data of a case's sub-call: the outcome, not an error
    error CaseOutcome(bool accepted, bytes data);

    constructor(INoxCompute nox_) {
        nox = nox_;
    }

    /// @notice Tries every case and reports each outcome.
    /// @param castId the cast operator's id (76), registered and enabled
    /// @param dynamic handles of type bytes (2) and string (3) from the Gateway, owned by `owner`
    /// @param proofs their input proofs, issued to `owner` for this contract
    /// @param cases concatenated cases, each: selector (4 bytes) of the NoxCompute function; for
    ///        compute (selector of compute(uint16,bytes32[],uint8[])): operator id (2 bytes, big
    ///        endian), number of inputs (1), number of outputs (1), the input type codes, the output
    ///        type codes; for a §5 operation: number of inputs (1), the input type codes
    /// @return results concatenated, one per case: 1 byte (1 accepted, 0 refused), 4 bytes (the
    ///         error selector when refused, else 0), 1 byte n, then n bytes: the type byte of each
    ///         returned handle (n = 0 when refused)
    function run(uint16 castId, bytes32[2] calldata dynamic, address owner, bytes[2] calldata proofs, bytes calldata cases)
        external
        returns (bytes memory results)
    {
        bytes32[256] memory h = _handles(castId, dynamic, owner, proofs);
        // a case takes at least 5 bytes and gives at most 6 + 8: the results fit 3 bytes per case byte
        results = new bytes(cases.length * 3);
        uint256 used = 0;
        uint256 at = 0;
        while (at < cases.length) {
            uint256 freeMemory;
            assembly ("memory-safe") {
                freeMemory := mload(0x40)
            }
            (bytes memory data, uint256 next, bool isCompute) = _caseCall(h, cases, at);
            at = next;
            bytes memory one = _try(data, isCompute);
            for (uint256 i = 0; i < one.length; i++) {
                results[used + i] = one[i];
            }
            used += one.length;
            // nothing allocated for this case is used again: give its memory back (memory
            // expansion costs grow quadratically; thousands of cases would pay for it)
            assembly ("memory-safe") {
                mstore(0x40, freeMemory)
            }
        }
        assembly ("memory-safe") {
            mstore(results, used)
        }
    }

    /// @dev The NoxCompute calldata of the case at `at` in `cases` (see run), where the next case starts,
    ///      and whether it is a compute call.
    function _caseCall(bytes32[256] memory h, bytes calldata cases, uint256 at)
        private
        pure
        returns (bytes memory data, uint256 next, bool isCompute)
    {
        bytes4 selector = bytes4(cases[at:at + 4]);
        isCompute = selector == INoxCompute.compute.selector;
        if (isCompute) {
            uint16 op = uint16(bytes2(cases[at + 4:at + 6]));
            uint256 nIn = uint8(cases[at + 6]);
            uint256 nOut = uint8(cases[at + 7]);
            bytes32[] memory ins = new bytes32[](nIn);
            uint8[] memory outs = new uint8[](nOut);
            for (uint256 i = 0; i < nIn; i++) {
                ins[i] = h[uint8(cases[at + 8 + i])];
            }
            for (uint256 i = 0; i < nOut; i++) {
                outs[i] = uint8(cases[at + 8 + nIn + i]);
            }
            return (abi.encodeCall(INoxCompute.compute, (op, ins, outs)), at + 8 + nIn + nOut, true);
        }
        uint256 n = uint8(cases[at + 4]);
        data = new bytes(4 + 32 * n);
        for (uint256 i = 0; i < 4; i++) {
            data[i] = selector[i];
        }
        for (uint256 i = 0; i < n; i++) {
            bytes32 handle = h[uint8(cases[at + 5 + i])];
            assembly ("memory-safe") {
                mstore(add(add(data, 36), mul(32, i)), handle)
            }
        }
        next = at + 5 + n;
    }

    /// @notice One case, always reverting with CaseOutcome (only this contract may call it).
    function probe(bytes calldata data) external {
        require(msg.sender == address(this), "probe is internal");
        (bool ok, bytes memory ret) = address(nox).call(data);
        revert CaseOutcome(ok, ret);
    }

    /// @dev A case's result bytes (see run).
    function _try(bytes memory data, bool isCompute) private returns (bytes memory) {
        try this.probe(data) {
            revert("probe returned");
        } catch (bytes memory reason) {
            require(reason.length >= 4 && bytes4(reason) == CaseOutcome.selector, "probe failed");
            bytes memory tail;
            assembly ("memory-safe") {
                // reason without its selector (checked above): a bytes whose length word overlays it
                tail := add(reason, 4)
                mstore(tail, sub(mload(reason), 4))
            }
            (bool accepted, bytes memory ret) = abi.decode(tail, (bool, bytes));
            if (!accepted) {
                require(ret.length >= 4, "a refusal without an error selector");
                return abi.encodePacked(uint8(0), bytes4(ret), uint8(0));
            }
            bytes32[] memory outs;
            if (isCompute) {
                outs = abi.decode(ret, (bytes32[]));
            } else {
                outs = new bytes32[](ret.length / 32);
                for (uint256 i = 0; i < outs.length; i++) {
                    outs[i] = _word(ret, 32 * i);
                }
            }
            bytes memory types = new bytes(outs.length);
            for (uint256 i = 0; i < outs.length; i++) {
                types[i] = bytes1(uint8(uint256(outs[i]) >> 8));
            }
            return abi.encodePacked(uint8(1), bytes4(0), uint8(outs.length), types);
        }
    }

    function _handles(uint16 castId, bytes32[2] calldata dynamic, address owner, bytes[2] calldata proofs)
        private
        returns (bytes32[256] memory h)
    {
        for (uint256 t = 0; t < 100; t++) {
            if (t == 2 || t == 3) continue;
            h[t] = nox.plaintextToEncrypted(bytes32(uint256(1)), uint8(t));
        }
        bytes32[] memory word = new bytes32[](1);
        word[0] = h[35]; // uint256
        for (uint256 t = 100; t <= 105; t++) {
            uint8[] memory outType = new uint8[](1);
            outType[0] = uint8(t);
            h[t] = nox.compute(castId, word, outType)[0];
        }
        h[2] = nox.validateInputProof(dynamic[0], owner, proofs[0], 2);
        h[3] = nox.validateInputProof(dynamic[1], owner, proofs[1], 3);
        for (uint256 t = 106; t < 256; t++) {
            h[t] = bytes32(
                (uint256(keccak256(abi.encode(t))) << 48) | (uint256(uint32(block.chainid)) << 16) | (t << 8)
            );
        }
    }

    function _word(bytes memory data, uint256 offset) private pure returns (bytes32 w) {
        assembly ("memory-safe") {
            w := mload(add(add(data, 32), offset))
        }
    }
}
