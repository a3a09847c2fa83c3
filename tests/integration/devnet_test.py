#!/usr/bin/python3
"""scripts/devnet.sh end to end: up (a 2-of-3 threshold KMS by default), status, idempotent up, the env file,
every health check, the KMS group (every node's group and key, the Gateway's per-node metrics), a token mint
through the whole pipeline and its decryption, a KMS node killed (decryption goes on) and restarted, a faulty
node (nox-kms-faulty) and back, `reshare` (same P, a value stored before still decrypts), `reload-operators`
(a file adding a test plugin's operator: registered on-chain, only the Runner and the Ingestor restarted, a
value stored before still decrypts, a transaction through the new operator computed — ReloadProbe.sol compiled
with contracts/build.js; broken files refused with their file:line:col, nothing touched; `up` asking another
file refused; a file removing it: disabled on-chain, and back), restart, refusals, pid checks, a stale state,
down; then a `--kms 1-of-1` devnet (the single key) in a second directory.

usage: devnet_test.py [BIN_DIR]     (BIN_DIR: where the nox-* binaries are; passed as NOX_BIN_DIR)

The devnet lives in a temporary NOX_DEVNET_DIR and is always stopped at the end. Ends with "N passed, M failed".
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import noxtest  # noqa: E402
from noxtest import check, http, run  # noqa: E402

ROOT = noxtest.ROOT
DEVNET = os.path.join(ROOT, "scripts", "devnet.sh")
CAST = os.environ.get("NOX_CAST", os.path.join(noxtest.TOOLS, "cast-linux-amd64", "bin", "cast"))
KMS_NODES = ["kms", "kms2", "kms3"]               # the default 2-of-3 KMS: node 1 is "kms"
COMPONENTS = ["postgres", "nats", "anvil", *KMS_NODES, "gateway", "runner", "ingestor"]
SINGLE = ["postgres", "nats", "anvil", "kms", "gateway", "runner", "ingestor"]    # --kms 1-of-1
REQUIRED = ["NOX_CHAIN_ID", "NOX_RPC_URL", "NOX_NATS_URL", "NOX_GATEWAY_URL", "NOX_KMS_URL", "NOX_DATABASE_URL",
            "NOX_COMPUTE_ADDRESS", "NOX_TOKEN_ADDRESS", "NOX_OWNER_KEY", "NOX_ALICE_KEY", "NOX_BOB_KEY",
            "NOX_RUNNER_URL", "NOX_INGESTOR_URL", "NOX_OWNER_ADDRESS", "NOX_ALICE_ADDRESS", "NOX_BOB_ADDRESS",
            "NOX_DEVNET_DIR", "NOX_KMS_PUBLIC_KEY", "NOX_KMS_ADDRESS", "NOX_KMS_URLS", "NOX_KMS_GROUP_FILE",
            "NOX_KMS_THRESHOLD", "NOX_KMS_WALLETS"]
GROUP_FIELDS = ("threshold", "nodes", "publicKey", "commitments", "verificationKeys")


def devnet(*args, timeout=300, env=None):
    t = time.time()
    r = subprocess.run([DEVNET, *args], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                       env=env)
    r.elapsed = time.time() - t
    return r


def pids(d, names=COMPONENTS):
    out = {}
    for n in names:
        try:
            with open(os.path.join(d, "pids", n + ".pid")) as f:
                out[n] = int(f.read())
        except (OSError, ValueError):
            out[n] = None
    return out


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
        return s[s.rfind(")") + 2] not in "ZX"
    except OSError:
        return False


def read_env(d):
    r = run("bash", "-c", f"set -e; source {d}/env; env -0")
    return dict(kv.split("=", 1) for kv in r.stdout.split("\0") if "=" in kv) if r.returncode == 0 else {}


def status_lines(out):
    return {ln.split()[0]: ln for ln in out.splitlines() if ln.split() and ln.split()[0] in COMPONENTS}


def metric(url, name, client_cert=True):
    st, text, _ = http("GET", url + "/metrics", client_cert=client_cert)
    m = re.search(rf"^{re.escape(name)} (\S+)$", text if isinstance(text, str) else "", re.M)
    return float(m.group(1)) if st == 200 and m else None


def noxctl_env(d):
    """noxctl reads the devnet's env file only ($NOX_ENV), no other NOX_ variable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOX_")}
    env["NOX_ENV"] = os.path.join(d, "env")
    return env


def balance(noxctl, d, env, who="ALICE"):
    """(value or None, noxctl's output): noxctl token balance decrypts through the Gateway and the KMS nodes."""
    r = subprocess.run([noxctl, "token", "balance", env[f"NOX_{who}_ADDRESS"], "--key", env[f"NOX_{who}_KEY"],
                        "--json"], capture_output=True, text=True, env=noxctl_env(d), timeout=60)
    try:
        return (json.loads(r.stdout)["value"] if r.returncode == 0 else None), r.stdout + r.stderr
    except (ValueError, KeyError):
        return None, r.stdout + r.stderr


def groups(env):
    """{node URL: (status of GET /v0/group, the group's fields, publicKey of GET /v0/public-key)}."""
    out = {}
    for url in env.get("NOX_KMS_URLS", "").split(","):
        st, body, _ = http("GET", url + "/v0/group")
        st2, key, _ = http("GET", url + "/v0/public-key?chainId=31337")
        out[url] = (st, {k: body.get(k) for k in GROUP_FIELDS} if isinstance(body, dict) else body,
                    key.get("publicKey") if st2 == 200 and isinstance(key, dict) else None)
    return out


def group_file(env):
    with open(env["NOX_KMS_GROUP_FILE"]) as f:
        g = json.load(f)
    return {k: g.get(k) for k in GROUP_FIELDS}


PROBE_SOL = """// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {INoxCompute} from "./INoxCompute.sol";

/// devnet_test.py: a plugin operator through NoxCompute.compute on a trivially encrypted value (every input the
/// same handle), its result viewable by the caller.
contract ReloadProbe {
    event Probed(bytes32 input, bytes32 output);

    function run(INoxCompute nox, uint16 operatorId, uint8 nInputs, uint8 valueType, uint64 value)
        external
        returns (bytes32 output)
    {
        bytes32 h = nox.plaintextToEncrypted(bytes32(uint256(value)), valueType);
        bytes32[] memory ins = new bytes32[](nInputs);
        for (uint256 i = 0; i < nInputs; i++) ins[i] = h;
        uint8[] memory types = new uint8[](1);
        types[0] = valueType;
        output = nox.compute(operatorId, ins, types)[0];
        nox.addViewer(output, msg.sender);
        emit Probed(h, output);
    }
}
"""
UINT64 = 11                                       # spec §3's type code of uint64
OPERATOR_INFO = "operatorInfo(uint16)(uint8,uint8,bool,bool)"


def team_operators(work, bin_dir):
    """(path, name, id, nInputs): config/operators.yaml with this build's plugins plus one test plugin that loads
    cleanly and registers an operator id >= 1000 that config/operators.yaml does not; None when no such build."""
    build, libdir = os.path.dirname(bin_dir), os.path.normpath(os.path.join(bin_dir, "..", "lib", "nox"))
    with open(os.path.join(ROOT, "config", "operators.yaml")) as f:
        base = f.read().replace("../build/lib/nox/", libdir + "/")
    for so, entry, name, op_id, nin in (
            (os.path.join(build, "tests", "sdk-plugins", "broken_crash.so"), "    operators: [calm]\n", "calm", 1001, 1),
            (os.path.join(build, "tests", "e2e", "plugins", "template.so"), "    operators: [average]\n", "average",
             1000, 2)):
        path = os.path.join(work, "team-operators.yaml")
        with open(path, "w") as f:
            f.write(base + f"  - path: {so}          # a team's plugin\n{entry}")
        listing = run(os.path.join(bin_dir, "nox-eval"), "--config", path, "--list")
        if os.path.isfile(so) and listing.returncode == 0 and re.search(rf"(?m)^{name}\s+id={op_id}\s", listing.stdout):
            return path, name, op_id, nin
    return None


def op_info(env, op_id):
    r = run(CAST, "call", "--rpc-url", env["NOX_RPC_URL"], env["NOX_COMPUTE_ADDRESS"], OPERATOR_INFO, str(op_id))
    return r.stdout.split() if r.returncode == 0 else r.stderr.strip()


def block_number(env):
    r = run(CAST, "block-number", "--rpc-url", env["NOX_RPC_URL"])
    return int(r.stdout) if r.returncode == 0 else -1


def runner_operator_count(d, name="runner"):
    """The operator count the last start of the Runner logged."""
    counts = re.findall(r"; (\d+) operator\(s\)", open(os.path.join(d, "logs", name + ".log"), errors="replace").read())
    return int(counts[-1]) if counts else None


def probe(noxctl, d, env, work, op_id, nin, value):
    """ReloadProbe.run(op_id) as alice: (receipt, result handle or None)."""
    out = os.path.join(work, "probe")
    art = os.path.join(out, "ReloadProbe.json")
    if not getattr(probe, "app", None):
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "ReloadProbe.sol"), "w") as f:
            f.write(PROBE_SOL)
        r = run("node", os.path.join(ROOT, "contracts", "build.js"), "--out", out, os.path.join(out, "ReloadProbe.sol"))
        check("ReloadProbe.sol compiles (contracts/build.js)", r.returncode == 0 and os.path.isfile(art),
              r.stdout + r.stderr)
        if r.returncode != 0:
            return None, None
        alice = open(env["NOX_ALICE_KEY"]).read().strip()
        r = run(CAST, "send", "--json", "--rpc-url", env["NOX_RPC_URL"], "--private-key", alice, "--create",
                json.load(open(art))["bytecode"])
        probe.app = json.loads(r.stdout)["contractAddress"] if r.returncode == 0 else None
        check("ReloadProbe deployed (alice)", probe.app, r.stderr)
        if not probe.app:
            return None, None
    alice = open(env["NOX_ALICE_KEY"]).read().strip()
    r = run(CAST, "send", "--json", "--rpc-url", env["NOX_RPC_URL"], "--private-key", alice, probe.app,
            "run(address,uint16,uint8,uint8,uint64)", env["NOX_COMPUTE_ADDRESS"], str(op_id), str(nin), str(UINT64),
            str(value))
    if r.returncode != 0:
        return r.stderr, None
    receipt = json.loads(r.stdout)
    topic = run(CAST, "keccak", "Probed(bytes32,bytes32)").stdout.strip()
    data = next((lg["data"] for lg in receipt["logs"] if lg["topics"][0] == topic), None)
    return receipt, ("0x" + data[66:130]) if data else None


def reload_operators(noxctl, d, env, work):
    """reload-operators: a file that adds a plugin, a broken file, `up` asking another file, a computation with the
    new operator, a file that removes it (disabled on-chain) and back (enabled again). Leaves the devnet on the
    team's file (the restart checks below see it kept)."""
    bin_dir = os.path.dirname(noxctl)
    team = team_operators(work, bin_dir)
    check("a test plugin with an operator id >= 1000 loads (build/tests/sdk-plugins or e2e/plugins)", team)
    if not team:
        return None, None
    team_file, name, op_id, nin = team
    noxenv = noxctl_env(d)
    value, out = balance(noxctl, d, env)
    before_handle = json.loads(run(noxctl, "token", "balance", env["NOX_ALICE_ADDRESS"], "--json",
                                   env=noxenv).stdout or "{}").get("handle")
    check("before the reload: alice's balance handle decrypts to 1000", value == "1000" and before_handle, out)
    state_path = os.path.join(d, "state.json")
    yamls = {n: open(os.path.join(d, n + ".yaml")).read() for n in ("runner", "ingestor")}
    untouched = [n for n in COMPONENTS if n not in ("runner", "ingestor")]

    # (b) files that do not load: exit 1 with the loader's file:line:col, nothing touched
    before, state0, block0 = pids(d), open(state_path).read(), block_number(env)
    bad = os.path.join(work, "bad-operators.yaml")
    with open(bad, "w") as f:
        f.write("plugins:\n  - path: team.so\n    operators: [a, b\n  - path: other.so\n")
    r = devnet("reload-operators", bad)
    print(f"reload-operators (broken YAML): {r.elapsed:.1f} s")
    check("reload-operators with a broken YAML: exit 1, the YAML error at its file:line:col, `unchanged`",
          r.returncode == 1 and re.search(rf"nox-eval: {re.escape(bad)}:\d+:\d+: YAML syntax error", r.stdout)
          and "the devnet is unchanged" in r.stdout, r.stdout + r.stderr)
    missing = os.path.join(work, "missing-plugin.yaml")
    with open(missing, "w") as f:
        f.write("plugins:\n  - path: /nonexistent/team.so\n")
    r = devnet("reload-operators", missing)
    check("reload-operators naming a missing plugin: exit 1, its file:line:col", r.returncode == 1
          and f"{missing}:2:11: plugins[0].path: plugin file /nonexistent/team.so" in r.stdout, r.stdout + r.stderr)
    r = devnet("reload-operators", os.path.join(work, "nonexistent.yaml"))
    check("reload-operators of a missing file: exit 1", r.returncode == 1 and "no such file" in r.stdout, r.stdout)
    check("the refused reloads changed nothing: every pid, state.json, runner.yaml, ingestor.yaml, the chain",
          pids(d) == before and open(state_path).read() == state0 and block_number(env) == block0
          and all(open(os.path.join(d, n + ".yaml")).read() == t for n, t in yamls.items()), (before, pids(d)))

    # (a) a file that adds the team's operator
    r = devnet("reload-operators", team_file)
    print(f"reload-operators (adds {name}): {r.elapsed:.1f} s")
    after, env2 = pids(d), read_env(d)
    check(f"reload-operators {os.path.basename(team_file)}: exit 0, prints {name} id={op_id} added",
          r.returncode == 0 and re.search(rf"(?m)^devnet:\s+{name}\s+id={op_id}\s+{nin}->1\s+added$", r.stdout),
          r.stdout + r.stderr)
    check("reload-operators restarted the Runner and the Ingestor, one after another, waiting for each one's health",
          re.search(r"stopped runner .*\n.*runner +healthy .*\n.*stopped ingestor .*\n.*ingestor +healthy", r.stdout)
          and after["runner"] != before["runner"] and after["ingestor"] != before["ingestor"]
          and alive(after["runner"]) and alive(after["ingestor"]), r.stdout)
    check("reload-operators: postgres, nats, anvil, the KMS nodes and the Gateway keep their pids",
          all(after[n] == before[n] and alive(after[n]) for n in untouched), (before, after))
    check(f"{name} (id {op_id}) registered in NoxCompute: operatorInfo = {nin}, 1, enabled, registered",
          op_info(env, op_id) == [str(nin), "1", "true", "true"], op_info(env, op_id))
    check("the chain went on (block number did not go back)", block_number(env) > block0, (block0, block_number(env)))
    check("runner.yaml, ingestor.yaml and NOX_OPERATORS_CONFIG name the new file",
          all(re.search(rf"(?m)^operators: {re.escape(team_file)}(\s|$)", open(os.path.join(d, n + ".yaml")).read())
              for n in ("runner", "ingestor")) and env2.get("NOX_OPERATORS_CONFIG") == team_file, env2.get("NOX_OPERATORS_CONFIG"))
    n_ops = runner_operator_count(d)
    st = devnet("status")
    check("status: exit 0, shows the new operators file", st.returncode == 0
          and re.search(rf"(?m)^operators +{re.escape(team_file)} +{n_ops} operators", st.stdout), (n_ops, st.stdout))
    r = run(noxctl, "wait", before_handle, "--timeout", "30", env=noxenv)
    check("the balance handle computed before the reload: still stored (noxctl wait)",
          r.returncode == 0 and "stored" in r.stdout, r.stdout + r.stderr)
    value, out = balance(noxctl, d, env)
    check("... and still decrypts to 1000", value == "1000", out)
    before = pids(d)
    r = devnet("reload-operators", team_file)
    check("reload-operators of the same file again: exit 0, `unchanged`, nothing restarted", r.returncode == 0
          and "unchanged" in r.stdout and "nothing restarted" in r.stdout and pids(d) == before, r.stdout)

    # (c) `up` asking another operators file than the running one
    r = devnet("up", env={**os.environ, "NOX_DEVNET_OPERATORS": os.path.join(ROOT, "config", "operators.yaml")})
    check("up with NOX_DEVNET_OPERATORS=config/operators.yaml: exit 1, names both files and reload-operators",
          r.returncode == 1 and f"the running devnet loads {team_file}; asked: " in r.stdout
          and "config/operators.yaml" in r.stdout and "`scripts/devnet.sh reload-operators " in r.stdout, r.stdout)
    r = devnet("up")
    check("up with the default operators file: exit 1 as well", r.returncode == 1 and "reload-operators" in r.stdout,
          r.stdout)
    r = devnet("up", env={**os.environ, "NOX_DEVNET_OPERATORS": team_file})
    check("up with NOX_DEVNET_OPERATORS = the running file: already up, nothing started",
          r.returncode == 0 and "nothing started" in r.stdout, r.stdout)
    original = open(team_file).read()
    with open(team_file, "a") as f:
        f.write("# edited in place\n")
    r = devnet("up", env={**os.environ, "NOX_DEVNET_OPERATORS": team_file})
    check("up with the running file edited in place: exit 1 (content hash), `reload-operators`",
          r.returncode == 1 and "as edited since" in r.stdout and "reload-operators" in r.stdout, r.stdout)
    check("status says the file was edited since it was loaded", "edited since it was loaded" in devnet("status").stdout)
    with open(team_file, "w") as f:
        f.write(original)
    check("the refused ups changed nothing", pids(d) == before, (before, pids(d)))

    # (d) a transaction using the new operator, computed by the reloaded Runner
    if shutil.which("node"):
        receipt, h = probe(noxctl, d, env, work, op_id, nin, 4242)
        compute_topic = run(CAST, "keccak", "Compute(address,uint16,bytes32[],bytes32[])").stdout.strip()
        ours = [lg for lg in (receipt or {}).get("logs", []) if isinstance(receipt, dict) and lg["topics"][0] == compute_topic]
        check(f"a transaction calling {name} (compute({op_id}, ...)) emits its Compute event",
              h and len(ours) == 1 and int(ours[0]["data"][2:66], 16) == op_id, receipt)
        if h:
            t = time.time()
            r = run(noxctl, "wait", h, "--timeout", "30", env=noxenv)
            print(f"{name} result stored {time.time() - t:.1f} s after its transaction")
            check(f"its result is stored (noxctl wait)", r.returncode == 0 and "stored" in r.stdout, r.stdout + r.stderr)
            r = run(noxctl, "decrypt", h, "--key", env["NOX_ALICE_KEY"], env=noxenv)
            check(f"... and decrypts to {name}(4242) = 4242", r.returncode == 0 and r.stdout.strip().split()[-1:] == ["4242"],
                  r.stdout + r.stderr)
    else:
        print("(no node: the transaction through the reloaded operator is not tested)")

    # a file without it: disabled on-chain (compute refuses it); the team's file again: enabled again
    before = pids(d)
    r = devnet("reload-operators", os.path.join(ROOT, "config", "operators.yaml"))
    print(f"reload-operators (removes {name}): {r.elapsed:.1f} s")
    check(f"reload-operators config/operators.yaml: exit 0, {name} removed and disabled in NoxCompute",
          r.returncode == 0 and re.search(rf"(?m)^devnet:\s+{name}\s+id={op_id}\s.*removed", r.stdout)
          and re.search(rf"NoxCompute: {name} id={op_id} .*disabled in transaction", r.stdout)
          and op_info(env, op_id) == [str(nin), "1", "false", "true"], r.stdout + str(op_info(env, op_id)))
    check("... the Runner loads one operator less", runner_operator_count(d) == n_ops - 1, runner_operator_count(d))
    if shutil.which("node") and getattr(probe, "app", None):
        receipt, h = probe(noxctl, d, env, work, op_id, nin, 5)
        want = run(CAST, "calldata", "OperatorDisabled(uint16)", str(op_id)).stdout.strip().lower()
        check(f"... a transaction calling {name} now reverts OperatorDisabled({op_id})", not isinstance(receipt, dict)
              and want and want in str(receipt).lower(), receipt)
    r = devnet("reload-operators", team_file)
    print(f"reload-operators (adds {name} back): {r.elapsed:.1f} s")
    check(f"reload-operators of the team's file again: {name} enabled again", r.returncode == 0
          and op_info(env, op_id) == [str(nin), "1", "true", "true"] and runner_operator_count(d) == n_ops, r.stdout)
    after = pids(d)
    check("three reloads: postgres, nats, anvil, the KMS nodes and the Gateway never restarted",
          all(after[n] == before[n] for n in untouched), (before, after))
    return team_file, n_ops


def single_key(noxctl, work):
    """`up --kms 1-of-1` in a second directory: exactly the single-key devnet (one kms, kms_url + kms_address)."""
    d = os.path.join(work, "single")
    try:
        r = devnet("up", "--kms", "1-of-1", "--dir", d)
        print(f"up --kms 1-of-1: {r.elapsed:.1f} s")
        check("up --kms 1-of-1 exits 0", r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:])
        if r.returncode != 0:
            return
        check("1-of-1: up says a single key", re.search(r"KMS +1-of-1 \(a single key; group 0x[0-9a-f]{16}\)", r.stdout),
              r.stdout)
        one = pids(d, SINGLE)
        check("1-of-1: every component runs", all(one.values()) and all(alive(p) for p in one.values()), one)
        check("1-of-1: no other KMS node", not os.path.exists(os.path.join(d, "kms2.yaml"))
              and not os.path.exists(os.path.join(d, "pids", "kms2.pid")))
        check("1-of-1: the KMS keys made by nox-kms keygen, no share",
              os.path.isfile(os.path.join(d, "kms", "kms.key")) and not os.path.exists(os.path.join(d, "kms", "share-1.key")))
        gw = open(os.path.join(d, "gateway.yaml")).read()
        check("1-of-1: the Gateway has kms_url + kms_address, no group",
              re.search(r"(?m)^kms_url: ", gw) and re.search(r"(?m)^kms_address: ", gw) and "kms_group_file" not in gw, gw)
        env = read_env(d)
        noxtest.use_tls(env.get("NOX_CA_FILE"))    # this devnet's own CA
        check("1-of-1: env NOX_KMS_THRESHOLD=1-of-1, one URL and one wallet",
              env.get("NOX_KMS_THRESHOLD") == "1-of-1" and env.get("NOX_KMS_URLS") == env.get("NOX_KMS_URL")
              and env.get("NOX_KMS_WALLETS") == env.get("NOX_KMS_ADDRESS"), {k: v for k, v in env.items() if "KMS" in k})
        g = groups(env)
        check("1-of-1: its GET /v0/group is the 1-of-1 group of NOX_KMS_PUBLIC_KEY (= NOX_KMS_GROUP_FILE)",
              [(st, grp.get("threshold"), grp.get("nodes"), grp.get("publicKey"), key) for st, grp, key in g.values()]
              == [(200, 1, 1, env.get("NOX_KMS_PUBLIC_KEY"), env.get("NOX_KMS_PUBLIC_KEY"))]
              and list(g.values())[0][1] == group_file(env), g)
        r = run(CAST, "send", "--rpc-url", env["NOX_RPC_URL"], "--private-key", noxtest.ANVIL_KEYS[0],
                env["NOX_TOKEN_ADDRESS"], "mint(address,uint64)", env["NOX_ALICE_ADDRESS"], "77")
        check("1-of-1: owner mints 77 to alice", r.returncode == 0, r.stderr)
        value, out = None, ""
        deadline = time.time() + 30
        while time.time() < deadline and value != "77":
            value, out = balance(noxctl, d, env)
            time.sleep(0.3)
        check("1-of-1: alice decrypts her 77", value == "77", out)
        r = devnet("up", "--dir", d)
        check("1-of-1: `up` asking the default 2-of-3 says the running shape, exit 1",
              r.returncode == 1 and "the running devnet has a 1-of-1 KMS; `down` first" in r.stdout, r.stdout)
        r = devnet("reshare", "--dir", d)
        check("1-of-1: reshare refused (exit 2)", r.returncode == 2 and "single key" in r.stdout, r.stdout)
        r = devnet("restart", "kms2", "--dir", d)
        check("1-of-1: restart kms2 refused (exit 2)", r.returncode == 2, r.stdout)
    finally:
        r = devnet("down", "--dir", d)
        check("1-of-1: down stops every component", all(f"stopped {n}" in r.stdout for n in SINGLE), r.stdout)


def main():
    work = tempfile.mkdtemp(prefix="nox-devnet-test-")
    d = os.path.join(work, "devnet")
    os.environ["NOX_DEVNET_DIR"] = d
    if len(sys.argv) > 1:
        os.environ["NOX_BIN_DIR"] = os.path.abspath(sys.argv[1])
    noxctl = os.path.join(os.environ.get("NOX_BIN_DIR", os.path.join(ROOT, "build", "bin")), "noxctl")
    sleeper = None
    try:
        # ---- up, status
        r = devnet("up")
        print(f"up: {r.elapsed:.1f} s")
        check("up exits 0", r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:])
        if r.returncode != 0:
            return
        devnet_out = r.stdout
        check("up prints the env file and how to stop", "source " in r.stdout and "devnet.sh down" in r.stdout, r.stdout)
        first = pids(d)
        check("a pid recorded for every component", all(first.values()), first)
        check("every recorded pid runs", all(alive(p) for p in first.values() if p), first)
        for n in COMPONENTS:
            check(f"{n}.log exists", os.path.isfile(os.path.join(d, "logs", n + ".log")))
        for s in ("kms", "gateway", "ingestor", "runner"):
            check(f"{s}.yaml generated", os.path.isfile(os.path.join(d, s + ".yaml")))
        r = devnet("status")
        lines = status_lines(r.stdout)
        check("status exits 0 when all run", r.returncode == 0, r.stdout)
        check("status: one running line per component",
              all(n in lines and " running " in lines[n] for n in COMPONENTS), r.stdout)
        check("status: the 3 KMS nodes healthy", all("health: 200" in lines.get(n, "") for n in KMS_NODES), r.stdout)
        check("up says the KMS is a 2-of-3 group", "KMS: dealt a 2-of-3 group" in devnet_out
              and re.search(r"KMS +2-of-3 threshold group 0x[0-9a-f]{16} \(nodes kms, kms2, kms3\)", devnet_out),
              devnet_out)
        for n in KMS_NODES:
            check(f"{n}.yaml has its own share and the group file",
                  f"kms/share-{KMS_NODES.index(n) + 1}.key" in open(os.path.join(d, n + ".yaml")).read()
                  and "group_file: " in open(os.path.join(d, n + ".yaml")).read())
        modes = {f: oct(os.stat(os.path.join(d, "kms", f)).st_mode & 0o777) for f in os.listdir(os.path.join(d, "kms"))}
        check("kms/: share-1..3.key and 3 wallets (0600), group.json (public)",
              all(modes.get(f) == "0o600" for f in ("share-1.key", "share-2.key", "share-3.key", "kms-wallet.key",
                                                    "kms2-wallet.key", "kms3-wallet.key"))
              and "group.json" in modes and "kms.key" not in modes, modes)
        gw_yaml = open(os.path.join(d, "gateway.yaml")).read()
        check("the Gateway has kms_group_file and 3 kms_nodes, no kms_url", "kms_group_file: " in gw_yaml
              and len(re.findall(r"- \{index: [123], url: https://", gw_yaml)) == 3
              and not re.search(r"(?m)^kms_(url|address):", gw_yaml), gw_yaml)

        # ---- up again: nothing started
        r = devnet("up")
        check("second up exits 0", r.returncode == 0, r.stdout + r.stderr)
        check("second up says nothing was started", "nothing started" in r.stdout, r.stdout)
        check("second up: same pids", pids(d) == first, (pids(d), first))
        r = devnet("up", "--kms", "1-of-1")
        check("up --kms 1-of-1 on the running 2-of-3: exit 1, `down` first",
              r.returncode == 1 and "the running devnet has a 2-of-3 KMS; `down` first" in r.stdout, r.stdout)
        for bad in ("3-of-2", "0-of-1", "2-of-10", "two"):
            r = devnet("up", "--kms", bad)
            check(f"up --kms {bad}: usage error (exit 2)", r.returncode == 2 and "T-of-N" in r.stderr, r.stderr)
        check("the refused ups changed nothing", pids(d) == first, (pids(d), first))

        # ---- the env file
        env = read_env(d)
        for v in REQUIRED:
            check(f"env has {v}", bool(env.get(v)), sorted(env))
        check("NOX_CHAIN_ID is 31337", env.get("NOX_CHAIN_ID") == "31337")
        urls, wallets = env.get("NOX_KMS_URLS", "").split(","), env.get("NOX_KMS_WALLETS", "").split(",")
        check("NOX_KMS_THRESHOLD is 2-of-3", env.get("NOX_KMS_THRESHOLD") == "2-of-3", env.get("NOX_KMS_THRESHOLD"))
        check("NOX_KMS_URLS: 3 distinct URLs, node 1's = NOX_KMS_URL", len(set(urls)) == 3
              and urls[0] == env.get("NOX_KMS_URL"), urls)
        check("NOX_KMS_WALLETS: 3 distinct addresses, node 1's = NOX_KMS_ADDRESS", len(set(wallets)) == 3
              and all(re.fullmatch(r"0x[0-9a-f]{40}", w) for w in wallets) and wallets[0] == env.get("NOX_KMS_ADDRESS"),
              wallets)
        for i, w in enumerate(wallets):
            key = os.path.join(d, "kms", KMS_NODES[i] + "-wallet.key")
            a = run(noxctl, "key", "address", key).stdout.split() if os.path.isfile(key) else []
            check(f"NOX_KMS_WALLETS[{i}] is {KMS_NODES[i]}'s wallet", a and a[-1].lower() == w, (a, w))
        check("NOX_KMS_GROUP_FILE is the devnet's kms/group.json",
              os.path.realpath(env.get("NOX_KMS_GROUP_FILE", "")) == os.path.realpath(os.path.join(d, "kms", "group.json")))
        check("NOX_DEVNET_DIR is the directory", os.path.realpath(env.get("NOX_DEVNET_DIR", "")) == os.path.realpath(d))
        for who, key in zip(("OWNER", "ALICE", "BOB"), noxtest.ANVIL_KEYS):
            path = env.get(f"NOX_{who}_KEY", "")
            ok = os.path.isabs(path) and os.path.isfile(path)
            check(f"NOX_{who}_KEY is an absolute path to a file", ok, path)
            if not ok:
                continue
            check(f"{who} key file mode 0600", os.stat(path).st_mode & 0o777 == 0o600, oct(os.stat(path).st_mode))
            with open(path) as f:
                check(f"{who} key is anvil's", f.read().strip() == key)
            a = run(noxctl, "key", "address", path).stdout.strip().split()
            check(f"noxctl key address {who} = NOX_{who}_ADDRESS", a and a[-1].lower() == env.get(f"NOX_{who}_ADDRESS"),
                  (a, env.get(f"NOX_{who}_ADDRESS")))
        with open(os.path.join(d, "deployment.json")) as f:
            dep = json.load(f)
        check("NOX_COMPUTE_ADDRESS = deployment noxCompute", env.get("NOX_COMPUTE_ADDRESS") == dep["noxCompute"])
        check("NOX_TOKEN_ADDRESS = deployment confidentialToken", env.get("NOX_TOKEN_ADDRESS") == dep["confidentialToken"])

        # ---- every hop over TLS by default: https:// services, a tls:// NATS, PostgreSQL with verify-full
        for v in ("NOX_KMS_URL", "NOX_GATEWAY_URL", "NOX_RUNNER_URL", "NOX_INGESTOR_URL"):
            check(f"{v} is https://", env.get(v, "").startswith("https://"), env.get(v))
        check("NOX_NATS_URL is tls://", env.get("NOX_NATS_URL", "").startswith("tls://"), env.get("NOX_NATS_URL"))
        check("NOX_DATABASE_URL verifies the server (sslmode=verify-full)",
              "sslmode=verify-full" in env.get("NOX_DATABASE_URL", ""), env.get("NOX_DATABASE_URL"))
        ca = env.get("NOX_CA_FILE", "")
        check("NOX_CA_FILE names the devnet's CA", os.path.isfile(ca), ca)
        noxtest.use_tls(None)
        try:
            st, body = http("GET", env.get("NOX_KMS_URL", "http://127.0.0.1:1") + "/health")[:2]
        except OSError as e:   # urllib's certificate failure
            st, body = 0, str(e)
        check("without the devnet's CA, an https:// service is not trusted (certificate refused)",
              st == 0 and "CERTIFICATE_VERIFY_FAILED" in body, (st, body))
        noxtest.use_tls(ca)
        st, body, _ = http("POST", env.get("NOX_KMS_URL", "") + "/v0/delegate?chainId=31337", "{}")
        check("the KMS's delegation needs the Gateway's client certificate (mutual TLS): 401 without",
              st == 401 and noxtest.is_error_shape(body, "unauthorized") and "mutual TLS" in body["message"],
              (st, body))
        # ---- every URL answers
        for v in ("NOX_KMS_URL", "NOX_GATEWAY_URL", "NOX_RUNNER_URL", "NOX_INGESTOR_URL"):
            st, body, _ = http("GET", env.get(v, "http://127.0.0.1:1") + "/health")
            check(f"{v}/health is 200", st == 200, (st, body))
        st, body, _ = http("GET", env.get("NOX_NATS_MONITOR_URL", "http://127.0.0.1:1") + "/healthz")
        check("nats /healthz is 200", st == 200, (st, body))
        st, body, _ = http("POST", env.get("NOX_RPC_URL", "http://127.0.0.1:1"),
                           json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}),
                           {"Content-Type": "application/json"})
        check("NOX_RPC_URL answers eth_chainId 0x7a69", st == 200 and isinstance(body, dict) and body.get("result") == "0x7a69",
              (st, body))
        psql = shutil.which("psql") or os.path.join(os.path.dirname(sorted(
            __import__("glob").glob("/usr/lib/postgresql/*/bin/psql"))[-1]), "psql")
        r = run(psql, env.get("NOX_DATABASE_URL", ""), "-tAc", "select current_user")
        check("NOX_DATABASE_URL: password login over TCP", r.returncode == 0 and r.stdout.strip() == "nox",
              r.stdout + r.stderr)
        st, body, _ = http("GET", env.get("NOX_KMS_URL", "") + "/v0/public-key?chainId=31337")
        check("KMS public key = NOX_KMS_PUBLIC_KEY", st == 200 and body.get("publicKey") == env.get("NOX_KMS_PUBLIC_KEY"),
              (st, body))
        P, g0 = env.get("NOX_KMS_PUBLIC_KEY"), group_file(env)
        g = groups(env)
        check("every KMS node's GET /v0/group is the group file (2-of-3, publicKey = NOX_KMS_PUBLIC_KEY)",
              len(g) == 3 and all(st == 200 and grp == g0 for st, grp, _ in g.values())
              and (g0["threshold"], g0["nodes"], g0["publicKey"]) == (2, 3, P), (g0, g))
        check("every KMS node's GET /v0/public-key is NOX_KMS_PUBLIC_KEY", all(key == P for _, _, key in g.values()), g)
        for url in urls:
            st, body, _ = http("GET", url + "/health")
            check(f"KMS node {url}/health is 200", st == 200, (st, body))
        runner_cert = (env.get("NOX_RUNNER_TLS_CERT"), env.get("NOX_RUNNER_TLS_KEY"))
        ups = {i: metric(env["NOX_GATEWAY_URL"], f'nox_gateway_kms_node_up{{node="{i}"}}', runner_cert) for i in (1, 2, 3)}
        check("the Gateway's /metrics: nox_gateway_kms_node_up{node=1..3} = 1", ups == {1: 1, 2: 1, 3: 1}, ups)

        # ---- the pipeline: a mint goes chain -> ingestor -> NATS -> runner -> gateway
        ok0 = metric(env["NOX_RUNNER_URL"], "nox_runner_messages_ok_total") or 0
        r = run(CAST, "send", "--rpc-url", env["NOX_RPC_URL"], "--private-key", noxtest.ANVIL_KEYS[0],
                env["NOX_TOKEN_ADDRESS"], "mint(address,uint64)", env["NOX_ALICE_ADDRESS"], "1000")
        check("owner mints to alice", r.returncode == 0, r.stderr)
        deadline, ok1 = time.time() + 30, ok0
        while time.time() < deadline and ok1 <= ok0:
            time.sleep(0.2)
            ok1 = metric(env["NOX_RUNNER_URL"], "nox_runner_messages_ok_total") or 0
        check("the runner computed the mint's message", ok1 > ok0, (ok0, ok1))
        check("nothing dead-lettered", metric(env["NOX_RUNNER_URL"], "nox_runner_messages_dead_total") == 0)
        value, out = balance(noxctl, d, env)
        check("alice decrypts her 1000 (noxctl token balance: 2 of the 3 KMS nodes' partials)", value == "1000", out)

        # ---- a KMS node down: t = 2 of the other nodes still decrypt
        before = pids(d)
        r = devnet("kill", "kms2")
        check("kill kms2 exits 0", r.returncode == 0 and not alive(before["kms2"]), r.stdout + r.stderr)
        r = devnet("status")
        check("status with kms2 killed: exit 1, kms2 stopped", r.returncode == 1
              and " stopped " in status_lines(r.stdout).get("kms2", ""), r.stdout)
        for i in range(3):
            value, out = balance(noxctl, d, env)
            check(f"with kms2 down, alice still decrypts her 1000 (try {i + 1})", value == "1000", out)
        r = devnet("restart", "kms2")
        after = pids(d)
        check("restart kms2: exit 0, a new pid, the others unchanged", r.returncode == 0 and alive(after["kms2"])
              and all(after[n] == before[n] for n in COMPONENTS if n != "kms2"), r.stdout + r.stderr)
        check("status after restart kms2: exit 0", devnet("status").returncode == 0)
        r = devnet("restart", "kms4")
        check("restart kms4 (no such node of a 2-of-3): exit 2", r.returncode == 2 and "2-of-3" in r.stdout, r.stdout)

        # ---- a faulty node (the fault tests' nox-kms-faulty) and back
        faulty_bin = os.path.join(os.path.dirname(noxctl), "nox-kms-faulty")
        if os.access(faulty_bin, os.X_OK):
            r = devnet("restart", "kms3", "--faulty")
            cmd = json.load(open(os.path.join(d, "pids", "kms3.cmdline")))
            check("restart kms3 --faulty runs nox-kms-faulty", r.returncode == 0 and cmd[0].endswith("/nox-kms-faulty"),
                  (r.stdout, cmd))
            env3 = open(f"/proc/{pids(d)['kms3']}/environ", "rb").read().split(b"\0")
            check("... with NOX_KMS_FAULT=wrong-partials", b"NOX_KMS_FAULT=wrong-partials" in env3)
            r = devnet("status")
            check("status marks kms3 faulty", "nox-kms-faulty" in status_lines(r.stdout).get("kms3", ""), r.stdout)
            r = devnet("restart", "kms3")
            cmd = json.load(open(os.path.join(d, "pids", "kms3.cmdline")))
            check("a plain restart kms3 brings nox-kms back", r.returncode == 0 and cmd[0].endswith("/nox-kms"),
                  (r.stdout, cmd))
        else:
            print(f"(no {faulty_bin}: restart --faulty not tested)")
        r = devnet("restart", "gateway", "--faulty")
        check("restart gateway --faulty refused (exit 2)", r.returncode == 2, r.stdout)

        # ---- reshare: new shares of the same P, swapped in; a value stored before still decrypts
        before = pids(d)
        r = devnet("reshare", "2-of-4")
        check("reshare 2-of-4 (another N): exit 2", r.returncode == 2, r.stdout + r.stderr)
        r = devnet("reshare")
        print(f"reshare: {r.elapsed:.1f} s")
        check("reshare exits 0", r.returncode == 0, r.stdout + r.stderr)
        m = re.search(r"public key (0x[0-9a-f]{66}) \(unchanged\), group fingerprint (0x[0-9a-f]{16})", r.stdout)
        check("reshare prints P (unchanged) and the new group fingerprint", m and m.group(1) == P, r.stdout)
        g1 = group_file(env)
        check("after reshare: a new group file, same P and 2-of-3", g1 != g0
              and (g1["publicKey"], g1["threshold"], g1["nodes"]) == (P, 2, 3), (g0, g1))
        g = groups(env)
        check("after reshare: every node serves the new group and P", len(g) == 3
              and all(st == 200 and grp == g1 and key == P for st, grp, key in g.values()), g)
        prev = [p for p in os.listdir(os.path.join(d, "kms")) if p.startswith("previous-")]
        check("the old shares kept in kms/previous-<timestamp>/ (0700)", len(prev) == 1 and sorted(os.listdir(
            os.path.join(d, "kms", prev[0]))) == ["group.json", "share-1.key", "share-2.key", "share-3.key"]
            and os.stat(os.path.join(d, "kms", prev[0])).st_mode & 0o777 == 0o700, prev)
        check("kms/next/ removed", not os.path.exists(os.path.join(d, "kms", "next")))
        after = pids(d)
        check("reshare restarted the KMS nodes and the Gateway, nothing else",
              all(after[n] != before[n] and alive(after[n]) for n in KMS_NODES + ["gateway"])
              and all(after[n] == before[n] for n in COMPONENTS if n not in KMS_NODES + ["gateway"]), (before, after))
        value, out = None, ""
        deadline = time.time() + 15
        while time.time() < deadline and value != "1000":   # the Gateway has just restarted
            value, out = balance(noxctl, d, env)
            time.sleep(0.3)
        check("after reshare, alice's balance stored before still decrypts to 1000", value == "1000", out)
        check("status after reshare: exit 0", devnet("status").returncode == 0)
        r = devnet("reshare", "3-of-3")
        check("reshare 3-of-3: exit 0, NOX_KMS_THRESHOLD 3-of-3", r.returncode == 0
              and read_env(d).get("NOX_KMS_THRESHOLD") == "3-of-3" and group_file(env)["threshold"] == 3, r.stdout)
        r = devnet("reshare", "2-of-3")
        check("reshare back to 2-of-3", r.returncode == 0 and group_file(env)["threshold"] == 2, r.stdout)
        value, out = balance(noxctl, d, env)
        check("after two more reshares, alice's 1000 still decrypts", value == "1000", out)

        # ---- reload-operators: the Runner and the Ingestor on another operators file, nothing else restarted
        team_file, team_ops = reload_operators(noxctl, d, env, work)
        first = pids(d)

        # ---- restart
        r = devnet("restart", "runner")
        check("restart runner exits 0", r.returncode == 0, r.stdout + r.stderr)
        after = pids(d)
        check("restart runner: new pid", after["runner"] and after["runner"] != first["runner"], (first, after))
        check("restart runner: old runner gone", not alive(first["runner"]))
        check("restart runner: other pids unchanged", all(after[n] == first[n] for n in COMPONENTS if n != "runner"),
              (first, after))
        st, body, _ = http("GET", env["NOX_RUNNER_URL"] + "/health")
        check("restarted runner healthy on the same URL", st == 200, (st, body))
        if team_file:
            check("restart runner keeps the file of reload-operators", re.search(
                rf"(?m)^operators: {re.escape(team_file)}(\s|$)", open(os.path.join(d, "runner.yaml")).read())
                and runner_operator_count(d) == team_ops, (team_file, team_ops, runner_operator_count(d)))
        r = devnet("status")
        check("status after restart exits 0", r.returncode == 0, r.stdout)
        # a Runner whose YAML differs from the existing durable consumer: the consumer's settings apply, said once
        yaml_path = os.path.join(d, "runner.yaml")
        original = open(yaml_path).read()
        with open(yaml_path, "w") as f:
            f.write(original.replace("ack_wait_s: 30", "ack_wait_s: 20", 1))
        log_path = os.path.join(d, "logs", "runner.log")
        offset = noxtest.file_size(log_path)
        r = devnet("restart", "runner")
        warned = [ln for ln in noxtest.log_since(log_path, offset).splitlines() if "exists with ack_wait 30 s" in ln]
        check("a Runner configured otherwise than the existing consumer says which settings apply (once)",
              r.returncode == 0 and len(warned) == 1 and "not this configuration's 20 s" in warned[0]
              and " warn: " in warned[0], warned or r.stdout)
        with open(yaml_path, "w") as f:
            f.write(original)
        r = devnet("restart", "runner")
        check("restart runner with its own configuration again", r.returncode == 0, r.stdout + r.stderr)
        r = devnet("restart", "anvil")
        check("restart anvil refused (exit 2)", r.returncode == 2, (r.returncode, r.stdout))
        check("restart anvil explains why", "anvil" in r.stdout and "refus" in r.stdout, r.stdout)
        check("anvil untouched", pids(d)["anvil"] == first["anvil"] and alive(first["anvil"]))
        r = devnet("restart", "nonsense")
        check("restart of an unknown service: exit 2", r.returncode == 2, (r.returncode, r.stdout))

        # ---- a pid that is not ours is never trusted
        sleeper = subprocess.Popen(["sleep", "600"])
        real = pids(d)["runner"]
        pid_file = os.path.join(d, "pids", "runner.pid")
        with open(pid_file, "w") as f:
            f.write(f"{sleeper.pid}\n")
        r = devnet("status")
        check("status: a foreign pid counts as stopped (exit 1)", r.returncode == 1 and
              " stopped " in status_lines(r.stdout).get("runner", ""), r.stdout)
        with open(pid_file, "w") as f:
            f.write(f"{real}\n")

        # ---- a stale state: one component died -> up starts a fresh devnet
        before = pids(d)
        os.kill(before["kms"], 15)
        for _ in range(100):
            if not alive(before["kms"]):
                break
            time.sleep(0.05)
        r = devnet("status")
        check("status with one component dead: exit 1", r.returncode == 1, r.stdout)
        r = devnet("up")
        print(f"up (stale state): {r.elapsed:.1f} s")
        check("up on a stale state exits 0", r.returncode == 0, r.stdout[-3000:])
        check("up on a stale state says so", "stale" in r.stdout, r.stdout)
        fresh = pids(d)
        check("stale: every old process stopped", not any(alive(p) for p in before.values() if p), before)
        check("stale: all new pids", all(fresh[n] and fresh[n] != before[n] for n in COMPONENTS), (before, fresh))
        check("stale: status exit 0", devnet("status").returncode == 0)

        # ---- down
        r = devnet("down")
        print(f"down: {r.elapsed:.1f} s")
        check("down exits 0", r.returncode == 0, r.stdout + r.stderr)
        check("down reports what it stopped", all(f"stopped {n}" in r.stdout for n in COMPONENTS), r.stdout)
        check("down: every pid gone", not any(alive(p) for p in fresh.values() if p), fresh)
        r = devnet("status")
        check("status after down: exit 3", r.returncode == 3, r.stdout)
        check("status after down: all stopped", all(" stopped " in ln for ln in status_lines(r.stdout).values())
              and len(status_lines(r.stdout)) == len(COMPONENTS), r.stdout)
        r = devnet("down")
        check("down again exits 0", r.returncode == 0, r.stdout + r.stderr)
        # a recorded pid reused by another program is not killed
        with open(pid_file, "w") as f:
            f.write(f"{sleeper.pid}\n")
        with open(os.path.join(d, "pids", "runner.cmdline"), "w") as f:
            json.dump([os.path.join(os.environ.get("NOX_BIN_DIR", ""), "nox-runner"), "--config", "x"], f)
        r = devnet("down")
        check("down with a reused pid exits 0", r.returncode == 0, r.stdout)
        check("down never kills a pid that is not ours", sleeper.poll() is None and "not killed" in r.stdout, r.stdout)

        # ---- a component that never becomes healthy: up names it, shows its log, stops the rest, exits 1
        bins = os.path.join(work, "bin", "bin")
        os.makedirs(bins)
        real_bin = os.environ.get("NOX_BIN_DIR", os.path.join(ROOT, "build", "bin"))
        os.symlink(os.path.join(real_bin, "..", "lib"), os.path.join(work, "bin", "lib"))
        for b in ("nox-kms", "nox-gateway", "nox-ingestor", "noxctl", "nox-eval"):
            os.symlink(os.path.join(real_bin, b), os.path.join(bins, b))
        with open(os.path.join(bins, "nox-runner"), "w") as f:
            f.write("#!/bin/sh\necho 'fake runner: refusing to start' >&2\nexit 1\n")
        os.chmod(os.path.join(bins, "nox-runner"), 0o755)
        saved = os.environ.get("NOX_BIN_DIR")
        os.environ["NOX_BIN_DIR"] = bins
        try:
            r = devnet("up", "--dir", os.path.join(work, "broken"))
        finally:
            if saved is None:
                del os.environ["NOX_BIN_DIR"]
            else:
                os.environ["NOX_BIN_DIR"] = saved
        check("up with a failing runner exits 1", r.returncode == 1, r.stdout)
        check("the failure names the component and its log",
              re.search(r"devnet: runner failed to start \(it exited\) — see \S*broken/logs/runner\.log", r.stdout)
              is not None, r.stdout)
        check("the failure shows the log's tail", "fake runner: refusing to start" in r.stdout, r.stdout)
        check("the failure stops what it started", "stopping what this `up` started" in r.stdout
              and all(f"stopped {n}" in r.stdout for n in COMPONENTS[:COMPONENTS.index("runner")])
              and "stopped ingestor" not in r.stdout, r.stdout)  # started after the Runner: never started
        left = pids(os.path.join(work, "broken"))
        check("no pid left recorded after a failed up", not any(left.values()), left)
        r = devnet("status", "--dir", os.path.join(work, "broken"))
        check("status after a failed up: exit 3", r.returncode == 3, r.stdout)

        # ---- the single key, as before the threshold KMS
        single_key(noxctl, work)
    finally:
        devnet("down")
        if sleeper:
            sleeper.kill()
            sleeper.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
    sys.exit(noxtest.summary())
