// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title INoxACL — who may use and who may decrypt a handle (spec §9)
/// @notice Three kinds of access, from strongest to weakest:
///  - *allowed* (admin): may use the handle as an operand and manage its access. Persistent
///    (`allow`) or transient (EIP-1153: for the current transaction only, granted automatically
///    to the caller on every result handle and every validated input).
///  - *viewer*: may ask the Handle Gateway for the plaintext (`isViewer`); cannot compute with it.
///  - *public*: everybody is a viewer.
/// Transient access never makes a viewer: decryption happens off-chain, after the transaction.
interface INoxACL {
    /// @notice `account` may now use and manage `handle` (granted by `caller`).
    event Allowed(address indexed caller, bytes32 indexed handle, address indexed account);
    /// @notice `account` may now decrypt `handle` (granted by `caller`).
    event ViewerAdded(address indexed caller, bytes32 indexed handle, address indexed account);
    /// @notice Everybody may now decrypt `handle` (decided by `caller`).
    event PublicDecryptionAllowed(address indexed caller, bytes32 indexed handle);

    /// @notice `account` is neither persistently nor transiently allowed on `handle`.
    error NotAllowed(bytes32 handle, address account);

    /// @notice Persistently allows `account` to use and manage `handle`. The caller must be allowed.
    function allow(bytes32 handle, address account) external;

    /// @notice Allows `account` to use and manage `handle` until the end of this transaction
    ///         (EIP-1153 transient storage). The caller must be allowed.
    function allowTransient(bytes32 handle, address account) external;

    /// @notice Lets `account` decrypt `handle` through the Gateway. The caller must be allowed.
    function addViewer(bytes32 handle, address account) external;

    /// @notice Lets everybody decrypt `handle`. The caller must be allowed. Cannot be undone.
    function allowPublicDecryption(bytes32 handle) external;

    /// @notice True when `account` may use `handle` now: persistently allowed or allowed for this transaction.
    function isAllowed(bytes32 handle, address account) external view returns (bool);

    /// @notice True when `account` may decrypt `handle`: persistently allowed, a viewer, or the handle
    ///         is public. Transient access does not count.
    function isViewer(bytes32 handle, address account) external view returns (bool);

    /// @notice True when everybody may decrypt `handle`.
    function isPubliclyDecryptable(bytes32 handle) external view returns (bool);
}

/// @title INoxCompute — the Nox protocol's on-chain entry points (spec §5, §7.1, §9)
/// @notice Every operation checks its operands (valid handle, allowed for `msg.sender`, §5 type
///         rules), derives its result handles deterministically (§2), grants `msg.sender` transient
///         access to them and emits exactly one event that the Ingestor forwards to the Runners.
///         Nothing here ever depends on an encrypted value: only type errors and the per-transaction
///         event budget (MAX_EVENTS_PER_TRANSACTION) revert.
interface INoxCompute is INoxACL {
    /// @notice One implementation of an extension operator, as the engine's plugin descriptor
    ///         (`nox_operator` in plugins/include/nox/plugin.h) declares it and `nox-eval
    ///         --signatures` prints it.
    /// @param inputs the slot of each input: a type code (spec §3; fixed-size: 0, 1, 4..105), or
    ///        256 + k for type variable k (`NOX_SLOT_VAR(k)`, k < 4)
    /// @param outputs the slot of each output, likewise. A variable used only by outputs is bound
    ///        by the caller's declared output type (e.g. cast's result type).
    /// @param typeSets typeSets[k]: the types variable k admits, bit c set when code c is admitted
    ///        (`nox_typeset`); non-zero and fixed-size codes only for a variable the slots use, 0
    ///        for any other
    struct Signature {
        uint16[] inputs;
        uint16[] outputs;
        uint256[4] typeSets;
    }

    // ---- operation events (spec §9): field order = the queue message's field order (§6) ----

    event PlaintextToEncrypted(address indexed caller, bytes32 value, uint8 teeType, bytes32 handle);
    event Add(address indexed caller, bytes32 leftHandOperand, bytes32 rightHandOperand, bytes32 result);
    event Sub(address indexed caller, bytes32 leftHandOperand, bytes32 rightHandOperand, bytes32 result);
    event Mul(address indexed caller, bytes32 leftHandOperand, bytes32 rightHandOperand, bytes32 result);
    event Div(address indexed caller, bytes32 leftHandOperand, bytes32 rightHandOperand, bytes32 result);
    event SafeAdd(
        address indexed caller, bytes32 leftHandOperand, bytes32 rightHandOperand, bytes32 success, bytes32 result
    );
    event SafeSub(
        address indexed caller, bytes32 leftHandOperand, bytes32 rightHandOperand, bytes32 success, bytes32 result
    );
    event SafeMul(
        address indexed caller, bytes32 leftHandOperand, bytes32 rightHandOperand, bytes32 success, bytes32 result
    );
    event SafeDiv(
        address indexed caller, bytes32 leftHandOperand, bytes32 rightHandOperand, bytes32 success, bytes32 result
    );
    event Select(address indexed caller, bytes32 condition, bytes32 ifTrue, bytes32 ifFalse, bytes32 result);
    event Eq(address indexed caller, bytes32 leftHandOperand, bytes32 rightHandOperand, bytes32 result);
    event Ne(address indexed caller, bytes32 leftHandOperand, bytes32 rightHandOperand, bytes32 result);
    event Lt(address indexed caller, bytes32 leftHandOperand, bytes32 rightHandOperand, bytes32 result);
    event Le(address indexed caller, bytes32 leftHandOperand, bytes32 rightHandOperand, bytes32 result);
    event Gt(address indexed caller, bytes32 leftHandOperand, bytes32 rightHandOperand, bytes32 result);
    event Ge(address indexed caller, bytes32 leftHandOperand, bytes32 rightHandOperand, bytes32 result);
    event Transfer(
        address indexed caller,
        bytes32 balanceFrom,
        bytes32 balanceTo,
        bytes32 amount,
        bytes32 success,
        bytes32 newBalanceFrom,
        bytes32 newBalanceTo
    );
    event Mint(
        address indexed caller,
        bytes32 balanceTo,
        bytes32 amount,
        bytes32 totalSupply,
        bytes32 success,
        bytes32 newBalanceTo,
        bytes32 newTotalSupply
    );
    event Burn(
        address indexed caller,
        bytes32 balanceFrom,
        bytes32 amount,
        bytes32 totalSupply,
        bytes32 success,
        bytes32 newBalanceFrom,
        bytes32 newTotalSupply
    );

    // ---- configuration events ----

    /// @notice Input proofs are now checked against `gateway`.
    event GatewayUpdated(address gateway);
    /// @notice Services should now find `kmsPublicKey` at the KMS.
    event KmsPublicKeyUpdated(bytes kmsPublicKey);
    /// @notice Input proofs now last `proofExpiration` seconds.
    event ProofExpirationUpdated(uint256 proofExpiration);

    // ---- extension operators (ids >= 64, spec §5): the generic entry point and its registry ----

    /// @notice One call of `compute`: extension operator `operatorId` on `inputs`, giving `outputs`
    ///         (result handles in output order; each output's type byte is the declared output type).
    ///         The Ingestor forwards it like the §9 operation events.
    event Compute(address indexed caller, uint16 operatorId, bytes32[] inputs, bytes32[] outputs);
    /// @notice Extension operator `operatorId` is now registered with this arity, enabled or not
    ///         (setOperator: with new signatures, read them with operatorSignatures; setOperatorEnabled).
    event OperatorSet(uint16 operatorId, uint8 nInputs, uint8 nOutputs, bool enabled);

    // ---- errors: handles and types (§2, §3, §5) ----

    /// @notice bytes32(0), a version other than 0, or a chain id other than this chain's.
    error InvalidHandle(bytes32 handle);
    /// @notice A type code the protocol reserves (106..255).
    error UnknownType(uint8 typeCode);
    /// @notice A known type the operation does not accept (e.g. `add` on bool, `plaintextToEncrypted` on string).
    error UnsupportedType(uint8 typeCode);
    /// @notice Two operands that must share a type do not.
    error TypeMismatch(bytes32 a, bytes32 b);
    /// @notice `select`'s condition is not an ebool.
    error NotBool(bytes32 handle);
    /// @notice Token operations accept unsigned integers only.
    error NotUnsigned(bytes32 handle);

    // ---- errors: extension operators (compute, setOperator) ----

    /// @notice Operator ids 0..63 belong to the protocol: they have their own entry points and
    ///         cannot be registered or called through `compute`.
    error ReservedOperator(uint16 operatorId);
    /// @notice No operator with this id was ever registered (setOperator).
    error UnknownOperator(uint16 operatorId);
    /// @notice The operator is registered but disabled by the owner.
    error OperatorDisabled(uint16 operatorId);
    /// @notice `compute` got `inputs` input handles and `outputs` output types; the registered
    ///         arity differs (operatorInfo).
    error WrongArity(uint16 operatorId, uint256 inputs, uint256 outputs);
    /// @notice `compute`: no registered signature of the operator accepts these input types (the
    ///         input handles' type bytes, in order) with these declared output types — exactly the
    ///         calls the Runner's engine (nox_op_resolve) would refuse. Under the rules of every
    ///         signature: a slot that names a type takes exactly that type; the slots that name one
    ///         type variable take one type, from the variable's set; an output whose variable an
    ///         input binds must be declared as that input's type; an output-only variable (cast's
    ///         result) may be declared as any type of its set. Checked last, after the inputs and
    ///         output types themselves.
    error NoMatchingImplementation(uint16 operatorId, uint8[] inputTypes, uint8[] outputTypes);
    /// @notice setOperator: a signature does not have 1..8 inputs and 1..8 outputs (the engine's
    ///         NOX_MAX_ARITY), or not the same numbers as the operator's first signature.
    error InvalidArity(uint16 operatorId, uint256 nInputs, uint256 nOutputs);
    /// @notice setOperator: 1..16 signatures per operator (the engine's NOX_MAX_IMPLS).
    error InvalidSignatureCount(uint16 operatorId, uint256 count);
    /// @notice setOperator: slot `position` (input i: i; output j: 8 + j) of signature `signature`
    ///         is neither a fixed-size type code (0, 1, 4..105) nor a type variable 256..259.
    error InvalidSlot(uint16 operatorId, uint256 signature, uint256 position, uint16 slot);
    /// @notice setOperator: type variable `variable` of signature `signature` is used by a slot but
    ///         admits no type or a type that is not fixed-size (2, 3, 106..255), or is used by no
    ///         slot but is not 0.
    error InvalidTypeSet(uint16 operatorId, uint256 signature, uint256 variable, uint256 typeSet);

    // ---- errors: the per-transaction budget ----

    /// @notice The operation would make NoxCompute emit more than `limit`
    ///         (MAX_EVENTS_PER_TRANSACTION) events in this transaction: every operation entry point
    ///         (plaintextToEncrypted, the §5 operations, compute) emits one and counts. Checked
    ///         first, before anything else.
    error TransactionBudgetExceeded(uint256 limit);

    // ---- errors: input proofs (§7.1), in the order they are checked ----

    /// @notice A proof is exactly 137 bytes: owner(20) ‖ app(20) ‖ createdAt(32) ‖ signature(65).
    error InvalidProofLength(uint256 length);
    /// @notice The handle's type byte is not the type the application expects.
    error HandleTypeMismatch(bytes32 handle, uint8 expectedType);
    /// @notice The proof was issued to `proofOwner`, not to `expectedOwner`.
    error ProofOwnerMismatch(address proofOwner, address expectedOwner);
    /// @notice The proof was issued for application `proofApp`, but `caller` presented it.
    error ProofAppMismatch(address proofApp, address caller);
    /// @notice The proof is older than `proofExpiration()` seconds.
    error ProofExpired(uint256 createdAt, uint256 blockTimestamp);
    /// @notice The proof claims a creation time more than MAX_CLOCK_SKEW seconds in the future.
    error ProofFromFuture(uint256 createdAt, uint256 blockTimestamp);
    /// @notice The signature's v is not 27 or 28 (0 and 1 are accepted as 27 and 28).
    error InvalidSignatureV(uint8 v);
    /// @notice The signature's s is in the upper half of the curve order (malleable).
    error InvalidSignatureS(bytes32 s);
    /// @notice The signature does not recover to the registered Gateway (`recovered` may be 0).
    error InvalidSigner(address recovered);

    // ---- errors: administration ----

    /// @notice Only owner() may change the configuration.
    error NotOwner(address caller);
    /// @notice The gateway cannot be address(0): ecrecover returns 0 for invalid signatures.
    error ZeroAddress();
    /// @notice The KMS public key must be a 33-byte compressed secp256k1 point (0x02/0x03 ‖ x).
    error InvalidKmsPublicKey();
    /// @notice proofExpiration must be at least one second.
    error InvalidProofExpiration();
    /// @notice Handles carry a 32-bit chain id (§2).
    error UnsupportedChainId(uint256 chainId);

    // ---- operations (spec §5) ----

    /// @notice Encrypts a public `value` (a 32-byte word, right-aligned in the type's size) as `teeType`.
    /// @return handle the new handle (operator 0, inputs [value]); the caller gets transient access
    function plaintextToEncrypted(bytes32 value, uint8 teeType) external returns (bytes32 handle);

    /// @notice a + b, wrapping (§5 `add`, operator 1).
    function add(bytes32 leftHandOperand, bytes32 rightHandOperand) external returns (bytes32 result);
    /// @notice a - b, wrapping (§5 `sub`, operator 2).
    function sub(bytes32 leftHandOperand, bytes32 rightHandOperand) external returns (bytes32 result);
    /// @notice a * b, wrapping (§5 `mul`, operator 3).
    function mul(bytes32 leftHandOperand, bytes32 rightHandOperand) external returns (bytes32 result);
    /// @notice a / b toward zero; b = 0 gives the type's MAX (§5 `div`, operator 4).
    function div(bytes32 leftHandOperand, bytes32 rightHandOperand) external returns (bytes32 result);

    /// @notice Exact a + b, or success = false and result = 0 (§5 `safe_add`, operator 5).
    function safeAdd(bytes32 leftHandOperand, bytes32 rightHandOperand)
        external
        returns (bytes32 success, bytes32 result);
    /// @notice Exact a - b, or success = false and result = 0 (§5 `safe_sub`, operator 6).
    function safeSub(bytes32 leftHandOperand, bytes32 rightHandOperand)
        external
        returns (bytes32 success, bytes32 result);
    /// @notice Exact a * b, or success = false and result = 0 (§5 `safe_mul`, operator 7).
    function safeMul(bytes32 leftHandOperand, bytes32 rightHandOperand)
        external
        returns (bytes32 success, bytes32 result);
    /// @notice Exact a / b, or success = false and result = 0 (§5 `safe_div`, operator 8).
    function safeDiv(bytes32 leftHandOperand, bytes32 rightHandOperand)
        external
        returns (bytes32 success, bytes32 result);

    /// @notice condition ? ifTrue : ifFalse (§5 `select`, operator 9).
    function select(bytes32 condition, bytes32 ifTrue, bytes32 ifFalse) external returns (bytes32 result);

    /// @notice a == b, an ebool (§5 `eq`, operator 10).
    function eq(bytes32 leftHandOperand, bytes32 rightHandOperand) external returns (bytes32 result);
    /// @notice a != b, an ebool (§5 `ne`, operator 11).
    function ne(bytes32 leftHandOperand, bytes32 rightHandOperand) external returns (bytes32 result);
    /// @notice a < b, an ebool (§5 `lt`, operator 12).
    function lt(bytes32 leftHandOperand, bytes32 rightHandOperand) external returns (bytes32 result);
    /// @notice a <= b, an ebool (§5 `le`, operator 13).
    function le(bytes32 leftHandOperand, bytes32 rightHandOperand) external returns (bytes32 result);
    /// @notice a > b, an ebool (§5 `gt`, operator 14).
    function gt(bytes32 leftHandOperand, bytes32 rightHandOperand) external returns (bytes32 result);
    /// @notice a >= b, an ebool (§5 `ge`, operator 15).
    function ge(bytes32 leftHandOperand, bytes32 rightHandOperand) external returns (bytes32 result);

    /// @notice Moves `amount` from one balance to another, all or nothing (§5 `transfer`, operator 16).
    function transfer(bytes32 balanceFrom, bytes32 balanceTo, bytes32 amount)
        external
        returns (bytes32 success, bytes32 newBalanceFrom, bytes32 newBalanceTo);
    /// @notice Adds `amount` to a balance and to the supply, all or nothing (§5 `mint`, operator 17).
    function mint(bytes32 balanceTo, bytes32 amount, bytes32 totalSupply)
        external
        returns (bytes32 success, bytes32 newBalanceTo, bytes32 newTotalSupply);
    /// @notice Removes `amount` from a balance and from the supply, all or nothing (§5 `burn`, operator 18).
    function burn(bytes32 balanceFrom, bytes32 amount, bytes32 totalSupply)
        external
        returns (bytes32 success, bytes32 newBalanceFrom, bytes32 newTotalSupply);

    // ---- extension operators (ids >= 64) ----

    /// @notice Runs extension operator `operatorId` (a plugin's operator, spec §5: id >= 64) on
    ///         `inputs`, declaring the type of each output. NoxCompute applies the operator's type
    ///         rules exactly as the Runner's engine will (nox_op_resolve), so that whatever it
    ///         accepts can be computed. Reverts, in this order: TransactionBudgetExceeded;
    ///         ReservedOperator, UnknownOperator, OperatorDisabled, WrongArity (the registered
    ///         arity); per input in order InvalidHandle, UnknownType, NotAllowed; per output type in
    ///         order UnknownType (106..255), UnsupportedType (bytes, string); then
    ///         NoMatchingImplementation when no registered signature (operatorSignatures) accepts
    ///         the input types with the declared output types.
    /// @param operatorId the operator's id (>= 64), registered and enabled (operatorInfo)
    /// @param inputs the operand handles, in the operator's input order
    /// @param outputTypes the type code (§3) of each result, in the operator's output order
    /// @return outputs the result handles: output i's prehandle is the first 26 bytes of
    ///         keccak256(abi.encodePacked(uint16 operatorId, bytes32[] inputs, address noxCompute,
    ///         address caller, uint256 block.timestamp, uint8 i)) (§2 with a uint16 operator id),
    ///         its type byte is outputTypes[i]; the caller gets transient access to each
    function compute(uint16 operatorId, bytes32[] calldata inputs, uint8[] calldata outputTypes)
        external
        returns (bytes32[] memory outputs);

    /// @notice Registers or re-registers extension operator `operatorId` (owner only) with the
    ///         signatures of all its implementations, in the engine's order — what `nox-eval
    ///         --signatures` prints for it (contracts/register_operators.py) — replacing any
    ///         earlier ones. Id >= 64 (ReservedOperator); 1..16 signatures (InvalidSignatureCount),
    ///         each with the same 1..8 inputs and 1..8 outputs (InvalidArity), valid slots
    ///         (InvalidSlot) and type sets (InvalidTypeSet). An id keeps its meaning forever
    ///         (docs/plugins.md, "Ids"); enabled = false makes `compute` refuse it. Emits OperatorSet.
    function setOperator(uint16 operatorId, Signature[] calldata signatures, bool enabled) external;

    /// @notice Enables or disables a registered extension operator (owner only; UnknownOperator
    ///         when it was never registered), keeping its signatures. Emits OperatorSet.
    function setOperatorEnabled(uint16 operatorId, bool enabled) external;

    /// @notice What the registry holds for `operatorId` (all zero/false when never registered).
    function operatorInfo(uint16 operatorId)
        external
        view
        returns (uint8 nInputs, uint8 nOutputs, bool enabled, bool registered);

    /// @notice The signatures registered for `operatorId`, exactly as setOperator received them
    ///         (empty when never registered).
    function operatorSignatures(uint16 operatorId) external view returns (Signature[] memory);

    // ---- inputs (spec §7.1) ----

    /// @notice Checks a Gateway input proof for `handle` and grants the caller transient access to it.
    /// @param handle the handle the Gateway returned
    /// @param handleOwner the user the input belongs to (must be the proof's owner)
    /// @param proof owner(20) ‖ app(20) ‖ createdAt(32) ‖ signature(65), app = msg.sender
    /// @param teeType the type the application expects (must be the handle's type byte)
    /// @return the handle, now usable by the caller in this transaction
    function validateInputProof(bytes32 handle, address handleOwner, bytes calldata proof, uint8 teeType)
        external
        returns (bytes32);

    // ---- configuration ----

    /// @notice The KMS public key (33-byte compressed secp256k1) inputs are encrypted to.
    function kmsPublicKey() external view returns (bytes memory);
    /// @notice The Handle Gateway wallet whose signatures make input proofs.
    function gateway() external view returns (address);
    /// @notice How long (seconds) an input proof stays valid after its createdAt.
    function proofExpiration() external view returns (uint256);
    /// @notice The administrator of the three settings above.
    function owner() external view returns (address);
    /// @notice The EIP-712 domain separator of input proofs on this chain and contract.
    function domainSeparator() external view returns (bytes32);
}
