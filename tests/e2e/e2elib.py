"""What the end-to-end tests share: a devnet of their own (scripts/devnet.sh in a temporary directory,
with the binaries of the build under test), noxctl, cast, and the Gateway's handle status."""
import json
import os
import shlex
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
import noxtest  # noqa: E402
from noxtest import http  # noqa: E402,F401  (re-exported)

DEVNET = os.path.join(ROOT, "scripts", "devnet.sh")


def check(name, ok, detail=""):
    """noxtest.check, returning whether it passed (so a failed precondition can skip what depends on it)."""
    ok = bool(ok)
    noxtest.check(name, ok, detail)
    return ok


class Devnet:
    """scripts/devnet.sh in `work`/devnet with the binaries of bin_dir; its env file as a dict."""

    def __init__(self, bin_dir, work, **extra_env):
        self.bin_dir, self.work = os.path.abspath(bin_dir), work
        self.dir = os.path.join(work, "devnet")
        self.proc_env = {k: v for k, v in os.environ.items() if not k.startswith("NOX_")}
        self.proc_env.update(NOX_DEVNET_DIR=self.dir, NOX_BIN_DIR=self.bin_dir, **extra_env)
        self.env = {}

    def _run(self, *args, timeout=300):
        return subprocess.run([DEVNET, *args], capture_output=True, text=True, env=self.proc_env, timeout=timeout)

    def up(self, cluster=False):
        r = self._run("up", *(["--cluster"] if cluster else []), timeout=600)
        if r.returncode != 0:
            raise RuntimeError(f"devnet up failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        self.env = {}
        for line in open(os.path.join(self.dir, "env")):
            line = line.strip()
            if line.startswith("export "):
                k, _, v = line[len("export "):].partition("=")
                self.env[k] = shlex.split(v)[0] if v else v   # the file quotes values as a shell would
        # the test's own NATS tools (js_dump, js_publish) connect as the devnet's admin unless told otherwise
        os.environ["NOX_NATS_CREDENTIALS"] = self.env.get("NOX_NATS_CREDENTIALS", "")
        # https:// verified with the devnet's CA; the Runner's client certificate for its Gateway endpoints
        # and the Gateway's towards the KMS nodes: each service sees the caller it trusts
        noxtest.use_tls(self.env.get("NOX_CA_FILE"), self.env.get("NOX_RUNNER_TLS_CERT"),
                        self.env.get("NOX_RUNNER_TLS_KEY"),
                        {url: (self.env.get("NOX_GATEWAY_TLS_CERT"), self.env.get("NOX_GATEWAY_TLS_KEY"))
                         for url in (self.env.get("NOX_KMS_URLS") or self.env["NOX_KMS_URL"]).split(",")})
        return self

    def restart(self, service):
        return self._run("restart", service)

    def down(self):
        return self._run("down")

    def log(self, component):
        try:
            return open(os.path.join(self.dir, "logs", component + ".log"), errors="replace").read()
        except OSError:
            return ""

    def __getitem__(self, name):
        return self.env[name]


class Noxctl:
    """noxctl run in cwd with env_file as $NOX_ENV (a devnet's env file) and no other NOX_ variable."""

    def __init__(self, exe, cwd, env_file):
        self.exe, self.cwd = exe, cwd
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("NOX_")}
        self.env["NOX_ENV"] = env_file

    def __call__(self, *args, env=None, timeout=120):
        return subprocess.run([self.exe, *[str(a) for a in args]], capture_output=True, text=True, cwd=self.cwd,
                              env=self.env if env is None else env, timeout=timeout)

    def json(self, *args):
        """(parsed --json output or None, the CompletedProcess)."""
        r = self(*args, "--json")
        try:
            return (json.loads(r.stdout) if r.returncode == 0 else None), r
        except ValueError:
            return None, r


def cast_path():
    return os.environ.get("NOX_CAST", os.path.join(ROOT, "build", "tools", "node_modules", "@foundry-rs",
                                                   "cast-linux-amd64", "bin", "cast"))


def cast(*args, check_rc=True):
    r = subprocess.run([cast_path(), *[str(a) for a in args]], capture_output=True, text=True, timeout=120)
    if check_rc and r.returncode != 0:
        raise RuntimeError(f"cast {' '.join(str(a) for a in args[:2])}: {r.stderr.strip()}")
    return r.stdout.strip()


def wait_stored(gateway_url, handles, timeout=60):
    """Polls GET /v0/handles/{h}/status until every handle is stored; returns the ones still pending."""
    pending, deadline = list(dict.fromkeys(handles)), time.time() + timeout
    while pending and time.time() < deadline:
        still = []
        for h in pending:
            try:
                st, body, _ = http("GET", f"{gateway_url}/v0/handles/{h}/status", timeout=5)
            except OSError:
                st, body = None, None
            if not (st == 200 and body.get("status") == "stored"):
                still.append(h)
        pending = still
        if pending:
            time.sleep(0.2)
    return pending


def run_on_devnet(bin_dir, name, body, prepare=None, cluster=False):
    """Brings up a devnet in a new temporary directory, runs body(devnet, work), always brings it down;
    keeps the directory (state and logs) when a check failed. prepare(work) may return extra devnet
    environment variables; cluster: `up --cluster`. Returns the process exit status."""
    import tempfile
    work = tempfile.mkdtemp(prefix=f"e2e-{name}-")
    devnet = Devnet(bin_dir, work, **(prepare(work) if prepare else {}))
    try:
        devnet.up(cluster)
        body(devnet, work)
    finally:
        devnet.down()
        noxtest.keep_or_remove(work, "devnet state and logs")
    return noxtest.summary()


def runner_clean(devnet):
    """Checks that nothing was dead-lettered and the Runner logged no error."""
    log = devnet.log("runner")
    return check("nothing was dead-lettered and the Runner logged no error",
                 "dead-lettered" not in log and "ERROR" not in log, log[-1500:])
