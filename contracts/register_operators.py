#!/usr/bin/python3
"""Registers the extension operators an engine configuration loads in NoxCompute's operator registry.

    register_operators.py --rpc-url URL --private-key KEY --compute ADDR --nox-eval PATH --config FILE
                          [--cast PATH]

Runs `nox-eval --config FILE --list` (one line per implementation: `min  id=64  2->1  ...  [minmax 1.0.0]`;
an operator implemented by several plugins has several lines with the same id and arity), and for
every operator with id >= 64 calls NoxCompute.setOperator(id, nInputs, nOutputs, true) unless
operatorInfo(id) already says registered with that arity. An operator the owner registered with that
arity but disabled is left disabled (the script never overrides that decision); one registered with
another arity is re-registered with the configuration's. Ids 0..63 are the protocol's (their own
entry points) and are skipped. Idempotent: a second run sends nothing. The key must be NoxCompute's
owner (the deployer of contracts/deploy.py).

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
LIST_LINE = re.compile(r"^(?P<name>[a-z][a-z0-9_]*)\s+id=(?P<id>\d+)\s+(?P<nin>\d+)->(?P<nout>\d+)\s")


class RegisterError(Exception):
    pass


def configured_operators(nox_eval, config):
    """{id: (name, nInputs, nOutputs)} of every operator the configuration loads (all ids)."""
    try:
        r = subprocess.run([nox_eval, "--config", config, "--list"], capture_output=True, text=True)
    except OSError as e:
        raise RegisterError(f"{nox_eval}: {e}")
    if r.returncode != 0:
        raise RegisterError(f"nox-eval --list: {(r.stderr or r.stdout).strip()}")
    ops = {}
    for line in r.stdout.splitlines():
        if not line.strip():
            continue
        m = LIST_LINE.match(line)
        if not m:
            raise RegisterError(f"nox-eval --list: unexpected line: {line}")
        op_id, entry = int(m["id"]), (m["name"], int(m["nin"]), int(m["nout"]))
        if op_id in ops and ops[op_id] != entry:
            raise RegisterError(f"operator id {op_id} is listed as {ops[op_id][0]} {ops[op_id][1]}->{ops[op_id][2]} "
                                f"and as {entry[0]} {entry[1]}->{entry[2]}")
        ops[op_id] = entry
    if not ops:
        raise RegisterError("nox-eval --list printed no operator")
    return ops


def operator_info(exe, rpc, compute, op_id):
    out = cast(exe, "call", "--rpc-url", rpc, compute, "operatorInfo(uint16)(uint8,uint8,bool,bool)", str(op_id))
    words = out.split()
    if len(words) != 4:
        raise RegisterError(f"operatorInfo({op_id}): unexpected answer {out!r}")
    return int(words[0]), int(words[1]), words[2] == "true", words[3] == "true"


def register(a):
    ops = configured_operators(a.nox_eval, a.config)
    sent = kept = disabled = 0
    for op_id in sorted(ops):
        name, nin, nout = ops[op_id]
        label = f"{name:<10} id={op_id:<5} {nin}->{nout}"
        if op_id < FIRST_EXTENSION_OPERATOR:
            continue
        if not (1 <= nin <= MAX_ARITY and 1 <= nout <= MAX_ARITY):
            raise RegisterError(f"{label}: NoxCompute accepts 1..{MAX_ARITY} inputs and outputs")
        have_in, have_out, enabled, registered = operator_info(a.cast, a.rpc_url, a.compute, op_id)
        if registered and (have_in, have_out) == (nin, nout):
            if enabled:
                print(f"{label}  already registered")
                kept += 1
            else:
                print(f"{label}  registered but disabled by the owner: left disabled")
                disabled += 1
            continue
        receipt = json.loads(cast(a.cast, "send", "--json", "--rpc-url", a.rpc_url, "--private-key", a.private_key,
                                  a.compute, "setOperator(uint16,uint8,uint8,bool)", str(op_id), str(nin), str(nout),
                                  "true"))
        if int(receipt["status"], 16) != 1:
            raise RegisterError(f"{label}: setOperator reverted in transaction {receipt.get('transactionHash')}")
        was = f" (was {have_in}->{have_out})" if registered else ""
        print(f"{label}  registered{was} in transaction {receipt['transactionHash']}")
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
