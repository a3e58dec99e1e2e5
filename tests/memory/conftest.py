"""A throwaway PostgreSQL for the store and audit tests: Debian's server on this image,
initialised in a temporary folder, listening on loopback only, removed afterwards."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

BINARIES = sorted(Path("/usr/lib/postgresql").glob("*/bin"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(*command: str) -> None:
    # PostgreSQL refuses to run as root; the image has its `postgres` user.
    runner = ["runuser", "-u", "postgres", "--"] if shutil.which("runuser") else []
    subprocess.run([*runner, *command], check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    if not BINARIES:
        pytest.fail("PostgreSQL is not installed: `apt-get install postgresql` (make test does)")
    bin_dir = BINARIES[-1]
    # Not under pytest's own temporary folder, which only root may enter.
    folder = Path(tempfile.mkdtemp(prefix="assistant-postgres-"))
    shutil.chown(folder, "postgres")
    data, port = folder / "data", _free_port()
    _as_postgres(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-E", "UTF8")
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder}"
    log = str(folder / "server.log")  # the server's output, not the pipes pg_ctl waits on
    _as_postgres(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", log, "-w", "start")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        _as_postgres(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)
