"""The demo's two independent witnesses (development only; docs/witness.md).

The demo replays a draw of 15 September 2023 (drand round 657413). On the day, witnesses would
have cosigned the log as the draw ran; the demo does the same at the replayed moments: two
C2SP tlog-witnesses — `lottery.witness_server`, the code `python -m lottery witness serve` runs —
on loopback, their clocks set to the replay, are sent the checkpoint that holds the dice and
the secret (a minute after the secret) and the bundle's checkpoint (a minute after completion),
through the office's own submission code (`service.witnessing`). Their keys and their state stay
in `instance/demo-witnesses/`, so that `make run` then serves them (`flask demo witnesses`) with
the same keys and records, and live draws are cosigned in real time.
"""

import os
import shlex
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lottery.cosignature import WitnessSigner, generate_witness, parse_witness_private_key
from lottery.signing import parse_vkey
from lottery.witness_server import Witness, WitnessStore, make_server
from service.config import Settings, WitnessEndpoint
from service.keystore import active_key
from service.models import Draw
from service.witnessing import Outcome, Submitter, size_after_last, submit_sizes

#: (name, loopback port when served by `make run`) of each demo witness.
DEMO_WITNESSES = (("kinmen-council.demo/witness", 8701), ("island-daily.demo/witness", 8702))


@dataclass(frozen=True)
class DemoWitness:
    """One demo witness: its key, where its state is kept, and its `make run` port."""

    signer: WitnessSigner
    key_file: Path
    state_file: Path
    port: int


def demo_witnesses(instance_dir: Path) -> list[DemoWitness]:
    """The demo witnesses, their keys created (mode 0600) on first use."""
    folder = instance_dir / "demo-witnesses"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    witnesses = []
    for name, port in DEMO_WITNESSES:
        slug = name.split(".", 1)[0]
        key_file = folder / f"{slug}.key"
        if key_file.exists():
            signer = parse_witness_private_key(key_file.read_text("utf-8"))
        else:
            signer = generate_witness(name)
            descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as out:
                out.write(signer.private_key_string() + "\n")
        witnesses.append(DemoWitness(signer, key_file, folder / f"{slug}.db", port))
    return witnesses


@contextmanager
def replayed(witnesses: list[DemoWitness], office_vkey: str, clock: list[int]) -> Iterator[list[WitnessEndpoint]]:
    """The demo witnesses on loopback (ephemeral ports), each stamping `clock[0]` as its time."""
    office = parse_vkey(office_vkey)
    servers = []
    try:
        for witness in witnesses:
            logic = Witness(witness.signer, {office.name: [office]}, WitnessStore(witness.state_file), lambda: clock[0])
            server = make_server(logic, "127.0.0.1", 0)
            threading.Thread(target=server.serve_forever, name="demo-witness", daemon=True).start()
            servers.append(server)
        yield [
            WitnessEndpoint(f"http://127.0.0.1:{server.server_address[1]}", witness.signer.verifier)
            for witness, server in zip(witnesses, servers, strict=True)
        ]
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def _dice_and_secret(event: dict[str, Any]) -> bool:
    return event.get("type") == "draw.input" and event.get("name") in ("dice", "secret")


def witness_demo_draw(session: Session, settings: Settings, draw_id: str, secret_at: datetime) -> list[Outcome]:
    """Have the demo witnesses cosign the replayed draw's checkpoints at the replayed moments:
    the one holding the dice and the secret a minute after the secret, the bundle's a minute
    after completion (idempotent: what is cosigned already is not sent again)."""
    draw = session.scalar(select(Draw).where(Draw.draw_id == draw_id))
    key = active_key(session)
    if draw is None or draw.completed_log_index is None or draw.completed_at is None or key is None:
        return []
    inputs = size_after_last(session, draw, _dice_and_secret)
    moments = [] if inputs is None else [(inputs, secret_at + timedelta(minutes=1))]
    moments.append((draw.completed_log_index + 1, draw.completed_at + timedelta(minutes=1)))
    clock = [0]
    outcomes: list[Outcome] = []
    with replayed(demo_witnesses(settings.instance_dir), key.vkey, clock) as endpoints:
        replay = settings.with_overrides(witnesses=tuple(endpoints))
        for size, moment in moments:
            clock[0] = int(moment.timestamp())
            outcomes += submit_sizes(session, replay, Submitter(sleep=lambda seconds: None), [size])
    return outcomes


def serve_commands(settings: Settings, office_vkey: str) -> str:
    """Shell lines for `make run`: start each demo witness on its port in the background, and
    export `SUNSHINE_WITNESSES` naming them (unless the environment names witnesses already)."""
    office = parse_vkey(office_vkey)
    lines, pairs = [], []
    for witness in demo_witnesses(settings.instance_dir):
        command = [
            sys.executable, "-m", "lottery", "witness", "serve", "--key", str(witness.key_file),
            "--log", f"{office.name}={office.vkey}", "--state", str(witness.state_file),
            "--listen", f"127.0.0.1:{witness.port}",
        ]  # fmt: skip
        lines.append(" ".join(shlex.quote(part) for part in command) + " &")
        pairs.append(f"http://127.0.0.1:{witness.port} {witness.signer.verifier.vkey}")
    value = shlex.quote("; ".join(pairs))
    lines.append(f'export SUNSHINE_WITNESSES="${{SUNSHINE_WITNESSES:-$(printf %s {value})}}"')
    return "\n".join(lines)
