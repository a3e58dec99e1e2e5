"""Real servers for the tests, each started on loopback in a temporary folder and removed
afterwards: Debian's PostgreSQL on this image, and a Chroma server from the pinned chromadb
(`chroma run`, which needs no network)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BINARIES = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
CHROMA = Path(sys.executable).parent / "chroma"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(*command: str) -> None:
    # PostgreSQL refuses to run as root; the image has its `postgres` user.
    runner = ["runuser", "-u", "postgres", "--"] if shutil.which("runuser") else []
    subprocess.run([*runner, *command], check=True, capture_output=True, timeout=120)


@contextmanager
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL cluster; yields its SQLAlchemy URL."""
    if not BINARIES:
        raise RuntimeError(
            "PostgreSQL is not installed: `apt-get install postgresql` (make test does)"
        )
    bin_dir = BINARIES[-1]
    # Not under pytest's own temporary folder, which only root may enter.
    folder = Path(tempfile.mkdtemp(prefix="assistant-postgres-"))
    shutil.chown(folder, "postgres")
    data, port = folder / "data", free_port()
    _as_postgres(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-E", "UTF8")
    # Room for several workers' connection pools (a load run starts two).
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c max_connections=200"
    log = str(folder / "server.log")  # the server's output, not the pipes pg_ctl waits on
    _as_postgres(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", log, "-w", "start")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        _as_postgres(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def chroma_server(folder: Path | None = None, port: int | None = None) -> Iterator[str]:
    """A Chroma server; yields its URL. Given a folder and a port, it can be stopped and
    started again over the same data, as a server restart would be."""
    keep = folder is not None
    folder = folder or Path(tempfile.mkdtemp(prefix="assistant-chroma-"))
    folder.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    with (folder / "server.log").open("wb") as log:
        server = subprocess.Popen(
            [
                str(CHROMA),
                "run",
                "--path",
                str(folder / "data"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={"ANONYMIZED_TELEMETRY": "False", "PATH": "/usr/bin:/bin"},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{url}/api/v2/heartbeat", server, folder / "server.log")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def _wait_for(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the Chroma server exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the Chroma server did not answer within 60 s: {log.read_text()[-2000:]}")
