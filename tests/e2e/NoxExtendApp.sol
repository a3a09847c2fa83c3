// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {INoxCompute} from "./INoxCompute.sol";
import {Nox, euint64, externalEuint64} from "./Nox.sol";
import {NoxMinmax} from "./NoxMinmax.sol";
import {NoxTemplate} from "./NoxTemplate.sol";

/// @title NoxExtendApp — plugin operators called through generated bindings (tests/e2e/extend_test.py)
/// @notice NoxMinmax and NoxTemplate are written by `nox-plugin-check --solidity` from the minmax
///         plugin and from the template plugin of plugins/template: the app calls `nox.min`,
///         `nox.average` and `nox.clamp` on euint64 as if they were built in. `wrongType` asks for
///         `min` with a uint8 result on uint64 inputs: NoxCompute knows the operator's registered
///         signatures, so the call reverts NoMatchingImplementation — the Runner never sees it.
contract NoxExtendApp {
    using Nox for INoxCompute;
    using NoxMinmax for INoxCompute;
    using NoxTemplate for INoxCompute;

    INoxCompute public immutable nox;

    /// @notice min(a, b), average(a, b), clamp(a, low = min, high = b).
    event Computed(address indexed caller, bytes32 min, bytes32 average, bytes32 clamped);
    /// @notice The ill-typed min's result handle.
    event Wrong(address indexed caller, bytes32 result);

    constructor(INoxCompute nox_) {
        nox = nox_;
    }

    function run(externalEuint64 a, bytes calldata proofA, externalEuint64 b, bytes calldata proofB)
        external
        returns (euint64 m, euint64 avg, euint64 clamped)
    {
        euint64 x = nox.fromExternal(a, msg.sender, proofA);
        euint64 y = nox.fromExternal(b, msg.sender, proofB);
        m = nox.min(x, y);
        avg = nox.average(x, y);
        clamped = nox.clamp(x, m, y);
        nox.addViewer(euint64.unwrap(m), msg.sender);
        nox.addViewer(euint64.unwrap(avg), msg.sender);
        nox.addViewer(euint64.unwrap(clamped), msg.sender);
        emit Computed(msg.sender, euint64.unwrap(m), euint64.unwrap(avg), euint64.unwrap(clamped));
    }

    function wrongType(externalEuint64 a, bytes calldata proofA) external returns (bytes32 wrong) {
        bytes32[] memory ins = new bytes32[](2);
        ins[0] = euint64.unwrap(nox.fromExternal(a, msg.sender, proofA));
        ins[1] = ins[0];
        uint8[] memory types = new uint8[](1);
        types[0] = 4; // uint8 (spec §3): min of two uint64 cannot produce it
        wrong = nox.compute(NoxMinmax.MIN_ID, ins, types)[0];
        nox.addViewer(wrong, msg.sender);
        emit Wrong(msg.sender, wrong);
    }
}
