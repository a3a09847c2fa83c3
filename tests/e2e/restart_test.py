#!/usr/bin/python3
"""Each service restarted in turn while transactions keep coming; no result lost.

usage: restart_test.py BIN_DIR

On a devnet of its own: the owner mints 100,000 to Alice; then a steady stream of 1-token transfers
from Alice to Bob (noxctl token transfer, retried when a refused encryption left nothing sent) runs
while the Runner, the Gateway, the KMS, the Ingestor, nats-server and PostgreSQL are restarted one at
a time (scripts/devnet.sh restart). Afterwards, with no manual step: every result handle of every
transaction is stored, both final balances decrypt to what the successful transfers add up to,
nothing was dead-lettered, and every component is running. Ends with "N passed, M failed".
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib  # noqa: E402
from e2elib import check  # noqa: E402

if len(sys.argv) != 2:
    print("usage: restart_test.py BIN_DIR", file=sys.stderr)
    sys.exit(2)
BIN = os.path.abspath(sys.argv[1])
SERVICES = ["runner", "gateway", "kms", "ingestor", "nats", "postgres"]
MINTED = 100000


class Load(threading.Thread):
    """1-token transfers Alice -> Bob, one after the other, until stopped; records every result handle."""

    def __init__(self, ctl, devnet):
        super().__init__(daemon=True)
        self.ctl, self.devnet = ctl, devnet
        self.stop, self.handles, self.done, self.failures = threading.Event(), [], 0, []

    def run(self):
        while not self.stop.is_set():
            out, r = self.ctl.json("token", "transfer", "--to", self.devnet["NOX_BOB_ADDRESS"], "--amount", "1",
                                   "--key", self.devnet["NOX_ALICE_KEY"])
            if out is None:
                # refused before sending (the Gateway, PostgreSQL or the KMS restarting): a user retries
                self.failures.append(r.stderr.strip()[:200])
                time.sleep(0.2)
                continue
            self.handles += [out["success"], *out["balances"].values()]
            self.done += 1


def restarts(devnet, work):
    gw = devnet["NOX_GATEWAY_URL"]
    ctl = e2elib.Noxctl(os.path.join(BIN, "noxctl"), work, os.path.join(devnet.dir, "env"))
    out, r = ctl.json("token", "mint", "--to", devnet["NOX_ALICE_ADDRESS"], "--amount", MINTED,
                      "--key", devnet["NOX_OWNER_KEY"])
    if not check("the owner mints 100,000 to Alice", out, r.stderr):
        return
    load = Load(ctl, devnet)
    load.start()
    time.sleep(2)
    for svc in SERVICES:
        before = load.done
        r = devnet.restart(svc)
        check(f"restart {svc}: healthy again", r.returncode == 0, r.stdout + r.stderr)
        deadline = time.time() + 60
        while load.done < before + 3 and time.time() < deadline:
            time.sleep(0.1)
        check(f"transfers go on after restarting {svc}", load.done >= before + 3, (before, load.done))
    load.stop.set()
    load.join(timeout=120)
    n = load.done
    check(f"{n} transfers were sent across the restarts (refused attempts retried: {len(load.failures)})",
          n >= 3 * len(SERVICES), load.failures[:3])
    pending = e2elib.wait_stored(gw, load.handles, timeout=180)
    check(f"every result of the {n} transfers is stored ({len(load.handles)} handles), none lost", not pending,
          f"{len(pending)} pending, e.g. {pending[:3]}")
    for who, want in (("ALICE", MINTED - n), ("BOB", n)):
        out, r = ctl.json("token", "balance", devnet[f"NOX_{who}_ADDRESS"], "--key", devnet[f"NOX_{who}_KEY"])
        got = out and out.get("value")
        check(f"{who.title()}'s balance decrypts to {want}", got == str(want), got or r.stderr)
    st = devnet._run("status")
    check("every component runs, none needed a manual step", st.returncode == 0, st.stdout)
    check("nothing was dead-lettered", "dead-lettered" not in devnet.log("runner"), devnet.log("runner")[-1500:])


def main():
    return e2elib.run_on_devnet(BIN, "restarts", restarts)


if __name__ == "__main__":
    sys.exit(main())
