#!/usr/bin/python3
"""The Gateway's PostgreSQL store (services/gateway/store.c) against a real server.

usage: store_test.py STORE_TEST

Starts PostgreSQL with initdb/pg_ctl in a temporary directory, then runs the
CUnit program STORE_TEST in phases with NOX_TEST_DATABASE_URL set: `migrate`,
`crud`, and `restart`, during which the server is stopped (the program expects
clean NOX_ERR_IO errors) and started again (it expects success). Ends with
"N passed, M failed".
"""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import noxtest  # noqa: E402
from noxtest import check  # noqa: E402

STORE_TEST = sys.argv[1]


def phase(env, name):
    r = subprocess.run([STORE_TEST, name], env=env, capture_output=True, text=True, timeout=240)
    check(f"phase {name}", r.returncode == 0, "\n" + r.stdout[-4000:] + r.stderr[-4000:])
    return r


def restart_phase(env, pg):
    """The program prints @@STOP / @@START and waits for a line on stdin after each."""
    proc = subprocess.Popen([STORE_TEST, "restart"], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    out = []
    stopped = started = False
    for line in proc.stdout:
        out.append(line)
        if line.strip() == "@@STOP":
            pg.stop()
            stopped = True
            proc.stdin.write("stopped\n")
            proc.stdin.flush()
        elif line.strip() == "@@START":
            pg.start()
            started = True
            proc.stdin.write("started\n")
            proc.stdin.flush()
    proc.wait(timeout=240)
    err = proc.stderr.read()
    check("restart: server stopped and started during the phase", stopped and started)
    check("phase restart", proc.returncode == 0, "\n" + "".join(out)[-4000:] + err[-4000:])


def main():
    work = tempfile.mkdtemp(prefix="nox-store-")
    pg = None
    try:
        pg = noxtest.start_postgres(work)
        env = dict(os.environ, NOX_TEST_DATABASE_URL=pg.url)
        phase(env, "migrate")
        phase(env, "crud")
        restart_phase(env, pg)
        # after everything, the schema is still migrated exactly once (a fresh open works)
        phase(env, "migrate")
    except Exception as e:  # a harness failure is a failed check, not a traceback
        check("harness", False, repr(e))
        if pg:
            try:
                print(pg.log()[-3000:])
            except OSError:
                pass
    finally:
        if pg:
            try:
                pg.stop()
            except Exception as e:
                print("warning: could not stop PostgreSQL:", e)
        shutil.rmtree(work, ignore_errors=True)
    return noxtest.summary()


if __name__ == "__main__":
    sys.exit(main())
