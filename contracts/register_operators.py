#!/usr/bin/python3
"""Registers the extension operators an engine configuration loads in NoxCompute's operator registry.

    register_operators.py --rpc-url URL --private-key KEY --compute ADDR --nox-eval PATH --config FILE
                          [--enable IDS] [--disable IDS] [--dry-run] [--cast PATH]
    register_operators.py --rpc-url URL --private-key KEY --compute ADDR {--enable IDS | --disable IDS}...

Runs `nox-eval --config FILE --signatures` (JSON: every operator's id, name, arity and the
signature of each of its implementations — input and output slots, type-variable sets — read from
the plugins' descriptors, the source `nox-plugin-check --solidity` reads too), and for every
operator with id >= 64 calls NoxCompute.setOperator(id, signatures, enabled) unless
operatorSignatures(id) already holds exactly these signatures (in the engine's order). A new
operator is registered enabled. An operator the owner disabled stays disabled, also when its
signatures changed and are re-registered (the script never overrides that decision), unless its
id is in --enable. Ids 0..63 are the protocol's (their own entry points) and are skipped.
Idempotent: a second run sends nothing. The key must be NoxCompute's owner (the deployer of
contracts/deploy.py).

--disable ID[,ID...]  operators no longer loaded (e.g. removed from the configuration): each one
                      registered and enabled gets setOperatorEnabled(id, false), so compute()
                      refuses it before any Runner sees it; with --config, an id it loads is refused
--enable ID[,ID...]   the caller's own earlier --disable undone: each one registered and disabled
                      gets setOperatorEnabled(id, true) (with --config: one it re-registers stays
                      enabled). `scripts/devnet.sh reload-operators` uses both, for the ids it disabled
--dry-run             checks the configuration (arity, implementations) and prints what it would
                      send; sends nothing
Without --config, only --enable / --disable act.

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
SET_OPERATOR_ENABLED = "setOperatorEnabled(uint16,bool)"
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


def parse_ids(text, what):
    """The ids of --enable / --disable: comma-separated, each 64..65535."""
    ids = []
    for x in (text or "").split(","):
        if not x.strip():
            continue
        try:
            op_id = int(x.strip(), 0)
        except ValueError:
            raise RegisterError(f"{what} {text!r}: expected ids like 1000,1001")
        if not FIRST_EXTENSION_OPERATOR <= op_id <= 0xFFFF:
            raise RegisterError(f"{what} {op_id}: an extension operator id is {FIRST_EXTENSION_OPERATOR}..65535")
        ids.append(op_id)
    return sorted(set(ids))


def send(a, signature, *args):
    """One transaction of the owner's; its hash (RegisterError when it reverted)."""
    receipt = json.loads(cast(a.cast, "send", "--json", "--rpc-url", a.rpc_url, "--private-key", a.private_key,
                              a.compute, signature, *args))
    if int(receipt["status"], 16) != 1:
        raise RegisterError(f"id={args[0]}: {signature.split('(')[0]} reverted in transaction "
                            f"{receipt.get('transactionHash')}")
    return receipt["transactionHash"]


def set_enabled(a, op_id, enabled, name=""):
    """--enable / --disable of one id: one line, and 1 when a transaction was (or, dry, would be) sent."""
    have_in, have_out, is_enabled, registered = operator_info(a.cast, a.rpc_url, a.compute, op_id)
    label = f"{name or '-':<10} id={op_id:<5} {have_in}->{have_out}"
    verb = "enabled" if enabled else "disabled"
    if not registered:
        print(f"{label}  not registered: nothing to {'enable' if enabled else 'disable'}")
        return 0
    if is_enabled == enabled:
        print(f"{label}  already {verb}")
        return 0
    if a.dry_run:
        print(f"{label}  would be {verb}")
        return 1
    tx = send(a, SET_OPERATOR_ENABLED, str(op_id), "true" if enabled else "false")
    print(f"{label}  {verb} in transaction {tx}")
    return 1


def register(a):
    enable, disable = parse_ids(a.enable, "--enable"), parse_ids(a.disable, "--disable")
    if set(enable) & set(disable):
        raise RegisterError(f"ids both in --enable and --disable: {sorted(set(enable) & set(disable))}")
    ops = configured_operators(a.nox_eval, a.config) if a.config else {}
    loaded = sorted(set(disable) & set(ops))
    if loaded:
        raise RegisterError(f"--disable {','.join(map(str, loaded))}: the configuration loads "
                            f"{', '.join(ops[i][0] for i in loaded)}")
    sent = kept = disabled = switched = 0
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
            elif op_id in enable:
                switched += set_enabled(a, op_id, True, name)
            else:
                print(f"{label}  registered but disabled by the owner: left disabled")
                disabled += 1
            continue
        keep_enabled = enabled or not registered or op_id in enable
        if not registered:
            was = ""
        elif (have_in, have_out) != (nin, nout):
            was = f" (was {have_in}->{have_out})"
        else:
            was = " (its signatures changed)"
        state = "" if keep_enabled else ", left disabled by the owner's decision"
        if a.dry_run:
            print(f"{label}  would be registered{was}{state}")
            sent += 1
            continue
        tx = send(a, SET_OPERATOR, str(op_id), signatures_arg(sigs), "true" if keep_enabled else "false")
        print(f"{label}  registered{was}{state} in transaction {tx}")
        sent += 1
    for op_id in enable:
        if op_id not in ops:
            switched += set_enabled(a, op_id, True)
    for op_id in disable:
        switched += set_enabled(a, op_id, False)
    more = f", {switched} enabled or disabled" if enable or disable else ""
    print(f"register_operators: {'dry run (nothing sent): ' if a.dry_run else ''}{sent} registered, {kept} already "
          f"registered, {disabled} left disabled{more}")


def parse_args():
    p = argparse.ArgumentParser(description="Register a configuration's extension operators (ids >= 64) "
                                            "in NoxCompute.")
    p.add_argument("--rpc-url", required=True)
    p.add_argument("--private-key", required=True, help="NoxCompute's owner")
    p.add_argument("--compute", required=True, help="the NoxCompute address")
    p.add_argument("--nox-eval", help="the nox-eval executable (with --config)")
    p.add_argument("--config", help="the engine's operators.yaml")
    p.add_argument("--enable", metavar="IDS", help="re-enable these ids (comma-separated) when disabled")
    p.add_argument("--disable", metavar="IDS", help="disable these ids (operators no longer loaded)")
    p.add_argument("--dry-run", action="store_true", help="check and print what would be sent; send nothing")
    p.add_argument("--cast", default=os.environ.get("NOX_CAST", DEFAULT_CAST))
    a = p.parse_args()
    if not re.fullmatch(r"0x[0-9a-fA-F]{40}", a.compute):
        p.error("--compute: expected 0x + 40 hex digits")
    if not (a.config or a.enable or a.disable):
        p.error("--config FILE, --enable IDS or --disable IDS is required")
    if a.config and not a.nox_eval:
        p.error("--config needs --nox-eval")
    if a.config and not os.path.isfile(a.config):
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
