#!/usr/bin/env bash
# The one-command local devnet: PostgreSQL, nats-server -js, anvil + the contracts, nox-kms,
# nox-gateway, nox-ingestor and nox-runner on 127.0.0.1, state in build/devnet/.
#
#   scripts/devnet.sh up | down | status | restart SERVICE | reload-operators [FILE]   [--dir DIR]
#
# Everything is in scripts/devnet.py (see its docstring, or `scripts/devnet.sh --help`).
exec /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/devnet.py" "$@"
