#!/usr/bin/python3
"""nox/kms_group.h (the Gateway's client of a threshold KMS, docs/PROTOCOL-EXTENSIONS.md §11) against three real
nox-kms nodes of a 2-of-3 group, over loopback.

usage: kms_group_test.py NOX_KMS NOX_KMS_FAULTY NOXCTL KMS_GROUP_TEST

Prepares a protocol key (nox-kms keygen) and splits it 2-of-3 (nox-kms split), so that the CUnit program knows d
and P; a wallet per node, a Gateway key (noxctl key new); starts the three nodes (group_file + their share as
key_file) and runs kms_group_test.c with NOX_KMS_NODES, NOX_KMS_GROUP_FILE, NOX_KMS_KEY_FILE (d) and
NOX_GATEWAY_KEY_FILE. The program drives the nodes' life through a line protocol: it prints "@@<cmd> <node>" on a
line of its own and waits for a line on stdin; <cmd> is kill (SIGKILL), start (nox-kms again on the same port),
faulty (SIGKILL, then nox-kms-faulty with NOX_KMS_FAULT=wrong-partials on the same port: every partial wrong),
freeze (SIGSTOP) or thaw (SIGCONT). The driver answers "ok" or "fail <why>".
From here too: GET /v0/group of every node is the group file; share-info gives each share its index.
Plaintext on loopback: kms_group_test.c builds its node clients with no nox_tls_client (mutual TLS between the
Gateway and its KMS nodes is exercised by gateway_test.py and the threshold e2e tests).
Prints one line per failed check and ends with "N passed, M failed".
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import noxtest  # noqa: E402
from noxtest import check, run  # noqa: E402

NOX_KMS, NOX_KMS_FAULTY, NOXCTL, PROGRAM = sys.argv[1:5]
noxtest.NOX_KMS = NOX_KMS
NODES = (1, 2, 3)
CHAIN = 31337


class Group:
    """The three nodes: configuration files, their Servers, and the port each keeps across restarts."""

    def __init__(self, work, share_dir, gw_addr):
        self.work, self.share_dir, self.gw_addr = work, share_dir, gw_addr
        self.servers, self.ports = {}, {}

    def config(self, i):
        path = os.path.join(self.work, f"node{i}.yaml")
        with open(path, "w") as f:
            f.write(f"listen: 127.0.0.1:{self.ports.get(i, 0)}\n"
                    f"key_file: {self.share_dir}/share-{i}.key\n"
                    f"group_file: {self.share_dir}/group.json\n"
                    f"wallet_key_file: {self.work}/wallet-{i}.key\n"
                    f"threads: 4\nlog_level: warn\n"
                    f"chains:\n  - chain_id: {CHAIN}\n    gateway_address: \"{self.gw_addr}\"\n")
        return path

    def start(self, i, faulty=False):
        binary = NOX_KMS_FAULTY if faulty else NOX_KMS
        saved = os.environ.pop("NOX_KMS_FAULT", None)
        if faulty:
            os.environ["NOX_KMS_FAULT"] = "wrong-partials"
        try:
            srv = noxtest.start_ready(f"node{i}", [binary, "--config", self.config(i)], self.work, timeout=30)
        finally:
            os.environ.pop("NOX_KMS_FAULT", None)
            if saved is not None:
                os.environ["NOX_KMS_FAULT"] = saved
        self.servers[i] = srv
        port = noxtest.url_port(srv.url)
        if i in self.ports and self.ports[i] != port:
            raise RuntimeError(f"node {i} came back on port {port}, not {self.ports[i]}")
        self.ports[i] = port   # port 0 the first time: the one it bound is reused for restarts
        return srv

    def kill(self, i):
        srv = self.servers[i]
        if srv.proc.poll() is None:
            srv.proc.send_signal(signal.SIGCONT)  # a frozen process dies too
            srv.proc.kill()
        srv.proc.wait()

    def freeze(self, i):
        """SIGSTOP, then waits until every thread of the node is stopped (the signal is delivered asynchronously:
        a busy machine could let the node answer one more request); '' or why not."""
        pid = self.servers[i].proc.pid
        self.servers[i].proc.send_signal(signal.SIGSTOP)
        deadline = time.time() + 5
        while time.time() < deadline:
            states = []
            for task in os.listdir(f"/proc/{pid}/task"):
                try:
                    with open(f"/proc/{pid}/task/{task}/stat") as f:
                        states.append(f.read().rsplit(")", 1)[1].split()[0])
                except OSError:
                    pass
            if states and all(s in ("T", "t") for s in states):
                return ""
            time.sleep(0.01)
        return f"node {i} did not stop: thread states {states}"

    def thaw(self, i):
        self.servers[i].proc.send_signal(signal.SIGCONT)

    def stop_all(self):
        for i in NODES:
            if i in self.servers:
                srv = self.servers[i]
                if srv.proc.poll() is None:
                    srv.proc.send_signal(signal.SIGCONT)
                srv.stop()


def act(group, cmd, i):
    """One command of the C program; '' when done, else why not."""
    if i not in NODES:
        return f"no node {i}"
    if cmd == "kill":
        group.kill(i)
    elif cmd in ("start", "faulty"):
        if cmd == "faulty":
            group.kill(i)
        elif group.servers[i].proc.poll() is None:
            return f"node {i} is running"
        srv = group.start(i, faulty=cmd == "faulty")
        status, body, _ = noxtest.http("GET", srv.url + "/health")
        if status != 200:
            return f"node {i} /health: {status} {body}"
    elif cmd == "freeze":
        return group.freeze(i)
    elif cmd == "thaw":
        group.thaw(i)
    else:
        return f"unknown command {cmd}"
    return ""


def main():
    work = tempfile.mkdtemp(prefix="nox-kms-group-test-")
    key_file, share_dir = os.path.join(work, "k.key"), os.path.join(work, "group")
    r = run(NOX_KMS, "keygen", "--out", key_file)
    check("nox-kms keygen", r.returncode == 0, r.stderr)
    public_key = re.search(r"public key: (0x[0-9a-f]{66})", r.stdout)
    r = run(NOX_KMS, "split", "--key", key_file, "--threshold", "2", "--nodes", "3", "--out-dir", share_dir)
    check("nox-kms split 2-of-3", r.returncode == 0, r.stdout + r.stderr)
    if r.returncode != 0:
        return noxtest.summary()
    with open(os.path.join(share_dir, "group.json")) as f:
        group_doc = json.load(f)
    check("the group keeps the split key's public key", public_key and group_doc.get("publicKey") == public_key.group(1)
          and group_doc.get("threshold") == 2 and group_doc.get("nodes") == 3, f"{group_doc} {public_key}")
    for i in NODES:
        r = run(NOX_KMS, "share-info", "--group", os.path.join(share_dir, "group.json"),
                "--share", os.path.join(share_dir, f"share-{i}.key"))
        check(f"share-info: share-{i}.key is node {i}'s", r.returncode == 0 and f"node index: {i}\n" in r.stdout,
              r.stdout + r.stderr)
        r = run(NOX_KMS, "keygen", "--out", os.path.join(work, f"wallet-{i}.key"))
        check(f"wallet of node {i}", r.returncode == 0, r.stderr)
    gw_key_file = os.path.join(work, "gateway.key")
    r = run(NOXCTL, "key", "new", "--out", gw_key_file)
    check("noxctl key new", r.returncode == 0, r.stderr)
    gw_addr = run(NOXCTL, "key", "address", gw_key_file).stdout.strip()

    group = Group(work, share_dir, gw_addr)
    proc = None
    watchdog = None
    try:
        for i in NODES:
            group.start(i)
        for i in NODES:
            url = group.servers[i].url
            status, body, _ = noxtest.http("GET", url + "/v0/group")
            check(f"GET /v0/group of node {i} is the group file", status == 200 and body == group_doc,
                  f"{status} {body}")
            # the spec's endpoints need the whole key: without a signature 401 (authentication comes first); with
            # the Gateway's signature 409 threshold_share (kms_group_test.c asks every node so)
            status, body, _ = noxtest.http("POST", f"{url}/v0/delegate?chainId={CHAIN}",
                                           json.dumps({"ephemeralPubKey": public_key.group(1), "targetPubKey": "0x00"}))
            check(f"node {i}: unsigned POST /v0/delegate -> 401", status == 401 and
                  noxtest.is_error_shape(body, "unauthorized"), f"{status} {body}")
        env = dict(os.environ)
        env.update(NOX_KMS_NODES=",".join(f"{i}={group.servers[i].url}" for i in NODES),
                   NOX_KMS_GROUP_FILE=os.path.join(share_dir, "group.json"), NOX_KMS_KEY_FILE=key_file,
                   NOX_GATEWAY_KEY_FILE=gw_key_file)
        t0 = time.time()
        proc = subprocess.Popen([PROGRAM], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        watchdog = threading.Timer(240, proc.kill)  # never hang the suite on a lost handshake
        watchdog.start()
        stderr_lines = []
        drain = threading.Thread(target=lambda: stderr_lines.extend(proc.stderr), daemon=True)
        drain.start()
        out, commands = [], []
        for line in proc.stdout:
            out.append(line)
            m = re.match(r"^@@(\w+) (\d+)$", line.rstrip())
            if m:
                cmd, i = m.group(1), int(m.group(2))
                try:
                    why = act(group, cmd, i)
                except Exception as e:  # noqa: BLE001 (reported to the program, which fails its check)
                    why = str(e)[-300:].replace("\n", " ")
                commands.append(f"{cmd} {i}")
                check(f"@@{cmd} {i}", not why, why)
                proc.stdin.write(("ok" if not why else "fail " + why) + "\n")
                proc.stdin.flush()
        proc.wait(timeout=60)
        drain.join(timeout=10)
        err = "".join(stderr_lines)
        check("kms_group_test passes", proc.returncode == 0, "".join(out)[-6000:] + err[-3000:])
        check("it drove the nodes' life", commands == ["freeze 1", "thaw 1", "kill 1", "kill 2", "kill 3",
                                                        "start 1", "start 3", "start 2", "faulty 3"], commands)
        print(f"kms_group_test: {time.time() - t0:.1f} s")
        for l in out:  # its timings and summary
            if l.startswith("timing:") or "asserts" in l or "tests " in l:
                print(l.rstrip())
        faulty_log = group.servers[3].log()
        check("node 3 ran as nox-kms-faulty", "NOX_KMS_FAULT=wrong-partials" in faulty_log, faulty_log[-1000:])
    finally:
        if watchdog:
            watchdog.cancel()
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()
        group.stop_all()
    for i in NODES:
        srv = group.servers.get(i)
        if srv:
            code = srv.proc.returncode
            check(f"node {i} stopped cleanly", code == 0, f"exit {code}: {srv.log()[-2000:]}")
    noxtest.keep_or_remove(work)
    return noxtest.summary()


if __name__ == "__main__":
    sys.exit(main())
