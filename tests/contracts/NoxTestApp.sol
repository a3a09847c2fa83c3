// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {INoxCompute} from "./INoxCompute.sol";
import {Nox, ebool, euint64, eint8} from "./Nox.sol";

/// @title NoxTestApp — an application contract for tests/contracts/test_contracts.py
/// @notice NoxCompute grants access to contracts (msg.sender), and transient access ends with the
///         transaction, so an EOA alone cannot chain operations across transactions. This app lets
///         the test drive NoxCompute with exact calldata and keep what it needs.
contract NoxTestApp {
    using Nox for INoxCompute;

    INoxCompute public immutable nox;

    /// @notice What probe() saw inside its transaction.
    event Probed(bytes32 handle, bool allowed, bool viewer);

    constructor(INoxCompute nox_) {
        nox = nox_;
    }

    /// @notice Calls NoxCompute with `data`, then allows every returned 32-byte word (result
    ///         handles, a validated input) to this app persistently, for later transactions.
    /// @return ret NoxCompute's return data; its revert data is bubbled up unchanged
    function forward(bytes calldata data) external returns (bytes memory ret) {
        ret = _call(data);
        for (uint256 i = 0; i + 32 <= ret.length; i += 32) {
            nox.allow(_word(ret, i), address(this));
        }
    }

    /// @notice Calls NoxCompute with `data` and keeps nothing: results stay transient.
    function forwardTransient(bytes calldata data) external returns (bytes memory) {
        return _call(data);
    }

    /// @notice sum = a + b, then sum + sum in the same transaction (transient access suffices).
    function addTwice(bytes32 a, bytes32 b) external returns (bytes32 sum, bytes32 doubled) {
        sum = nox.add(a, b);
        doubled = nox.add(sum, sum);
    }

    /// @notice a + b, then what the ACL says of the fresh result for this app, inside the transaction.
    function probe(bytes32 a, bytes32 b) external returns (bytes32 sum, bool allowed, bool viewer) {
        sum = nox.add(a, b);
        allowed = nox.isAllowed(sum, address(this));
        viewer = nox.isViewer(sum, address(this));
        emit Probed(sum, allowed, viewer);
    }

    /// @notice The typed library end to end: select(x + y did not overflow, x + y, x), and an eint8
    ///         comparison; the final handles are kept and returned.
    function typed(uint64 x, uint64 y, int8 z) external returns (euint64 chosen, ebool negative) {
        euint64 a = nox.asEuint64(x);
        euint64 b = nox.asEuint64(y);
        (ebool ok, euint64 sum) = nox.safeAdd(a, b);
        chosen = nox.select(ok, sum, a);
        negative = nox.lt(nox.asEint8(z), nox.asEint8(0));
        nox.allow(chosen, address(this));
        nox.allow(negative, address(this));
    }

    /// @notice NoxCompute.compute, then every output allowed to this app persistently (forward()
    ///         cannot do it: compute returns a dynamic array, whose offset and length words are no handles).
    function computeKeep(uint16 operatorId, bytes32[] calldata inputs, uint8[] calldata outputTypes)
        external
        returns (bytes32[] memory outputs)
    {
        outputs = nox.compute(operatorId, inputs, outputTypes);
        for (uint256 i = 0; i < outputs.length; i++) {
            nox.allow(outputs[i], address(this));
        }
    }

    /// @notice NoxCompute.compute, then what the ACL says of each output for this app, inside the
    ///         transaction (transient access: allowed, but not a viewer).
    function computeProbe(uint16 operatorId, bytes32[] calldata inputs, uint8[] calldata outputTypes)
        external
        returns (bytes32[] memory outputs, bool[] memory allowed, bool[] memory viewer)
    {
        outputs = nox.compute(operatorId, inputs, outputTypes);
        allowed = new bool[](outputs.length);
        viewer = new bool[](outputs.length);
        for (uint256 i = 0; i < outputs.length; i++) {
            allowed[i] = nox.isAllowed(outputs[i], address(this));
            viewer[i] = nox.isViewer(outputs[i], address(this));
        }
    }

    /// @notice `failures` caught operations that revert (plaintextToEncrypted of the dynamic bytes
    ///         type: UnsupportedType), then `n` plaintextToEncrypted, then NoxCompute with `data`
    ///         when it is not empty: the per-transaction event budget (MAX_EVENTS_PER_TRANSACTION).
    function emitMany(uint256 failures, uint256 n, bytes calldata data) external {
        for (uint256 i = 0; i < failures; i++) {
            try nox.plaintextToEncrypted(bytes32(i), 2) returns (bytes32) {
                revert("plaintextToEncrypted(bytes) was accepted");
            } catch {}
        }
        for (uint256 i = 0; i < n; i++) {
            nox.plaintextToEncrypted(bytes32(i), 4);
        }
        if (data.length != 0) _call(data);
    }

    function _call(bytes calldata data) private returns (bytes memory ret) {
        bool ok;
        (ok, ret) = address(nox).call(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 32), mload(ret))
            }
        }
    }

    function _word(bytes memory data, uint256 offset) private pure returns (bytes32 w) {
        assembly ("memory-safe") {
            w := mload(add(add(data, 32), offset))
        }
    }
}
