"""HTTP load: wrk (the Debian package) for real runs, a small asyncio client for the smoke
run. Both cycle through the same request list in the same order, with the same number of
connections, a warm-up that is not measured, then the measured period; both count every
non-2xx answer as an error (a contender with errors has no result)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

LUA = r"""
local reqs = {}
local n = 0
local i = 0
local headers = %(headers)s

init = function(args)
  for line in io.lines(args[1]) do
    local m, p, b = line:match("^(%%u+)\t([^\t]*)\t(.*)$")
    if b == "" then b = nil end
    n = n + 1
    local h = {}
    for k, v in pairs(headers) do h[k] = v end
    reqs[n] = wrk.format(m, p, h, b)
  end
end

request = function()
  i = i + 1
  if i > n then i = 1 end
  return reqs[i]
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %%d, "duration_us": %%d, "connect": %%d, "read": %%d, ' ..
    '"write": %%d, "status": %%d, "timeout": %%d, "p50_us": %%d, "p99_us": %%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: str = ""  # JSON text, one line


@dataclass(frozen=True)
class Load:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float
    slices: tuple[float, ...] = ()  # requests/s of each slice, when taken in slices
    server_cpu_s: float | None = None  # the server process's CPU seconds meanwhile, if read

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


class LoadError(RuntimeError):
    pass


def _lua_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _write_requests(path: Path, requests: list[Request]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for r in requests:
            if "\t" in r.path + r.body or "\n" in r.path + r.body:
                raise ValueError("requests must not contain tabs or newlines")
            fh.write(f"{r.method}\t{r.path}\t{r.body}\n")


def run_wrk(
    base_url: str,
    requests: list[Request],
    headers: dict[str, str],
    *,
    connections: int,
    duration: float,
    warmup: float,
    work_dir: Path,
    label: str,
) -> Load:
    work_dir.mkdir(parents=True, exist_ok=True)
    req_file = work_dir / f"{label}.requests"
    script = work_dir / f"{label}.lua"
    _write_requests(req_file, requests)
    lua_headers = (
        "{" + ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items()) + "}"
    )
    script.write_text(LUA % {"headers": lua_headers}, encoding="utf-8")

    def wrk(seconds: float) -> dict[str, int]:
        cmd = [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            base_url,
            "--",
            str(req_file),
        ]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
        line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
        if out.returncode != 0 or line is None:
            raise LoadError(f"wrk failed ({out.returncode}): {out.stderr.strip() or out.stdout}")
        result: dict[str, int] = json.loads(line.removeprefix("BENCH_JSON "))
        return result

    if warmup > 0:
        wrk(warmup)
    r = wrk(duration)
    errors = sum(r[k] for k in ("connect", "read", "write", "status", "timeout"))
    return Load(
        requests=r["requests"],
        seconds=r["duration_us"] / 1e6,
        errors=errors,
        p50_ms=r["p50_us"] / 1000,
        p99_ms=r["p99_us"] / 1000,
    )


# The asyncio client (smoke runs, or a machine without wrk) -------------------------------
async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = None
    chunked = False
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        if k.strip().lower() == "content-length":
            length = int(v.strip())
        elif k.strip().lower() == "transfer-encoding" and "chunked" in v.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


def encode_requests(
    base_url: str, requests: list[Request], headers: dict[str, str]
) -> tuple[str, int, list[bytes]]:
    """The server's host and port, and each request as the bytes sent on a keep-alive
    connection (the Python load generators write these as they are)."""
    url = urlsplit(base_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    raw = []
    for r in requests:
        body = r.body.encode()
        head = f"{r.method} {r.path} HTTP/1.1\r\nHost: {host}:{port}\r\n{extra}"
        if body:
            head += f"Content-Length: {len(body)}\r\n"
        raw.append((head + "\r\n").encode() + body)
    return host, port, raw


async def _run_python(
    base_url: str,
    requests: list[Request],
    headers: dict[str, str],
    connections: int,
    duration: float,
    warmup: float,
) -> Load:
    host, port, raw = encode_requests(base_url, requests, headers)
    latencies: list[float] = []
    errors = 0
    counter = 0
    start = time.perf_counter()
    measure_from = start + warmup
    stop = measure_from + duration

    async def worker() -> None:
        nonlocal counter, errors
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while True:
                now = time.perf_counter()
                if now >= stop:
                    return
                msg = raw[counter % len(raw)]
                counter += 1
                writer.write(msg)
                await writer.drain()
                status = await _read_response(reader)
                done = time.perf_counter()
                if now >= measure_from and done <= stop:
                    latencies.append(done - now)
                    if not 200 <= status < 300:
                        errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    latencies.sort()
    if not latencies:
        raise LoadError("no request completed in the measured period")

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000

    return Load(len(latencies), duration, errors, pct(50), pct(99))


def run_python(
    base_url: str,
    requests: list[Request],
    headers: dict[str, str],
    *,
    connections: int,
    duration: float,
    warmup: float,
) -> Load:
    return asyncio.run(_run_python(base_url, requests, headers, connections, duration, warmup))


def run_load(
    loadgen: str,
    base_url: str,
    requests: list[Request],
    headers: dict[str, str],
    *,
    connections: int,
    duration: float,
    warmup: float,
    work_dir: Path,
    label: str,
) -> Load:
    """Closed-loop load with wrk (``loadgen == "wrk"``) or the Python generator."""
    if loadgen == "wrk":
        return run_wrk(
            base_url,
            requests,
            headers,
            connections=connections,
            duration=duration,
            warmup=warmup,
            work_dir=work_dir,
            label=label,
        )
    return run_python(
        base_url, requests, headers, connections=connections, duration=duration, warmup=warmup
    )
