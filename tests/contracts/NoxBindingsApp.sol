// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {INoxCompute} from "./INoxCompute.sol";
import {Nox, euint64} from "./Nox.sol";
import {NoxMinmax} from "./NoxMinmax.sol";

/// @title NoxBindingsApp — uses the bindings `nox-plugin-check --solidity` generates for the minmax
///        plugin (NoxMinmax.sol, written into the build tree), for tests/contracts/test_contracts.py
contract NoxBindingsApp {
    using Nox for INoxCompute;
    using NoxMinmax for INoxCompute;

    INoxCompute public immutable nox;

    constructor(INoxCompute nox_) {
        nox = nox_;
    }

    /// @notice min(x, y) on euint64 through the typed binding; every handle is kept.
    function minOf(uint64 x, uint64 y) external returns (euint64 a, euint64 b, euint64 result) {
        a = nox.asEuint64(x);
        b = nox.asEuint64(y);
        result = nox.min(a, b);
        nox.allow(result, address(this));
    }

    /// @notice max(min(x, y), z): the first binding's result is an operand in the same transaction
    ///         (transient access), the second's is kept.
    function clampedMin(uint64 x, uint64 y, uint64 z) external returns (euint64 low, euint64 result) {
        low = nox.min(nox.asEuint64(x), nox.asEuint64(y));
        result = nox.max(low, nox.asEuint64(z));
        nox.allow(result, address(this));
    }
}
