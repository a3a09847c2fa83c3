#!/usr/bin/python3
"""The demo story with assertions, on a devnet of its own (scripts/devnet.sh), through noxctl only.

usage: story_test.py BIN_DIR

The owner (anvil key 0, the deployer) mints 1000 to Alice (key 1), Alice transfers 300 to Bob (key 2),
then tries 5000 (nothing moves, nothing reverts); `noxctl wait` on the result handles; Alice's balance
decrypts to 700, Bob's to 300; Bob may not decrypt Alice's. Also noxctl's encrypt/decrypt, where its
endpoints come from (flags, environment, env file), and bad inputs (exit 1 or 2, a clear message).
NOX_TEST_VERBOSE=1 prints passing checks too. Ends with "N passed, M failed".
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib  # noqa: E402
from e2elib import check, noxtest  # noqa: E402
from noxtest import run  # noqa: E402

if len(sys.argv) != 2:
    print("usage: story_test.py BIN_DIR", file=sys.stderr)
    sys.exit(2)
BIN = os.path.abspath(sys.argv[1])
NOXCTL = os.path.join(BIN, "noxctl")
CAST = e2elib.cast_path()
CHAIN = 31337


class Env:
    """The devnet's endpoints under the names the checks below use."""

    def __init__(self, devnet):
        self.anvil = noxtest.Server(None, devnet["NOX_RPC_URL"], None)
        self.gw = noxtest.Server(None, devnet["NOX_GATEWAY_URL"], None)
        self.compute, self.token = devnet["NOX_COMPUTE_ADDRESS"], devnet["NOX_TOKEN_ADDRESS"]
        self.devnet = devnet


def fails(r, code, needle):
    """The run exited with `code`, a 'noxctl: ' message on stderr containing needle, and nothing on stdout."""
    return r.returncode == code and r.stderr.startswith("noxctl: ") and needle in r.stderr and not r.stdout


def test_encrypt_decrypt(ctl, env, keys, addrs):
    out, r = ctl.json("encrypt", "--type", "uint64", "--value", "42", "--owner", addrs["alice"], "--app", env.token)
    ok = check("encrypt --json: handle and proof", out and len(out.get("handle", "")) == 66 and
               len(out.get("proof", "")) == 276 and out.get("type") == "uint64" and out.get("chainId") == CHAIN,
               r.stdout + r.stderr)
    if ok:
        h = out["handle"]
        check("the handle is a uint64 on chain 31337", h.endswith("00007a690b00"), h)
        r = ctl("decrypt", h, "--key", keys["stranger"])
        check("decrypt as a viewer-less user: exit 1, 'ADDRESS is not a viewer of HANDLE'",
              fails(r, 1, f"{addrs['stranger']} is not a viewer of {h}"), r.stderr)
        check("the refusal quotes no value", "42" not in r.stderr.replace(h, "").replace(addrs["stranger"], ""),
              r.stderr)
    r = ctl("encrypt", "--type", "int8", "--value", "-5", "--owner", addrs["alice"], "--app", env.token)
    lines = r.stdout.splitlines()
    check("encrypt (text): 'handle: 0x…' and 'proof: 0x…' lines", r.returncode == 0 and len(lines) == 2 and
          lines[0].startswith("handle: 0x") and lines[1].startswith("proof: 0x") and
          lines[0].endswith("00007a692400"), r.stdout + r.stderr)
    r = ctl("encrypt", "--type", "bool", "--value", "true", "--owner", addrs["alice"], "--app", env.token, "--json")
    check("encrypt bool true", r.returncode == 0 and json.loads(r.stdout)["handle"].endswith("00007a690000"),
          r.stdout + r.stderr)
    r = ctl("encrypt", "--type", "address", "--value", addrs["bob"], "--owner", addrs["alice"], "--app", env.token)
    check("encrypt an address", r.returncode == 0 and r.stdout.splitlines()[0].endswith("00007a690100"),
          r.stdout + r.stderr)


def test_story(ctl, env, keys, addrs):
    alice, bob, owner = addrs["alice"], addrs["bob"], addrs["owner"]
    # the owner mints 1000 to Alice
    out, r = ctl.json("token", "mint", "--to", alice, "--amount", "1000", "--key", keys["owner"])
    if not check("token mint --json", out and out.get("txHash", "").startswith("0x") and
                 isinstance(out.get("blockNumber"), int) and isinstance(out.get("inclusionMs"), int) and
                 len(out.get("success", "")) == 66 and alice in out.get("balances", {}), r.stdout + r.stderr):
        return
    mint_success, alice_balance = out["success"], out["balances"][alice]
    receipt = json.loads(run(CAST, "receipt", "--json", "--rpc-url", env.anvil.url, out["txHash"]).stdout or "{}")
    check("the mint is in the block noxctl names, status 1 (checked with cast)",
          int(receipt.get("blockNumber", "0x0"), 16) == out["blockNumber"] and receipt.get("status") == "0x1",
          receipt)
    check("the balance handle is balanceOf(alice) (checked with cast)",
          run(CAST, "call", "--rpc-url", env.anvil.url, env.token, "balanceOf(address)(bytes32)",
              alice).stdout.strip() == alice_balance)
    # the result may not be computed yet: then decrypt says so and names `noxctl wait`
    r = ctl("decrypt", alice_balance, "--key", keys["alice"])
    check("decrypt right after the mint: the value, or 'not computed yet — retry (noxctl wait HANDLE)'",
          (r.returncode == 0 and r.stdout.strip() == "1000") or
          fails(r, 1, f"{alice_balance} is not computed yet — retry (noxctl wait {alice_balance})"),
          r.stdout + r.stderr)
    for h in (mint_success, alice_balance):
        r = ctl("wait", h, "--timeout", "60")
        check(f"wait {h[:10]}…: stored", r.returncode == 0 and r.stdout.startswith(f"{h} stored after "),
              r.stdout + r.stderr)
    check("the owner decrypts the mint's success: true",
          ctl("decrypt", mint_success, "--key", keys["owner"]).stdout.strip() == "true")
    # Alice transfers 300 to Bob
    r = ctl("token", "transfer", "--to", bob, "--amount", "300", "--key", keys["alice"])
    fields = dict(ln.split(": ", 1) for ln in r.stdout.splitlines() if ": " in ln)
    check("token transfer (text): tx, block, inclusion, amount, success, both balances",
          r.returncode == 0 and fields.get("tx", "").startswith("0x") and fields.get("inclusion", "").endswith(" ms")
          and len(fields.get("success", "")) == 66 and f"balance of {alice}" in fields and
          f"balance of {bob}" in fields, r.stdout + r.stderr)
    handles = [fields.get("success"), fields.get(f"balance of {alice}"), fields.get(f"balance of {bob}")]
    # Alice tries 5000: nothing moves
    out, r = ctl.json("token", "transfer", "--to", bob, "--amount", "5000", "--key", keys["alice"])
    check("token transfer --json", out and len(out.get("success", "")) == 66 and
          set(out.get("balances", {})) == {alice, bob} and len(out.get("amount", "")) == 66, r.stdout + r.stderr)
    if out:
        handles += [out["success"], out["balances"][alice], out["balances"][bob]]
    for h in handles:
        if h:
            out_w, r = ctl.json("wait", h)
            check(f"wait --json {h[:10]}…", out_w and out_w.get("status") == "stored" and out_w.get("handle") == h,
                  r.stdout + r.stderr)
    if out:
        check("Alice's 5000 transfer failed: its success decrypts to false",
              ctl("decrypt", out["success"], "--key", keys["alice"]).stdout.strip() == "false")
    check("the 300 transfer succeeded: its success decrypts to true",
          handles[0] and ctl("decrypt", handles[0], "--key", keys["alice"]).stdout.strip() == "true")
    # balances
    out, r = ctl.json("token", "balance", alice, "--key", keys["alice"])
    check("Alice's balance decrypts to 700", out and out.get("value") == "700" and out.get("address") == alice,
          r.stdout + r.stderr)
    r = ctl("token", "balance", bob, "--key", keys["bob"])
    check("Bob's balance decrypts to 300 (text: handle and value lines)",
          r.returncode == 0 and r.stdout.splitlines()[-1] == "value: 300" and
          r.stdout.startswith("handle: 0x"), r.stdout + r.stderr)
    r = ctl("token", "balance", bob)
    check("balance without --key: the handle only", r.returncode == 0 and r.stdout.startswith("handle: 0x") and
          "value" not in r.stdout, r.stdout + r.stderr)
    alice_now = run(CAST, "call", "--rpc-url", env.anvil.url, env.token, "balanceOf(address)(bytes32)",
                    alice).stdout.strip()
    r = ctl("decrypt", alice_now, "--key", keys["bob"])
    check("Bob decrypting Alice's balance: exit 1, 'BOB is not a viewer of HANDLE'",
          fails(r, 1, f"{bob} is not a viewer of {alice_now}"), r.stderr)
    r = ctl("decrypt", alice_now, "--key", keys["alice"], "--json")
    check("decrypt --json: handle, type, value", r.returncode == 0 and
          json.loads(r.stdout) == {"handle": alice_now, "type": "uint64", "value": "700"}, r.stdout + r.stderr)
    r = ctl("token", "balance", addrs["stranger"])
    check("an account that never held tokens: 'no balance yet'", r.returncode == 0 and "no balance yet" in r.stdout,
          r.stdout + r.stderr)
    out, r = ctl.json("token", "balance", addrs["stranger"])
    check("... and handle null in --json", out is not None and out.get("handle") is None, r.stdout + r.stderr)
    # a non-owner mints: the revert is named before anything is sent
    r = ctl("token", "mint", "--to", bob, "--amount", "1", "--key", keys["alice"])
    check("mint by a non-owner: exit 1 naming NotOwner(ALICE)", fails(r, 1, f"NotOwner({alice})"), r.stderr)
    r = ctl("token", "transfer", "--to", alice, "--amount", "1", "--key", keys["alice"])
    check("transfer to oneself: exit 1 naming InvalidReceiver", fails(r, 1, f"InvalidReceiver({alice})"), r.stderr)


def test_bad_inputs(ctl, env, keys, addrs, work):
    h_unstored = "0x" + "ab" * 26 + "00007a690b00"
    cases = [
        ("decrypt a malformed handle", ("decrypt", "0x1234", "--key", keys["alice"]), 1, "HANDLE: bad handle"),
        ("decrypt a handle of a reserved type", ("decrypt", "0x" + "ab" * 26 + "00007a69ff00", "--key",
                                                 keys["alice"]), 1, "HANDLE:"),
        ("decrypt with a missing key file", ("decrypt", h_unstored, "--key", os.path.join(work, "none.key")), 1,
         "--key:"),
        ("encrypt an unknown type", ("encrypt", "--type", "uint7", "--value", "1", "--owner", addrs["alice"], "--app",
                                     env.token), 1, "--type: unknown type 'uint7'"),
        ("encrypt a value out of range", ("encrypt", "--type", "uint8", "--value", "256", "--owner", addrs["alice"],
                                          "--app", env.token), 1, "--value:"),
        ("encrypt on a chain the Gateway does not serve", ("encrypt", "--type", "uint8", "--value", "1", "--owner",
                                                           addrs["alice"], "--app", env.token, "--chain-id", "5"), 1,
         "chain 5 is not served"),
        ("token balance on the wrong chain", ("token", "balance", addrs["alice"], "--chain-id", "1"), 1,
         "wrong chain: the node at"),
        ("wait on a handle never stored", ("wait", h_unstored, "--timeout", "0.3"), 1,
         f"{h_unstored} still pending after 0.3 s"),
        ("wait on a handle of an unserved chain", ("wait", "0x" + "ab" * 26 + "000000050b00"), 1,
         "chain 5 is not served"),
        ("wait with the Gateway unreachable: polls until the timeout, then says why",
         ("wait", h_unstored, "--timeout", "0.5", "--gateway", "http://127.0.0.1:1"), 1, "cannot reach"),
        ("token mint without --to", ("token", "mint", "--amount", "1", "--key", keys["owner"]), 2, "needs --to"),
        ("an unknown option", ("decrypt", h_unstored, "--key", keys["alice"], "--frobnicate"), 2,
         "unknown option --frobnicate"),
        ("an unknown token command", ("token", "burn"), 2, "unknown token command 'burn'"),
        ("a bad --amount", ("token", "mint", "--to", addrs["bob"], "--amount", "-1", "--key", keys["owner"]), 1,
         "--amount: expected a decimal integer"),
        ("a bad --to", ("token", "mint", "--to", "0x12", "--amount", "1", "--key", keys["owner"]), 1, "--to:"),
    ]
    for name, args, code, needle in cases:
        r = ctl(*args)
        check(f"{name}: exit {code}, '{needle}'", r.returncode == code and needle in r.stderr and
              r.stderr.startswith("noxctl: "), f"exit {r.returncode}: {r.stderr}")
    # endpoints: none anywhere → the message names the flag and the variable
    bare = {k: v for k, v in os.environ.items() if not k.startswith("NOX_")}
    r = ctl("wait", h_unstored, env=bare)
    check("no Gateway anywhere: names --gateway URL and NOX_GATEWAY_URL",
          fails(r, 1, "--gateway URL") and "NOX_GATEWAY_URL" in r.stderr, r.stderr)
    r = ctl("token", "balance", addrs["alice"], "--rpc", env.anvil.url, env=bare)
    check("no token address: names --token ADDR and NOX_TOKEN_ADDRESS",
          fails(r, 1, "--token ADDR") and "NOX_TOKEN_ADDRESS" in r.stderr, r.stderr)
    # the process environment and flags, without an env file
    envvars = dict(bare, NOX_RPC_URL=env.anvil.url, NOX_TOKEN_ADDRESS=env.token)
    r = ctl("token", "balance", addrs["alice"], env=envvars)
    check("endpoints from the process environment", r.returncode == 0 and r.stdout.startswith("handle: 0x"),
          r.stdout + r.stderr)
    r = ctl("token", "balance", addrs["alice"], "--rpc", "http://127.0.0.1:1", env=envvars)
    check("a flag overrides the environment", fails(r, 1, "cannot reach"), r.stderr)
    # TLS: the Gateway's certificate is always verified (no switch turns that off): with the devnet's CA from
    # --cacert or NOX_CA_FILE; without it, the system's trust store refuses the devnet's own CA
    gw_only = dict(bare, NOX_GATEWAY_URL=env.gw.url)
    r = ctl("wait", h_unstored, "--timeout", "0.3", env=gw_only)
    check("https without the devnet's CA: refused (certificate not verified)",
          fails(r, 1, "cannot reach") and "certificate" in r.stderr, r.stderr)
    r = ctl("wait", h_unstored, "--timeout", "0.3", "--cacert", env.devnet["NOX_CA_FILE"], env=gw_only)
    check("--cacert FILE verifies the devnet's Gateway", fails(r, 1, "still pending after 0.3 s"), r.stderr)
    r = ctl("wait", h_unstored, "--timeout", "0.3", env=dict(gw_only, NOX_CA_FILE=env.devnet["NOX_CA_FILE"]))
    check("NOX_CA_FILE verifies the devnet's Gateway", fails(r, 1, "still pending after 0.3 s"), r.stderr)
    # a malformed env file: FILE:LINE
    bad = os.path.join(work, "bad.env")
    with open(bad, "w") as f:
        f.write("# devnet\nexport NOX_GATEWAY_URL=http://127.0.0.1:1\nNOX_RPC_URL=$(reboot)\n")
    r = ctl("wait", h_unstored, "--env", bad, env=bare)
    check("a malformed env file: FILE:LINE", fails(r, 1, f"{bad}:3:"), r.stderr)
    r = ctl("wait", h_unstored, "--env", os.path.join(work, "missing.env"), env=bare)
    check("a missing --env file", fails(r, 1, "missing.env"), r.stderr)
    r = ctl("--help")
    check("--help lists the online commands", r.returncode == 0 and all(
        c in r.stdout for c in ("encrypt --type", "decrypt HANDLE", "wait HANDLE", "token mint", "token transfer",
                                "token balance")), r.stdout)


def story(devnet, work):
    env = Env(devnet)
    keys = {"owner": devnet["NOX_OWNER_KEY"], "alice": devnet["NOX_ALICE_KEY"], "bob": devnet["NOX_BOB_KEY"]}
    keys["stranger"] = os.path.join(work, "stranger.key")
    run(NOXCTL, "key", "new", "--out", keys["stranger"])
    addrs = {n: run(NOXCTL, "key", "address", p).stdout.strip() for n, p in keys.items()}
    check("the devnet's key files are anvil's accounts 0, 1, 2",
          [addrs[n] for n in ("owner", "alice", "bob")] ==
          [devnet["NOX_OWNER_ADDRESS"], devnet["NOX_ALICE_ADDRESS"], devnet["NOX_BOB_ADDRESS"]], addrs)
    env_file = os.path.join(work, "devnet.env")
    with open(env_file, "w") as f:  # the shapes a hand-written env file may take
        f.write(f"# written by story_test.py\nexport NOX_GATEWAY_URL={env.gw.url}\n"
                f"export NOX_RPC_URL='{env.anvil.url}'\nNOX_COMPUTE_ADDRESS=\"{env.compute}\"\n"
                f"NOX_TOKEN_ADDRESS={env.token}  # the demo token\nexport NOX_CHAIN_ID={CHAIN}\n"
                f"NOX_CA_FILE={devnet['NOX_CA_FILE']}   # the devnet's CA: its Gateway speaks TLS\n")
    ctl = e2elib.Noxctl(NOXCTL, work, env_file)
    test_encrypt_decrypt(ctl, env, keys, addrs)
    test_story(ctl, env, keys, addrs)
    test_bad_inputs(ctl, env, keys, addrs, work)
    e2elib.runner_clean(devnet)


def main():
    return e2elib.run_on_devnet(BIN, "story", story)


if __name__ == "__main__":
    sys.exit(main())
