#!/usr/bin/python3
"""The Nox devnet: every component of the protocol on 127.0.0.1, as long-lived background processes.

    scripts/devnet.sh up [--kms T-of-N]  start PostgreSQL, nats-server -js, anvil (chain 31337) + the
                                         contracts, the KMS (a t-of-n threshold group of nox-kms nodes, 2-of-3
                                         by default), nox-gateway, nox-runner and nox-ingestor;
                                         every hop over TLS (for A/B benchmarks: NOX_DEVNET_TLS=0 plaintext,
                                         NOX_DEVNET_FETCH_BATCH=N the Runners' fetch_batch)
    scripts/devnet.sh up --cluster       the same with a 3-node NATS JetStream cluster (nats, nats2, nats3:
                                         routes over mutual TLS, streams of 3 replicas), two Gateways on one
                                         PostgreSQL (gateway, gateway2) and three Runners (runner, runner2,
                                         runner3) that fail over between the Gateways
    scripts/devnet.sh status             one line per component; exit 0 all running, 1 some, 3 none
    scripts/devnet.sh restart SERVICE    kms|kmsN|gateway|runner|ingestor|nats|postgres, with --cluster also
                                         nats2|nats3|gateway2 (same config and port);
                                         also brings back a service that died or was killed
    scripts/devnet.sh restart kmsN --faulty
                                         restarts that KMS node (kms, kms2, ...) as nox-kms-faulty with
                                         NOX_KMS_FAULT=wrong-partials: it serves every partial wrong (for the fault
                                         tests; the binary is built with the tests); a plain `restart kmsN` brings
                                         the normal nox-kms back
    scripts/devnet.sh kill SERVICE       SIGKILL, no grace: kms|kmsN|gateway|runner|ingestor|nats|runnerN (a
                                         crash, for fault-injection tests); the record stays, so `status` shows it
                                         exited until `restart SERVICE`
    scripts/devnet.sh reshare [T-of-N]   a proactive refresh of the running KMS group (below); N must be the
                                         running N, T may change (default: the running T)
    scripts/devnet.sh start runnerN      one more Runner, N in 2..9: same stream, consumer, wallet and
                                         operators as `runner`, its own port, DIR/runnerN.yaml, logs/runnerN.log;
                                         then shown by `status`, stopped by `down` / `stop runnerN`, and
                                         accepted by `restart` and `kill`
    scripts/devnet.sh stop runnerN       stop such an extra Runner (SIGTERM: it finishes the message in hand)
    scripts/devnet.sh reload-operators [FILE]
                                         switch the Runners (every one: runner, runner2.., a cluster's) and the
                                         Ingestor to another operators.yaml (FILE, else NOX_DEVNET_OPERATORS, else
                                         the recorded one — e.g. edited in place) and register it (below); the
                                         chain, PostgreSQL, NATS and the KMS keep running
    scripts/devnet.sh down               stop everything `up` and `start` started (by recorded pid, never by name)

The KMS (docs/PROTOCOL-EXTENSIONS.md §11). The protocol key d is Shamir-shared t-of-n: `up` runs
`nox-kms deal --threshold T --nodes N --out-dir DIR/kms` — the devnet is the TRUSTED DEALER: this one machine
sees d for that moment and writes every share (a production group is dealt on an offline machine, or split from
an existing key, and each share moved to its own node). Node i is the component `kms` (i = 1) or `kms<i>`, with
its own port, DIR/<name>.yaml (key_file kms/share-<i>.key, group_file kms/group.json) and its own wallet
kms/<name>-wallet.key (signs the PublicKeyProof of the group public key P). The Gateways get kms_group_file and
kms_nodes (they ask t nodes per request); the Runners encrypt results to the group file's P (kms_group_file: they
call no KMS node). NoxCompute is
deployed with P, checked equal on every node. `--kms 1-of-1` is the single key of spec §8: one `kms`, its key
made by `nox-kms keygen`, the Gateway's kms_url + kms_address.

`reshare` refreshes the shares through the CLI ceremonies only, d never assembled: a transport key per new node
(`nox-kms keygen`), a recipients file, `reshare-deal` by old nodes 1..t, `reshare-combine` for each new node,
all in DIR/kms/next/; each new share checked (`nox-kms share-info`: its index, P unchanged); then it stops every
KMS node, keeps the old shares and group file in kms/previous-<timestamp>/ (0700; production destroys them),
swaps the new ones in, starts the nodes and restarts the Gateway(s), which load the new group file. The KMS
nodes and the Gateways restart TOGETHER: a few seconds of 503s, absorbed by the Runners' retries. Production
rolls instead: it starts the new nodes beside the old ones (other hosts or ports, the new shares), switches the
Gateways one at a time to the new group file and nodes, and retires the old nodes once no Gateway uses them —
no gap, since old and new groups serve the same P.

Options and environment:
    --dir DIR / NOX_DEVNET_DIR   state directory (default build/devnet of this checkout)
    --kms T-of-N / NOX_DEVNET_KMS  the KMS of `up`: 1 <= T <= N <= 9 (default 2-of-3; 1-of-1: a single key)
    NOX_BIN_DIR                  where nox-kms, nox-gateway, nox-runner, nox-ingestor and noxctl are
                                 (default build/bin); the operator plugins are then taken from
                                 NOX_BIN_DIR/../lib/nox through a generated DIR/operators.yaml
    NOX_DEVNET_OPERATORS         the operators.yaml of the Runners and the Ingestor (default config/operators.yaml);
                                 its extension operators (ids >= 64) are registered in NoxCompute at `up`
                                 (and by `reload-operators`, whose default FILE it is)
    NOX_DEVNET_TIMEOUT           seconds each component has to become healthy (default 30)
    NOX_DEVNET_EXTRA_RUNNERS     comma-separated addresses added to the Gateway's runner_addresses at `up`
                                 (e.g. a test's own key reading results through GET /v0/compute/operands)
    NOX_CAST                     cast used by contracts/deploy.py (default: the pinned one)

State directory (everything an operator needs to run or inspect a component by hand):
    <service>.yaml  nats.conf    the generated configurations (kms.yaml, kms2.yaml, ... one per KMS node)
    logs/<component>.log         logs;  pids/<component>.pid (+ .cmdline, checked before any kill)
    keys/                        owner, alice, bob (anvil's funded accounts 0..2), gateway, runner and ingestor
                                 wallets (the Ingestor's signs every queue message; the Runners trust its address);
                                 ingestor.nk, runner.nk, admin.nk: the NATS identities (scripts/nats_auth.py)
    kms/                         threshold: share-<i>.key, group.json (`nox-kms deal`), <name>-wallet.key per node,
                                 previous-<timestamp>/ after a `reshare`; 1-of-1: kms.key and kms-wallet.key
                                 (`nox-kms keygen`) and group.json (the node's GET /v0/group, for tools only)
    postgres/  nats/  ingestor/  PostgreSQL data, the JetStream store, the Ingestor's checkpoint
    deployment.json              contracts/deploy.py's output
    state.json                   ports, commands, addresses
    env                          `source DIR/env`: NOX_RPC_URL, NOX_GATEWAY_URL, NOX_COMPUTE_ADDRESS, ...; the KMS:
                                 NOX_KMS_URL, NOX_KMS_ADDRESS (node 1's), NOX_KMS_PUBLIC_KEY (P), NOX_KMS_URLS,
                                 NOX_KMS_WALLETS (node order), NOX_KMS_GROUP_FILE, NOX_KMS_THRESHOLD (e.g. 2-of-3)

`reload-operators` first checks FILE (`nox-eval --config FILE --list`: a YAML or plugin error is printed with its
file:line:col, exit 1, nothing touched) and what contracts/register_operators.py would send (--dry-run), and prints
the operators added, removed and changed (name, id, arity). Then: the extension operators (ids >= 64) it removed are
disabled in NoxCompute (setOperatorEnabled false: compute() refuses them before a Runner would dead-letter them);
the Runners, then the Ingestor, restart one after another, each waited for on its health (SIGTERM: a Runner
finishes the messages in hand, JetStream keeps the others, the Ingestor resumes from its checkpoint: no message
is lost); the new file is recorded (state.json, `status`, `restart`, `start runnerN`, NOX_OPERATORS_CONFIG of
env); last, what it adds or changes is registered (register_operators.py; an id the devnet itself disabled
earlier is re-enabled). A component that does not come back healthy puts every one back on the old file
(exit 1). The same file with the same content: "unchanged", nothing restarted.

`up` on a running, healthy devnet changes nothing (exit 1 when its KMS is not of the shape asked: `down` first;
exit 1 when it loads another operators file than the one asked — NOX_DEVNET_OPERATORS or the default, compared by
resolved path and content hash: `reload-operators FILE`, or `down` first);
on a stale one (a recorded process died) it stops the survivors and starts a fresh devnet (anvil's chain lives in
memory: it cannot be resumed).
Exit status: 0 ok, 1 failed, 2 bad usage (or a refused restart), 3 `status` with nothing running
(`status` exits 0 only when every component and every extra Runner started with `start` runs).
"""
import argparse
import errno
import re
import fcntl
import glob
import hashlib
import json
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
import noxtest  # noqa: E402  (ANVIL, ANVIL_KEYS)
import nats_auth  # noqa: E402  (scripts/nats_auth.py: the nats-server users and their permissions)

CHAIN_ID = 31337
COMPONENTS = ["postgres", "nats", "anvil", "kms", "gateway", "runner", "ingestor"]
# up --cluster: a 3-node NATS JetStream cluster (streams with 3 replicas), a second Gateway on the same
# PostgreSQL, and two more Runners (runner2, runner3 as with `start`), every Runner failing over between Gateways
CLUSTER_COMPONENTS = ["postgres", "nats", "nats2", "nats3", "anvil", "kms", "gateway", "gateway2", "runner", "ingestor"]
CLUSTER_RUNNERS = ["runner2", "runner3"]
NATS_NODES = ["nats", "nats2", "nats3"]
SERVICES = ["kms", "gateway", "ingestor", "runner"]          # ours: --config DIR/<name>.yaml, GET /health
RESTARTABLE = ["postgres", "nats", "kms", "gateway", "ingestor", "runner", "nats2", "nats3", "gateway2"]  # the last 3: --cluster
ACCOUNTS = ["owner", "alice", "bob"]                          # anvil's default accounts 0, 1, 2
KILLABLE = ["kms", "gateway", "runner", "ingestor", "nats", "nats2", "nats3", "gateway2"]  # + extra Runners; --cluster
EXTRA_RUNNER = re.compile(r"^runner[2-9]$")                  # `start runnerN`: more Runners on the same consumer
KMS_NODE = re.compile(r"^kms[2-9]$")                         # nodes 2..N of a threshold KMS (node 1 is "kms");
                                                             # also restartable and killable
KMS_SHAPE = re.compile(r"^([0-9]+)-of-([0-9]+)$")
DEFAULT_KMS = "2-of-3"
FAULT = "wrong-partials"                                     # NOX_KMS_FAULT of `restart kmsN --faulty`
MARKER = ".nox-devnet"
DEFAULT_OPERATORS = os.path.join(ROOT, "config", "operators.yaml")
FIRST_EXTENSION_OPERATOR = 64                                # ids >= 64: registered in NoxCompute (setOperator)
DB_USER, DB_NAME = "nox", "nox"


class DevnetError(Exception):
    pass


def say(msg=""):
    print(msg, flush=True)


def fetch_batch():
    """The Runners' fetch_batch: 8, or NOX_DEVNET_FETCH_BATCH (1..64) for a benchmark."""
    try:
        return min(64, max(1, int(os.environ.get("NOX_DEVNET_FETCH_BATCH", "8"))))
    except ValueError:
        return 8


def timeout_s():
    try:
        return max(1.0, float(os.environ.get("NOX_DEVNET_TIMEOUT", "30")))
    except ValueError:
        return 30.0


def shown(path):
    """A path as the user sees it: relative to the current directory when below it."""
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def file_sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def tail(path, n=20):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError as e:
        return f"(cannot read {path}: {e})\n"


def write_file(path, text, mode=0o644):
    """Atomically replaces path with text (mode applied before the rename)."""
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


# ---- processes ----------------------------------------------------------------------------------

def proc_alive(pid):
    """True when pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2:][:1] not in ("Z", "X", "")


def proc_cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    return [a.decode(errors="replace") for a in raw.split(b"\0")[:-1]] if raw else []


def reap(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def wait_gone(pid, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        reap(pid)
        if not proc_alive(pid):
            return True
        time.sleep(0.05)
    reap(pid)
    return not proc_alive(pid)


def terminate(pid, grace=10.0):
    """SIGTERM, up to `grace` seconds, then SIGKILL. Returns 'SIGTERM' or 'SIGKILL' (what ended it)."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return "SIGTERM"
    if wait_gone(pid, grace):
        return "SIGTERM"
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    wait_gone(pid, 5)
    return "SIGKILL"


CA_FILE = None   # the devnet's CA once its state is known (tls/ca.pem), for https:// health checks


def http_get(url, timeout=2.0):
    """(status, text) — status 0 with the reason when there is no HTTP answer. https:// is verified against the
    devnet's CA."""
    import ssl
    ctx = ssl.create_default_context(cafile=CA_FILE) if url.startswith("https://") else None
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=ctx) as r:
            return r.status, r.read().decode(errors="replace").strip()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace").strip()
    except Exception as e:  # noqa: BLE001 (connection refused, timeout, ...)
        return 0, str(getattr(e, "reason", e))


def rpc(url, method, params=(), timeout=2.0):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        answer = json.loads(r.read())
    if "error" in answer:
        raise DevnetError(f"{method}: {answer['error']}")
    return answer["result"]


def run(args, check=True, **kw):
    try:
        r = subprocess.run(args, capture_output=True, text=True, stdin=subprocess.DEVNULL, **kw)
    except OSError as e:
        raise DevnetError(f"devnet: cannot run {args[0]}: {e.strerror}")
    if check and r.returncode != 0:
        raise DevnetError(f"{' '.join(shlex.quote(a) for a in args)}: exit {r.returncode}: "
                          f"{(r.stderr or r.stdout).strip()}")
    return r


def free_ports(names):
    """One distinct free loopback port per name, all chosen before anything starts."""
    socks, ports = [], {}
    try:
        for n in names:
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports[n] = s.getsockname()[1]
    finally:
        for s in socks:
            s.close()
    return ports


# ---- the devnet -----------------------------------------------------------------------------------

class Devnet:
    def __init__(self, directory):
        self.dir = os.path.abspath(directory)
        self.state_path = os.path.join(self.dir, "state.json")
        self.pids_dir = os.path.join(self.dir, "pids")
        self.logs_dir = os.path.join(self.dir, "logs")
        self.state = None
        self.lock_fd = None
        self.started = []           # components started by this invocation (stopped again if `up` fails)
        self.children = {}          # their Popen objects: an unreaped child's pid cannot have been reused

    # -- files
    def p(self, *parts):
        return os.path.join(self.dir, *parts)

    def log_path(self, name):
        return self.p("logs", name + ".log")

    def load_state(self):
        global CA_FILE
        try:
            with open(self.state_path) as f:
                self.state = json.load(f)
        except (OSError, ValueError):
            self.state = None
        CA_FILE = self.p("tls", "ca.pem") if self.state and self.state.get("tls") else None
        return self.state

    def tls(self):
        return bool(self.state.get("tls"))

    def cluster(self):
        return bool(self.state and self.state.get("cluster"))

    def components(self):
        """Every component in start order: the KMS nodes after `kms` (node 1)."""
        base = CLUSTER_COMPONENTS if self.cluster() else COMPONENTS
        i = base.index("kms") + 1
        return base[:i] + self.kms_nodes()[1:] + base[i:]

    def kms_shape(self):
        """(t, n) of the KMS; 1-of-1 is the single key of spec §8 (also for a state.json older than the groups)."""
        k = (self.state or {}).get("kms") or {}
        return int(k.get("threshold", 1)), int(k.get("nodes", 1))

    def kms_group(self):
        """True for a threshold KMS (shares dealt by `nox-kms deal`), False for the single key."""
        return self.kms_shape() != (1, 1)

    def kms_nodes(self):
        """The KMS components in node order: kms (node 1), kms2, ..., kmsN."""
        return ["kms"] + [f"kms{i}" for i in range(2, self.kms_shape()[1] + 1)]

    def kms_text(self):
        return shape_text(*self.kms_shape())

    def nats_nodes(self):
        return NATS_NODES if self.cluster() else ["nats"]

    def make_pki(self):
        """tls/: a throwaway CA (scripts/pki.sh) and a server certificate for 127.0.0.1 per component; two more
        CAs for the clients that mutual TLS admits: kms-clients/ (the Gateway's, for the KMS) and runner-clients/
        (the Runners', for the Gateway's Runner endpoints) — a Runner's certificate cannot call the KMS."""
        global CA_FILE
        pki, d = os.path.join(ROOT, "scripts", "pki.sh"), self.p("tls")
        run([pki, d])
        for name in ("kms", "gateway", "runner", "ingestor", "nats", "postgres"):
            run([pki, d, "server", name])
        run([pki, d, "peer", "nats-peer"])   # a cluster's routes: each node is server and client of the others
        run([pki, os.path.join(d, "kms-clients"), "client", "gateway"])
        run([pki, os.path.join(d, "runner-clients"), "client", "runner"])
        pg = self.state["postgres"]
        if pg["run_as"]:   # PostgreSQL reads its key as the postgres user, and wants it 0600 and its own
            import pwd
            pw = pwd.getpwnam("postgres")
            os.chown(os.path.join(d, "postgres.key"), pw.pw_uid, pw.pw_gid)
        CA_FILE = os.path.join(d, "ca.pem")

    def tls_server(self, name, clients=None):
        """The YAML tls block of a component (clients: the CA directory whose certificates mutual TLS admits)."""
        if not self.tls():
            return ""
        ca = f", client_ca_file: {self.p('tls', clients, 'ca.pem')}" if clients else ""
        return f"tls: {{cert_file: {self.p('tls', name + '.pem')}, key_file: {self.p('tls', name + '.key')}{ca}}}\n"

    def tls_client(self, key, cert=None):
        """A client's `<key>: {ca_file, cert_file, key_file}` towards the devnet's servers (cert: 'dir/name')."""
        if not self.tls():
            return ""
        c = f", cert_file: {self.p('tls', cert + '.pem')}, key_file: {self.p('tls', cert + '.key')}" if cert else ""
        return f"{key}: {{ca_file: {self.p('tls', 'ca.pem')}{c}}}\n"

    def save_state(self):
        write_file(self.state_path, json.dumps(self.state, indent=2) + "\n", 0o600)

    def lock(self):
        os.makedirs(self.dir, exist_ok=True)
        self.lock_fd = os.open(self.p(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self.lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"devnet: another devnet command is running on {shown(self.dir)}; waiting for it")
            fcntl.flock(self.lock_fd, fcntl.LOCK_EX)

    def recorded(self, name):
        """(pid, cmdline) recorded for a component, or (None, None)."""
        try:
            with open(os.path.join(self.pids_dir, name + ".pid")) as f:
                pid = int(f.read().split()[0])
            with open(os.path.join(self.pids_dir, name + ".cmdline")) as f:
                cmd = json.load(f)
            return pid, cmd
        except (OSError, ValueError, IndexError):
            return None, None

    def record(self, name, pid, cmdline):
        os.makedirs(self.pids_dir, exist_ok=True)
        write_file(os.path.join(self.pids_dir, name + ".cmdline"), json.dumps(cmdline) + "\n")
        write_file(os.path.join(self.pids_dir, name + ".pid"), f"{pid}\n")

    def forget(self, name):
        for ext in (".pid", ".cmdline"):
            try:
                os.remove(os.path.join(self.pids_dir, name + ext))
            except FileNotFoundError:
                pass

    def running(self, name):
        """'running' (our process), 'dead' (recorded, gone), 'foreign' (pid reused) or None (not recorded)."""
        pid, cmd = self.recorded(name)
        if pid is None:
            return None
        if not proc_alive(pid):
            return "dead"
        return "running" if proc_cmdline(pid) == cmd else "foreign"

    # -- bins and tools
    def bin(self, name):
        return os.path.join(self.state["bin_dir"], name)

    @staticmethod
    def pg_bindir():
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                      key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
        if not bins:
            raise DevnetError("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin "
                              "(scripts/setup.sh installs them)")
        return os.path.dirname(bins[-1])

    # -- health
    def health(self, name):
        """(healthy, text) from the component's health check."""
        st = self.state
        if name == "postgres":
            r = run([os.path.join(st["postgres"]["bindir"], "pg_isready"), "-h", "127.0.0.1",
                     "-p", str(st["ports"]["postgres"]), "-t", "2"], check=False)
            return r.returncode == 0, (r.stdout.strip().split(" - ")[-1] or r.stderr.strip())
        if name == "anvil":
            try:
                cid = rpc(st["urls"]["anvil"], "eth_chainId")
                return int(cid, 16) == CHAIN_ID, f"eth_chainId {int(cid, 16)}"
            except Exception as e:  # noqa: BLE001
                return False, f"eth_chainId: {getattr(e, 'reason', e)}"
        url = st["health_urls"][name]
        code, text = http_get(url)
        return code == 200, (f"{code} {text}" if code else text)

    def port_names(self, name):
        """The keys of state["ports"] a component listens on."""
        if name in NATS_NODES:   # client port, monitoring, and (in a cluster) the route port
            return [name, name + "_monitor"] + ([name + "_cluster"] if name + "_cluster" in self.state["ports"] else [])
        return {"postgres": ["postgres"], "anvil": ["anvil"]}.get(name, [name])

    def ports_of(self, name):
        return [self.state["ports"][k] for k in self.port_names(name)]

    def taken_port(self, name, pid):
        """(port, holder) for a port of the component that another process listens on, else None."""
        for port in self.ports_of(name):
            holder = noxtest.port_holder(pid, port)
            if isinstance(holder, tuple):
                return port, holder[1]
        return None

    def wait_healthy(self, name, pid):
        """(True, text) once the process pid is alive, listens on every port of the component itself and
        answers its health check; (False, why) as soon as it exited or another process holds one of its
        ports (a health answer from that process must not count), or at the deadline."""
        deadline = time.time() + timeout_s()
        while True:
            if pid is not None and not proc_alive(pid):
                reap(pid)
                return False, "exited"
            if pid is not None:
                taken = self.taken_port(name, pid)
                if taken:
                    return False, f"port {taken[0]} is held by another program: {noxtest.describe_pid(taken[1])}"
                ours = all(noxtest.port_holder(pid, port) in ("self", "unknown") for port in self.ports_of(name))
            else:
                ours = True
            if ours:
                ok, text = self.health(name)
                if ok:
                    return True, text
            else:
                text = "not listening yet"
            if time.time() >= deadline:
                return False, text
            time.sleep(0.1)

    def fail_start(self, name, why):
        limit = timeout_s()
        if why == "exited" or why.startswith(("port ", "it exited")):
            msg = f"devnet: {name} failed to start" + (" (it exited)" if why == "exited" else f": {why}")
        else:
            msg = (f"devnet: {name} did not become healthy within {limit:g} s"
                   + (f" (last answer: {why})" if why else ""))
        raise DevnetError(msg + f" — see {shown(self.log_path(name))}\n--- last 20 lines of "
                          + shown(self.log_path(name)) + " ---\n" + tail(self.log_path(name)).rstrip("\n"))

    # -- starting one component (first start and restart share this)
    def spawn(self, name):
        argv = self.state["commands"][name]
        log = open(self.log_path(name), "a")
        log.write(f"==== devnet: starting {name} at {time.strftime('%Y-%m-%d %H:%M:%S')}: "
                  + (f"NOX_KMS_FAULT={FAULT} " if name in self.state.get("faulty", []) else "")
                  + f"{' '.join(shlex.quote(a) for a in argv)}\n")
        log.flush()
        env = {k: v for k, v in os.environ.items() if k != "NOX_KMS_FAULT"}
        if name in self.state.get("faulty", []):   # `restart kmsN --faulty`: nox-kms-faulty serving wrong partials
            env["NOX_KMS_FAULT"] = FAULT
        deadline = time.time() + 3      # a binary being rebuilt at this moment (ETXTBSY) gets a moment
        try:
            while True:
                try:
                    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True, cwd=self.dir, close_fds=True, env=env)
                    break
                except OSError as e:
                    if e.errno not in (errno.ETXTBSY, errno.EACCES) or time.time() > deadline:
                        raise DevnetError(f"devnet: cannot start {name}: {argv[0]}: {e.strerror}")
                    time.sleep(0.2)
        finally:
            log.close()
        self.children[name] = proc
        self.record(name, proc.pid, argv)
        return proc.pid

    def start_component(self, name, movable=False):
        """Starts a component and waits until it is healthy. Its ports were free when chosen, but another
        program may have taken one since: then a `movable` component (a first start, which nothing else
        reaches yet) gets new ports and another try; otherwise the failure names the port and its holder."""
        for attempt in range(5):
            t0 = time.time()
            offset = noxtest.file_size(self.log_path(name))
            if name == "postgres":
                pid, text = self.pg_start()
            else:
                pid, text = self.spawn(name), None
            if name not in self.started:
                self.started.append(name)
            if pid is not None:
                ok, text = self.wait_healthy(name, pid)
                if ok:
                    break
            conflict = text.startswith("port ") or noxtest.bind_failed(noxtest.log_since(self.log_path(name), offset))
            if conflict and not text.startswith("port "):
                taken = self.taken_port(name, None)     # it exited on a taken port: whose is it
                text = (f"port {taken[0]} is held by another program: {noxtest.describe_pid(taken[1])}" if taken
                        else f"it exited: a port of {', '.join(map(str, self.ports_of(name)))} was taken")
            if not (conflict and movable and attempt < 4):
                self.fail_start(name, text)
            if pid is not None and proc_alive(pid):
                terminate(pid)
            self.forget(name)
            old = self.ports_of(name)
            self.move(name)
            say(f"devnet: {name}: port {'/'.join(map(str, old))} was taken by another program since it was chosen; "
                f"trying {'/'.join(map(str, self.ports_of(name)))}")
        cmdline = proc_cmdline(pid)
        if cmdline:                 # what /proc shows from now on (a wrapper script may have exec'd)
            self.record(name, pid, cmdline)
        say(f"devnet: {name:<8} healthy  pid {pid:<7} {self.state['urls'][name]}  ({time.time() - t0:.1f} s)")
        return pid

    def stop_component(self, name, quiet=False):
        """Stops a recorded component after checking its pid is still ours; returns a report line."""
        pid, cmd = self.recorded(name)
        if pid is None:
            if name == "postgres" and self.state and self.pg_running():
                self.pg_stop()
                return f"stopped postgres (pg_ctl stop -m fast; no pid was recorded)"
            return None
        state = self.running(name)
        child = self.children.get(name)
        if state == "foreign" and child is not None and child.pid == pid and child.poll() is None:
            state = "running"       # started by this very invocation, exec'd into something else
        self.forget(name)
        if state == "dead":
            return f"{name}: pid {pid} was not running"
        if state == "foreign":
            return f"{name}: pid {pid} now belongs to another program ({' '.join(proc_cmdline(pid) or [])[:80]}); not killed"
        t0 = time.time()
        if name == "postgres":
            try:
                self.pg_stop()
            except DevnetError as e:
                say(f"devnet: {e}; sending SIGTERM to pid {pid}")
            how = "pg_ctl stop -m fast"
            if not wait_gone(pid, 10):
                how = terminate(pid, 0)
        else:
            how = terminate(pid)
        return f"stopped {name} (pid {pid}, {how}, {time.time() - t0:.1f} s)"

    # -- PostgreSQL (pg_ctl-started: it outlives this script; as root it runs as the postgres user)
    def pg_run_as(self):
        return self.state["postgres"]["run_as"]

    def pg_ctl(self, *args, check=True):
        pg = self.state["postgres"]
        return run([*pg["run_as"], os.path.join(pg["bindir"], "pg_ctl"), "-D", pg["datadir"], *args], check=check)

    def pg_running(self):
        pg = self.state.get("postgres") if self.state else None
        return bool(pg) and os.path.isdir(pg["datadir"]) and self.pg_ctl("status", check=False).returncode == 0

    def pg_start(self):
        """(pid, None) once pg_ctl started the postmaster, else (None, why)."""
        pg = self.state["postgres"]
        r = self.pg_ctl("start", "-w", "-t", str(int(timeout_s())), "-l", self.log_path("postgres"),
                        "-o", f"-c listen_addresses=127.0.0.1 -p {self.state['ports']['postgres']} "
                              f"-k {pg['sockdir']} -c fsync=off" +
                              (f" -c ssl=on -c ssl_cert_file={self.p('tls', 'postgres.pem')} "
                               f"-c ssl_key_file={self.p('tls', 'postgres.key')}" if self.tls() else ""), check=False)
        pid = None
        try:
            with open(os.path.join(pg["datadir"], "postmaster.pid")) as f:
                pid = int(f.readline())
        except (OSError, ValueError):
            pass
        if r.returncode != 0 or pid is None or not proc_alive(pid):
            lines = (r.stderr or r.stdout).strip().splitlines()
            return None, "exited" if pid is None else lines[-1] if lines else "pg_ctl start failed"
        self.record("postgres", pid, proc_cmdline(pid))
        return pid, None

    def set_urls(self):
        """state's urls, health URLs and anvil's command, from state's ports."""
        st, ports = self.state, self.state["ports"]
        web, ssl = ("https", f"?sslmode=verify-full&sslrootcert={self.p('tls', 'ca.pem')}") if self.tls() else ("http", "")
        ours = SERVICES + self.kms_nodes()[1:] + (["gateway2"] if self.cluster() else []) + self.extra_runners()
        st["urls"] = {"postgres": f"postgresql://{DB_USER}:{st['postgres']['password']}@127.0.0.1:{ports['postgres']}/"
                                  f"{DB_NAME}{ssl}",
                      **{n: f"{'tls' if self.tls() else 'nats'}://127.0.0.1:{ports[n]}" for n in self.nats_nodes()},
                      "anvil": f"http://127.0.0.1:{ports['anvil']}",   # anvil has no TLS: loopback only
                      **{s: f"{web}://127.0.0.1:{ports[s]}" for s in ours}}
        # a cluster node is healthy once its JetStream runs (the cluster's quorum needs the others: checked after)
        js = "?js-enabled-only=true" if self.cluster() else ""
        st["health_urls"] = {**{n: f"http://127.0.0.1:{ports[n + '_monitor']}/healthz{js}" for n in self.nats_nodes()},
                             **{s: f"{web}://127.0.0.1:{ports[s]}/health" for s in ours}}
        st["commands"]["anvil"] = [noxtest.ANVIL, "--host", "127.0.0.1", "--port", str(ports["anvil"]),
                                   "--hardfork", "cancun", "--chain-id", str(CHAIN_ID)]

    def move(self, name):
        """New free ports for a component that has not started yet, and every configuration that names them."""
        self.state["ports"].update(free_ports(self.port_names(name)))
        self.set_urls()
        if name in NATS_NODES + self.kms_nodes():
            self.write_configs_early()
        elif name in ("gateway", "gateway2", "runner", "ingestor"):
            self.write_configs_late()
        elif EXTRA_RUNNER.match(name):
            self.write_extra_runner_config(name)
        self.save_state()

    def pg_stop(self):
        self.pg_ctl("stop", "-w", "-t", "10", "-m", "fast")

    def pg_init(self):
        """initdb into DIR/postgres/data (superuser postgres: trust on the unix socket only, scram over TCP)."""
        pg = self.state["postgres"]
        base = pg["sockdir"]
        os.makedirs(base)
        logf = self.log_path("postgres")
        open(logf, "a").close()
        if pg["run_as"]:
            import pwd
            pw = pwd.getpwnam("postgres")
            os.chown(base, pw.pw_uid, pw.pw_gid)
            os.chown(logf, pw.pw_uid, pw.pw_gid)
            os.chmod(base, 0o700)
            noxtest.let_others_traverse(os.path.dirname(base))   # the postgres user must reach it
        pwfile = os.path.join(base, "pw")
        with open(pwfile, "w") as f:
            f.write(secrets.token_hex(16) + "\n")   # the superuser's password: nobody needs it
        if pg["run_as"]:
            os.chown(pwfile, pw.pw_uid, pw.pw_gid)
        try:
            run([*pg["run_as"], os.path.join(pg["bindir"], "initdb"), "-D", pg["datadir"], "-U", "postgres",
                 "--pwfile", pwfile, "-E", "UTF8", "--locale=C", "--auth-local=trust",
                 "--auth-host=scram-sha-256", "--no-sync"])
        finally:
            os.remove(pwfile)

    def pg_create_db(self):
        pg = self.state["postgres"]
        run([*pg["run_as"], os.path.join(pg["bindir"], "psql"), "-h", pg["sockdir"],
             "-p", str(self.state["ports"]["postgres"]), "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1",
             "-q", "-c", f"CREATE ROLE {DB_USER} LOGIN PASSWORD '{pg['password']}'",
             "-c", f"CREATE DATABASE {DB_NAME} OWNER {DB_USER}"])

    # -- configuration files
    def nats_conf(self, node):
        """nats-server's configuration of one node: client port, monitoring (/healthz), JetStream store, TLS,
        the users (scripts/nats_auth.py) and, in a cluster, the routes to the other nodes over mutual TLS."""
        st, ports = self.state, self.state["ports"]
        store = self.p(node if node != "nats" else "nats")
        text = f"""# nats-server {node} of the Nox devnet. Run: nats-server -js -c {self.p(node + '.conf')}
host: 127.0.0.1
port: {ports[node]}
http: 127.0.0.1:{ports[node + '_monitor']}
server_name: nox-{node}
jetstream {{
  store_dir: "{store}"
}}
"""
        if self.tls():
            text += f"""tls {{   # every client over TLS (the nkeys below say who it is)
  cert_file: "{self.p('tls', 'nats.pem')}"
  key_file: "{self.p('tls', 'nats.key')}"
}}
"""
        if self.cluster():
            routes = ", ".join(f'"nats-route://127.0.0.1:{ports[n + "_cluster"]}"' for n in NATS_NODES if n != node)
            tls = (f"""
  tls {{   # routes: both ends present a certificate of the devnet's CA (mutual TLS)
    cert_file: "{self.p('tls', 'nats-peer.pem')}"
    key_file: "{self.p('tls', 'nats-peer.key')}"
    ca_file: "{self.p('tls', 'ca.pem')}"
    verify: true
  }}""" if self.tls() else "")
            text += f"""cluster {{   # the 3-node JetStream cluster: streams of 3 replicas survive the loss of any one node
  name: nox
  listen: 127.0.0.1:{ports[node + '_cluster']}
  routes: [{routes}]{tls}
}}
"""
        return text + """
# Who may connect and what each may do (scripts/nats_auth.py): the Ingestor publishes the jobs, the Runners
# consume them and publish dead letters, the admin (keys/admin.nk, NOX_NATS_CREDENTIALS of the env) is the
# operator's. No one else connects.
""" + nats_auth.authorization([nats_auth.ingestor(st["nats_keys"]["ingestor"]),
                               nats_auth.runner(st["nats_keys"]["runner"]),
                               nats_auth.admin(st["nats_keys"]["admin"])])

    def nats_urls_yaml(self):
        """The Ingestor's and Runners' `url: X` (one server) or `urls: [...]` and `replicas: 3` (a cluster)."""
        u = self.state["urls"]
        if not self.cluster():
            return f"url: {u['nats']}"
        return f"urls: [{', '.join(u[n] for n in NATS_NODES)}], replicas: 3"

    def write_configs_early(self):
        st, ports = self.state, self.state["ports"]
        for node in self.nats_nodes():
            write_file(self.p(node + ".conf"), self.nats_conf(node))
        self.write_kms_configs()

    def write_kms_configs(self):
        """DIR/<name>.yaml of every KMS node: the single key, or node i's share and the group file."""
        st, ports = self.state, self.state["ports"]
        t, n = self.kms_shape()
        for i, name in enumerate(self.kms_nodes(), 1):
            run_it = f"Run: {self.bin('nox-kms')} --config {self.p(name + '.yaml')}"
            if not self.kms_group():
                head = f"# nox-kms of the Nox devnet (scripts/devnet.sh). {run_it}\n"
                keys = f"""key_file: {self.p('kms', 'kms.key')}                 # protocol key, made by `nox-kms keygen` at `devnet up`
wallet_key_file: {self.p('kms', 'kms-wallet.key')}   # signs PublicKeyProof, made by `nox-kms keygen` at `devnet up`
"""
            else:
                head = (f"# nox-kms node {i} of the Nox devnet's {t}-of-{n} KMS (scripts/devnet.sh). {run_it}\n"
                        + ("# every node presents tls/kms.pem: all run on 127.0.0.1, which that one certificate names\n"
                           if self.tls() else ""))
                keys = f"""key_file: {self.p('kms', f'share-{i}.key')}   # node {i}'s share of d (`nox-kms deal` at `devnet up`, renewed by `devnet reshare`)
group_file: {self.p('kms', 'group.json')}   # t, n, P, commitments, verification keys; the node finds its index
wallet_key_file: {self.p('kms', name + '-wallet.key')}   # this node's wallet: signs PublicKeyProof of P (`nox-kms keygen`)
"""
            write_file(self.p(name + ".yaml"), f"""{head}listen: 127.0.0.1:{ports[name]}
{self.tls_server("kms", "kms-clients")}{keys}# no create_if_missing (default false): a KMS whose key_file is gone stops instead of serving a new protocol key
threads: 4
log_level: info
chains:
  - chain_id: {CHAIN_ID}
    gateway_address: "{st['addresses']['gateway']}"   # the devnet Gateway's wallet
""")

    def gateway_kms_yaml(self):
        """The Gateway's KMS: kms_url + kms_address (the single key), or kms_group_file + kms_nodes (a group)."""
        st, a = self.state, self.state["addresses"]
        tls = self.tls_client("kms_tls", "kms-clients/gateway")
        if not self.kms_group():
            return (f"kms_url: {st['urls']['kms']}\n{tls}kms_address: \"{a['kms_wallet']}\"          "
                    "# the KMS wallet that signs its PublicKeyProof\n")
        t, n = self.kms_shape()
        nodes = "".join(f"  - {{index: {i}, url: {st['urls'][name]}}}\n" for i, name in enumerate(self.kms_nodes(), 1))
        return (f"kms_group_file: {self.p('kms', 'group.json')}   # the {t}-of-{n} group: {t} nodes' partials per "
                f"request, checked against its verification keys\nkms_nodes:\n{nodes}{tls}")

    def runner_kms_yaml(self):
        """The Runner's KMS: the group file (results encrypted to its P, no KMS call) or the single key's URL + wallet."""
        st, a = self.state, self.state["addresses"]
        if self.kms_group():
            return (f"kms_group_file: {self.p('kms', 'group.json')}   # results are encrypted to the group's key P: "
                    "no KMS node is called\n")
        return (f"kms_url: {st['urls']['kms']}\n{self.tls_client('kms_tls')}kms_address: \"{a['kms_wallet']}\"          "
                "# the KMS wallet that signs its PublicKeyProof\n")

    def write_configs_late(self):
        st, ports, a, d = self.state, self.state["ports"], self.state["addresses"], self.state["deployment"]
        write_file(self.p("gateway.yaml"), f"""# nox-gateway of the Nox devnet (scripts/devnet.sh). Run: {self.bin('nox-gateway')} --config {self.p('gateway.yaml')}
listen: 127.0.0.1:{ports['gateway']}
{self.tls_server("gateway", "runner-clients")}database_url: "{st['urls']['postgres']}"
{self.gateway_kms_yaml()}wallet_key_file: {self.p('keys', 'gateway-wallet.key')}
runner_addresses: [{", ".join(f'"{x}"' for x in [a['runner'], *extra_runner_addresses()])}]   # the devnet Runner's wallet{" + NOX_DEVNET_EXTRA_RUNNERS" if extra_runner_addresses() else ""}
accept_legacy_authorizations: false       # Runner authorizations bound to content and time only (docs/PROTOCOL-EXTENSIONS.md §7)
default_chain_id: {CHAIN_ID}
threads: 8                                 # request threads and PostgreSQL connections (nox-bench e2e: 4 -> 8 gave +10 %)
log_level: info
chains:
  - chain_id: {CHAIN_ID}
    rpc_url: {st['urls']['anvil']}
    nox_compute: "{d['noxCompute']}"
""", 0o600)   # the database password
        if self.cluster():   # the second Gateway: the same database, wallet and KMS, its own port
            with open(self.p("gateway.yaml")) as f:
                text = f.read()
            text = re.sub(r"(?m)^listen: .*$", f"listen: 127.0.0.1:{ports['gateway2']}", text)
            write_file(self.p("gateway2.yaml"), text.replace("# nox-gateway of the Nox devnet",
                                                             "# gateway2, the second nox-gateway of the Nox devnet", 1),
                       0o600)
        write_file(self.p("ingestor.yaml"), f"""# nox-ingestor of the Nox devnet (scripts/devnet.sh). Run: {self.bin('nox-ingestor')} --config {self.p('ingestor.yaml')}
rpc_url: {st['urls']['anvil']}
chain_id: {CHAIN_ID}
nox_compute: "{d['noxCompute']}"
start_block: {d['deployBlock']}           # NoxCompute's deployment block
confirmations: 0                          # anvil automines: no block comes after a transaction's own
poll_interval_ms: 200
state_file: {self.p('ingestor', 'checkpoint.json')}
wallet_key_file: {self.p('keys', 'ingestor-wallet.key')}   # signs every message; the Runners' ingestor_addresses
operators: {st['operators']}     # names the generic Compute events (docs/PROTOCOL-EXTENSIONS.md)
nats:
  {self.nats_urls_yaml().replace(", replicas: 3", chr(10) + "  replicas: 3")}
  credentials_file: {self.p('keys', 'ingestor.nk')}   # the Ingestor's NATS identity: the only one that may publish jobs
{"  " + self.tls_client("tls") if self.tls() else ""}  stream: nox_ingestor
  subject: nox_ingestor
listen: 127.0.0.1:{ports['ingestor']}
{self.tls_server("ingestor")}log_level: info
""")
        write_file(self.p("runner.yaml"), f"""# nox-runner of the Nox devnet (scripts/devnet.sh). Run: {self.bin('nox-runner')} --config {self.p('runner.yaml')}
nats: {{{self.nats_urls_yaml()}, credentials_file: {self.p('keys', 'runner.nk')},{" " + self.tls_client("tls").strip() + "," if self.tls() else ""}
       stream: nox_ingestor, consumer: nox_ingestor_consumer,
       dead_letter_subject: nox_dead, ack_wait_s: 30, max_deliver: 10, max_ack_pending: 1024, fetch_batch: {fetch_batch()}}}
# fetch_batch: a fetched batch is one Gateway exchange for its operands and one for its results (bench/README.md):
# 8 gives ~1,300 ops/s with p99 < 20 ms at half load; 16 more throughput, p99 ~45 ms; 32, p99 ~70 ms
# max_ack_pending well above workers x fetch_batch (24) per Runner: a Runner killed with full batches leaves
# them unacked for ack_wait_s; at 256, two such crashes stopped every delivery for up to 30 s (tests/faults)
{"gateway_urls: [" + st['urls']['gateway'] + ", " + st['urls']['gateway2'] + "]   # one Gateway, two URLs: failover"
 if self.cluster() else "gateway_url: " + st['urls']['gateway']}
{self.tls_client("gateway_tls", "runner-clients/runner")}gateway_address: "{a['gateway']}"        # the Gateway's wallet: its authorizations name it (docs/PROTOCOL-EXTENSIONS.md §7)
{self.runner_kms_yaml()}wallet_key_file: {self.p('keys', 'runner-wallet.key')}   # listed in the Gateway's runner_addresses
ingestor_addresses: ["{a['ingestor']}"]   # computes only messages signed by the devnet Ingestor's wallet
operators: {st['operators']}
workers: 3                                 # batches in parallel: 3 keeps them large at moderate load, where a batch's fixed costs
                                           # (two KMS requests, envelopes, a proof) dominate: at 650 msgs/s p99 29 ms, 6 gave 66 ms;
                                           # full load the same (bench/README.md, [threshold])
listen: 127.0.0.1:{ports['runner']}
{self.tls_server("runner")}log_level: info
""")

    @staticmethod
    def asked_operators():
        """(file, generated): the operators file `up` is asked for. NOX_DEVNET_OPERATORS as given, else
        config/operators.yaml — generated (DIR/operators.yaml, a copy pointing at NOX_BIN_DIR/../lib/nox) when
        NOX_BIN_DIR is set."""
        given = os.environ.get("NOX_DEVNET_OPERATORS")
        if given:
            if not os.path.isfile(given):
                raise DevnetError(f"devnet: NOX_DEVNET_OPERATORS={given}: no such file")
            return os.path.abspath(given), False
        return DEFAULT_OPERATORS, bool(os.environ.get("NOX_BIN_DIR"))

    def generated_operators(self, out):
        """Writes to out config/operators.yaml with the plugins of the devnet's binaries (bin_dir/../lib/nox).
        Every line keeps its number (the note goes last): a loader's file:line:col holds for the original too."""
        libdir = os.path.normpath(os.path.join(self.state["bin_dir"], "..", "lib", "nox"))
        with open(DEFAULT_OPERATORS) as f:
            text = f.read()
        text = text.replace("../build/lib/nox/", libdir + "/")
        write_file(out, text.rstrip("\n") + f"\n# (config/operators.yaml with the plugins of {libdir}: NOX_BIN_DIR; "
                   "written by scripts/devnet.sh)\n")
        if not glob.glob(os.path.join(libdir, "*.so")):
            say(f"devnet: warning: no operator plugin in {libdir} (the Runner will refuse to start)")
        return out

    def operators_file(self):
        """The operators file of a fresh devnet (asked_operators), recorded with its content's hash."""
        source, generated = self.asked_operators()
        self.state["operators_source"] = source
        self.state["operators_sha256"] = file_sha256(source)
        return self.generated_operators(self.p("operators.yaml")) if generated else source

    def running_operators(self):
        """(file, sha256 or None): the operators file the devnet was asked to load (at `up` or by
        `reload-operators`; config/operators.yaml for a generated DIR/operators.yaml) and its hash then."""
        st = self.state
        src = st.get("operators_source")
        if not src:    # a state.json of before reload-operators
            src = st.get("operators") or DEFAULT_OPERATORS
            if os.path.realpath(src) == os.path.realpath(self.p("operators.yaml")):
                src = DEFAULT_OPERATORS
        return src, st.get("operators_sha256")

    def load_operators(self, path, shown_as=None):
        """{id: [name, nInputs, nOutputs, digest of its signatures]} of the operators `path` loads (nox-eval
        --signatures, which loads the file as the Runner does). DevnetError with the loader's own message (its
        file:line:col) when it does not load; shown_as replaces path in that message (a generated copy keeps the
        original's lines)."""
        r = run([self.bin("nox-eval"), "--config", path, "--signatures"], check=False)
        if r.returncode != 0:
            msg = (r.stderr or r.stdout).strip() or f"nox-eval --config {path} --signatures: exit {r.returncode}"
            raise DevnetError(msg.replace(path, shown_as) if shown_as else msg)
        try:
            ops = {}
            for op in json.loads(r.stdout)["operators"]:
                sigs = [[m["inputs"], m["outputs"], m["typeSets"]] for m in op["implementations"]]
                ops[str(int(op["id"]))] = [str(op["name"]), int(op["nInputs"]), int(op["nOutputs"]),
                                           hashlib.sha256(json.dumps(sigs).encode()).hexdigest()[:16]]
            return ops
        except (ValueError, KeyError, TypeError) as e:
            raise DevnetError(f"nox-eval --config {path} --signatures: unexpected output ({e})")

    def operators_differ(self):
        """None when the operators file `up` is asked for is the one the devnet runs (same resolved path, same
        content), else why not: a file edited in place since it was loaded counts as another."""
        source, _ = self.asked_operators()
        running, want = self.running_operators()
        have = file_sha256(source)
        if os.path.realpath(source) == os.path.realpath(running):
            if want is None or have == want:
                return None
            a = f"{shown(running)} as it was when loaded (sha256 {want[:12]})"
            b = f"{shown(source)} as edited since (sha256 {have[:12]})"
        else:
            a, b = shown(running), shown(source)
        where = "" if self.dir == default_dir() else f" --dir {shown(self.dir)}"
        return (f"devnet: the running devnet loads {a}; asked: {b} — `scripts/devnet.sh reload-operators "
                f"{shlex.quote(shown(source))}{where}`, or `down` first")

    def write_env(self):
        st, a, d = self.state, self.state["addresses"], self.state["deployment"]
        u = st["urls"]
        env = [("NOX_DEVNET_DIR", self.dir), ("NOX_CHAIN_ID", str(CHAIN_ID)), ("NOX_RPC_URL", u["anvil"]),
               ("NOX_NATS_URL", ",".join(u[n] for n in self.nats_nodes())), ("NOX_NATS_MONITOR_URL", st["health_urls"]["nats"].rsplit("/", 1)[0]),
               ("NOX_DATABASE_URL", u["postgres"]), ("NOX_KMS_URL", u["kms"]), ("NOX_GATEWAY_URL", u["gateway"]),
               *([("NOX_GATEWAY2_URL", u["gateway2"])] if self.cluster() else []),
               ("NOX_RUNNER_URL", u["runner"]), ("NOX_INGESTOR_URL", u["ingestor"]),
               ("NOX_COMPUTE_ADDRESS", d["noxCompute"]), ("NOX_TOKEN_ADDRESS", d["confidentialToken"]),
               ("NOX_DEPLOY_BLOCK", str(d["deployBlock"])), ("NOX_DEPLOYMENT", self.p("deployment.json")),
               ("NOX_KMS_PUBLIC_KEY", st["kms_public_key"]), ("NOX_KMS_ADDRESS", a["kms_wallet"]),
               # the KMS nodes in node order (NOX_KMS_URL, NOX_KMS_ADDRESS: node 1's, what the Runners use)
               ("NOX_KMS_URLS", ",".join(u[n] for n in self.kms_nodes())), ("NOX_KMS_THRESHOLD", self.kms_text()),
               ("NOX_KMS_WALLETS", ",".join(a["kms_wallets"])), ("NOX_KMS_GROUP_FILE", self.p("kms", "group.json")),
               ("NOX_GATEWAY_ADDRESS", a["gateway"]), ("NOX_RUNNER_ADDRESS", a["runner"]),
               ("NOX_INGESTOR_ADDRESS", a["ingestor"]), ("NOX_INGESTOR_KEY", self.p("keys", "ingestor-wallet.key")),
               ("NOX_NATS_CREDENTIALS", self.p("keys", "admin.nk")),
               ("NOX_INGESTOR_NATS_CREDENTIALS", self.p("keys", "ingestor.nk")),
               ("NOX_RUNNER_NATS_CREDENTIALS", self.p("keys", "runner.nk"))]
        if self.tls():   # noxctl and nox-bench verify the devnet's https:// and tls:// endpoints with its CA
            env += [("NOX_CA_FILE", self.p("tls", "ca.pem")),
                    ("NOX_RUNNER_TLS_CERT", self.p("tls", "runner-clients", "runner.pem")),
                    ("NOX_RUNNER_TLS_KEY", self.p("tls", "runner-clients", "runner.key")),
                    ("NOX_GATEWAY_TLS_CERT", self.p("tls", "kms-clients", "gateway.pem")),
                    ("NOX_GATEWAY_TLS_KEY", self.p("tls", "kms-clients", "gateway.key"))]
        for acct in ACCOUNTS:
            env += [(f"NOX_{acct.upper()}_KEY", self.p("keys", acct + ".key")),
                    (f"NOX_{acct.upper()}_ADDRESS", a[acct])]
        env += [("NOX_OPERATORS_CONFIG", st["operators"]), ("NOX_BIN_DIR", st["bin_dir"])]
        text = "# The Nox devnet (scripts/devnet.sh up): source this file.\n" + \
               "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env)
        write_file(self.p("env"), text, 0o600)

    # -- the KMS group
    def check_kms(self):
        """(P, group): every KMS node serves the same group (GET /v0/group; the group file's with a group) and
        the same public key (GET /v0/public-key), its group's."""
        want = None
        if self.kms_group():
            with open(self.p("kms", "group.json")) as f:
                want = json.load(f)
        same = ("threshold", "nodes", "publicKey", "commitments", "verificationKeys")
        for name in self.kms_nodes():
            url = self.state["urls"][name]
            code, text = http_get(url + "/v0/group", timeout=10)
            if code != 200:
                raise DevnetError(f"devnet: GET /v0/group of {name}: {code} {text}")
            group = json.loads(text)
            want = want or group
            if any(group.get(k) != want.get(k) for k in same):
                raise DevnetError(f"devnet: {name} serves another group than "
                                  f"{shown(self.p('kms', 'group.json')) if self.kms_group() else 'kms'}'s: {text}")
            code, text = http_get(url + f"/v0/public-key?chainId={CHAIN_ID}", timeout=10)
            if code != 200:
                raise DevnetError(f"devnet: GET /v0/public-key of {name}: {code} {text}")
            if json.loads(text)["publicKey"] != want["publicKey"]:
                raise DevnetError(f"devnet: {name}'s public key {json.loads(text)['publicKey']} is not its group's "
                                  f"{want['publicKey']}")
        return want["publicKey"], want

    def kms_fingerprint(self):
        """The group fingerprint (`nox-kms share-info` over node 1's key or share), or None."""
        key = self.p("kms", "share-1.key" if self.kms_group() else "kms.key")
        r = run([self.bin("nox-kms"), "share-info", "--group", self.p("kms", "group.json"), "--share", key], check=False)
        return fields(r.stdout).get("group fingerprint") if r.returncode == 0 else None

    # -- up
    def classify(self):
        return {n: self.running(n) for n in self.components()}

    def up(self, cluster=False, kms=(2, 3)):
        t0 = time.time()
        self.lock()
        if self.load_state() is not None:
            cls = self.classify()
            if all(v == "running" for v in cls.values()):
                if self.kms_shape() != tuple(kms):
                    say(f"devnet: the running devnet has a {self.kms_text()} KMS; `down` first "
                        f"(asked: {shape_text(*kms)}; {shown(self.dir)})")
                    return 1
                other = self.operators_differ()
                if other:
                    say(other)
                    return 1
                bad = [n for n in self.components() if not self.wait_healthy(n, self.recorded(n)[0])[0]]
                if not bad:
                    say(f"devnet: already up in {shown(self.dir)}; nothing started")
                    self.summary()
                    return 0
                say(f"devnet: every component runs but {', '.join(bad)} is not healthy:")
                self.status()
                say("devnet: see the logs; `scripts/devnet.sh restart SERVICE`, or `down` then `up`")
                return 1
            recorded = [n for n, v in cls.items() if v]
            if recorded:
                dead = [n for n, v in cls.items() if v in ("dead", "foreign")]
                missing = [n for n, v in cls.items() if v is None]
                why = ", ".join(dead) + " not running" if dead else "incomplete (" + ", ".join(missing) + " never started)"
                say(f"devnet: stale state in {shown(self.dir)}: {why}; stopping the rest and starting a fresh devnet")
                for n in list(reversed(self.extra_runners())) + list(reversed(self.components())):
                    line = self.stop_component(n)
                    if line:
                        say("devnet: " + line)
        self.wipe()
        try:
            self.fresh(cluster, kms)
        except (Exception, KeyboardInterrupt) as e:  # noqa: BLE001 — whatever happened, stop what was started
            say(str(e) if isinstance(e, DevnetError) else "devnet: interrupted" if isinstance(e, KeyboardInterrupt)
                else f"devnet: {type(e).__name__}: {e}")
            say("devnet: stopping what this `up` started")
            for n in list(reversed(self.extra_runners())) + list(reversed(self.components())):
                if n in self.started:
                    line = self.stop_component(n)
                    if line:
                        say("devnet: " + line)
            return 1
        self.summary(time.time() - t0)
        return 0

    def wipe(self):
        """Empties the state directory (only when it is ours: marker file present, or empty)."""
        entries = [e for e in os.listdir(self.dir) if e not in (".lock", MARKER)]
        if entries and not os.path.exists(self.p(MARKER)):
            raise SystemExit(f"devnet: {self.dir} is not empty and is not a devnet directory (no {MARKER}); "
                             "refusing to wipe it — choose another --dir / NOX_DEVNET_DIR")
        for e in entries:
            path = self.p(e)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.remove(path)
        write_file(self.p(MARKER), "a Nox devnet state directory (scripts/devnet.sh); wiped by `up` when stale\n")

    def fresh(self, cluster=False, kms=(2, 3)):
        for d in ("keys", "kms", "logs", "pids", "nats", "nats2", "nats3", "ingestor"):
            os.makedirs(self.p(d), mode=0o700 if d in ("keys", "kms") else 0o755, exist_ok=True)
        bin_dir = os.path.abspath(os.environ.get("NOX_BIN_DIR") or os.path.join(ROOT, "build", "bin"))
        for b in ("nox-kms", "nox-gateway", "nox-runner", "nox-ingestor", "noxctl", "nox-eval"):
            if not os.access(os.path.join(bin_dir, b), os.X_OK):
                raise DevnetError(f"devnet: {os.path.join(bin_dir, b)} not found (run scripts/setup.sh, or set NOX_BIN_DIR)")
        nats = shutil.which("nats-server") or ("/usr/sbin/nats-server" if os.path.exists("/usr/sbin/nats-server") else None)
        if not nats:
            raise DevnetError("devnet: nats-server not found (scripts/setup.sh installs it)")
        if not os.access(noxtest.ANVIL, os.X_OK):
            raise DevnetError(f"devnet: {noxtest.ANVIL} not found (scripts/setup.sh installs it)")
        # every port chosen now (the configurations name them); one taken meanwhile is moved by start_component
        names = ["postgres", "nats", "nats_monitor", "anvil", "kms", "gateway", "ingestor", "runner"]
        names += [f"kms{i}" for i in range(2, kms[1] + 1)]
        if cluster:
            names += ["nats_cluster", "nats2", "nats2_monitor", "nats2_cluster", "nats3", "nats3_monitor",
                      "nats3_cluster", "gateway2"]
        ports = free_ports(names)
        pgbin = self.pg_bindir()
        self.state = st = {
            "version": 1, "dir": self.dir, "bin_dir": bin_dir, "chain_id": CHAIN_ID, "ports": ports,
            "created": time.strftime("%Y-%m-%d %H:%M:%S"),
            "postgres": {"bindir": pgbin, "sockdir": self.p("postgres"), "datadir": self.p("postgres", "data"),
                         "password": secrets.token_hex(12),
                         "run_as": ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []},
            "commands": {
                **{n: [nats, "-js", "-c", self.p(n + ".conf")] for n in (NATS_NODES if cluster else ["nats"])},
                **({"gateway2": [os.path.join(bin_dir, "nox-gateway"), "--config", self.p("gateway2.yaml")]}
                   if cluster else {}),
                **{s: [os.path.join(bin_dir, "nox-" + s), "--config", self.p(s + ".yaml")] for s in SERVICES},
                **{f"kms{i}": [os.path.join(bin_dir, "nox-kms"), "--config", self.p(f"kms{i}.yaml")]
                   for i in range(2, kms[1] + 1)}},
            "addresses": {}, "deployment": {},
            # every hop over TLS, mutual where a service trusts its caller (NOX_DEVNET_TLS=0: plaintext, for an
            # A/B benchmark of what TLS costs)
            "tls": os.environ.get("NOX_DEVNET_TLS", "1") != "0",
            "cluster": cluster,
            "kms": {"threshold": kms[0], "nodes": kms[1]},   # 1-of-1: the single key of spec §8
        }
        if st["tls"]:
            self.make_pki()
        self.set_urls()
        self.save_state()
        say(f"devnet: starting in {shown(self.dir)} (binaries {shown(bin_dir)})")

        # 1. PostgreSQL
        self.pg_init()
        self.start_component("postgres", movable=True)
        self.pg_create_db()

        # 4 (first: the KMS configuration needs the Gateway's address). Keys.
        noxctl = self.bin("noxctl")
        a = st["addresses"]
        for who in ("gateway", "runner", "ingestor"):   # the Ingestor's signs every queue message
            out = run([noxctl, "key", "new", "--out", self.p("keys", f"{who}-wallet.key")]).stdout.split()
            a[who] = out[-1].lower()
        # the KMS's keys, made as an operator would: neither service creates a missing key (create_if_missing: false)
        nox_kms = self.bin("nox-kms")
        if self.kms_group():   # the devnet is the trusted dealer: d exists on this machine while `deal` runs
            t, n = self.kms_shape()
            info = fields(run([nox_kms, "deal", "--threshold", str(t), "--nodes", str(n),
                               "--out-dir", self.p("kms")]).stdout)
            say(f"devnet: KMS: dealt a {t}-of-{n} group {info['group fingerprint']} (nox-kms deal; the devnet is "
                "the trusted dealer)")
            wallets = [name + "-wallet.key" for name in self.kms_nodes()]
        else:
            run([nox_kms, "keygen", "--out", self.p("kms", "kms.key")])
            wallets = ["kms-wallet.key"]
        a["kms_wallets"] = [fields(run([nox_kms, "keygen", "--out", self.p("kms", w)]).stdout)["address"].lower()
                            for w in wallets]
        a["kms_wallet"] = a["kms_wallets"][0]   # node 1's: the Runners check P's proof against it
        # NATS identities (scripts/nats_auth.py): the Ingestor's, the Runners' (one for all of them), the operator's
        st["nats_keys"] = {who: nats_auth.new_identity(noxctl, self.p("keys", f"{who}.nk"))
                           for who in ("ingestor", "runner", "admin")}
        for who, key in zip(ACCOUNTS, noxtest.ANVIL_KEYS):
            path = self.p("keys", who + ".key")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(key + "\n")
            a[who] = run([noxctl, "key", "address", path]).stdout.split()[-1].lower()
        expected = ["0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266", "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
                    "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc"]
        if [a[w] for w in ACCOUNTS] != expected:
            raise DevnetError(f"devnet: noxctl key address gives {[a[w] for w in ACCOUNTS]} for anvil's accounts 0..2, "
                              f"expected {expected}")
        st["operators"] = self.operators_file()
        try:    # the file must load (the Runner and the Ingestor refuse to start otherwise): said now, with its line
            st["operators_set"] = self.load_operators(st["operators"], shown_as=shown(st["operators_source"]))
        except DevnetError as e:
            raise DevnetError(f"devnet: the operators file {shown(st['operators_source'])} does not load:\n  {e}")
        self.write_configs_early()
        self.save_state()

        # 2. nats-server -js, 3. anvil
        for node in self.nats_nodes():
            self.start_component(node, movable=True)
        if self.cluster():   # the JetStream cluster elects its meta leader once a quorum of nodes runs
            t = time.time()
            while http_get(f"http://127.0.0.1:{st['ports']['nats_monitor']}/healthz")[0] != 200:
                if time.time() - t > timeout_s():
                    raise DevnetError("devnet: the NATS cluster has no JetStream leader after "
                                      f"{timeout_s():.0f} s — see {shown(self.log_path('nats'))}")
                time.sleep(0.2)
            say(f"devnet: NATS cluster of 3 has a JetStream leader ({time.time() - t:.1f} s)")
        self.start_component("anvil", movable=True)

        # 5. the KMS nodes, and P: the same on every node (the group file's with a group)
        for name in self.kms_nodes():
            self.start_component(name, movable=True)
        st["kms_public_key"], group = self.check_kms()
        if not self.kms_group():   # the 1-of-1 group, public, for tools (NOX_KMS_GROUP_FILE); no service reads it
            write_file(self.p("kms", "group.json"), json.dumps(group, indent=2) + "\n")
        st["kms"]["fingerprint"] = self.kms_fingerprint()
        self.save_state()

        # 6. the contracts
        t = time.time()
        r = run([sys.executable, os.path.join(ROOT, "contracts", "deploy.py"), "--rpc-url", st["urls"]["anvil"],
                 "--private-key", noxtest.ANVIL_KEYS[0], "--gateway", a["gateway"],
                 "--kms-public-key", st["kms_public_key"], "--out", self.p("deployment.json")], check=False)
        with open(self.log_path("deploy"), "w") as f:
            f.write(r.stdout + r.stderr)
        if r.returncode != 0:
            raise DevnetError(f"devnet: contracts/deploy.py failed (exit {r.returncode}) — see "
                              f"{shown(self.log_path('deploy'))}\n{tail(self.log_path('deploy')).rstrip()}")
        with open(self.p("deployment.json")) as f:
            st["deployment"] = json.load(f)
        # the extension operators the Runner loads (ids >= 64), registered so that compute() accepts them
        r = run([sys.executable, os.path.join(ROOT, "contracts", "register_operators.py"), "--rpc-url",
                 st["urls"]["anvil"], "--private-key", noxtest.ANVIL_KEYS[0], "--compute",
                 st["deployment"]["noxCompute"], "--nox-eval", self.bin("nox-eval"), "--config", st["operators"]],
                check=False)
        with open(self.log_path("deploy"), "a") as f:
            f.write(r.stdout + r.stderr)
        if r.returncode != 0:
            raise DevnetError(f"devnet: contracts/register_operators.py failed (exit {r.returncode}) — see "
                              f"{shown(self.log_path('deploy'))}\n{tail(self.log_path('deploy')).rstrip()}")
        st["operators_registered"], st["operators_disabled"] = True, []
        say(f"devnet: contracts deployed: NoxCompute {st['deployment']['noxCompute']}, ConfidentialToken "
            f"{st['deployment']['confidentialToken']} (block {st['deployment']['deployBlock']}, {time.time() - t:.1f} s)")
        self.write_configs_late()
        self.save_state()

        # 7. the Gateway; 8. the Runner (it waits for the stream the Ingestor creates); 9. the Ingestor
        for s in ("gateway",) + (("gateway2",) if self.cluster() else ()) + ("runner", "ingestor"):
            self.start_component(s, movable=True)
        for name in CLUSTER_RUNNERS if self.cluster() else []:   # more Runners on the same consumer
            self.add_runner(name)
        self.write_env()

    # -- reports
    def summary(self, elapsed=None):
        st = self.state
        say(("devnet: up" + (f" in {elapsed:.1f} s" if elapsed is not None else "")) + f" — chain {CHAIN_ID}, "
            f"NoxCompute {st['deployment']['noxCompute']}, ConfidentialToken {st['deployment']['confidentialToken']}")
        for n in self.components() + self.extra_runners():
            pid, _ = self.recorded(n)
            say(f"  {n:<9} {st['urls'][n]:<58} pid {pid!s:<7} log {shown(self.log_path(n))}")
        k = st.get("kms") or {}
        say(f"  KMS       {self.kms_text()}" + (f" threshold group {k.get('fingerprint')} (nodes {', '.join(self.kms_nodes())})"
                                                if self.kms_group() else f" (a single key; group {k.get('fingerprint')})")
            + f", public key {st['kms_public_key']}")
        say(f"  operators {self.operators_text()}")
        say(f"  env file  {shown(self.p('env'))}   (use: source {shown(self.p('env'))})")
        say(f"  accounts  owner {st['addresses']['owner']}, alice {st['addresses']['alice']}, "
            f"bob {st['addresses']['bob']} (keys in {shown(self.p('keys'))})")
        say(f"  stop:     scripts/devnet.sh down" + ("" if self.dir == default_dir() else f" --dir {shown(self.dir)}"))

    def operators_text(self):
        """The operators file the Runners and the Ingestor load, for `status` and the summary of `up`."""
        st = self.state
        src, sha = self.running_operators()
        ops = st.get("operators_set") or {}
        text = shown(src) + (f" (as {shown(st['operators'])})" if os.path.realpath(st["operators"]) !=
                             os.path.realpath(src) else "")
        text += f"  {len(ops)} operators, {sum(int(i) >= FIRST_EXTENSION_OPERATOR for i in ops)} extension" \
                f"{'; sha256 ' + sha[:12] if sha else ''}" if ops else ""
        try:
            edited = sha is not None and file_sha256(src) != sha
        except OSError:
            return text + "  — the file is gone"
        if edited:
            text += "  — edited since it was loaded: `scripts/devnet.sh reload-operators` applies it"
        if st.get("operators_registered") is False:
            text += "  — not registered in NoxCompute yet: `scripts/devnet.sh reload-operators` does it"
        return text

    def status(self):
        if self.load_state() is None:
            for n in COMPONENTS:
                say(f"{n:<9} stopped   -")
            return 3
        n_running = 0
        extras = self.extra_runners()
        for n in self.components() + extras:
            pid, _ = self.recorded(n)
            state = self.running(n)
            url = self.state["urls"].get(n, "-")
            if state == "running":
                n_running += 1
                ok, text = self.health(n)
                faulty = f"  [nox-kms-faulty: {FAULT}]" if n in self.state.get("faulty", []) else ""
                say(f"{n:<9} running   pid {pid:<7} {url:<58} health: {text if ok else 'UNHEALTHY ' + text}{faulty}")
            else:
                note = {"dead": f"(pid {pid} exited)", "foreign": f"(pid {pid} is another program)"}.get(state, "")
                say(f"{n:<9} stopped   {'-':<11} {url:<58} {note}".rstrip())
        if self.state.get("operators"):
            say(f"operators {self.operators_text()}")
        return 0 if n_running == len(self.components()) + len(extras) else 3 if n_running == 0 else 1

    # -- down, restart
    def down(self):
        t0 = time.time()
        self.lock()
        if self.load_state() is None:
            say(f"devnet: nothing to stop in {shown(self.dir)}")
            return 0
        lines = [self.stop_component(n) for n in list(reversed(self.extra_runners())) + list(reversed(self.components()))]
        lines = [ln for ln in lines if ln]
        for ln in lines:
            say("devnet: " + ln)
        say(f"devnet: down ({time.time() - t0:.1f} s)" if lines else f"devnet: nothing was running in {shown(self.dir)}")
        return 0

    def restart(self, name, faulty=False):
        """Stops and starts one service with the same configuration and port. faulty (a KMS node of a group):
        as nox-kms-faulty with NOX_KMS_FAULT=wrong-partials; a KMS node restarted without it is nox-kms again."""
        if name == "anvil":
            say("devnet: refusing to restart anvil: its chain lives in memory, a restart would lose the deployed "
                "contracts and every handle. Use `scripts/devnet.sh down` then `up` for a fresh devnet.")
            return 2
        if name not in RESTARTABLE and not EXTRA_RUNNER.match(name) and not KMS_NODE.match(name):
            say(f"devnet: unknown service {name!r} (one of: {', '.join(RESTARTABLE)}, a KMS node kmsN, or a runnerN "
                "started with `start`)")
            return 2
        if faulty and name != "kms" and not KMS_NODE.match(name):
            say(f"devnet: --faulty applies to a KMS node (kms, kms2, ...), not {name!r}")
            return 2
        self.lock()
        if self.load_state() is None or "runner" not in self.state.get("commands", {}) or not self.state.get("deployment"):
            say(f"devnet: no devnet in {shown(self.dir)} (run scripts/devnet.sh up)")
            return 1
        if EXTRA_RUNNER.match(name) and name not in self.extra_runners():
            say(f"devnet: {name} was never started (scripts/devnet.sh start {name})")
            return 2
        if KMS_NODE.match(name) and name not in self.kms_nodes():
            say(f"devnet: {name} is not a node of this devnet's {self.kms_text()} KMS ({', '.join(self.kms_nodes())})")
            return 2
        if name not in self.components() and not EXTRA_RUNNER.match(name):
            say(f"devnet: {name} is part of a cluster devnet only (scripts/devnet.sh up --cluster)")
            return 2
        st = self.state
        if name in self.kms_nodes():
            faulty_bin = self.bin("nox-kms-faulty")
            if faulty and not self.kms_group():
                say("devnet: --faulty needs a threshold KMS (wrong partials are caught by the other nodes' "
                    "proofs); this devnet's is 1-of-1")
                return 2
            if faulty and not os.access(faulty_bin, os.X_OK):
                say(f"devnet: {faulty_bin} not found: it is built with the tests (cmake --build; "
                    "NOX_BIN_DIR of a build with tests)")
                return 2
            st["commands"][name] = [faulty_bin if faulty else self.bin("nox-kms"), "--config", self.p(name + ".yaml")]
            st["faulty"] = sorted(set(st.get("faulty", [])) - {name} | ({name} if faulty else set()))
            self.save_state()
        t0 = time.time()
        line = self.stop_component(name)
        if line:
            say("devnet: " + line)
        try:
            self.start_component(name)
        except (DevnetError, OSError) as e:
            say(str(e))
            return 1
        if name in self.nats_nodes() and self.cluster():
            # A rolling restart must not touch the next node before this one has caught up with every stream
            # and consumer: nats-server's full /healthz (without js-enabled-only) says so. Killing another node
            # earlier leaves a Raft group with one current member of three, which stalls it until this one
            # catches up (faults_cluster once saw 14 s).
            t1, url = time.time(), f"http://127.0.0.1:{st['ports'][name + '_monitor']}/healthz"
            while (answer := http_get(url))[0] != 200:
                if time.time() - t1 > timeout_s():
                    say(f"devnet: {name} restarted but not current with the cluster's streams and consumers within "
                        f"{timeout_s():g} s (last /healthz answer: {answer[1][:200]})")
                    return 1
                time.sleep(0.1)
            say(f"devnet: {name} is current with the cluster's streams and consumers {time.time() - t1:.1f} s "
                "after its start")
        say(f"devnet: restarted {name} in {time.time() - t0:.1f} s"
            + (f" as nox-kms-faulty (NOX_KMS_FAULT={FAULT}: every partial it serves is wrong; a plain "
               f"`restart {name}` brings nox-kms back)" if faulty else ""))
        return 0

    # -- fault injection and more Runners
    def extra_runners(self):
        return list(self.state.get("extra_runners", [])) if self.state else []

    def kill(self, name):
        """SIGKILL (a crash: no grace, nothing finished or nak'ed); the record stays for `status` and `restart`."""
        if name not in KILLABLE and not EXTRA_RUNNER.match(name) and not KMS_NODE.match(name):
            say(f"devnet: cannot kill {name!r} (one of: {', '.join(KILLABLE)}, a KMS node kmsN, or a runnerN started "
                "with `start`; PostgreSQL and anvil: use restart / down)")
            return 2
        self.lock()
        if self.load_state() is None:
            say(f"devnet: no devnet in {shown(self.dir)} (run scripts/devnet.sh up)")
            return 1
        if KMS_NODE.match(name) and name not in self.kms_nodes():
            say(f"devnet: {name} is not a node of this devnet's {self.kms_text()} KMS ({', '.join(self.kms_nodes())})")
            return 2
        if name not in self.components() and not EXTRA_RUNNER.match(name):
            say(f"devnet: {name} is part of a cluster devnet only (scripts/devnet.sh up --cluster)")
            return 2
        pid, _ = self.recorded(name)
        state = self.running(name)
        if state != "running":
            say(f"devnet: {name} is not running" + (f" (pid {pid} is another program; not killed)"
                                                      if state == "foreign" else ""))
            return 1
        os.kill(pid, signal.SIGKILL)
        wait_gone(pid, 5)
        say(f"devnet: killed {name} (pid {pid}, SIGKILL); `scripts/devnet.sh restart {name}` brings it back")
        return 0

    # -- proactive refresh of the KMS group
    def reshare(self, spec=None):
        """`reshare [T-of-N]`: new shares of the same d (same P) for the running group, through the CLI ceremonies
        only, then swapped in with the KMS nodes and the Gateways restarted together (see the top of this file)."""
        self.lock()
        if self.load_state() is None or not self.state.get("deployment") or "runner" not in self.state.get("commands", {}):
            say(f"devnet: no devnet in {shown(self.dir)} (run scripts/devnet.sh up)")
            return 1
        old_t, n = self.kms_shape()
        if not self.kms_group():
            say("devnet: this devnet's KMS is a single key (1-of-1): there is no group to reshare "
                f"(`down`, then `up --kms {DEFAULT_KMS}`)")
            return 2
        try:
            t, new_n = parse_kms(spec, "reshare") if spec else (old_t, n)
        except ValueError as e:
            say(f"devnet: {e}")
            return 2
        if new_n != n:
            say(f"devnet: reshare {spec}: the running group has {n} nodes; reshare keeps them (T-of-{n}, T <= {n})")
            return 2
        down = [x for x in self.components() if self.running(x) != "running"]
        if down:
            say(f"devnet: {', '.join(down)} not running: `scripts/devnet.sh restart` {'it' if len(down) == 1 else 'them'}"
                " (or `down` then `up`) before a reshare")
            return 1
        t0 = time.time()
        try:
            fresh_fp = self.reshare_ceremony(old_t, t, n)
            self.swap_shares(t, n, fresh_fp)
        except (DevnetError, OSError) as e:
            say(str(e))
            return 1
        say(f"devnet: reshared the KMS {shape_text(old_t, n)} -> {shape_text(t, n)} in {time.time() - t0:.1f} s: "
            f"public key {self.state['kms_public_key']} (unchanged), group fingerprint {fresh_fp}")
        return 0

    def reshare_ceremony(self, old_t, t, n):
        """Runs the ceremonies into DIR/kms/next/ (share-<j>.key, group.json) and checks them; returns the new
        group fingerprint. Nothing running is touched."""
        kms, nox_kms, P = self.p("kms"), self.bin("nox-kms"), self.state["kms_public_key"]
        nxt = os.path.join(kms, "next")
        shutil.rmtree(nxt, ignore_errors=True)     # what a failed reshare left
        os.makedirs(nxt, mode=0o700)
        group = os.path.join(kms, "group.json")
        old_fp = self.kms_fingerprint()
        # 1. each new node j: a transport key (its secret stays with node j); 2. the public recipients file
        recipients = [{"index": j, "transportKey": fields(run([nox_kms, "keygen", "--out", os.path.join(
            nxt, f"transport-{j}.key")]).stdout)["public key"]} for j in range(1, n + 1)]
        write_file(os.path.join(nxt, "recipients.json"), json.dumps({"nodes": recipients}, indent=2) + "\n")
        # 3. old nodes 1..t each deal their share to the new nodes (a public contribution file each)
        old_set = list(range(1, old_t + 1))
        contributions = [os.path.join(nxt, f"contribution-{i}.json") for i in old_set]
        for i, out in zip(old_set, contributions):
            run([nox_kms, "reshare-deal", "--group", group, "--share", os.path.join(kms, f"share-{i}.key"),
                 "--old-set", ",".join(map(str, old_set)), "--threshold", str(t),
                 "--recipients", os.path.join(nxt, "recipients.json"), "--out", out])
        # 4. each new node j combines its sub-shares into its new share; every node derives the same group file
        for j in range(1, n + 1):
            run([nox_kms, "reshare-combine", "--group", group, "--transport-key", os.path.join(nxt, f"transport-{j}.key"),
                 "--contributions", ",".join(contributions), "--out-share", os.path.join(nxt, f"share-{j}.key"),
                 "--out-group", os.path.join(nxt, f"group-{j}.json")])
            os.remove(os.path.join(nxt, f"transport-{j}.key"))   # used: the sub-shares are in the new share
        groups = set()
        for j in range(1, n + 1):
            with open(os.path.join(nxt, f"group-{j}.json")) as f:
                groups.add(f.read())
        if len(groups) != 1:
            raise DevnetError(f"devnet: reshare: the new nodes derived different group files (see {shown(nxt)})")
        os.replace(os.path.join(nxt, "group-1.json"), os.path.join(nxt, "group.json"))
        for j in range(2, n + 1):
            os.remove(os.path.join(nxt, f"group-{j}.json"))
        # 5. each new share against the new group: its index, P unchanged, the shape asked, a new fingerprint
        fps = set()
        for j in range(1, n + 1):
            info = fields(run([nox_kms, "share-info", "--group", os.path.join(nxt, "group.json"),
                               "--share", os.path.join(nxt, f"share-{j}.key")]).stdout)
            got = (info.get("node index"), info.get("public key"), info.get("threshold"), info.get("nodes"))
            if got != (str(j), P, str(t), str(n)):
                raise DevnetError(f"devnet: reshare: share-info of the new share {j}: node {got[0]}, public key "
                                  f"{got[1]}, {got[2]}-of-{got[3]}; expected node {j}, {P}, {t}-of-{n}")
            fps.add(info.get("group fingerprint"))
        if len(fps) != 1 or old_fp in fps:
            raise DevnetError(f"devnet: reshare: group fingerprints {sorted(map(str, fps))} (old {old_fp})")
        fp = fps.pop()
        say(f"devnet: reshare: {n} new shares of P {P} ({t}-of-{n}, group {fp}) from old nodes "
            f"{','.join(map(str, old_set))} (nox-kms reshare-deal, reshare-combine; checked with share-info)")
        return fp

    def swap_shares(self, t, n, fp):
        """Stops every KMS node, keeps the old shares and group file in kms/previous-<timestamp>/, moves the new
        ones in, starts the nodes (checking they serve the new group and P) and restarts the Gateway(s)."""
        st, kms = self.state, self.p("kms")
        nxt = os.path.join(kms, "next")
        gateways = ["gateway"] + (["gateway2"] if self.cluster() else [])
        # the Gateways first: a Gateway still on the old group file must never ask a node on its new share (the
        # Runners would check those partials against the old verification keys and blame honest nodes)
        for name in gateways + list(reversed(self.kms_nodes())):
            line = self.stop_component(name)
            if line:
                say("devnet: " + line)
        prev = os.path.join(kms, "previous-" + time.strftime("%Y%m%d-%H%M%S"))
        while os.path.exists(prev):
            prev += "+"
        os.makedirs(prev, mode=0o700)
        os.chmod(prev, 0o700)
        for f in [f"share-{j}.key" for j in range(1, n + 1)] + ["group.json"]:
            os.replace(os.path.join(kms, f), os.path.join(prev, f))
            os.replace(os.path.join(nxt, f), os.path.join(kms, f))
        shutil.rmtree(nxt)      # only public files are left: recipients and contributions
        say(f"devnet: reshare: the old shares and group file are in {shown(prev)} (0700; production destroys them)")
        st["kms"].update(threshold=t, nodes=n)
        self.write_kms_configs()     # their comments name the shape
        self.save_state()
        try:
            for name in self.kms_nodes():
                self.start_component(name)
            P, _ = self.check_kms()
        except DevnetError as e:
            raise DevnetError(f"{e}\ndevnet: reshare: the old shares are in {shown(prev)}; `down` then `up` for a "
                              "fresh devnet")
        if P != st["kms_public_key"]:
            raise DevnetError(f"devnet: reshare: the nodes serve {P}, not {st['kms_public_key']}")
        st["kms"]["fingerprint"] = fp
        self.save_state()
        self.write_env()
        for gw in gateways:   # they load the new group file
            self.start_component(gw)

    def start_extra(self, name):
        """`start runnerN`: one more Runner on the same stream and consumer (JetStream shares the messages)."""
        if not EXTRA_RUNNER.match(name):
            say(f"devnet: can only start an extra Runner runner2..runner9, not {name!r}")
            return 2
        self.lock()
        if self.load_state() is None or not self.state.get("deployment") or "runner" not in self.state.get("commands", {}):
            say(f"devnet: no devnet in {shown(self.dir)} (run scripts/devnet.sh up)")
            return 1
        st = self.state
        if name in self.extra_runners() and self.running(name) == "running":
            say(f"devnet: {name} already runs (pid {self.recorded(name)[0]})")
            return 0
        try:
            self.add_runner(name)
        except (DevnetError, OSError) as e:
            say(str(e))
            return 1
        return 0

    def add_runner(self, name):
        """Starts the extra Runner `name` (its port, configuration and command made at its first start)."""
        st = self.state
        first = name not in st.get("ports", {})
        st["extra_runners"] = sorted(set(self.extra_runners()) | {name})
        if first:
            st["ports"][name] = free_ports([name])[name]
            self.set_urls()
            self.write_extra_runner_config(name)
            st["commands"][name] = [self.bin("nox-runner"), "--config", self.p(name + ".yaml")]
        self.save_state()
        line = self.stop_component(name)    # a dead record of an earlier one
        if line:
            say("devnet: " + line)
        self.start_component(name, movable=first)

    def write_extra_runner_config(self, name):
        """DIR/runnerN.yaml: runner.yaml on the extra Runner's own port."""
        with open(self.p("runner.yaml")) as f:
            text = f.read()
        text = re.sub(r"(?m)^listen: .*$", f"listen: 127.0.0.1:{self.state['ports'][name]}", text)
        text = text.replace("# nox-runner of the Nox devnet", f"# {name}, an extra nox-runner of the Nox devnet "
                            "(scripts/devnet.sh start); copied from runner.yaml:", 1)
        write_file(self.p(name + ".yaml"), text)

    def stop_extra(self, name):
        self.lock()
        if self.load_state() is None or name not in self.extra_runners():
            say(f"devnet: no extra Runner {name!r} in {shown(self.dir)}")
            return 2 if not EXTRA_RUNNER.match(name) else 1
        line = self.stop_component(name)
        self.state["extra_runners"] = [n for n in self.extra_runners() if n != name]
        self.save_state()
        say("devnet: " + (line or f"{name} was not running"))
        return 0

    # -- another operators file on a running devnet
    def register_operators(self, config=None, dry_run=False, enable=(), disable=()):
        """contracts/register_operators.py against the devnet's NoxCompute (the owner's key); its stdout, also
        appended to logs/deploy.log. DevnetError with its reason when it fails."""
        st = self.state
        args = [sys.executable, os.path.join(ROOT, "contracts", "register_operators.py"), "--rpc-url",
                st["urls"]["anvil"], "--private-key", noxtest.ANVIL_KEYS[0], "--compute", st["deployment"]["noxCompute"]]
        if config:
            args += ["--nox-eval", self.bin("nox-eval"), "--config", config]
        args += (["--enable", ",".join(map(str, enable))] if enable else []) + \
                (["--disable", ",".join(map(str, disable))] if disable else []) + (["--dry-run"] if dry_run else [])
        r = run(args, check=False)
        with open(self.log_path("deploy"), "a") as f:
            f.write(f"==== devnet: {time.strftime('%Y-%m-%d %H:%M:%S')}: register_operators.py"
                    f"{' --config ' + config if config else ''}{' --enable ' + ','.join(map(str, enable)) if enable else ''}"
                    f"{' --disable ' + ','.join(map(str, disable)) if disable else ''}{' --dry-run' if dry_run else ''}\n"
                    + r.stdout + r.stderr)
        if r.returncode != 0:
            raise DevnetError(f"devnet: contracts/register_operators.py{' --dry-run' if dry_run else ''} failed "
                              f"(exit {r.returncode}): {(r.stderr or r.stdout).strip()}")
        return r.stdout

    def point_operators_at(self, path, check_only=False):
        """Sets `operators:` of runner.yaml, every runnerN.yaml and ingestor.yaml to path (each file keeps its
        mode); check_only: only checks each has that one line."""
        for name in ["runner", "ingestor"] + [f"runner{i}" for i in range(2, 10)]:
            f = self.p(name + ".yaml")
            if not os.path.isfile(f):
                continue
            with open(f) as fh:
                text = fh.read()
            new, n = re.subn(r"(?m)^operators: .*?(?=[ \t]+#|$)", lambda _: "operators: " + path, text)
            if n != 1:
                raise DevnetError(f"devnet: {shown(f)} has {n} `operators:` lines, not 1: rewrite it (`down`, `up`)")
            if not check_only:
                write_file(f, new, os.stat(f).st_mode & 0o777)

    def reload_operators(self, given=None):
        """`reload-operators [FILE]`: the Runners and the Ingestor switched to another operators file, one after
        another, and its extension operators registered in NoxCompute; nothing else restarts (see the top of this
        file). FILE, else NOX_DEVNET_OPERATORS, else the recorded file (e.g. edited in place)."""
        t0 = time.time()
        self.lock()
        if self.load_state() is None or not self.state.get("deployment") or "runner" not in self.state.get("commands", {}):
            say(f"devnet: no devnet in {shown(self.dir)} (run scripts/devnet.sh up)")
            return 1
        st = self.state
        old_source, old_sha = self.running_operators()
        if not given and os.environ.get("NOX_DEVNET_OPERATORS"):
            given = os.environ["NOX_DEVNET_OPERATORS"]
        typed = given or old_source          # as nox-eval is given it: its messages name the file so
        source = os.path.abspath(typed)
        if not os.path.isfile(source):
            say(f"devnet: reload-operators: {typed}: no such file; the devnet is unchanged")
            return 1
        sha = file_sha256(source)
        same = os.path.realpath(source) == os.path.realpath(old_source) and sha == old_sha
        if same and st.get("operators_registered", True):
            say(f"devnet: reload-operators: {shown(source)} is unchanged (sha256 {sha[:12]}: the file the devnet "
                "loads); nothing restarted")
            return 0
        # 1. the new file must load, and register: checked before anything is touched
        generated = (os.path.realpath(source) == os.path.realpath(DEFAULT_OPERATORS)
                     and os.path.realpath(st["bin_dir"]) != os.path.realpath(os.path.join(ROOT, "build", "bin")))
        effective = self.p("operators.yaml") if generated else source
        candidate = self.p("operators.yaml.next") if generated else typed
        try:
            if generated:
                self.generated_operators(candidate)
            new_set = self.load_operators(candidate, shown_as=typed if generated else None)
        except (DevnetError, OSError) as e:
            if generated and os.path.exists(candidate):
                os.remove(candidate)
            say(f"devnet: reload-operators: {typed} does not load (nox-eval --config {typed} --list); the devnet "
                f"is unchanged:\n  {e}")
            return 1
        old_set = st.get("operators_set")
        if old_set is None:             # a state.json of before reload-operators: what the file holds now
            try:
                old_set = self.load_operators(st["operators"])
            except DevnetError:
                old_set = {}
        down = [x for x in self.components() if self.running(x) != "running"]
        if down:
            say(f"devnet: {', '.join(down)} not running: `scripts/devnet.sh restart` {'it' if len(down) == 1 else 'them'}"
                " (or `down` then `up`) before a reload-operators; the devnet is unchanged")
            return 1
        removed = sorted((i for i in old_set if i not in new_set), key=int)
        added = sorted((i for i in new_set if i not in old_set), key=int)
        changed = sorted((i for i in new_set if i in old_set and new_set[i] != old_set[i]), key=int)
        to_disable = [int(i) for i in removed if int(i) >= FIRST_EXTENSION_OPERATOR]
        to_enable = sorted(int(i) for i in st.get("operators_disabled", []) if str(i) in new_set)
        try:
            self.point_operators_at(effective, check_only=True)
            self.register_operators(candidate, dry_run=True, enable=to_enable, disable=to_disable)
        except (DevnetError, OSError) as e:
            if generated and os.path.exists(candidate):
                os.remove(candidate)
            say(f"{e}\ndevnet: reload-operators: the devnet is unchanged")
            return 1

        def line(i, ops, note=""):
            name, nin, nout, _ = ops[i]
            return f"devnet:   {name:<14} id={i:<5} {nin}->{nout}{note}"
        if not same:
            say(f"devnet: reload-operators: {shown(old_source)} ({len(old_set)} operators) -> {shown(source)} "
                f"({len(new_set)} operators)" + (" (the same file, edited since it was loaded)" if
                                                 os.path.realpath(source) == os.path.realpath(old_source) else ""))
        for i in added:
            say(line(i, new_set, "  added" + ("" if int(i) >= FIRST_EXTENSION_OPERATOR else " (a protocol operation)")))
        for i in removed:
            say(line(i, old_set, "  removed" + (" (disabled in NoxCompute)" if int(i) >= FIRST_EXTENSION_OPERATOR
                                               else " — a protocol operation: its events will be dead-lettered")))
        for i in changed:
            o, n = old_set[i], new_set[i]
            what = ([f"renamed from {o[0]}"] if o[0] != n[0] else []) + \
                   ([f"was {o[1]}->{o[2]}"] if o[1:3] != n[1:3] else []) or ["its signatures changed"]
            say(line(i, new_set, f"  changed ({', '.join(what)})"))
        if not (added or removed or changed or same):
            say(f"devnet:   the same {len(new_set)} operators (the file differs: plugin paths, options or comments)")

        newly_disabled = []
        if not same:
            # 2. removed extension operators disabled first: compute() refuses them before a Runner would
            try:
                if to_disable:
                    out = self.register_operators(disable=to_disable)
                    newly_disabled = [int(m) for m in re.findall(r"(?m)\bid=(\d+)\s.*\bdisabled in transaction", out)]
                    for m in re.finditer(r"(?m)^\S+\s+id=(\d+)\s+(.*\bdisabled in transaction.*)$", out):
                        say(f"devnet:   NoxCompute: {old_set[m.group(1)][0]} id={m.group(1)} {' '.join(m.group(2).split())}")
                    st["operators_disabled"] = sorted(set(st.get("operators_disabled", [])) | set(newly_disabled))
                    self.save_state()
            except DevnetError as e:
                say(f"{e}\ndevnet: reload-operators: nothing restarted; the devnet still loads {shown(old_source)}")
                return 1
            # 3. the Runners, then the Ingestor, one after another: each stopped with SIGTERM (a Runner finishes
            # the messages in hand; JetStream keeps the rest for the others and for it; the Ingestor resumes from
            # its checkpoint) and waited for on its health before the next
            old_effective = st["operators"]
            old_text = None
            if generated and os.path.isfile(effective):
                with open(effective) as f:
                    old_text = f.read()
            if generated:
                os.replace(candidate, effective)
            self.point_operators_at(effective)
            names = [n for n in ["runner"] + self.extra_runners() if self.running(n) == "running"] + ["ingestor"]
            for n in self.extra_runners():
                if n not in names:
                    say(f"devnet: {n} is not running: {n}.yaml names the new file for its next start")
            done = []
            try:
                for n in names:
                    done.append(n)
                    stopped = self.stop_component(n)
                    if stopped:
                        say("devnet: " + stopped)
                    self.start_component(n)
            except (DevnetError, OSError) as e:
                say(str(e))
                say(f"devnet: reload-operators: {done[-1]} did not come up with {shown(source)}: back to "
                    f"{shown(old_source)}")
                if old_text is not None:
                    write_file(effective, old_text)
                self.point_operators_at(old_effective)
                for n in done:
                    stopped = self.stop_component(n)
                    if stopped:
                        say("devnet: " + stopped)
                    try:
                        self.start_component(n)
                    except (DevnetError, OSError) as e2:
                        say(str(e2))
                if newly_disabled:
                    try:
                        self.register_operators(enable=newly_disabled)
                        st["operators_disabled"] = sorted(set(st["operators_disabled"]) - set(newly_disabled))
                        self.save_state()
                    except DevnetError as e2:
                        say(str(e2))
                return 1
            st.update(operators=effective, operators_source=source, operators_sha256=sha, operators_set=new_set,
                      operators_registered=False)
            self.save_state()
            self.write_env()        # NOX_OPERATORS_CONFIG
            restarted = ", ".join(names)
        else:
            if generated and os.path.exists(candidate):
                os.remove(candidate)
            restarted = None
            say("devnet: reload-operators: the Runners and the Ingestor already load it; registering what the last "
                "reload-operators could not")
        # 4. what the file adds or changes, registered once every Runner computes it
        try:
            out = self.register_operators(st["operators"], enable=to_enable)
        except DevnetError as e:
            say(f"{e}\ndevnet: reload-operators: the devnet loads {shown(source)}, but its operators are not all "
                "registered in NoxCompute: run `scripts/devnet.sh reload-operators` again")
            return 1
        for ln in out.splitlines():
            if " in transaction " in ln:
                say("devnet:   NoxCompute: " + " ".join(ln.split()))
        st["operators_registered"] = True
        st["operators_disabled"] = sorted(set(st.get("operators_disabled", [])) - set(to_enable))
        self.save_state()
        summary = out.strip().splitlines()[-1].replace("register_operators: ", "") if out.strip() else ""
        say(f"devnet: reload-operators: done in {time.time() - t0:.1f} s: "
            + (f"restarted {restarted} (one after another; nothing else)" if restarted else "nothing restarted")
            + f"; NoxCompute: {summary}{'; disabled ' + ','.join(map(str, newly_disabled)) if newly_disabled else ''}"
            f"; the devnet loads {shown(source)} (sha256 {sha[:12]})")
        return 0


def fields(out):
    """The "name: value" lines of a nox-kms command's output, as a dict."""
    return dict(ln.split(": ", 1) for ln in out.splitlines() if ": " in ln)


def shape_text(t, n):
    return f"{t}-of-{n}"


def parse_kms(text, what="--kms"):
    """(t, n) of "T-of-N", 1 <= T <= N <= 9; ValueError with the reason otherwise."""
    m = KMS_SHAPE.match(text.strip())
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)) <= 9:
        raise ValueError(f"{what} {text!r}: expected T-of-N with 1 <= T <= N <= 9 (e.g. {DEFAULT_KMS}; "
                         "1-of-1: a single key)")
    return int(m.group(1)), int(m.group(2))


def extra_runner_addresses():
    """NOX_DEVNET_EXTRA_RUNNERS: more addresses for the Gateway's runner_addresses (checked: 0x + 40 hex)."""
    out = [x.strip().lower() for x in os.environ.get("NOX_DEVNET_EXTRA_RUNNERS", "").split(",") if x.strip()]
    for x in out:
        if not re.fullmatch(r"0x[0-9a-f]{40}", x):
            raise DevnetError(f"devnet: NOX_DEVNET_EXTRA_RUNNERS: {x!r} is not an address (0x + 40 hex digits)")
    return out


def default_dir():
    return os.path.join(ROOT, "build", "devnet")


def main(argv):
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `devnet.sh status | head` ends quietly
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dir", default=argparse.SUPPRESS, help="state directory (default $NOX_DEVNET_DIR, "
                        "else build/devnet)")
    p = argparse.ArgumentParser(prog="scripts/devnet.sh", parents=[common],
                                description="The Nox devnet on 127.0.0.1 (see the top of scripts/devnet.py).")
    sub = p.add_subparsers(dest="cmd", metavar="up|down|status|restart SERVICE|kill SERVICE|reshare [T-of-N]|"
                           "start runnerN|stop runnerN|reload-operators [FILE]")
    sub.required = True
    upp = sub.add_parser("up", parents=[common], help="start every component (nothing when already up)")
    upp.add_argument("--cluster", action="store_true", help="a 3-node NATS JetStream cluster (streams of 3 "
                     "replicas), two Gateways on one PostgreSQL and three Runners")
    upp.add_argument("--kms", metavar="T-of-N", default=None, help="the KMS: a T-of-N threshold group, 1 <= T <= N <= 9 "
                     f"(default $NOX_DEVNET_KMS, else {DEFAULT_KMS}; 1-of-1: a single key)")
    sub.add_parser("down", parents=[common], help="stop every component")
    sub.add_parser("status", parents=[common], help="one line per component; exit 0 all, 1 some, 3 none running")
    r = sub.add_parser("restart", parents=[common], help="restart one service with the same config and port")
    r.add_argument("service", metavar="SERVICE", help="|".join(RESTARTABLE) + "|kmsN|runnerN")
    r.add_argument("--faulty", action="store_true", help=f"a KMS node: as nox-kms-faulty with NOX_KMS_FAULT={FAULT} "
                   "(every partial it serves is wrong); without it, nox-kms again")
    k = sub.add_parser("kill", parents=[common], help="SIGKILL one service (a crash); `restart` brings it back")
    k.add_argument("service", metavar="SERVICE", help="|".join(KILLABLE) + "|kmsN|runnerN")
    rs = sub.add_parser("reshare", parents=[common], help="proactive refresh of the KMS group's shares (same P); "
                        "restarts the KMS nodes and the Gateways")
    rs.add_argument("shape", metavar="T-of-N", nargs="?", help="the new threshold; N must be the running N "
                    "(default: the running T-of-N)")
    ro = sub.add_parser("reload-operators", parents=[common], help="switch the Runners and the Ingestor to another "
                        "operators.yaml (one after another) and register its operators in NoxCompute; chain, "
                        "database, NATS and KMS untouched")
    ro.add_argument("file", metavar="FILE", nargs="?", help="the operators.yaml (default $NOX_DEVNET_OPERATORS, "
                    "else the recorded one, e.g. edited in place); checked with nox-eval first: one that does "
                    "not load changes nothing (exit 1)")
    for verb, what in (("start", "start one more Runner runner2..runner9 (same consumer, own port)"),
                       ("stop", "stop an extra Runner started with `start`")):
        x = sub.add_parser(verb, parents=[common], help=what)
        x.add_argument("service", metavar="runnerN")
    a = p.parse_args(argv)
    if a.cmd == "up":
        try:
            kms = parse_kms(a.kms) if a.kms else parse_kms(os.environ.get("NOX_DEVNET_KMS") or DEFAULT_KMS,
                                                           "NOX_DEVNET_KMS")
        except ValueError as e:
            upp.error(str(e))     # exit 2
    directory = getattr(a, "dir", None) or os.environ.get("NOX_DEVNET_DIR") or default_dir()
    net = Devnet(directory)
    try:
        if a.cmd == "up":
            return net.up(a.cluster, kms)
        if a.cmd == "reshare":
            return net.reshare(a.shape)
        if a.cmd == "reload-operators":
            return net.reload_operators(a.file)
        if a.cmd == "down":
            return net.down()
        if a.cmd == "status":
            return net.status()
        if a.cmd == "kill":
            return net.kill(a.service)
        if a.cmd == "start":
            return net.start_extra(a.service)
        if a.cmd == "stop":
            return net.stop_extra(a.service)
        return net.restart(a.service, a.faulty)
    except DevnetError as e:
        say(str(e))
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
