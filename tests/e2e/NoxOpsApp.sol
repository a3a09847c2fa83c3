// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {INoxCompute} from "./INoxCompute.sol";

/// @title NoxOpsApp — the end-to-end tests' application: every NoxCompute operation in one call
/// @notice Takes three inputs the caller encrypted through the Gateway (a and b of one type, c a
///         bool), runs every operation of spec §5 on them (the token operations on unsigned types
///         only) plus one plaintextToEncrypted, makes the caller a viewer of every result and
///         emits the result handles in a fixed order, so a test can decrypt each one and compare
///         it with the spec's semantics.
contract NoxOpsApp {
    INoxCompute public immutable nox;

    /// @notice The results of one run(), in the order documented on run().
    event Computed(address indexed caller, uint8 teeType, bytes32[] outputs);

    constructor(INoxCompute nox_) {
        nox = nox_;
    }

    /// @notice Runs every operation; out = add, sub, mul, div, safeAdd (success, result), safeSub (2), safeMul (2),
    ///         safeDiv (2), select(c, a, b), eq, ne, lt, le, gt, ge, plaintextToEncrypted(42), add(add(a, b), 42)
    ///         (a result read in its own transaction);
    ///         then, when `token`: transfer(a, b, b) (success, from, to), mint(a, b, a)
    ///         (success, balance, supply), burn(a, b, a) (success, balance, supply)
    /// @param inputs a, b (of teeType) and c (a bool), as the Gateway returned them for msg.sender
    /// @param proofs their input proofs (app = this contract)
    function run(uint8 teeType, bool token, bytes32[3] calldata inputs, bytes[3] calldata proofs)
        external
        returns (bytes32[] memory out)
    {
        bytes32 a = nox.validateInputProof(inputs[0], msg.sender, proofs[0], teeType);
        bytes32 b = nox.validateInputProof(inputs[1], msg.sender, proofs[1], teeType);
        bytes32 c = nox.validateInputProof(inputs[2], msg.sender, proofs[2], 0);
        out = _all(teeType, token, a, b, c);
        for (uint256 i = 0; i < out.length; i++) {
            nox.addViewer(out[i], msg.sender);
        }
        emit Computed(msg.sender, teeType, out);
    }

    function _all(uint8 teeType, bool token, bytes32 a, bytes32 b, bytes32 c) private returns (bytes32[] memory out) {
        out = new bytes32[](token ? 30 : 21);
        out[0] = nox.add(a, b);
        out[1] = nox.sub(a, b);
        out[2] = nox.mul(a, b);
        out[3] = nox.div(a, b);
        (out[4], out[5]) = nox.safeAdd(a, b);
        (out[6], out[7]) = nox.safeSub(a, b);
        (out[8], out[9]) = nox.safeMul(a, b);
        (out[10], out[11]) = nox.safeDiv(a, b);
        out[12] = nox.select(c, a, b);
        out[13] = nox.eq(a, b);
        out[14] = nox.ne(a, b);
        out[15] = nox.lt(a, b);
        out[16] = nox.le(a, b);
        out[17] = nox.gt(a, b);
        out[18] = nox.ge(a, b);
        out[19] = nox.plaintextToEncrypted(bytes32(uint256(42)), teeType);
        out[20] = nox.add(out[0], out[19]); // reads a result of this same transaction
        if (token) {
            (out[21], out[22], out[23]) = nox.transfer(a, b, b);
            (out[24], out[25], out[26]) = nox.mint(a, b, a);
            (out[27], out[28], out[29]) = nox.burn(a, b, a);
        }
    }
}
