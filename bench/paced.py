"""A constant-rate (open-loop) load and the server process under it, for the soak test
(``bench/soak.py``; docs/performance.md, "Soak").

- ``paced_wrk``: wrk with ``bench/soak.lua``, whose ``delay()`` keeps one schedule for the
  thread: request k is due at t0 + k / rate and goes out on whichever connection is free, so
  requests start at the rate whatever the latency, as long as a connection is free (a start
  that finds them all busy goes out at once, late, and is counted). wrk2, the usual
  constant-rate wrk, is not a Debian package; the script needs only LuaJIT's FFI.
- ``paced_python``: the same schedule with an asyncio client (no wrk: the CI smoke test).
- ``sampled``: runs such a load while sampling the server's /proc entries (RSS, threads,
  open files, CPU time) every few seconds.

Every non-2xx answer, socket error and timeout is an error; latency is timed from the moment
each request is sent.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from bench.config import BENCH
from bench.loadgen import LoadError, Request, _read_response, encode_requests
from bench.loadgen import _write_requests as write_requests
from bench.servers import ServerFailed

WINDOW_S = 10  # seconds per progress window of answers
LATE_MS = 100  # a start this late after its slot is counted as behind schedule
TIMEOUT_S = 10  # an answer slower than this is a timeout (wrk --timeout)
LUA = BENCH / "soak.lua"


@dataclass
class Paced:
    """What the constant-rate run did: answers, latency of the answered requests (from the
    moment each was sent), errors by kind, and how far the starts fell behind schedule."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int
    codes: dict[str, int]  # non-2xx status -> answers
    connect: int
    read: int
    write: int
    timeouts: int
    behind: int  # starts more than LATE_MS after their slot
    max_behind_ms: float
    answers: list[int]  # answers per WINDOW_S window
    failures: list[int]  # non-2xx answers per window

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        return self.non_2xx + self.connect + self.read + self.write + self.timeouts


def paced_wrk(
    base_url: str,
    requests: list[Request],
    headers: dict[str, str],
    *,
    connections: int,
    duration: float,
    rate: float,
    work_dir: Path,
    progress: Callable[[str], None] | None = None,
) -> Paced:
    """The load with wrk; ``progress`` gets a line per finished window."""
    work_dir.mkdir(parents=True, exist_ok=True)
    req_file, head_file = work_dir / "soak.requests", work_dir / "soak.headers"
    write_requests(req_file, requests)
    head_file.write_text("".join(f"{k}\t{v}\n" for k, v in headers.items()), encoding="utf-8")
    cmd = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        f"{TIMEOUT_S}s",
        "-s",
        str(LUA),
        base_url,
        "--",
        str(req_file),
        str(head_file),
        repr(rate),
        str(WINDOW_S),
        str(LATE_MS),
    ]
    proc = subprocess.Popen(  # noqa: S603 - a fixed command line built by the harness
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stderr is not None
    result = ""
    for line in proc.stdout:
        if line.startswith("SOAK_WINDOW "):
            w, answers, bad = (int(x) for x in line.split()[1:])
            if progress is not None:
                progress(f"{w * WINDOW_S:>5} s: {answers / WINDOW_S:.1f} req/s, {bad} non-2xx")
        elif line.startswith("SOAK_JSON "):
            result = line.removeprefix("SOAK_JSON ")
    err = proc.stderr.read()
    if proc.wait() != 0 or not result:
        raise LoadError(f"wrk failed ({proc.returncode}): {err.strip()}")
    r = json.loads(result)
    return Paced(
        requests=r["requests"],
        seconds=r["duration_us"] / 1e6,
        p50_ms=r["p50_us"] / 1000,
        p99_ms=r["p99_us"] / 1000,
        max_ms=r["max_us"] / 1000,
        non_2xx=sum(r["codes"].values()),
        codes=r["codes"],
        connect=r["connect"],
        read=r["read"],
        write=r["write"],
        timeouts=r["timeout"],
        behind=r["behind"],
        max_behind_ms=r["max_behind_ms"],
        answers=r["answers"],
        failures=r["non_2xx"],
    )


async def _paced_python(
    base_url: str,
    requests: list[Request],
    headers: dict[str, str],
    connections: int,
    duration: float,
    rate: float,
) -> Paced:
    host, port, raw = encode_requests(base_url, requests, headers)
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    answers: Counter[int] = Counter()
    failures: Counter[int] = Counter()
    behind: list[float] = []
    slot = 0
    sent_count = 0
    t0 = time.perf_counter()
    stop = t0 + duration

    async def worker() -> None:
        nonlocal slot, sent_count
        conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while True:
                due = t0 + slot / rate  # the next free slot of the one schedule
                slot += 1
                if due >= stop:
                    return
                late = time.perf_counter() - due
                if late < 0:
                    await asyncio.sleep(-late)
                else:
                    behind.append(late * 1000)
                if conn is None:
                    try:
                        conn = await asyncio.wait_for(
                            asyncio.open_connection(host, port), TIMEOUT_S
                        )
                    except (OSError, TimeoutError):
                        errors["connect"] += 1
                        continue
                reader, writer = conn
                msg = raw[sent_count % len(raw)]
                sent_count += 1
                sent = time.perf_counter()
                try:
                    writer.write(msg)
                    await writer.drain()
                except OSError:
                    errors["write"] += 1
                    writer.close()
                    conn = None
                    continue
                try:
                    status = await asyncio.wait_for(_read_response(reader), TIMEOUT_S)
                except (OSError, asyncio.IncompleteReadError, ValueError, TimeoutError) as exc:
                    errors["timeout" if isinstance(exc, TimeoutError) else "read"] += 1
                    writer.close()
                    conn = None
                    continue
                done = time.perf_counter()
                latencies.append(done - sent)
                w = int((done - t0) // WINDOW_S)
                answers[w] += 1
                if not 200 <= status < 300:
                    failures[w] += 1
                    codes[str(status)] += 1
        finally:
            if conn is not None:
                conn[1].close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    seconds = time.perf_counter() - t0
    latencies.sort()

    def pct(p: float) -> float:
        if not latencies:
            return 0.0
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000

    windows = max(answers, default=-1) + 1
    return Paced(
        requests=len(latencies),
        seconds=seconds,
        p50_ms=pct(50),
        p99_ms=pct(99),
        max_ms=latencies[-1] * 1000 if latencies else 0.0,
        non_2xx=sum(codes.values()),
        codes=dict(codes),
        connect=errors["connect"],
        read=errors["read"],
        write=errors["write"],
        timeouts=errors["timeout"],
        behind=sum(1 for b in behind if b > LATE_MS),
        max_behind_ms=max(behind, default=0.0),
        answers=[answers[w] for w in range(windows)],
        failures=[failures[w] for w in range(windows)],
    )


def paced_python(
    base_url: str,
    requests: list[Request],
    headers: dict[str, str],
    *,
    connections: int,
    duration: float,
    rate: float,
) -> Paced:
    return asyncio.run(_paced_python(base_url, requests, headers, connections, duration, rate))


# The server process ---------------------------------------------------------------------
@dataclass(frozen=True)
class Sample:
    t: float  # seconds since the soak started
    rss_kib: int  # VmRSS
    anon_kib: int  # RssAnon: the heap, where a leak shows
    threads: int
    fds: int
    cpu_s: float  # user + system CPU seconds the server has used so far


def server_pid(cmd: list[str]) -> int:
    """The pid of this process's child running ``cmd`` (``serving`` starts it and keeps
    its id to itself). A console script runs as ``python <script> args``, so the command
    line is matched on its arguments and the script's name."""
    me = os.getpid()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            ppid = int((proc / "stat").read_text().rpartition(")")[2].split()[1])
            argv = (proc / "cmdline").read_bytes().decode().split("\0")[:-1]
        except (OSError, ValueError, IndexError):
            continue
        if ppid == me and argv[-len(cmd) + 1 :] == cmd[1:] and any(cmd[0] in a for a in argv):
            return int(proc.name)
    raise ServerFailed(f"no child process runs {' '.join(cmd)}")


def sample(pid: int, t: float) -> Sample | None:
    """The server's memory, threads, open files and CPU time now; None once it has exited."""
    try:
        fields = dict(
            line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        )
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        stat = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None

    def kib(name: str) -> int:
        return int(fields.get(name, "0 kB").split()[0])

    cpu = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    return Sample(
        round(t, 1), kib("VmRSS"), kib("RssAnon"), int(fields["Threads"]), fds, round(cpu, 2)
    )


def sampled(pid: int, every: float, load: Callable[[], Paced]) -> tuple[Paced, list[Sample]]:
    """Run ``load`` while sampling the server every ``every`` seconds: one sample as it
    starts, then one per period, and a last one as it ends."""
    samples: list[Sample] = []

    def take(t: float) -> None:
        s = sample(pid, t)
        if s is not None:
            samples.append(s)

    with ThreadPoolExecutor(max_workers=1) as pool:
        t0 = time.perf_counter()
        take(0.0)
        future = pool.submit(load)
        n = 1
        while not wait([future], timeout=max(0.0, t0 + n * every - time.perf_counter())).done:
            take(time.perf_counter() - t0)
            n += 1
        take(time.perf_counter() - t0)
        return future.result(), samples
