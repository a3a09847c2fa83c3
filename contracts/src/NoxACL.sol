// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {INoxACL} from "./INoxCompute.sol";

/// @title NoxACL — the access-control list of handles, inherited by NoxCompute
/// @notice Why a base contract and not a separate ACL contract: every operation checks each
///         operand and grants access on each result, and transient storage (EIP-1153) belongs
///         to the contract that writes it. Inside NoxCompute those are plain internal calls on
///         its own storage; a separate contract would cost an external call per operand and per
///         result and need its own "only NoxCompute may grant" rule. The ACL still lives in its
///         own file so the rules can be read apart from the operations, and services see one
///         address (the Gateway's `isViewer` goes to NoxCompute, spec §7.2).
abstract contract NoxACL is INoxACL {
    /// @dev admin access: may use as an operand and manage access
    mapping(bytes32 handle => mapping(address account => bool)) private _allowed;
    /// @dev may decrypt through the Gateway
    mapping(bytes32 handle => mapping(address account => bool)) private _viewers;
    /// @dev everybody may decrypt
    mapping(bytes32 handle => bool) private _public;

    /// @dev The caller must be allowed (persistently or for this transaction) on `handle`.
    modifier onlyAllowed(bytes32 handle) {
        _requireAllowed(handle, msg.sender);
        _;
    }

    /// @inheritdoc INoxACL
    function allow(bytes32 handle, address account) external onlyAllowed(handle) {
        _allowed[handle][account] = true;
        emit Allowed(msg.sender, handle, account);
    }

    /// @inheritdoc INoxACL
    function allowTransient(bytes32 handle, address account) external onlyAllowed(handle) {
        _allowTransient(handle, account);
    }

    /// @inheritdoc INoxACL
    function addViewer(bytes32 handle, address account) external onlyAllowed(handle) {
        _viewers[handle][account] = true;
        emit ViewerAdded(msg.sender, handle, account);
    }

    /// @inheritdoc INoxACL
    function allowPublicDecryption(bytes32 handle) external onlyAllowed(handle) {
        _public[handle] = true;
        emit PublicDecryptionAllowed(msg.sender, handle);
    }

    /// @inheritdoc INoxACL
    function isAllowed(bytes32 handle, address account) public view returns (bool) {
        return _allowed[handle][account] || _isTransientlyAllowed(handle, account);
    }

    /// @inheritdoc INoxACL
    function isViewer(bytes32 handle, address account) external view returns (bool) {
        return _allowed[handle][account] || _viewers[handle][account] || _public[handle];
    }

    /// @inheritdoc INoxACL
    function isPubliclyDecryptable(bytes32 handle) external view returns (bool) {
        return _public[handle];
    }

    /// @dev Reverts NotAllowed unless `account` may use `handle` now.
    function _requireAllowed(bytes32 handle, address account) internal view {
        if (!isAllowed(handle, account)) revert NotAllowed(handle, account);
    }

    /// @dev Grants access for the rest of the transaction: the slot is cleared by the EVM when
    ///      the transaction ends (EIP-1153), so nothing has to be cleaned up and nothing leaks
    ///      into the next transaction.
    function _allowTransient(bytes32 handle, address account) internal {
        bytes32 slot = _transientSlot(handle, account);
        assembly ("memory-safe") {
            tstore(slot, 1)
        }
    }

    function _isTransientlyAllowed(bytes32 handle, address account) private view returns (bool granted) {
        bytes32 slot = _transientSlot(handle, account);
        assembly ("memory-safe") {
            granted := tload(slot)
        }
    }

    /// @dev One transient slot per (handle, account). Transient storage is its own address space,
    ///      so these hashes cannot collide with the mappings above.
    function _transientSlot(bytes32 handle, address account) private pure returns (bytes32) {
        return keccak256(abi.encode(handle, account));
    }
}
