// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {INoxCompute} from "./INoxCompute.sol";
import {Nox, euint64, externalEuint64} from "./Nox.sol";

/// @title NoxIsolationApp — one transaction mixing ordinary operations with a plugin operator the
///        Runner cannot run (tests/security/isolation_test.py)
/// @notice `run` computes s = a + b and d = s - b (ordinary operations), m = operator `opId` (the
///         minmax plugin's min, id 64, through the generic entry point) of a and b, and t = m + b,
///         which consumes m. The test registers `opId` on-chain while the Runner's operators.yaml
///         lacks it: s and d must be stored, m and t must end `failed` — one bad call in a
///         transaction must not fail the other values it moves.
contract NoxIsolationApp {
    using Nox for INoxCompute;

    INoxCompute public immutable nox;

    /// @notice The four result handles, in the order they were computed.
    event Computed(address indexed caller, bytes32 sum, bytes32 viaMissing, bytes32 derived, bytes32 diff);

    constructor(INoxCompute nox_) {
        nox = nox_;
    }

    function run(uint16 opId, externalEuint64 a, bytes calldata proofA, externalEuint64 b, bytes calldata proofB)
        external
    {
        euint64 x = nox.fromExternal(a, msg.sender, proofA);
        euint64 y = nox.fromExternal(b, msg.sender, proofB);
        _compute(opId, x, y);
    }

    function _compute(uint16 opId, euint64 x, euint64 y) private {
        euint64 sum = nox.add(x, y);
        bytes32 m = _generic(opId, x, y);
        bytes32 t = euint64.unwrap(nox.add(euint64.wrap(m), y));
        bytes32 d = euint64.unwrap(nox.sub(sum, y));
        bytes32 s = euint64.unwrap(sum);
        nox.addViewer(s, msg.sender);
        nox.addViewer(m, msg.sender);
        nox.addViewer(t, msg.sender);
        nox.addViewer(d, msg.sender);
        emit Computed(msg.sender, s, m, t, d);
    }

    /// @dev operator opId (2 inputs, 1 output) of x and y through the generic entry point, declared uint64.
    function _generic(uint16 opId, euint64 x, euint64 y) private returns (bytes32) {
        bytes32[] memory ins = new bytes32[](2);
        ins[0] = euint64.unwrap(x);
        ins[1] = euint64.unwrap(y);
        uint8[] memory types = new uint8[](1);
        types[0] = 11; // uint64 (spec §3)
        return nox.compute(opId, ins, types)[0];
    }
}
