#!/usr/bin/python3
"""Deploys NoxCompute and ConfidentialToken with cast and writes the deployment file.

    deploy.py --rpc-url URL --private-key KEY --gateway ADDR --kms-public-key 0xHEX --out FILE
              [--artifacts DIR] [--cast PATH] [--token-name NAME] [--token-symbol SYMBOL]

FILE = {"chainId": N, "rpcUrl": URL, "deployer": "0x…", "noxCompute": "0x…",
        "confidentialToken": "0x…", "deployBlock": N}
(addresses lowercase; deployBlock = the block of NoxCompute's creation, where an Ingestor starts).
The deployer owns both contracts. Artifacts come from `node contracts/build.js`: --artifacts, else
$NOX_CONTRACTS_DIR, else the contracts/ beside $NOX_BIN_DIR (the build whose binaries a devnet runs,
when it has one), else build/contracts; cast is the pinned one of scripts/setup.sh unless --cast or $NOX_CAST says
otherwise (the platform binary: the npm wrapper exits 0 even when cast fails).
Exit status: 0 deployed, 1 failed (reason on stderr), 2 bad usage.
"""
import argparse
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CAST = os.path.join(ROOT, "build", "tools", "node_modules", "@foundry-rs", "cast-linux-amd64", "bin", "cast")


class DeployError(Exception):
    pass


def cast(exe, *args):
    r = subprocess.run([exe, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise DeployError(f"cast {args[0]}: {(r.stderr or r.stdout).strip()}")
    return r.stdout.strip()


def default_artifacts():
    """$NOX_CONTRACTS_DIR; else BUILD/contracts when $NOX_BIN_DIR is BUILD/bin of a build that has them (a devnet
    running another build tree's binaries deploys that tree's contracts); else build/contracts."""
    if os.environ.get("NOX_CONTRACTS_DIR"):
        return os.environ["NOX_CONTRACTS_DIR"]
    bin_dir = os.environ.get("NOX_BIN_DIR")
    if bin_dir:
        beside = os.path.join(os.path.dirname(os.path.abspath(bin_dir)), "contracts")
        if os.path.isfile(os.path.join(beside, "NoxCompute.json")):
            return beside
    return os.path.join(ROOT, "build", "contracts")


def load_bytecode(artifacts, name):
    path = os.path.join(artifacts, name + ".json")
    try:
        with open(path) as f:
            code = json.load(f)["bytecode"]
    except (OSError, ValueError, KeyError) as e:
        raise DeployError(f"{path}: {e} (run node contracts/build.js)")
    if not re.fullmatch(r"0x(?:[0-9a-f]{2})+", code):
        raise DeployError(f"{path}: no deployable bytecode")
    return code


def create(exe, rpc, key, bytecode, ctor_sig, *ctor_args):
    """Sends a creation transaction; returns (address, block number)."""
    data = bytecode + cast(exe, "abi-encode", ctor_sig, *ctor_args)[2:]
    receipt = json.loads(cast(exe, "send", "--json", "--rpc-url", rpc, "--private-key", key, "--create", data))
    if int(receipt["status"], 16) != 1 or not receipt.get("contractAddress"):
        raise DeployError(f"creation reverted in transaction {receipt.get('transactionHash')}")
    return receipt["contractAddress"].lower(), int(receipt["blockNumber"], 16)


def parse_args():
    p = argparse.ArgumentParser(description="Deploy NoxCompute and ConfidentialToken.")
    p.add_argument("--rpc-url", required=True)
    p.add_argument("--private-key", required=True, help="the deployer's key (owner of both contracts)")
    p.add_argument("--gateway", required=True, help="the Handle Gateway wallet address")
    p.add_argument("--kms-public-key", required=True, help="0x + 33-byte compressed secp256k1 point")
    p.add_argument("--out", required=True, help="the deployment JSON to write")
    p.add_argument("--artifacts", default=default_artifacts())
    p.add_argument("--cast", default=os.environ.get("NOX_CAST", DEFAULT_CAST))
    p.add_argument("--token-name", default="Nox Confidential Token")
    p.add_argument("--token-symbol", default="NCT")
    a = p.parse_args()
    if not re.fullmatch(r"0x[0-9a-fA-F]{40}", a.gateway):
        p.error("--gateway: expected 0x + 40 hex digits")
    if not re.fullmatch(r"0x0[23][0-9a-fA-F]{64}", a.kms_public_key):
        p.error("--kms-public-key: expected a 33-byte compressed point, 0x02… or 0x03… (66 hex digits)")
    return a


def deploy(a):
    compute_code = load_bytecode(a.artifacts, "NoxCompute")
    token_code = load_bytecode(a.artifacts, "ConfidentialToken")
    chain_id = int(cast(a.cast, "chain-id", "--rpc-url", a.rpc_url))
    deployer = cast(a.cast, "wallet", "address", "--private-key", a.private_key).lower()
    compute, block = create(a.cast, a.rpc_url, a.private_key, compute_code, "constructor(address,bytes)",
                            a.gateway, a.kms_public_key)
    token, _ = create(a.cast, a.rpc_url, a.private_key, token_code, "constructor(address,string,string)",
                      compute, a.token_name, a.token_symbol)
    return {"chainId": chain_id, "rpcUrl": a.rpc_url, "deployer": deployer, "noxCompute": compute,
            "confidentialToken": token, "deployBlock": block}


def main():
    a = parse_args()
    try:
        result = deploy(a)
    except DeployError as e:
        print(f"deploy.py: {e}", file=sys.stderr)
        return 1
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    os.replace(tmp, a.out)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
