#!/usr/bin/python3
"""scripts/devnet.sh end to end: up, status, idempotent up, the env file, every health check, a token mint
through the whole pipeline, restart, refusals, pid checks, a stale state, down.

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
COMPONENTS = ["postgres", "nats", "anvil", "kms", "gateway", "runner", "ingestor"]
REQUIRED = ["NOX_CHAIN_ID", "NOX_RPC_URL", "NOX_NATS_URL", "NOX_GATEWAY_URL", "NOX_KMS_URL", "NOX_DATABASE_URL",
            "NOX_COMPUTE_ADDRESS", "NOX_TOKEN_ADDRESS", "NOX_OWNER_KEY", "NOX_ALICE_KEY", "NOX_BOB_KEY",
            "NOX_RUNNER_URL", "NOX_INGESTOR_URL", "NOX_OWNER_ADDRESS", "NOX_ALICE_ADDRESS", "NOX_BOB_ADDRESS",
            "NOX_DEVNET_DIR"]


def devnet(*args, timeout=300):
    t = time.time()
    r = subprocess.run([DEVNET, *args], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    r.elapsed = time.time() - t
    return r


def pids(d):
    out = {}
    for n in COMPONENTS:
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


def metric(url, name):
    st, text, _ = http("GET", url + "/metrics")
    m = re.search(rf"^{name} (\S+)$", text if isinstance(text, str) else "", re.M)
    return float(m.group(1)) if st == 200 and m else None


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

        # ---- up again: nothing started
        r = devnet("up")
        check("second up exits 0", r.returncode == 0, r.stdout + r.stderr)
        check("second up says nothing was started", "nothing started" in r.stdout, r.stdout)
        check("second up: same pids", pids(d) == first, (pids(d), first))

        # ---- the env file
        env = read_env(d)
        for v in REQUIRED:
            check(f"env has {v}", bool(env.get(v)), sorted(env))
        check("NOX_CHAIN_ID is 31337", env.get("NOX_CHAIN_ID") == "31337")
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

        # ---- restart
        r = devnet("restart", "runner")
        check("restart runner exits 0", r.returncode == 0, r.stdout + r.stderr)
        after = pids(d)
        check("restart runner: new pid", after["runner"] and after["runner"] != first["runner"], (first, after))
        check("restart runner: old runner gone", not alive(first["runner"]))
        check("restart runner: other pids unchanged", all(after[n] == first[n] for n in COMPONENTS if n != "runner"))
        st, body, _ = http("GET", env["NOX_RUNNER_URL"] + "/health")
        check("restarted runner healthy on the same URL", st == 200, (st, body))
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
    finally:
        devnet("down")
        if sleeper:
            sleeper.kill()
            sleeper.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
    sys.exit(noxtest.summary())
