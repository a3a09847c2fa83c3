// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {INoxCompute} from "./INoxCompute.sol";
import {NoxACL} from "./NoxACL.sol";

/// @title NoxCompute — the on-chain half of Nox (spec §2, §5, §7.1, §9)
/// @notice Applications call one entry point per operation with operand handles. NoxCompute
///         never sees a value: it checks the operands (valid, allowed for the caller, §5 type
///         rules), derives the result handles deterministically from the operation, its inputs,
///         this contract, the caller and the block timestamp, grants the caller transient access
///         to them, and emits one event. Off-chain, the Ingestor forwards the event to a Runner,
///         which computes the encrypted results under exactly these handles.
contract NoxCompute is INoxCompute, NoxACL {
    // ---- operator ids (spec §5); they enter the result-handle derivation ----
    uint8 private constant OP_PLAINTEXT_TO_ENCRYPTED = 0;
    uint8 private constant OP_ADD = 1;
    uint8 private constant OP_SUB = 2;
    uint8 private constant OP_MUL = 3;
    uint8 private constant OP_DIV = 4;
    uint8 private constant OP_SAFE_ADD = 5;
    uint8 private constant OP_SAFE_SUB = 6;
    uint8 private constant OP_SAFE_MUL = 7;
    uint8 private constant OP_SAFE_DIV = 8;
    uint8 private constant OP_SELECT = 9;
    uint8 private constant OP_EQ = 10;
    uint8 private constant OP_NE = 11;
    uint8 private constant OP_LT = 12;
    uint8 private constant OP_LE = 13;
    uint8 private constant OP_GT = 14;
    uint8 private constant OP_GE = 15;
    uint8 private constant OP_TRANSFER = 16;
    uint8 private constant OP_MINT = 17;
    uint8 private constant OP_BURN = 18;
    /// @dev ids below belong to the protocol (spec §5); extension operators (plugins) start here
    uint16 private constant FIRST_EXTENSION_OPERATOR = 64;
    /// @dev the engine's NOX_MAX_ARITY (nox/plugin.h): most inputs and outputs of an operator
    uint8 private constant MAX_ARITY = 8;
    /// @dev the engine's NOX_MAX_IMPLS (core/engine/engine_internal.h): most implementations of an operator
    uint256 private constant MAX_SIGNATURES = 16;
    /// @dev the engine's NOX_MAX_TYPEVARS (nox/plugin.h): most type variables of a signature
    uint256 private constant MAX_TYPE_VARS = 4;
    /// @dev a slot >= SLOT_VAR is type variable (slot - SLOT_VAR): the engine's NOX_SLOT_VAR(k)
    uint16 private constant SLOT_VAR = 0x100;
    /// @dev bit c set for every fixed-size type code c (bool, address, 4..105): what a signature may name
    uint256 private constant FIXED_TYPES = ((uint256(1) << 106) - 1) & ~uint256(0xc);

    /// @notice The most events (§9 operation events and Compute events together) NoxCompute emits in
    ///         one transaction; the operation that would emit one more reverts
    ///         TransactionBudgetExceeded. The Ingestor publishes one queue message per transaction and a
    ///         Runner handles it as one unit, so this bounds what one transaction can cost everyone
    ///         else. Derivation (docs/PROTOCOL-EXTENSIONS.md §6; measured by tests/contracts/
    ///         budget_sizes.c with core's nox_message_to_json): the largest event — a Compute with 8
    ///         inputs and 8 outputs, a 63-character type name, the largest log index — takes 1,306
    ///         bytes of TransactionMessage JSON and 1,592 bytes as a raw log in a dead letter. A message
    ///         of 256 of them is 334,544 bytes and 256 raw logs 407,808: under NATS's default
    ///         max_payload (1 MiB) with margins of 3.1x and 2.6x, under the Runner's
    ///         NOX_MESSAGE_MAX_SIZE (1 MiB), and a quarter of its NOX_MESSAGE_MAX_EVENTS (1024).
    uint256 public constant MAX_EVENTS_PER_TRANSACTION = 256;

    // ---- type codes (spec §3) ----
    uint8 private constant T_BOOL = 0;
    uint8 private constant T_ADDRESS = 1;
    uint8 private constant T_BYTES = 2; // dynamic: no operator computes on it
    uint8 private constant T_STRING = 3; // dynamic: no operator computes on it
    uint8 private constant T_UINT8 = 4;
    uint8 private constant T_UINT256 = 35;
    uint8 private constant T_INT256 = 67;
    uint8 private constant T_BYTES32 = 99;
    uint8 private constant T_UINT512 = 100; // the first wide extension type
    uint8 private constant T_LAST_KNOWN = 105; // int2048; 106..255 are reserved

    // ---- handle layout (spec §2): prehandle(26) ‖ chain id(4) ‖ type(1) ‖ version(1) ----
    uint256 private constant PREHANDLE_MASK = type(uint256).max << 48;
    uint8 private constant HANDLE_VERSION = 0;

    // ---- input proofs (spec §4.4, §7.1) ----
    uint256 private constant PROOF_LENGTH = 137; // owner(20) ‖ app(20) ‖ createdAt(32) ‖ r(32) ‖ s(32) ‖ v(1)
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant HANDLE_PROOF_TYPEHASH =
        keccak256("HandleProof(bytes32 handle,address owner,address app,uint256 createdAt)");
    bytes32 private constant DOMAIN_NAME_HASH = keccak256("NoxCompute");
    bytes32 private constant DOMAIN_VERSION_HASH = keccak256("1");
    /// @dev secp256k1 order / 2: a larger s is the malleable twin of a valid signature
    uint256 private constant SECP256K1_HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;
    /// @notice How far in the future (seconds) a proof's createdAt may be. The Gateway stamps
    ///         proofs with its own clock while block.timestamp is the block producer's, so a proof
    ///         may legitimately look a little "early"; a proof from further ahead would outlive
    ///         proofExpiration and is refused.
    uint256 public constant MAX_CLOCK_SKEW = 300;
    uint256 private constant DEFAULT_PROOF_EXPIRATION = 3600;

    /// @inheritdoc INoxCompute
    address public immutable owner;
    /// @inheritdoc INoxCompute
    address public gateway;
    /// @inheritdoc INoxCompute
    bytes public kmsPublicKey;
    /// @inheritdoc INoxCompute
    uint256 public proofExpiration = DEFAULT_PROOF_EXPIRATION;

    /// @dev the extension-operator registry (setOperator / operatorInfo / operatorSignatures): one
    ///      storage word per operator, then its signatures.
    struct OperatorInfo {
        uint8 nInputs;
        uint8 nOutputs;
        bool enabled;
        bool registered;
        uint8 nSignatures;
    }

    mapping(uint16 operatorId => OperatorInfo) private _operators;

    /// @dev The events emitted in the current transaction (EIP-1153 transient storage, a
    ///      `transient` state variable since solc 0.8.28: transient slot 0, which none of NoxACL's
    ///      keccak256-derived transient slots can be).
    uint256 private transient _eventsInTransaction;

    /// @dev The signatures (the engine's implementations) of each operator, compactly: the set of
    ///      a type variable needs 106 bits (fixed-size codes are 0..105), a slot 8.
    ///      word 0: bits 128 + 8i (i < 8): input slot i; bits 192 + 8j: output slot j; a slot byte is
    ///              a type code (< 0x80) or 0x80 + k for type variable k; bits 0..127: variable 0's set.
    ///      word 1: variable 1's set (bits 0..127) and variable 2's (bits 128..255); written only
    ///              when one of them is used.
    ///      word 2: variable 3's set (bits 0..127); written only when it is used.
    ///      So `compute` reads one word per signature that uses one type variable (min, neg, and, ...),
    ///      two for a cast (T -> U).
    mapping(uint16 operatorId => uint256[3][MAX_SIGNATURES]) private _signatures;

    uint256 private constant SLOT_BYTE_VAR = 0x80;
    uint256 private constant LOW_128 = type(uint128).max;

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    /// @param gateway_ the Handle Gateway wallet that signs input proofs
    /// @param kmsPublicKey_ the KMS public key, 33-byte compressed secp256k1
    constructor(address gateway_, bytes memory kmsPublicKey_) {
        // Handles carry the chain id in 4 bytes; a larger one would alias another chain.
        if (block.chainid > type(uint32).max) revert UnsupportedChainId(block.chainid);
        owner = msg.sender;
        _setGateway(gateway_);
        _setKmsPublicKey(kmsPublicKey_);
    }

    // =========================================================================================
    // Configuration
    // =========================================================================================

    /// @notice Registers the Gateway wallet whose signatures make input proofs (owner only).
    function setGateway(address gateway_) external onlyOwner {
        _setGateway(gateway_);
    }

    /// @notice Publishes the KMS public key services cross-check (owner only).
    function setKmsPublicKey(bytes calldata kmsPublicKey_) external onlyOwner {
        _setKmsPublicKey(kmsPublicKey_);
    }

    /// @notice Sets how long (seconds, > 0) an input proof stays valid (owner only).
    function setProofExpiration(uint256 proofExpiration_) external onlyOwner {
        if (proofExpiration_ == 0) revert InvalidProofExpiration();
        proofExpiration = proofExpiration_;
        emit ProofExpirationUpdated(proofExpiration_);
    }

    /// @inheritdoc INoxCompute
    /// @dev Checked in this order: ReservedOperator; InvalidSignatureCount; then each signature in
    ///      order: InvalidArity, each input then output slot (InvalidSlot), each type variable
    ///      (InvalidTypeSet). Nothing is written unless every signature is valid.
    function setOperator(uint16 operatorId, Signature[] calldata signatures, bool enabled) external onlyOwner {
        if (operatorId < FIRST_EXTENSION_OPERATOR) revert ReservedOperator(operatorId);
        uint256 n = signatures.length;
        if (n == 0 || n > MAX_SIGNATURES) revert InvalidSignatureCount(operatorId, n);
        uint256 nInputs = signatures[0].inputs.length;
        uint256 nOutputs = signatures[0].outputs.length;
        for (uint256 j = 0; j < n; j++) {
            _storeSignature(operatorId, j, signatures[j], nInputs, nOutputs);
        }
        _operators[operatorId] = OperatorInfo(uint8(nInputs), uint8(nOutputs), enabled, true, uint8(n));
        emit OperatorSet(operatorId, uint8(nInputs), uint8(nOutputs), enabled);
    }

    /// @inheritdoc INoxCompute
    function setOperatorEnabled(uint16 operatorId, bool enabled) external onlyOwner {
        OperatorInfo storage info = _operators[operatorId];
        if (!info.registered) revert UnknownOperator(operatorId);
        info.enabled = enabled;
        emit OperatorSet(operatorId, info.nInputs, info.nOutputs, enabled);
    }

    /// @inheritdoc INoxCompute
    function operatorInfo(uint16 operatorId)
        external
        view
        returns (uint8 nInputs, uint8 nOutputs, bool enabled, bool registered)
    {
        OperatorInfo memory info = _operators[operatorId];
        return (info.nInputs, info.nOutputs, info.enabled, info.registered);
    }

    /// @inheritdoc INoxCompute
    function operatorSignatures(uint16 operatorId) external view returns (Signature[] memory signatures) {
        OperatorInfo memory info = _operators[operatorId];
        signatures = new Signature[](info.nSignatures);
        for (uint256 j = 0; j < info.nSignatures; j++) {
            uint256[3] storage words = _signatures[operatorId][j];
            uint256 w0 = words[0];
            Signature memory sig = signatures[j];
            sig.inputs = new uint16[](info.nInputs);
            sig.outputs = new uint16[](info.nOutputs);
            uint256 varsUsed;
            for (uint256 i = 0; i < info.nInputs + info.nOutputs; i++) {
                bool output = i >= info.nInputs;
                uint256 b = (w0 >> (output ? 192 + 8 * (i - info.nInputs) : 128 + 8 * i)) & 0xff;
                uint16 slot = b < SLOT_BYTE_VAR ? uint16(b) : SLOT_VAR + uint16(b - SLOT_BYTE_VAR);
                if (b >= SLOT_BYTE_VAR) varsUsed |= uint256(1) << (b - SLOT_BYTE_VAR);
                if (output) sig.outputs[i - info.nInputs] = slot;
                else sig.inputs[i] = slot;
            }
            for (uint256 k = 0; k < MAX_TYPE_VARS; k++) {
                if (varsUsed & (uint256(1) << k) != 0) sig.typeSets[k] = _typeSet(words, w0, k);
            }
        }
    }

    /// @dev Checks signature j of setOperator and writes its compact words (see _signatures).
    function _storeSignature(uint16 operatorId, uint256 j, Signature calldata sig, uint256 nInputs, uint256 nOutputs)
        private
    {
        if (
            sig.inputs.length != nInputs || sig.outputs.length != nOutputs || nInputs == 0 || nInputs > MAX_ARITY
                || nOutputs == 0 || nOutputs > MAX_ARITY
        ) revert InvalidArity(operatorId, sig.inputs.length, sig.outputs.length);
        (uint256 slotBits, uint256 varsUsed) = _encodeSlots(operatorId, j, sig.inputs, 0);
        (uint256 outBits, uint256 outVars) = _encodeSlots(operatorId, j, sig.outputs, MAX_ARITY);
        slotBits |= outBits;
        varsUsed |= outVars;
        for (uint256 k = 0; k < MAX_TYPE_VARS; k++) {
            uint256 set = sig.typeSets[k];
            bool used = varsUsed & (uint256(1) << k) != 0;
            // a used variable admits at least one type, and only fixed-size ones (the engine's
            // descriptor check); an unused one is 0, so operatorSignatures returns what was set
            if (used ? set == 0 || set & ~FIXED_TYPES != 0 : set != 0) revert InvalidTypeSet(operatorId, j, k, set);
        }
        uint256[3] storage words = _signatures[operatorId][j];
        words[0] = slotBits | sig.typeSets[0];
        if (varsUsed & 6 != 0) words[1] = sig.typeSets[1] | (sig.typeSets[2] << 128);
        if (varsUsed & 8 != 0) words[2] = sig.typeSets[3];
    }

    /// @dev Packs one side's slots into word 0's slot bytes (inputs: offset 0, outputs: offset 8);
    ///      returns them and the type variables they use.
    function _encodeSlots(uint16 operatorId, uint256 j, uint16[] calldata slots, uint256 offset)
        private
        pure
        returns (uint256 bits, uint256 varsUsed)
    {
        for (uint256 i = 0; i < slots.length; i++) {
            uint256 slot = slots[i];
            uint256 b;
            if (slot >= SLOT_VAR) {
                uint256 k = slot - SLOT_VAR;
                if (k >= MAX_TYPE_VARS) revert InvalidSlot(operatorId, j, offset + i, uint16(slot));
                varsUsed |= uint256(1) << k;
                b = SLOT_BYTE_VAR + k;
            } else {
                if (FIXED_TYPES & (uint256(1) << slot) == 0) revert InvalidSlot(operatorId, j, offset + i, uint16(slot));
                b = slot;
            }
            bits |= b << (128 + 8 * (offset + i));
        }
    }

    /// @dev Type variable k's set of a stored signature whose word 0 is w0.
    function _typeSet(uint256[3] storage words, uint256 w0, uint256 k) private view returns (uint256) {
        if (k == 0) return w0 & LOW_128;
        if (k == 1) return words[1] & LOW_128;
        if (k == 2) return words[1] >> 128;
        return words[2];
    }

    function _setGateway(address gateway_) private {
        // ecrecover answers address(0) for a bad signature: a zero gateway would accept garbage.
        if (gateway_ == address(0)) revert ZeroAddress();
        gateway = gateway_;
        emit GatewayUpdated(gateway_);
    }

    function _setKmsPublicKey(bytes memory key) private {
        if (key.length != 33 || (key[0] != 0x02 && key[0] != 0x03)) revert InvalidKmsPublicKey();
        kmsPublicKey = key;
        emit KmsPublicKeyUpdated(key);
    }

    // =========================================================================================
    // Operations (spec §5). Each: check operands, derive results, emit the §9 event.
    // =========================================================================================

    /// @inheritdoc INoxCompute
    /// @dev The value is public, so it needs no ACL. Bytes above the type's size are kept as
    ///      given (they enter the handle derivation and the event) and ignored by the Runner (§3).
    function plaintextToEncrypted(bytes32 value, uint8 teeType) external returns (bytes32 handle) {
        _countEvent();
        _requireKnownType(teeType);
        if (!_fitsInWord(teeType)) revert UnsupportedType(teeType);
        bytes32[] memory inputs = new bytes32[](1);
        inputs[0] = value;
        handle = _result(OP_PLAINTEXT_TO_ENCRYPTED, inputs, 0, teeType);
        emit PlaintextToEncrypted(msg.sender, value, teeType, handle);
    }

    /// @inheritdoc INoxCompute
    function add(bytes32 leftHandOperand, bytes32 rightHandOperand) external returns (bytes32 result) {
        result = _arithmetic(OP_ADD, leftHandOperand, rightHandOperand);
        emit Add(msg.sender, leftHandOperand, rightHandOperand, result);
    }

    /// @inheritdoc INoxCompute
    function sub(bytes32 leftHandOperand, bytes32 rightHandOperand) external returns (bytes32 result) {
        result = _arithmetic(OP_SUB, leftHandOperand, rightHandOperand);
        emit Sub(msg.sender, leftHandOperand, rightHandOperand, result);
    }

    /// @inheritdoc INoxCompute
    function mul(bytes32 leftHandOperand, bytes32 rightHandOperand) external returns (bytes32 result) {
        result = _arithmetic(OP_MUL, leftHandOperand, rightHandOperand);
        emit Mul(msg.sender, leftHandOperand, rightHandOperand, result);
    }

    /// @inheritdoc INoxCompute
    function div(bytes32 leftHandOperand, bytes32 rightHandOperand) external returns (bytes32 result) {
        result = _arithmetic(OP_DIV, leftHandOperand, rightHandOperand);
        emit Div(msg.sender, leftHandOperand, rightHandOperand, result);
    }

    /// @inheritdoc INoxCompute
    function safeAdd(bytes32 leftHandOperand, bytes32 rightHandOperand)
        external
        returns (bytes32 success, bytes32 result)
    {
        (success, result) = _safeArithmetic(OP_SAFE_ADD, leftHandOperand, rightHandOperand);
        emit SafeAdd(msg.sender, leftHandOperand, rightHandOperand, success, result);
    }

    /// @inheritdoc INoxCompute
    function safeSub(bytes32 leftHandOperand, bytes32 rightHandOperand)
        external
        returns (bytes32 success, bytes32 result)
    {
        (success, result) = _safeArithmetic(OP_SAFE_SUB, leftHandOperand, rightHandOperand);
        emit SafeSub(msg.sender, leftHandOperand, rightHandOperand, success, result);
    }

    /// @inheritdoc INoxCompute
    function safeMul(bytes32 leftHandOperand, bytes32 rightHandOperand)
        external
        returns (bytes32 success, bytes32 result)
    {
        (success, result) = _safeArithmetic(OP_SAFE_MUL, leftHandOperand, rightHandOperand);
        emit SafeMul(msg.sender, leftHandOperand, rightHandOperand, success, result);
    }

    /// @inheritdoc INoxCompute
    function safeDiv(bytes32 leftHandOperand, bytes32 rightHandOperand)
        external
        returns (bytes32 success, bytes32 result)
    {
        (success, result) = _safeArithmetic(OP_SAFE_DIV, leftHandOperand, rightHandOperand);
        emit SafeDiv(msg.sender, leftHandOperand, rightHandOperand, success, result);
    }

    /// @inheritdoc INoxCompute
    /// @dev condition: ebool; branches: one type among bool, address, integers (the wide ones
    ///      included), bytes1..bytes32.
    function select(bytes32 condition, bytes32 ifTrue, bytes32 ifFalse) external returns (bytes32 result) {
        _countEvent();
        if (_operandType(condition) != T_BOOL) revert NotBool(condition);
        uint8 t = _sharedType(ifTrue, ifFalse);
        if (!_fitsInWord(t) && !_isWide(t)) revert UnsupportedType(t);
        bytes32[] memory inputs = new bytes32[](3);
        (inputs[0], inputs[1], inputs[2]) = (condition, ifTrue, ifFalse);
        result = _result(OP_SELECT, inputs, 0, t);
        emit Select(msg.sender, condition, ifTrue, ifFalse, result);
    }

    /// @inheritdoc INoxCompute
    /// @dev Equality also accepts ebool and eaddress.
    function eq(bytes32 leftHandOperand, bytes32 rightHandOperand) external returns (bytes32 result) {
        result = _comparison(OP_EQ, leftHandOperand, rightHandOperand);
        emit Eq(msg.sender, leftHandOperand, rightHandOperand, result);
    }

    /// @inheritdoc INoxCompute
    /// @dev Inequality also accepts ebool and eaddress.
    function ne(bytes32 leftHandOperand, bytes32 rightHandOperand) external returns (bytes32 result) {
        result = _comparison(OP_NE, leftHandOperand, rightHandOperand);
        emit Ne(msg.sender, leftHandOperand, rightHandOperand, result);
    }

    /// @inheritdoc INoxCompute
    function lt(bytes32 leftHandOperand, bytes32 rightHandOperand) external returns (bytes32 result) {
        result = _comparison(OP_LT, leftHandOperand, rightHandOperand);
        emit Lt(msg.sender, leftHandOperand, rightHandOperand, result);
    }

    /// @inheritdoc INoxCompute
    function le(bytes32 leftHandOperand, bytes32 rightHandOperand) external returns (bytes32 result) {
        result = _comparison(OP_LE, leftHandOperand, rightHandOperand);
        emit Le(msg.sender, leftHandOperand, rightHandOperand, result);
    }

    /// @inheritdoc INoxCompute
    function gt(bytes32 leftHandOperand, bytes32 rightHandOperand) external returns (bytes32 result) {
        result = _comparison(OP_GT, leftHandOperand, rightHandOperand);
        emit Gt(msg.sender, leftHandOperand, rightHandOperand, result);
    }

    /// @inheritdoc INoxCompute
    function ge(bytes32 leftHandOperand, bytes32 rightHandOperand) external returns (bytes32 result) {
        result = _comparison(OP_GE, leftHandOperand, rightHandOperand);
        emit Ge(msg.sender, leftHandOperand, rightHandOperand, result);
    }

    /// @inheritdoc INoxCompute
    function transfer(bytes32 balanceFrom, bytes32 balanceTo, bytes32 amount)
        external
        returns (bytes32 success, bytes32 newBalanceFrom, bytes32 newBalanceTo)
    {
        (success, newBalanceFrom, newBalanceTo) = _tokenOperation(OP_TRANSFER, balanceFrom, balanceTo, amount);
        emit Transfer(msg.sender, balanceFrom, balanceTo, amount, success, newBalanceFrom, newBalanceTo);
    }

    /// @inheritdoc INoxCompute
    function mint(bytes32 balanceTo, bytes32 amount, bytes32 totalSupply)
        external
        returns (bytes32 success, bytes32 newBalanceTo, bytes32 newTotalSupply)
    {
        (success, newBalanceTo, newTotalSupply) = _tokenOperation(OP_MINT, balanceTo, amount, totalSupply);
        emit Mint(msg.sender, balanceTo, amount, totalSupply, success, newBalanceTo, newTotalSupply);
    }

    /// @inheritdoc INoxCompute
    function burn(bytes32 balanceFrom, bytes32 amount, bytes32 totalSupply)
        external
        returns (bytes32 success, bytes32 newBalanceFrom, bytes32 newTotalSupply)
    {
        (success, newBalanceFrom, newTotalSupply) = _tokenOperation(OP_BURN, balanceFrom, amount, totalSupply);
        emit Burn(msg.sender, balanceFrom, amount, totalSupply, success, newBalanceFrom, newTotalSupply);
    }

    // =========================================================================================
    // Extension operators (ids >= 64): one generic entry point, checked against the registry
    // =========================================================================================

    /// @inheritdoc INoxCompute
    /// @dev Checked in this order: TransactionBudgetExceeded; ReservedOperator, UnknownOperator,
    ///      OperatorDisabled, WrongArity; then each input in order (InvalidHandle, UnknownType,
    ///      NotAllowed), then each output type in order (UnknownType for 106..255, UnsupportedType
    ///      for the dynamic bytes/string); last NoMatchingImplementation when no registered
    ///      signature accepts the input and output types.
    function compute(uint16 operatorId, bytes32[] calldata inputs, uint8[] calldata outputTypes)
        external
        returns (bytes32[] memory outputs)
    {
        _countEvent();
        if (operatorId < FIRST_EXTENSION_OPERATOR) revert ReservedOperator(operatorId);
        OperatorInfo memory info = _operators[operatorId];
        if (!info.registered) revert UnknownOperator(operatorId);
        if (!info.enabled) revert OperatorDisabled(operatorId);
        if (inputs.length != info.nInputs || outputTypes.length != info.nOutputs) {
            revert WrongArity(operatorId, inputs.length, outputTypes.length);
        }
        uint256 inTypes; // byte i: the type of input i
        for (uint256 i = 0; i < inputs.length; i++) {
            inTypes |= uint256(_operandType(inputs[i])) << (8 * i);
        }
        for (uint256 i = 0; i < outputTypes.length; i++) {
            uint8 t = outputTypes[i];
            _requireKnownType(t);
            if (t == T_BYTES || t == T_STRING) revert UnsupportedType(t);
        }
        if (!_anySignatureAccepts(operatorId, info, inTypes, outputTypes)) {
            uint8[] memory inputTypes = new uint8[](inputs.length);
            for (uint256 i = 0; i < inputs.length; i++) {
                inputTypes[i] = uint8(inTypes >> (8 * i));
            }
            revert NoMatchingImplementation(operatorId, inputTypes, outputTypes);
        }
        bytes32[] memory ins = inputs;
        outputs = new bytes32[](outputTypes.length);
        for (uint256 i = 0; i < outputTypes.length; i++) {
            // uint16 operatorId where §2 has uint8 operator: a generic result's preimage is one byte
            // longer than any protocol operation's, so the two can never derive the same handle.
            bytes32 digest = keccak256(
                abi.encodePacked(operatorId, ins, address(this), msg.sender, block.timestamp, uint8(i))
            );
            outputs[i] = _handleOf(digest, outputTypes[i]);
        }
        emit Compute(msg.sender, operatorId, ins, outputs);
    }

    /// @dev The engine's nox_op_resolve on these types (its try_impl per implementation, in the
    ///      same order): 1 when some signature accepts them. Every type here is a fixed-size code
    ///      (0, 1, 4..105) — dynamic and reserved inputs and outputs were refused above, and a
    ///      registered set holds only fixed-size codes — so the 128-bit sets decide membership.
    function _anySignatureAccepts(
        uint16 operatorId,
        OperatorInfo memory info,
        uint256 inTypes,
        uint8[] calldata outputTypes
    ) private view returns (bool) {
        uint256[3][MAX_SIGNATURES] storage all = _signatures[operatorId];
        for (uint256 j = 0; j < info.nSignatures; j++) {
            if (_signatureAccepts(all[j], info.nInputs, inTypes, outputTypes)) return true;
        }
        return false;
    }

    /// @dev One signature (try_impl): an input slot that names a type wants exactly it; an input
    ///      slot that names variable k binds k to its type when k is unbound (the type must be in
    ///      k's set), else wants k's type. Then each output in order: a type slot wants exactly
    ///      it, a bound variable wants its type, and an unbound one (an output-only variable, e.g.
    ///      cast's U) binds to the declared type, which must be in its set.
    function _signatureAccepts(uint256[3] storage words, uint256 nInputs, uint256 inTypes, uint8[] calldata outTypes)
        private
        view
        returns (bool)
    {
        uint256 w0 = words[0];
        uint256 bound; // byte k: 1 + the type bound to variable k, 0 while unbound
        uint256 n = nInputs + outTypes.length;
        // unchecked: i < 16, types and slot bytes < 256, shifts < 256 bits
        unchecked {
            for (uint256 i = 0; i < n; ++i) {
                uint256 t;
                uint256 b;
                if (i < nInputs) {
                    t = (inTypes >> (8 * i)) & 0xff;
                    b = (w0 >> (128 + 8 * i)) & 0xff;
                } else {
                    t = outTypes[i - nInputs];
                    b = (w0 >> (192 + 8 * (i - nInputs))) & 0xff;
                }
                if (b < SLOT_BYTE_VAR) {
                    if (t != b) return false;
                    continue;
                }
                uint256 k = b - SLOT_BYTE_VAR;
                uint256 have = (bound >> (8 * k)) & 0xff;
                if (have != 0) {
                    if (t + 1 != have) return false;
                    continue;
                }
                if ((_typeSet(words, w0, k) >> t) & 1 == 0) return false;
                bound |= (t + 1) << (8 * k);
            }
        }
        return true;
    }

    /// @dev Counts one event against MAX_EVENTS_PER_TRANSACTION (EIP-1153: the count starts at 0 in
    ///      every transaction, and an operation that reverts takes its count back with it).
    function _countEvent() private {
        uint256 n = _eventsInTransaction + 1;
        if (n > MAX_EVENTS_PER_TRANSACTION) revert TransactionBudgetExceeded(MAX_EVENTS_PER_TRANSACTION);
        _eventsInTransaction = n;
    }

    // ---- operation shapes ----

    /// @dev add/sub/mul/div: two integers (wide ones included) of one type -> one result of that type.
    function _arithmetic(uint8 op, bytes32 a, bytes32 b) private returns (bytes32) {
        _countEvent();
        uint8 t = _sharedType(a, b);
        if (!_isInteger(t)) revert UnsupportedType(t);
        return _result(op, _pair(a, b), 0, t);
    }

    /// @dev safe ops: two integers of one type -> (success: bool at index 0, result: that type at index 1).
    function _safeArithmetic(uint8 op, bytes32 a, bytes32 b) private returns (bytes32 success, bytes32 result) {
        _countEvent();
        uint8 t = _sharedType(a, b);
        if (!_isInteger(t)) revert UnsupportedType(t);
        bytes32[] memory inputs = _pair(a, b);
        success = _result(op, inputs, 0, T_BOOL);
        result = _result(op, inputs, 1, t);
    }

    /// @dev comparisons: two integers, wide ones included (eq/ne: also bools or addresses) of one type -> bool.
    function _comparison(uint8 op, bytes32 a, bytes32 b) private returns (bytes32) {
        _countEvent();
        uint8 t = _sharedType(a, b);
        bool equality = op == OP_EQ || op == OP_NE;
        if (!_isInteger(t) && !(equality && (t == T_BOOL || t == T_ADDRESS))) revert UnsupportedType(t);
        return _result(op, _pair(a, b), 0, T_BOOL);
    }

    /// @dev transfer/mint/burn: three unsigned integers of one type -> (success: bool, x', y': that type),
    ///      at output indexes 0, 1, 2.
    function _tokenOperation(uint8 op, bytes32 x, bytes32 y, bytes32 z) private returns (bytes32, bytes32, bytes32) {
        _countEvent();
        uint8 t = _sharedType(x, y);
        if (_operandType(z) != t) revert TypeMismatch(x, z);
        if (t < T_UINT8 || t > T_UINT256) revert NotUnsigned(x);
        bytes32[] memory inputs = new bytes32[](3);
        (inputs[0], inputs[1], inputs[2]) = (x, y, z);
        return (_result(op, inputs, 0, T_BOOL), _result(op, inputs, 1, t), _result(op, inputs, 2, t));
    }

    function _pair(bytes32 a, bytes32 b) private pure returns (bytes32[] memory inputs) {
        inputs = new bytes32[](2);
        (inputs[0], inputs[1]) = (a, b);
    }

    // ---- operands and types ----

    /// @dev The type of an operand that is a valid handle the caller may use.
    function _operandType(bytes32 handle) private view returns (uint8) {
        _requireValidHandle(handle);
        _requireAllowed(handle, msg.sender);
        return _typeOf(handle);
    }

    /// @dev The common type of two operands, or TypeMismatch.
    function _sharedType(bytes32 a, bytes32 b) private view returns (uint8 t) {
        t = _operandType(a);
        if (_operandType(b) != t) revert TypeMismatch(a, b);
    }

    /// @dev Spec §2: never zero, version 0, this chain; spec §3: a known type code.
    function _requireValidHandle(bytes32 handle) private view {
        uint256 h = uint256(handle);
        if (h == 0 || uint8(h) != HANDLE_VERSION || uint32(h >> 16) != uint32(block.chainid)) {
            revert InvalidHandle(handle);
        }
        _requireKnownType(_typeOf(handle));
    }

    function _requireKnownType(uint8 t) private pure {
        if (t > T_LAST_KNOWN) revert UnknownType(t);
    }

    function _typeOf(bytes32 handle) private pure returns (uint8) {
        return uint8(uint256(handle) >> 8);
    }

    /// @dev uint8..uint256, int8..int256 and the wide extension types uint512..int2048 (100..105):
    ///      the types the engine's arithmetic, safe and comparison operators take (spec §5, with the
    ///      wide plugin of config/operators.yaml).
    function _isInteger(uint8 t) private pure returns (bool) {
        return (t >= T_UINT8 && t <= T_INT256) || _isWide(t);
    }

    /// @dev uint512, uint1024, uint2048, int512, int1024, int2048 (100..105).
    function _isWide(uint8 t) private pure returns (bool) {
        return t >= T_UINT512 && t <= T_LAST_KNOWN;
    }

    /// @dev Types whose values fit a 32-byte word: bool, address, integers up to 256 bits, bytes1..bytes32.
    function _fitsInWord(uint8 t) private pure returns (bool) {
        return t == T_BOOL || t == T_ADDRESS || (t >= T_UINT8 && t <= T_BYTES32);
    }

    // ---- result handles (spec §2) ----

    /// @dev prehandle = first 26 bytes of keccak256(abi.encodePacked(uint8 op, bytes32[] inputs,
    ///      address noxCompute, address caller, uint256 timestamp, uint8 outputIndex)), then the chain
    ///      id, the type and version 0. The caller may use the result for the rest of the transaction.
    function _result(uint8 op, bytes32[] memory inputs, uint8 outputIndex, uint8 t) private returns (bytes32 handle) {
        handle = _handleOf(
            keccak256(abi.encodePacked(op, inputs, address(this), msg.sender, block.timestamp, outputIndex)), t
        );
    }

    /// @dev The handle of a result: the digest's first 26 bytes, this chain's id, type `t`, version 0;
    ///      transiently allowed to the caller.
    function _handleOf(bytes32 digest, uint8 t) private returns (bytes32 handle) {
        handle = bytes32(
            (uint256(digest) & PREHANDLE_MASK) | (uint256(uint32(block.chainid)) << 16) | (uint256(t) << 8)
                | HANDLE_VERSION
        );
        _allowTransient(handle, msg.sender);
    }

    // =========================================================================================
    // Input proofs (spec §4.4, §7.1)
    // =========================================================================================

    /// @inheritdoc INoxCompute
    /// @dev Checked in this order, each with its own error: length; handle (zero, version, chain id,
    ///      known type); type byte == teeType; proof owner == handleOwner; proof app == msg.sender;
    ///      freshness (createdAt + proofExpiration >= block.timestamp, createdAt at most
    ///      MAX_CLOCK_SKEW ahead); signature (v, low s, recovers to gateway). A proof can be
    ///      presented more than once while fresh: it only proves that the Gateway encrypted this
    ///      input for this owner and this application.
    function validateInputProof(bytes32 handle, address handleOwner, bytes calldata proof, uint8 teeType)
        external
        returns (bytes32)
    {
        if (proof.length != PROOF_LENGTH) revert InvalidProofLength(proof.length);
        _requireValidHandle(handle);
        if (_typeOf(handle) != teeType) revert HandleTypeMismatch(handle, teeType);
        address proofOwner = address(bytes20(proof[0:20]));
        if (proofOwner != handleOwner) revert ProofOwnerMismatch(proofOwner, handleOwner);
        address app = address(bytes20(proof[20:40]));
        if (app != msg.sender) revert ProofAppMismatch(app, msg.sender);
        uint256 createdAt = uint256(bytes32(proof[40:72]));
        _requireFresh(createdAt);
        _requireGatewaySignature(_handleProofDigest(handle, proofOwner, app, createdAt), proof[72:137]);
        _allowTransient(handle, msg.sender);
        return handle;
    }

    /// @inheritdoc INoxCompute
    /// @dev Computed on every call rather than cached so a chain fork with a new chain id cannot
    ///      accept proofs made for the old one.
    function domainSeparator() public view returns (bytes32) {
        return keccak256(
            abi.encode(DOMAIN_TYPEHASH, DOMAIN_NAME_HASH, DOMAIN_VERSION_HASH, block.chainid, address(this))
        );
    }

    /// @dev createdAt + proofExpiration >= block.timestamp, written without an addition that could overflow.
    function _requireFresh(uint256 createdAt) private view {
        if (createdAt > block.timestamp) {
            if (createdAt - block.timestamp > MAX_CLOCK_SKEW) revert ProofFromFuture(createdAt, block.timestamp);
        } else if (block.timestamp - createdAt > proofExpiration) {
            revert ProofExpired(createdAt, block.timestamp);
        }
    }

    /// @dev EIP-712: keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(HandleProof)).
    function _handleProofDigest(bytes32 handle, address handleOwner, address app, uint256 createdAt)
        private
        view
        returns (bytes32)
    {
        bytes32 structHash = keccak256(abi.encode(HANDLE_PROOF_TYPEHASH, handle, handleOwner, app, createdAt));
        return keccak256(abi.encodePacked(hex"1901", domainSeparator(), structHash));
    }

    /// @dev signature = r(32) ‖ s(32) ‖ v(1). v may be 27/28, or 0/1 (spec §4.3); s must be in the
    ///      lower half of the curve order so a signature has exactly one accepted encoding.
    function _requireGatewaySignature(bytes32 digest, bytes calldata signature) private view {
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        if (v < 27) v += 27;
        if (v != 27 && v != 28) revert InvalidSignatureV(uint8(signature[64]));
        if (uint256(s) > SECP256K1_HALF_ORDER) revert InvalidSignatureS(s);
        address signer = ecrecover(digest, v, r, s);
        if (signer == address(0) || signer != gateway) revert InvalidSigner(signer);
    }
}
