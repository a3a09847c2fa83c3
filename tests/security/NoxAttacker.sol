// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {INoxCompute} from "./INoxCompute.sol";
import {ConfidentialToken} from "./ConfidentialToken.sol";
import {externalEuint64} from "./Nox.sol";

/// @title NoxAttacker — transactions that mix a legitimate token transfer with what the Runners could not
///        process (tests/security/chain_guards_test.py)
/// @notice Before NoxCompute checked type rules and a per-transaction budget on-chain, each of these
///         transactions was mined: the first held a call the engine refuses, the others more events than
///         one queue message may carry, and the whole transaction's results were failed — the token
///         transfer included, freezing the balances it touched. Now each reverts, with its named error.
contract NoxAttacker {
    INoxCompute public immutable nox;
    ConfidentialToken public immutable token;

    constructor(INoxCompute nox_, ConfidentialToken token_) {
        nox = nox_;
        token = token_;
    }

    /// @notice token.transfer(to, amount), then extension operator `operatorId` on a fresh uint64
    ///         handle, declaring one output of type `outputType` (neg, 66, declared bool: refused).
    function transferThenCompute(
        address to,
        externalEuint64 amount,
        bytes calldata proof,
        uint16 operatorId,
        uint8 outputType
    ) external {
        token.transfer(to, amount, proof);
        bytes32[] memory ins = new bytes32[](1);
        ins[0] = nox.plaintextToEncrypted(bytes32(uint256(7)), 11); // uint64
        uint8[] memory outs = new uint8[](1);
        outs[0] = outputType;
        nox.compute(operatorId, ins, outs);
    }

    /// @notice token.transfer(to, amount), then `n` plaintextToEncrypted.
    function transferThenFlood(address to, externalEuint64 amount, bytes calldata proof, uint256 n) external {
        token.transfer(to, amount, proof);
        flood(n);
    }

    /// @notice `n` plaintextToEncrypted (uint8).
    function flood(uint256 n) public {
        for (uint256 i = 0; i < n; i++) {
            nox.plaintextToEncrypted(bytes32(i), 4);
        }
    }
}
