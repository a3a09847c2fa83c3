"""NATS authentication and per-service permissions (docs/PROTOCOL-EXTENSIONS.md §9), for nats-server configurations.

Each service authenticates with its own user nkey: `noxctl nats-key new --out FILE` writes the seed (mode 0600; the
service's nats.credentials_file names it) and prints the public key, which the server's `authorization` block lists
with that identity's permissions. Nothing else may connect: the block has no anonymous user.

    ingestor   publishes jobs to <subject>.> of its streams and dead letters to nox_dead.>; creates or inspects
               those streams. Nothing else: no consumer, no deletion, no purge.
    runner     reads its durable consumer of each stream (create/inspect it, fetch the next messages, ack them),
               inspects the stream (its /health: a leader?) and publishes dead letters; creates or inspects nox_dead. It cannot publish a job, read another
               consumer or touch a stream's configuration or content.
    admin      everything: the operator's tools (js_dump in the tests, `nats` CLI); never given to a service.

Every identity subscribes only to its own inbox, _INBOX.<its public key>.> (the services set that prefix,
services/common/nats_util.c), so no one reads the replies meant for another: a Runner cannot watch the
Ingestor's publish acknowledgements or another Runner's fetched messages.
"""
import os
import subprocess

DEAD_STREAM = "nox_dead"


def new_identity(noxctl, path):
    """Creates the credentials file `path` (noxctl nats-key new) and returns its public key (U…)."""
    out = subprocess.run([noxctl, "nats-key", "new", "--out", path], check=True, capture_output=True, text=True)
    return out.stdout.split()[-1]


def identity(noxctl, path):
    """The public key of the credentials file `path`, created first when missing."""
    if os.path.exists(path):
        out = subprocess.run([noxctl, "nats-key", "public", path], check=True, capture_output=True, text=True)
        return out.stdout.split()[-1]
    return new_identity(noxctl, path)


def _api(*names):
    return ["$JS.API." + n for n in names]


def ingestor(nkey, streams=(("nox_ingestor", "nox_ingestor"),)):
    """The Ingestor's user: streams is a list of (stream, subject prefix) it publishes to."""
    pub = [DEAD_STREAM + ".>", *_api(f"STREAM.INFO.{DEAD_STREAM}", f"STREAM.CREATE.{DEAD_STREAM}")]
    for stream, subject in streams:
        pub += [subject + ".>", *_api(f"STREAM.INFO.{stream}", f"STREAM.CREATE.{stream}")]
    return {"nkey": nkey, "publish": pub, "subscribe": [f"_INBOX.{nkey}.>"]}


def runner(nkey, consumers=(("nox_ingestor", "nox_ingestor_consumer"),), dead_subject=DEAD_STREAM):
    """A Runner's user: consumers is a list of (stream, durable consumer) it reads."""
    pub = [dead_subject + ".>", *_api(f"STREAM.INFO.{DEAD_STREAM}", f"STREAM.CREATE.{DEAD_STREAM}")]
    for stream, consumer in consumers:
        pub += _api(f"STREAM.INFO.{stream}",   # its /health: does the stream have a leader?
                    f"CONSUMER.INFO.{stream}.{consumer}", f"CONSUMER.CREATE.{stream}.{consumer}",
                    f"CONSUMER.CREATE.{stream}.{consumer}.>", f"CONSUMER.DURABLE.CREATE.{stream}.{consumer}",
                    f"CONSUMER.MSG.NEXT.{stream}.{consumer}")
        pub.append(f"$JS.ACK.{stream}.{consumer}.>")
    return {"nkey": nkey, "publish": pub, "subscribe": [f"_INBOX.{nkey}.>"]}


def admin(nkey):
    """The operator's user: no restriction."""
    return {"nkey": nkey}


def _list(items):
    return "[" + ", ".join(f'"{x}"' for x in items) + "]"


def authorization(users):
    """The nats-server `authorization` block for these users (ingestor(), runner(), admin())."""
    lines = ["authorization {", "  users = ["]
    for u in users:
        if "publish" not in u:
            lines.append(f'    {{nkey: "{u["nkey"]}"}}')
            continue
        lines.append(f'    {{nkey: "{u["nkey"]}", permissions: {{')
        lines.append(f'      publish: {{allow: {_list(u["publish"])}}}')
        lines.append(f'      subscribe: {{allow: {_list(u["subscribe"])}}}')
        lines.append("    }}")
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"
