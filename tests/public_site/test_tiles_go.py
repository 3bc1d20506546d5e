"""Go's own tlog reader (golang.org/x/mod/sumdb/tlog and sumdb/note, tests/go/tilecheck) checks
the log's tiles, entry bundles and checkpoint on a loopback server (docs/tiles.md).

Skipped, saying why, when `go` or Debian's golang-golang-x-mod-dev sources are not installed.
"""

import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.public_site.test_tiles import grow_log, vkey

ROOT = Path(__file__).resolve().parents[2]
GOPATH = Path("/usr/share/gocode")
SOURCE = ROOT / "tests" / "go" / "tilecheck" / "main.go"


def go_environment(tmp_path: Path) -> dict[str, str]:
    """GOPATH mode on the Debian sources, with a build cache of the test's own."""
    if shutil.which("go") is None:
        pytest.skip("go is not installed (apt-get install golang-go)")
    if not (GOPATH / "src/golang.org/x/mod/sumdb/tlog/tile.go").exists():
        pytest.skip(f"golang.org/x/mod is not under {GOPATH} (apt-get install golang-golang-x-mod-dev)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GO")}
    return {**env, "GOPATH": str(GOPATH), "GO111MODULE": "off", "GOCACHE": str(tmp_path / "gocache")}


@pytest.fixture
def tilecheck(tmp_path: Path) -> Path:
    """The compiled checker."""
    env = go_environment(tmp_path)
    binary = tmp_path / "tilecheck"
    subprocess.run(["go", "build", "-o", str(binary), str(SOURCE)], env=env, check=True, timeout=300)
    return binary


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    """The app on a loopback port (a thread); yields the log's URL prefix."""
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/log"
    server.shutdown()
    thread.join(timeout=10)


def test_go_tlog_reads_and_checks_the_tiles(
    app: Flask, completed: dict[str, Any], tilecheck: Path, served: str
) -> None:
    key = vkey(app)
    for size in (100, 600):
        grow_log(app, size)
        run = subprocess.run([str(tilecheck), served, key], capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stdout + run.stderr
        assert run.stdout.startswith(f"OK {key.split('+')[0]} size {size} root ")
        assert f"and {size} entries with inclusion proofs" in run.stdout
    foreign = key.split("+")
    foreign[0] = "someone-else.example/log"  # same key under another name: its id differs
    run = subprocess.run([str(tilecheck), served, "+".join(foreign)], capture_output=True, text=True, timeout=120)
    assert run.returncode != 0 and "REFUSED" in run.stdout
