#!/usr/bin/python3
"""The devnet never loses a port race, and never takes another program's answer for its own.

usage: ports_test.py BIN_DIR

The devnet chooses every port before it starts anything, and starts the services one after the
other over several seconds: another program may take a chosen port in between. This test is that
program. It watches the devnet's state.json appear, then at once listens on the ports chosen for
PostgreSQL, anvil and the Runner, with a server that answers 200 to every HTTP request (as a
/health would). Checks:
  - `up` still succeeds: each of the three is moved to a new port, and says so;
  - every component then listens on its recorded port from its recorded pid, and the Runner's
    /health is the Runner's, not the squatter's;
  - a transaction goes through that devnet (mint, stored by the Runner);
  - `restart gateway` while a squatter holds the Gateway's port (which a restart must keep: the
    Runner's configuration names it) fails at once, naming the port, the squatter's pid and the
    Gateway's log, instead of counting the squatter's 200 as the Gateway's health; without the
    squatter, the restart works.
Ends with "N passed, M failed".
"""
import http.server
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib  # noqa: E402
import noxtest  # noqa: E402
from e2elib import check  # noqa: E402

if len(sys.argv) != 2:
    print("usage: ports_test.py BIN_DIR", file=sys.stderr)
    sys.exit(2)
BIN = os.path.abspath(sys.argv[1])
SQUATTED = ["postgres", "anvil", "runner"]
SQUAT_BODY = b'{"status":"ok","squatter":true}'


class Squatter(http.server.BaseHTTPRequestHandler):
    """Answers 200 to anything: what a wrong health check would take for a healthy service."""

    def _answer(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(SQUAT_BODY)))
        self.end_headers()
        self.wfile.write(SQUAT_BODY)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


def squat(port):
    """An HTTP server of this process on 127.0.0.1:port, serving in a thread; None when the port is not free."""
    try:
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Squatter)
    except OSError:
        return None
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def race(devnet, got, stop):
    """Waits for the devnet's state.json, then squats the ports chosen for SQUATTED."""
    path = os.path.join(devnet.dir, "state.json")
    while not stop.is_set():
        try:
            with open(path) as f:
                ports = json.load(f)["ports"]
        except (OSError, ValueError, KeyError):
            time.sleep(0.005)
            continue
        for name in SQUATTED:
            srv = squat(ports[name])
            if srv:
                got[name] = (ports[name], srv)
        return


def up_with_squatters(devnet):
    got, stop = {}, threading.Event()
    t = threading.Thread(target=race, args=(devnet, got, stop), daemon=True)
    t.start()
    r = devnet._run("up")
    stop.set()
    t.join()
    return r, got


def main():
    import tempfile
    work = tempfile.mkdtemp(prefix="e2e-ports-")
    devnet = e2elib.Devnet(BIN, work)
    squatters = {}
    try:
        r, squatters = up_with_squatters(devnet)
        check("the test took the chosen ports of " + ", ".join(SQUATTED) + " before they started",
              sorted(squatters) == sorted(SQUATTED), f"took {sorted(squatters)}")
        if not check("devnet up succeeds although those ports were taken", r.returncode == 0, r.stdout + r.stderr):
            return
        with open(os.path.join(devnet.dir, "state.json")) as f:
            st = json.load(f)
        for name, (port, _) in squatters.items():
            check(f"{name}: up says that port {port} was taken and moves it",
                  f"devnet: {name}: port {port} was taken by another program" in r.stdout, r.stdout)
            check(f"{name}: its new port differs", st["ports"][name] != port, st["ports"][name])
        for name in ["postgres", "nats", "anvil", "kms", "gateway", "runner", "ingestor"]:
            with open(os.path.join(devnet.dir, "pids", name + ".pid")) as f:
                pid = int(f.read().split()[0])
            keys = {"nats": ["nats", "nats_monitor"]}.get(name, [name])
            holders = {k: noxtest.port_holder(pid, st["ports"][k]) for k in keys}
            check(f"{name}: its recorded pid {pid} listens on its recorded port(s)",
                  all(h == "self" for h in holders.values()), holders)
        devnet.up()     # already up: reads the env file (and the devnet's CA for its https:// services)
        st_code, body, _ = noxtest.http("GET", st["urls"]["runner"] + "/health")
        check("the Runner's /health is the Runner's, not the squatter's",
              st_code == 200 and isinstance(body, dict) and "squatter" not in body, (st_code, body))
        ctl = e2elib.Noxctl(os.path.join(BIN, "noxctl"), work, os.path.join(devnet.dir, "env"))
        out, r = ctl.json("token", "mint", "--to", devnet["NOX_ALICE_ADDRESS"], "--amount", "7",
                          "--key", devnet["NOX_OWNER_KEY"])
        if check("a mint goes through the moved devnet", out, r.stderr):
            handles = [out["success"], *out["balances"].values()]
            check("its results are stored by the Runner", not e2elib.wait_stored(devnet["NOX_GATEWAY_URL"], handles))

        # restart: the Gateway must come back on its own port; a squatter there is named, not trusted
        gw_port = st["ports"]["gateway"]
        k = devnet._run("kill", "gateway")
        check("devnet kill gateway", k.returncode == 0, k.stdout + k.stderr)
        srv = squat(gw_port)
        if check(f"the test listens on the Gateway's port {gw_port} once it is gone", srv):
            t0 = time.time()
            r = devnet.restart("gateway")
            took = time.time() - t0
            out = r.stdout + r.stderr
            check("restart gateway fails while another program holds its port", r.returncode == 1, out)
            check("the failure names the Gateway, the port and the squatter's pid",
                  "devnet: gateway failed to start" in out and
                  f"port {gw_port} is held by another program: pid {os.getpid()}" in out, out)
            check("the failure shows the Gateway's log", "--- last 20 lines of" in out and "gateway.log" in out, out)
            check("the failure comes at once, not after the health timeout", took < 15, f"{took:.1f} s")
            srv.shutdown()
            srv.server_close()
        r = devnet.restart("gateway")
        check("restart gateway works once the port is free", r.returncode == 0, r.stdout + r.stderr)
        s = devnet._run("status")
        check("devnet status: every component runs", s.returncode == 0, s.stdout)
    finally:
        for _, srv in squatters.values():
            srv.shutdown()
            srv.server_close()
        devnet.down()
        noxtest.keep_or_remove(work, "devnet state and logs")


if __name__ == "__main__":
    main()
    sys.exit(noxtest.summary())
