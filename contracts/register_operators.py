#!/usr/bin/python3
"""Registers the extension operators an engine configuration loads in NoxCompute's operator registry.

    register_operators.py --rpc-url URL --private-key KEY --compute ADDR --nox-eval PATH --config FILE
                          [--cast PATH]

Runs `nox-eval --config FILE --signatures` (JSON: every operator's id, name, arity and the
signature of each of its implementations — input and output slots, type-variable sets — read from
the plugins' descriptors, the source `nox-plugin-check --solidity` reads too), and for every
operator with id >= 64 calls NoxCompute.setOperator(id, signatures, enabled) unless
operatorSignatures(id) already holds exactly these signatures (in the engine's order). A new
operator is registered enabled. An operator the owner disabled stays disabled, also when its
signatures changed and are re-registered (the script never overrides that decision). Ids 0..63
are the protocol's (their own entry points) and are skipped. Idempotent: a second run sends
nothing. The key must be NoxCompute's owner (the deployer of contracts/deploy.py).

Prints one line per operator (what it did), then a summary. cast is the pinned one of
scripts/setup.sh unless --cast or $NOX_CAST says otherwise.
Exit status: 0 done, 1 failed (reason on stderr), 2 bad usage.
"""
import argparse
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from deploy import DEFAULT_CAST, DeployError, cast  # noqa: E402

FIRST_EXTENSION_OPERATOR = 64
MAX_ARITY = 8
MAX_SIGNATURES = 16   # the engine's NOX_MAX_IMPLS
TYPE_VARS = 4         # the engine's NOX_MAX_TYPEVARS
SIGNATURE_TUPLE = "(uint16[],uint16[],uint256[4])"
SET_OPERATOR = f"setOperator(uint16,{SIGNATURE_TUPLE}[],bool)"
OPERATOR_SIGNATURES = f"operatorSignatures(uint16)({SIGNATURE_TUPLE}[])"


class RegisterError(Exception):
    pass


def _int(x):
    return int(str(x), 0)


def configured_operators(nox_eval, config):
    """{id: (name, nInputs, nOutputs, signatures)} of every operator the configuration loads (all ids);
    signatures: a tuple of (inputs, outputs, typeSets) tuples of ints, in the engine's order."""
    try:
        r = subprocess.run([nox_eval, "--config", config, "--signatures"], capture_output=True, text=True)
    except OSError as e:
        raise RegisterError(f"{nox_eval}: {e}")
    if r.returncode != 0:
        raise RegisterError(f"nox-eval --signatures: {(r.stderr or r.stdout).strip()}")
    try:
        doc = json.loads(r.stdout)
        ops = {}
        for op in doc["operators"]:
            op_id, name, nin, nout = int(op["id"]), str(op["name"]), int(op["nInputs"]), int(op["nOutputs"])
            sigs = []
            for impl in op["implementations"]:
                ins, outs = tuple(int(x) for x in impl["inputs"]), tuple(int(x) for x in impl["outputs"])
                sets = tuple(_int(x) for x in impl["typeSets"])
                if len(ins) != nin or len(outs) != nout or len(sets) != TYPE_VARS:
                    raise RegisterError(f"nox-eval --signatures: operator {name}: an implementation's arity or "
                                        f"type sets do not match the operator's")
                sigs.append((ins, outs, sets))
            if op_id in ops:
                raise RegisterError(f"nox-eval --signatures: operator id {op_id} is listed twice")
            ops[op_id] = (name, nin, nout, tuple(sigs))
    except (ValueError, KeyError, TypeError) as e:
        raise RegisterError(f"nox-eval --signatures: unexpected output ({e})")
    if not ops:
        raise RegisterError("nox-eval --signatures printed no operator")
    return ops


def operator_info(exe, rpc, compute, op_id):
    out = cast(exe, "call", "--rpc-url", rpc, compute, "operatorInfo(uint16)(uint8,uint8,bool,bool)", str(op_id))
    words = out.split()
    if len(words) != 4:
        raise RegisterError(f"operatorInfo({op_id}): unexpected answer {out!r}")
    return int(words[0]), int(words[1]), words[2] == "true", words[3] == "true"


def registered_signatures(exe, rpc, compute, op_id):
    """operatorSignatures(id), as configured_operators represents signatures."""
    out = cast(exe, "call", "--json", "--rpc-url", rpc, compute, OPERATOR_SIGNATURES, str(op_id))
    try:
        (sigs,) = json.loads(out)
        return tuple((tuple(_int(x) for x in ins), tuple(_int(x) for x in outs), tuple(_int(x) for x in sets))
                     for ins, outs, sets in sigs)
    except (ValueError, TypeError) as e:
        raise RegisterError(f"operatorSignatures({op_id}): unexpected answer {out!r} ({e})")


def signatures_arg(sigs):
    """Signature[] as cast takes it: [([in,...],[out,...],[set0,set1,set2,set3]),...]."""
    def lst(xs, fmt):
        return "[" + ",".join(fmt(x) for x in xs) + "]"
    return lst(sigs, lambda s: "(" + lst(s[0], str) + "," + lst(s[1], str) + "," + lst(s[2], hex) + ")")


def register(a):
    ops = configured_operators(a.nox_eval, a.config)
    sent = kept = disabled = 0
    for op_id in sorted(ops):
        name, nin, nout, sigs = ops[op_id]
        label = f"{name:<10} id={op_id:<5} {nin}->{nout}"
        if op_id < FIRST_EXTENSION_OPERATOR:
            continue
        if not (1 <= nin <= MAX_ARITY and 1 <= nout <= MAX_ARITY):
            raise RegisterError(f"{label}: NoxCompute accepts 1..{MAX_ARITY} inputs and outputs")
        if not 1 <= len(sigs) <= MAX_SIGNATURES:
            raise RegisterError(f"{label}: NoxCompute accepts 1..{MAX_SIGNATURES} implementations of an operator")
        have_in, have_out, enabled, registered = operator_info(a.cast, a.rpc_url, a.compute, op_id)
        same = registered and registered_signatures(a.cast, a.rpc_url, a.compute, op_id) == sigs
        if same:
            if enabled:
                print(f"{label}  already registered")
                kept += 1
            else:
                print(f"{label}  registered but disabled by the owner: left disabled")
                disabled += 1
            continue
        keep_enabled = enabled or not registered
        receipt = json.loads(cast(a.cast, "send", "--json", "--rpc-url", a.rpc_url, "--private-key", a.private_key,
                                  a.compute, SET_OPERATOR, str(op_id), signatures_arg(sigs),
                                  "true" if keep_enabled else "false"))
        if int(receipt["status"], 16) != 1:
            raise RegisterError(f"{label}: setOperator reverted in transaction {receipt.get('transactionHash')}")
        if not registered:
            was = ""
        elif (have_in, have_out) != (nin, nout):
            was = f" (was {have_in}->{have_out})"
        else:
            was = " (its signatures changed)"
        state = "" if keep_enabled else ", left disabled by the owner's decision"
        print(f"{label}  registered{was}{state} in transaction {receipt['transactionHash']}")
        sent += 1
    print(f"register_operators: {sent} registered, {kept} already registered, {disabled} left disabled")


def parse_args():
    p = argparse.ArgumentParser(description="Register a configuration's extension operators (ids >= 64) "
                                            "in NoxCompute.")
    p.add_argument("--rpc-url", required=True)
    p.add_argument("--private-key", required=True, help="NoxCompute's owner")
    p.add_argument("--compute", required=True, help="the NoxCompute address")
    p.add_argument("--nox-eval", required=True, help="the nox-eval executable")
    p.add_argument("--config", required=True, help="the engine's operators.yaml")
    p.add_argument("--cast", default=os.environ.get("NOX_CAST", DEFAULT_CAST))
    a = p.parse_args()
    if not re.fullmatch(r"0x[0-9a-fA-F]{40}", a.compute):
        p.error("--compute: expected 0x + 40 hex digits")
    if not os.path.isfile(a.config):
        p.error(f"--config: no such file: {a.config}")
    return a


def main():
    a = parse_args()
    try:
        register(a)
    except (RegisterError, DeployError) as e:
        print(f"register_operators.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
