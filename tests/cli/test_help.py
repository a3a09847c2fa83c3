#!/usr/bin/python3
"""Every command's --help matches its guides ([docs-layout]).

usage: test_help.py BIN_DIR SOURCE_DIR

For each executable (and scripts/devnet.sh): `EXE --help` exits 0 and prints a usage, and every
subcommand the documents use it with — README.md and docs/*.md, in code blocks and inline code, e.g.
`noxctl tx 0x…`, `nox-kms reshare-deal …`, `scripts/devnet.sh reload-operators` — is named in that help.
A document that shows a subcommand the program does not know, or a program whose help forgets one the
guide teaches, fails here with the file and line. Ends with "N passed, M failed".
"""
import glob
import os
import re
import subprocess
import sys

if len(sys.argv) != 3:
    print("usage: test_help.py BIN_DIR SOURCE_DIR", file=sys.stderr)
    sys.exit(2)
BIN, SRC = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
EXES = ["nox-eval", "noxctl", "nox-bench", "nox-plugin-check", "nox-kms", "nox-gateway", "nox-ingestor", "nox-runner"]
# the programs whose first word is a subcommand (nox-eval's is an operator name; the services take flags only)
WITH_SUBCOMMANDS = ("noxctl", "nox-kms", "nox-bench", "devnet.sh")
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name}" + (f" -- {detail}" if detail else ""))


def command_of(exe):
    return [os.path.join(SRC, "scripts", "devnet.sh")] if exe == "devnet.sh" else [os.path.join(BIN, exe)]


# where a document runs a program: a path ending in the program's name (build/bin/noxctl, /opt/nox/bin/noxctl,
# scripts/devnet.sh) or the bare name, then its first word — a subcommand when it is a lower-case word
def invocation(exe):
    name = re.escape(exe)
    # at the start of a command: a line or code span, or after `$ `, `&&`, `;`, `|`, `(`; environment
    # assignments (NOX_X=… ) may come first
    return re.compile(rf"(?:^|\$ |&& |; |\| |\()\s*(?:[A-Z_][A-Z0-9_]*=\S+\s+)*(?:[\w./~-]*/)?{name}[ \t]+"
                      rf"([a-z][a-z0-9-]*)(?=[\s`)]|$)")


def code_texts(path):
    """(line number, text) of every code-block line and every inline code span of a Markdown file."""
    out, in_block = [], False
    for no, line in enumerate(open(path, encoding="utf-8"), 1):
        if line.lstrip().startswith("```"):
            in_block = not in_block
            continue
        if in_block:
            out.append((no, line.rstrip("\n")))
        else:
            out.extend((no, span) for span in re.findall(r"`([^`]+)`", line))
    return out


docs = [os.path.join(SRC, "README.md")] + sorted(glob.glob(os.path.join(SRC, "docs", "*.md")))
check("the documents exist", all(os.path.isfile(d) for d in docs) and len(docs) > 1, docs)
texts = {d: code_texts(d) for d in docs}
for exe in EXES + ["devnet.sh"]:
    r = subprocess.run(command_of(exe) + ["--help"], capture_output=True, text=True, timeout=60)
    helptext = r.stdout + r.stderr
    check(f"{exe} --help exits 0 and prints a usage", r.returncode == 0 and "usage" in helptext.lower(),
          f"exit {r.returncode}: {helptext[:300]}")
    if exe not in WITH_SUBCOMMANDS:
        continue
    words = set(re.findall(r"[a-z][a-z0-9-]*", helptext))
    pattern = invocation(exe)
    documented = {}
    for d, lines in texts.items():
        for no, text in lines:
            for sub in pattern.findall(text):
                documented.setdefault(sub, f"{os.path.relpath(d, SRC)}:{no}")
    for sub, where in sorted(documented.items()):
        check(f"{exe} {sub} (documented at {where}) is named by `{exe} --help`", sub in words,
              f"not in: {helptext[:400]}")
    check(f"the documents show {exe} with subcommands", len(documented) >= 2, sorted(documented))

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
