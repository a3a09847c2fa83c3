// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {INoxCompute} from "./INoxCompute.sol";
import {Nox, ebool, euint64, externalEuint64} from "./Nox.sol";

/// @title ConfidentialToken — the reference Nox application (spec §9)
/// @notice Balances and the total supply are encrypted: the contract stores handles, and only a
///         balance's holder may decrypt it (through the Handle Gateway). Amounts are euint64,
///         as in ERC-7984-style confidential tokens: 64 bits count 1.8e19 base units, plenty
///         with 6 decimals, and cost the Runner less than 256-bit arithmetic.
///         Nothing reverts on a value: a transfer of more than the balance moves nothing (the
///         protocol's `transfer` is all or nothing) and its encrypted `success` says so.
contract ConfidentialToken {
    using Nox for INoxCompute;

    /// @notice The NoxCompute this token computes with.
    INoxCompute public immutable nox;
    /// @notice The only account that may mint and burn; it may also decrypt the total supply.
    address public immutable owner;
    /// @notice The token's name (ERC-20 style metadata).
    string public name;
    /// @notice The token's symbol.
    string public symbol;
    /// @notice Base units per token: 10^6, so a uint64 balance holds up to about 1.8e13 tokens.
    uint8 public constant decimals = 6;

    mapping(address account => euint64) private _balances;
    euint64 private _totalSupply;

    /// @notice `from` sent `amount` (an input handle) to `to`; `success` is false when nothing moved.
    event ConfidentialTransfer(address indexed from, address indexed to, euint64 amount, ebool success);
    /// @notice The owner minted a public `amount` to `to`; `success` is false on overflow.
    event Minted(address indexed to, uint64 amount, ebool success);
    /// @notice The owner burnt a public `amount` from `from`; `success` is false when the balance is short.
    event Burned(address indexed from, uint64 amount, ebool success);

    /// @notice mint and burn are the owner's.
    error NotOwner(address caller);
    /// @notice The zero address, or the sender itself: the protocol's transfer(b, b, x) would credit b twice.
    error InvalidReceiver(address to);

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    /// @param nox_ the NoxCompute deployment
    /// @param name_ the token's name
    /// @param symbol_ the token's symbol
    constructor(INoxCompute nox_, string memory name_, string memory symbol_) {
        nox = nox_;
        owner = msg.sender;
        name = name_;
        symbol = symbol_;
        // Start from an encrypted 0, never from the undefined handle, so mint always has operands.
        _setTotalSupply(nox_.asEuint64(0));
    }

    /// @notice The handle of `account`'s encrypted balance; bytes32(0) before it ever held tokens.
    function balanceOf(address account) external view returns (euint64) {
        return _balances[account];
    }

    /// @notice The handle of the encrypted total supply.
    function totalSupply() external view returns (euint64) {
        return _totalSupply;
    }

    /// @notice Sends an encrypted amount to `to`.
    /// @param to the receiver (not the sender: a self-transfer would count the amount twice)
    /// @param encryptedAmount the uint64 handle the Gateway returned for the amount
    /// @param proof the Gateway's input proof, issued with owner = msg.sender and app = this token
    /// @return success encrypted: false when the balance was short (then nothing moved)
    function transfer(address to, externalEuint64 encryptedAmount, bytes calldata proof)
        external
        returns (ebool success)
    {
        if (to == address(0) || to == msg.sender) revert InvalidReceiver(to);
        euint64 amount = nox.fromExternal(encryptedAmount, msg.sender, proof);
        euint64 newFrom;
        euint64 newTo;
        (success, newFrom, newTo) = nox.transfer(_balanceOrZero(msg.sender), _balanceOrZero(to), amount);
        _setBalance(msg.sender, newFrom);
        _setBalance(to, newTo);
        nox.addViewer(success, msg.sender);
        emit ConfidentialTransfer(msg.sender, to, amount, success);
    }

    /// @notice Creates `amount` (public) tokens for `to` (owner only).
    /// @return success encrypted: false when the balance or the supply would overflow (then nothing changed)
    function mint(address to, uint64 amount) external onlyOwner returns (ebool success) {
        if (to == address(0)) revert InvalidReceiver(to);
        euint64 newTo;
        euint64 newSupply;
        (success, newTo, newSupply) = nox.mint(_balanceOrZero(to), nox.asEuint64(amount), _totalSupply);
        _setBalance(to, newTo);
        _setTotalSupply(newSupply);
        nox.addViewer(success, owner);
        emit Minted(to, amount, success);
    }

    /// @notice Destroys `amount` (public) tokens of `from` (owner only).
    /// @return success encrypted: false when the balance is short (then nothing changed)
    function burn(address from, uint64 amount) external onlyOwner returns (ebool success) {
        euint64 newFrom;
        euint64 newSupply;
        (success, newFrom, newSupply) = nox.burn(_balanceOrZero(from), nox.asEuint64(amount), _totalSupply);
        _setBalance(from, newFrom);
        _setTotalSupply(newSupply);
        nox.addViewer(success, owner);
        emit Burned(from, amount, success);
    }

    /// @dev An account that never held tokens has no handle yet: use an encrypted 0 (transient,
    ///      for this transaction only), because bytes32(0) is never a valid operand.
    function _balanceOrZero(address account) private returns (euint64) {
        euint64 balance = _balances[account];
        return Nox.isInitialized(balance) ? balance : nox.asEuint64(0);
    }

    /// @dev The token keeps using the new balance (persistent allow); only its holder may decrypt it.
    function _setBalance(address account, euint64 balance) private {
        _balances[account] = balance;
        nox.allow(balance, address(this));
        nox.addViewer(balance, account);
    }

    /// @dev The supply is decryptable by the owner (who mints and burns) only.
    function _setTotalSupply(euint64 supply) private {
        _totalSupply = supply;
        nox.allow(supply, address(this));
        nox.addViewer(supply, owner);
    }
}
