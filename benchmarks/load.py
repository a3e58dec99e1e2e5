"""A bounded load run on loopback: concurrent sessions of several turns each, plain
/v1/chat only or mixing plain, streamed /v1/chat and OpenAI-compatible calls, against
`assistant serve` with one worker and with two, on the embedded default (SQLite, exact
vectors in the index folder) and on the servers several hosts would share (PostgreSQL, a
Chroma server), both started here on loopback. Prints the time until the server is ready,
latency, throughput, errors, the workers' memory, and that every turn is stored and verifies
in the audit chain. The load generator runs on the same cores as the server. A benchmark,
never a test: figures depend on the machine.

    .venv/bin/python benchmarks/load.py --sessions 50 --turns 5
    .venv/bin/python benchmarks/load.py --modes plain --stores embedded --workers 2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the same throwaway servers the tests start

from tests import servers  # noqa: E402

KEY = "load-teller-key-0001"
MODES = {"plain": ("plain",), "mixed": ("plain", "stream", "openai")}


@dataclass
class Served:
    url: str
    ready_s: float
    process: subprocess.Popen[bytes]

    def worker_rss_mib(self) -> list[float]:
        """Resident memory of each process answering requests (the workers, or the one
        server process when it has none)."""
        children = _children(self.process.pid)
        return [_rss_mib(pid) for pid in (children or [self.process.pid])]


def _children(pid: int) -> list[int]:
    try:
        listed = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    # uvicorn's supervisor also starts a resource tracker, which answers nothing.
    return [int(child) for child in listed if _rss_mib(int(child)) > 100]


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def server(data_dir: Path, workers: int, stores: dict[str, str]) -> Iterator[Served]:
    port = servers.free_port()
    env = environment(data_dir, stores) | {
        "ASSISTANT_API_KEYS": json.dumps({KEY: "teller"}),
        "ASSISTANT_RATE_LIMIT_PER_MINUTE": "1000000",
        "ASSISTANT_AS_OF": "2026-06-01",
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    command = [
        sys.executable,
        "-m",
        "assistant",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(1200):
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        # With several workers, /readyz answers once the first of them is ready.
        yield Served(url, time.perf_counter() - started, process)
    finally:
        process.terminate()
        process.wait(timeout=30)


def environment(data_dir: Path, stores: dict[str, str]) -> dict[str, str]:
    return os.environ | {"ASSISTANT_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"} | stores


def one_turn(client: httpx.Client, mode: str, question: str, session: str | None) -> dict:
    started = time.perf_counter()
    first = None
    if mode == "openai":
        body = {"messages": [{"role": "user", "content": question}], "session_id": session}
        response = client.post("/v1/chat/completions", json=body)
        ok = response.status_code == 200
        session = response.json().get("session_id", session) if ok else session
    else:
        body = {"message": question, "session_id": session, "stream": mode == "stream"}
        with client.stream("POST", "/v1/chat", json=body) as response:
            ok = response.status_code == 200
            parts = []
            for part in response.iter_bytes():
                first = first or time.perf_counter()
                parts.append(part)
            text = b"".join(parts).decode()
        if ok and mode == "plain":
            session = json.loads(text)["session_id"]
        elif ok:
            done = [b for b in text.split("\n\n") if b.startswith("event: done")]
            session = json.loads(done[-1].split("data: ", 1)[1])["session_id"] if done else session
    spent = time.perf_counter() - started
    return {
        "ok": ok,
        "ms": spent * 1000,
        "first_ms": ((first or 0) - started) * 1000,
        "mode": mode,
        "session": session,
    }


def conversation(
    url: str, questions: list[str], turns: int, offset: int, modes: tuple[str, ...]
) -> list[dict]:
    results: list[dict] = []
    session = None
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
        for i in range(turns):
            question = questions[(offset * turns + i) % len(questions)]
            result = one_turn(client, modes[(offset + i) % len(modes)], question, session)
            session = result["session"] if result["mode"] != "openai" else session
            results.append(result)
    return results


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def assistant(data_dir: Path, stores: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        cwd=ROOT,
        env=environment(data_dir, stores),
        capture_output=True,
        text=True,
    )
    return (result.stdout or result.stderr).strip().splitlines()[-1]


def run(label: str, data_dir: Path, workers: int, stores: dict[str, str], args) -> str:
    questions = [
        q["question"]
        for q in yaml.safe_load((ROOT / "evals" / "golden.yaml").read_text(encoding="utf-8"))[
            "questions"
        ]
    ]
    modes = MODES[args.modes]
    with server(data_dir, workers, stores) as served:
        rss_before = served.worker_rss_mib()
        started = time.perf_counter()
        with ThreadPoolExecutor(args.sessions) as pool:
            done = list(
                pool.map(
                    lambda n: conversation(served.url, questions, args.turns, n, modes),
                    range(args.sessions),
                )
            )
        wall = time.perf_counter() - started
        rss_after = served.worker_rss_mib()
    turns = [t for session in done for t in session]
    ok = [t for t in turns if t["ok"]]
    firsts = [t["first_ms"] for t in ok if t["mode"] == "stream"]
    latencies = [t["ms"] for t in ok]
    first = f"{percentile(firsts, 95):.0f}" if firsts else "n/a"
    rss = " / ".join(f"{a:.0f}→{b:.0f}" for a, b in zip(rss_before, rss_after, strict=False))
    return (
        f"| {label} | {args.modes} | {workers} | {served.ready_s:.1f} | {len(turns)} | "
        f"{len(turns) - len(ok)} | {len(ok) / wall:.1f} | "
        f"{statistics.median(latencies):.0f} / {percentile(latencies, 95):.0f} | "
        f"{first} | {rss} | {assistant(data_dir, stores, 'audit', 'verify')} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--modes", choices=sorted(MODES), default="mixed")
    parser.add_argument("--stores", choices=("embedded", "servers", "both"), default="both")
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2])
    args = parser.parse_args()
    data_dir = Path(os.environ.get("ASSISTANT_DATA_DIR", ROOT / "data"))
    index, prepared = data_dir / "indexes", data_dir / "prepared"
    if not index.exists():
        sys.exit("run `assistant ingest` first: the load run serves the indexed knowledge base")
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"machine: nproc={os.cpu_count()}, load average before {load}; {args.sessions} "
        f"sessions x {args.turns} turns ({', '.join(MODES[args.modes])}); times in ms"
    )
    print(
        "| store | calls | workers | ready, s | turns | errors | turns/s | p50 / p95 | "
        "stream first byte p95 | worker RSS MiB before→after | audit |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for workers in args.workers:
        if args.stores in ("embedded", "both"):
            with tempfile.TemporaryDirectory() as folder:
                data = Path(folder)
                shutil.copytree(index, data / "indexes")
                # What `assistant ingest` prepared for the turns travels with its index.
                if prepared.exists():
                    shutil.copytree(prepared, data / "prepared")
                print(run("SQLite, exact vectors", data, workers, {}, args), flush=True)
        if args.stores == "embedded":
            continue
        with (
            tempfile.TemporaryDirectory() as folder,
            servers.postgres() as database,
            servers.chroma_server() as chroma,
        ):
            # Indexed into the servers by `assistant ingest`; the workers' data folder stays
            # empty of index files: they read the catalogue and the vectors from the servers.
            stores = {"ASSISTANT_DATABASE_URL": database, "ASSISTANT_CHROMA_URL": chroma}
            assistant(Path(folder), stores, "ingest", "--prune")
            print(
                run("PostgreSQL + Chroma server", Path(folder), workers, stores, args), flush=True
            )
    print("noisy shared machine: compare rows within one run, not across runs")


if __name__ == "__main__":
    main()
