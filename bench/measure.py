"""Run a contender as a process and take its wall time and peak RSS."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass
class Measured:
    seconds: float
    peak_rss_mb: float
    result: dict[str, Any] = field(default_factory=dict)

    def details(self) -> dict[str, Any]:
        """What a run's details record of it: time, peak and the worker's own result."""
        return {"seconds": self.seconds, "peak_rss_mb": self.peak_rss_mb, **self.result}


class ContenderFailed(RuntimeError):
    pass


def measured(
    cmd: list[str],
    *,
    stdout_path: Path | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Measured:
    """Wall-clock seconds from start to exit (process start-up included, for every contender
    alike) and the peak resident set size of the process.

    The peak is the kernel's high-water mark of the process's own memory (``VmHWM`` in
    /proc/<pid>/status, read every 10 ms until it exits). Not ``ru_maxrss`` from wait4: on
    Linux a child inherits the parent's high-water mark across fork and exec, so every
    child of a large harness would report the harness's size."""
    with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as tmp_out:
        out_fh = stdout_path.open("wb") if stdout_path is not None else tmp_out
        try:
            started = time.perf_counter()
            proc = subprocess.Popen(  # noqa: S603 - a fixed command line built by the harness
                cmd, stdout=out_fh, stderr=err, env={**os.environ, **(env or {})}, cwd=cwd
            )
            peak = [0]
            done = threading.Event()
            watcher = threading.Thread(target=_watch, args=(proc.pid, peak, done), daemon=True)
            watcher.start()
            _, status, _usage = os.wait4(proc.pid, 0)
            done.set()
            watcher.join()
            seconds = time.perf_counter() - started
            proc.returncode = os.waitstatus_to_exitcode(status)
        finally:
            if stdout_path is not None:
                out_fh.close()
        err.seek(0)
        if proc.returncode != 0:
            tail = err.read().decode("utf-8", "replace")[-2000:]
            raise ContenderFailed(f"{' '.join(cmd[:4])} … exited {proc.returncode}: {tail}")
        result: dict[str, Any] = {}
        if stdout_path is None:
            tmp_out.seek(0)
            for line in tmp_out.read().decode("utf-8", "replace").splitlines():
                if line.startswith("BENCH_RESULT "):
                    result = json.loads(line.removeprefix("BENCH_RESULT "))
    # a worker reports its own final high-water mark too (it cannot be missed between polls)
    peak_kib = max(peak[0], int(result.get("vm_hwm_kib", 0)))
    return Measured(seconds, peak_kib / 1024, result)


def vm_hwm_kib(pid: int | str = "self") -> int:
    """The process's peak resident set size so far (KiB), 0 when unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _watch(pid: int, peak: list[int], done: threading.Event) -> None:
    while not done.is_set():
        peak[0] = max(peak[0], vm_hwm_kib(pid))
        done.wait(0.01)


def in_turn(
    contenders: dict[str, Callable[[int], Measured]], rounds: int
) -> dict[str, Measured | str]:
    """Run every contender ``rounds`` times, one after the other, each round starting with
    the next one (as the HTTP benchmarks take their slices), so that a drift in the
    machine's speed during the run falls on every contender alike. A contender gets its
    runs ``combined``, or the reason it failed (it is not run again). Each callable takes
    the round's number (a contender that writes picks that round's target with it)."""
    runs: dict[str, list[Measured]] = {name: [] for name in contenders}
    out: dict[str, Measured | str] = {}
    for r in range(rounds):
        for name in rotated(list(contenders), r):
            if name in out:
                continue
            try:
                runs[name].append(contenders[name](r))
            except ContenderFailed as exc:
                out[name] = str(exc)
    for name, taken in runs.items():
        if name not in out:
            out[name] = combined(taken)
    return out


def rotated(items: Sequence[T], r: int) -> list[T]:
    """Round ``r``'s order of ``items``: starting with the one at ``r`` (modulo their number),
    so that over the rounds each takes its turn first."""
    k = r % len(items) if items else 0
    return [*items[k:], *items[:k]]


def combined(runs: list[Measured]) -> Measured:
    """Several runs of one contender as one: the mean time (so that a rate over it is the
    rows of every run over their seconds), the highest peak, the last run's result, and
    each run's seconds in ``result["runs_seconds"]``."""
    return Measured(
        sum(m.seconds for m in runs) / len(runs),
        max(m.peak_rss_mb for m in runs),
        {**runs[-1].result, "runs_seconds": [round(m.seconds, 3) for m in runs]},
    )
