"""The soak test (issue 8, section 7; not in CI): ``bench/soak`` → ``python -m bench.soak``.

1. The lookup benchmark's set-up (``bench/platform_setup.py``): a fresh SQLite database
   with the demo city's departments and the bench resource, the population CSV ingested
   through ``bench.worker ingest-govshare`` (1,000,000 rows by default), the bench grant
   and the governed server ``govshare serve`` as one process (``bench/governed.py``).
2. The maximum lookup rate, measured as the lookup benchmark measures it
   (``loadgen.run_load``: wrk, 16 connections, 1 thread, 20 s after a 5 s warm-up), over
   as many keys as that benchmark cycles through.
3. The soak: ``--duration`` seconds (600 by default) at 80 % of that rate, with wrk and
   ``bench/soak.lua``, whose ``delay()`` gives the thread one constant-rate schedule
   (request k is due at t0 + k / rate, whichever connection is free takes it; see
   ``bench/paced.py``), cycling through ``--keys`` keys of the pool in a fixed shuffled
   order. Every non-2xx answer,
   socket error and timeout is an error. Meanwhile the server's resident set size
   (``VmRSS`` of /proc/<pid>/status), its threads, open files and CPU time are sampled
   every ``--sample-every`` seconds; the first sample, taken as the soak starts (after the
   warm-up and the full-speed measurement), is the start.
4. Passed when there was no error, the RSS grew by less than 10 % from start to end and
   the server still runs. Whether the achieved rate held at 95 % of the target is
   reported beside it (on a shared machine it may not, and the result says so). Writes
   ``bench/results/soak-<timestamp>.json`` and ``soak-latest.json``, and replaces the
   result between the markers of docs/performance.md's "Soak" section.

Without wrk (``--loadgen python``: the CI smoke test's path) a small asyncio client keeps
the same schedule over the same connections.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from bench import data, governed
from bench.config import BENCH, FULL, ROOT, SEED, Config, wrk_path
from bench.loadgen import Load, LoadError, run_load
from bench.machine import describe
from bench.measure import measured
from bench.paced import (
    LATE_MS,
    TIMEOUT_S,
    WINDOW_S,
    Paced,
    Sample,
    paced_python,
    paced_wrk,
    sample,
    sampled,
    server_pid,
)
from bench.platform_setup import BenchPlatform, prepare
from bench.servers import ServerFailed, serving
from bench.suite_http import Target, prime

LOAD_FRACTION = 0.8  # of the measured maximum rate (issue 8)
RSS_GROWTH_LIMIT_PCT = 10.0  # issue 8: RSS growth under 10 %
RATE_HELD = 0.95  # the achieved rate must reach this share of the target
DOC = ROOT / "docs" / "performance.md"
BEGIN = "<!-- soak:begin (written by bench/soak: everything up to soak:end is replaced) -->"
END = "<!-- soak:end -->"


def log(msg: str) -> None:
    sys.stderr.write(f"[soak {time.strftime('%H:%M:%S')}] {msg}\n")
    sys.stderr.flush()


# The run ----------------------------------------------------------------------------------
@dataclass
class Options:
    rows: int
    keys: int
    duration: float
    probe_duration: float
    warmup: float
    sample_every: float
    connections: int
    loadgen: str
    work_dir: Path
    results_dir: Path
    doc: Path | None
    write_latest: bool
    notes: list[str] = field(default_factory=list)


def load_pool(cfg: Config, bp: BenchPlatform) -> float:
    """The population CSV into the bench pool through the governed ingest, as the ingest
    benchmark does it; returns its seconds."""
    n = cfg.sizes.rows
    m = measured(
        [
            *(str(cfg.python), "-m", "bench.worker", "ingest-govshare"),
            *("--url", bp.url, "--resource-id", bp.resource_id),
            *("--user", bp.loader_username, "--csv", str(cfg.csv_path)),
        ],
        env={"GOVSHARE_DATABASE_URL": bp.url, "GOVSHARE_VAR_DIR": str(bp.settings.var_dir)},
        cwd=ROOT,
    )
    if int(m.result["rows_loaded"]) != data.valid_rows(n):
        raise RuntimeError(f"the ingest loaded {m.result['rows_loaded']} of {n} rows")
    return m.seconds


def governed_target(
    cfg: Config, bp: BenchPlatform, keys: list[tuple[str, str]], ttl: int
) -> Target:
    """The lookup benchmark's server and requests, with a token that lives ``ttl`` seconds
    (the benchmark's lives an hour, less than a long soak)."""
    target = governed.http_target(cfg, bp, keys)
    if isinstance(target, str):
        raise RuntimeError(f"the governed lookup cannot run: {target}")
    from govshare.identity import services as identity_services

    grant = governed.grant_for(bp)
    token = identity_services.issue_token(
        bp.platform.db,
        bp.platform.keys,
        client_id=grant.client_id,
        client_secret=grant.secret,
        ttl_seconds=ttl,
    ).token
    target.headers = governed.call_headers(token)
    return target


def measure_max(cfg: Config, base: str, target: Target, opts: Options, log_dir: Path) -> Load:
    requests = target.loads["lookup"][: FULL.keys]  # as many keys as the lookup benchmark
    s = cfg.sizes
    load = run_load(
        opts.loadgen,
        base,
        requests,
        target.headers,
        connections=s.connections,
        duration=s.duration,
        warmup=s.warmup,
        work_dir=log_dir,
        label="soak-max",
    )
    if load.errors or not load.requests:
        raise LoadError(f"the maximum-rate run had {load.errors} errors in {load.requests} answers")
    return load


def run(opts: Options) -> dict[str, Any]:
    started = time.perf_counter()
    when = datetime.now(UTC)
    machine, info = describe()
    # sizes.duration and sizes.warmup: those of the maximum-rate run
    cfg = Config(
        sizes=FULL,
        work_dir=opts.work_dir,
        results_dir=opts.results_dir,
        loadgen=opts.loadgen,
        suites=("lookup",),
        backends=("sqlite",),
    ).with_sizes(
        rows=opts.rows,
        keys=opts.keys,
        connections=opts.connections,
        duration=opts.probe_duration,
        warmup=opts.warmup,
    )
    log(f"population CSV: {opts.rows:,} rows ({cfg.csv_path})")
    data.write_population_csv(cfg.csv_path, opts.rows, SEED)
    keys = data.sample_keys(cfg.csv_path, opts.keys, SEED)
    log("fresh SQLite database, demo departments, bench resource")
    bp = prepare("sqlite", cfg.var_dir("sqlite"), None, cfg.pg_database)
    log_dir = cfg.run_dir / "logs"
    try:
        log(f"ingest of {opts.rows:,} rows through the governed ingest")
        ingest_s = load_pool(cfg, bp)
        ttl = 3600 + int(opts.warmup + opts.probe_duration + opts.duration)
        target = governed_target(cfg, bp, keys, ttl)
        requests = target.loads["lookup"]
        log(f"ingest took {ingest_s:.0f} s; starting the governed server")
        with serving(
            target.cmd,
            port=target.port,
            ready_path=target.ready_path,
            log=log_dir / "govshare.log",
            env=target.env,
            cwd=ROOT,
        ) as base:
            pid = server_pid(target.cmd)
            prime(base, requests[0], target.headers, target.label)
            before = sample(pid, 0.0)
            log(
                f"maximum lookup rate: {opts.connections} connections, {opts.warmup:g} s "
                f"warm-up, {opts.probe_duration:g} s measured"
            )
            peak = measure_max(cfg, base, target, opts, log_dir)
            rate = LOAD_FRACTION * peak.rps
            log(
                f"maximum {peak.rps:.1f} req/s (p50 {peak.p50_ms:.1f} ms, p99 "
                f"{peak.p99_ms:.1f} ms); soak at {rate:.1f} req/s for {opts.duration:g} s "
                f"over {len(requests):,} keys"
            )
            load_before = os.getloadavg()[0]

            def soak_load() -> Paced:
                if opts.loadgen == "wrk":
                    return paced_wrk(
                        base,
                        requests,
                        target.headers,
                        connections=opts.connections,
                        duration=opts.duration,
                        rate=rate,
                        work_dir=log_dir,
                        progress=lambda line: log(f"  {line}"),
                    )
                return paced_python(
                    base,
                    requests,
                    target.headers,
                    connections=opts.connections,
                    duration=opts.duration,
                    rate=rate,
                )

            paced, samples = sampled(pid, opts.sample_every, soak_load)
            alive = sample(pid, 0.0) is not None
            load_after = os.getloadavg()[0]
    finally:
        bp.close()
    return summarise(
        opts,
        when=when,
        machine=machine,
        info=info,
        peak=peak,
        rate=rate,
        paced=paced,
        samples=samples,
        before=before,
        alive=alive,
        extra={
            "ingest_seconds": round(ingest_s, 1),
            "load_average": [round(load_before, 2), round(load_after, 2)],
            "server_log": str(log_dir / "govshare.log"),
            "run_dir": str(cfg.run_dir),
            "total_seconds": round(time.perf_counter() - started, 1),
        },
    )


def _mb(kib: int) -> float:
    return round(kib / 1024, 1)


def summarise(
    opts: Options,
    *,
    when: datetime,
    machine: str,
    info: dict[str, Any],
    peak: Load,
    rate: float,
    paced: Paced,
    samples: list[Sample],
    before: Sample | None,
    alive: bool,
    extra: dict[str, Any],
) -> dict[str, Any]:
    notes = list(opts.notes)
    if not samples:
        raise ServerFailed("the server exited before the soak started")
    start, end = samples[0], samples[-1]
    top = max(s.rss_kib for s in samples)
    growth = 100 * (end.rss_kib - start.rss_kib) / start.rss_kib
    growth = growth if abs(growth) >= 0.005 else 0.0  # no "-0.00"
    if not alive:
        notes.append(f"the server exited during the soak (see {extra['server_log']})")
    held = paced.rps / rate if rate else 0.0
    criteria: dict[str, dict[str, Any]] = {
        "zero_errors": {"target": 0, "value": paced.errors, "met": paced.errors == 0},
        "rss_growth_pct": {
            "target": f"< {RSS_GROWTH_LIMIT_PCT:g}",
            "value": round(growth, 2),
            "met": growth < RSS_GROWTH_LIMIT_PCT,
        },
        "server_alive": {"target": True, "value": alive, "met": alive},
    }
    if held < RATE_HELD:
        notes.append(
            f"the load ran below its target rate ({held:.1%} of it, {paced.behind} starts "
            f"more than {LATE_MS} ms late): the server answered more slowly than during the "
            "maximum-rate run (other work on the machine?); the figures hold for the rate "
            "achieved"
        )
    return {
        "name": "soak: governed lookup over HTTP (SQLite)",
        "machine": machine,
        "when": when.isoformat(timespec="seconds"),
        "passed": all(c["met"] for c in criteria.values()),
        "criteria": criteria,
        # reported, not a pass criterion: how close the load came to its target rate
        "rate_held": {"share": round(held, 3), "held": held >= RATE_HELD, "at_least": RATE_HELD},
        "config": {
            "backend": "sqlite",
            "rows": opts.rows,
            "keys": opts.keys,
            "seed": SEED,
            "connections": opts.connections,
            "loadgen": opts.loadgen,
            "max_rate_run": (
                f"wrk -t1 -c{opts.connections}"
                if opts.loadgen == "wrk"
                else f"asyncio client, {opts.connections} connections"
            )
            + f", {opts.probe_duration:g} s after a {opts.warmup:g} s warm-up, over "
            f"{min(opts.keys, FULL.keys):,} keys",
            "load_fraction": LOAD_FRACTION,
            "duration_s": opts.duration,
            "sample_every_s": opts.sample_every,
            "window_s": WINDOW_S,
            "late_ms": LATE_MS,
            "timeout_s": TIMEOUT_S,
        },
        "max_rate": {
            "rps": round(peak.rps, 2),
            "p50_ms": round(peak.p50_ms, 2),
            "p99_ms": round(peak.p99_ms, 2),
            "requests": peak.requests,
        },
        "target_rps": round(rate, 2),
        "soak": {
            "seconds": round(paced.seconds, 1),
            "requests": paced.requests,
            "achieved_rps": round(paced.rps, 2),
            "p50_ms": round(paced.p50_ms, 2),
            "p99_ms": round(paced.p99_ms, 2),
            "max_ms": round(paced.max_ms, 2),
            "errors": {
                "total": paced.errors,
                "non_2xx": paced.non_2xx,
                "status_codes": paced.codes,
                "connect": paced.connect,
                "read": paced.read,
                "write": paced.write,
                "timeout": paced.timeouts,
            },
            "behind_schedule": {"starts": paced.behind, "max_ms": round(paced.max_behind_ms, 1)},
            "answers_per_window": paced.answers,
            "non_2xx_per_window": paced.failures,
        },
        "rss_mb": {
            "before_warmup": _mb(before.rss_kib) if before else None,
            "start": _mb(start.rss_kib),
            "max": _mb(top),
            "end": _mb(end.rss_kib),
            "growth_pct": round(growth, 2),
            "max_growth_pct": round(100 * (top - start.rss_kib) / start.rss_kib, 2),
        },
        "samples": [asdict(s) for s in samples],
        "machine_info": info,
        "details": extra,
        "notes": notes,
    }


# Results and docs -------------------------------------------------------------------------
def _n(v: float) -> str:
    return f"{v:,.0f}" if v >= 1000 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


class Period(NamedTuple):
    start_s: float
    end_s: float
    answers: int
    non_2xx: int
    rss_mb: float | None  # at the period's end
    cpu_pct: float | None  # the server's CPU use over the period (100: one core)


def periods(result: dict[str, Any]) -> list[Period]:
    """Per minute, or per window for a run under two minutes."""
    soak, samples = result["soak"], result["samples"]
    answers, bad = soak["answers_per_window"], soak["non_2xx_per_window"]
    per = 60 // WINDOW_S if soak["seconds"] >= 120 else 1

    def at(t: float) -> dict[str, Any] | None:  # the last sample by t (samples are ~on time)
        taken = [x for x in samples if x["t"] <= t + 1]
        return taken[-1] if taken else None

    out: list[Period] = []
    for i in range(0, len(answers), per):
        lo, hi = float(i * WINDOW_S), min(float((i + per) * WINDOW_S), soak["seconds"])
        n, nok = sum(answers[i : i + per]), sum(bad[i : i + per])
        if hi - lo < WINDOW_S / 2 and out:  # the answers in flight as the run stopped
            last = out[-1]
            out[-1] = last._replace(end_s=hi, answers=last.answers + n, non_2xx=last.non_2xx + nok)
            continue
        a, b = at(lo), at(hi)
        cpu = None
        if a is not None and b is not None and b["t"] > a["t"]:
            cpu = round(100 * (b["cpu_s"] - a["cpu_s"]) / (b["t"] - a["t"]))
        mb = _mb(b["rss_kib"]) if b is not None else None
        out.append(Period(lo, hi, n, nok, mb, cpu))
    return out


def markdown(result: dict[str, Any], json_name: str) -> str:
    c, soak, rss, mx = result["config"], result["soak"], result["rss_mb"], result["max_rate"]
    err, crit = soak["errors"], result["criteria"]
    when = datetime.fromisoformat(result["when"])
    # under load: without the samples taken as the soak started and after it ended
    under = result["samples"][1:-1] or result["samples"]
    first, last = under[0], under[-1]
    verdict = "**Passed**" if result["passed"] else "**Failed**"
    unmet = [k for k, v in crit.items() if not v["met"]]
    lines = [
        f"Run of {when:%Y-%m-%d %H:%M} UTC (`bench/results/{json_name}`, "
        f"{result['details']['total_seconds'] / 60:.1f} minutes in all), {c['rows']:,} rows on "
        f"SQLite, on: {result['machine']}. 1-minute load average "
        f"{result['details']['load_average'][0]:g} as the soak started, "
        f"{result['details']['load_average'][1]:g} as it ended.",
        "",
        f"{verdict}" + (f" (not met: {', '.join(unmet)})." if unmet else "."),
        "",
        "| figure | value |",
        "|---|---:|",
        f"| maximum lookup rate ({c['max_rate_run']}) | {_n(mx['rps'])} req/s |",
        f"| soak target: {c['load_fraction']:.0%} of it for {c['duration_s']:g} s, "
        f"{c['connections']} connections, {c['keys']:,} keys | {_n(result['target_rps'])} req/s |",
        f"| achieved rate ({soak['requests']:,} answers in {soak['seconds']:g} s) | "
        f"{_n(soak['achieved_rps'])} req/s ({result['rate_held']['share']:.1%} of the target) |",
        f"| latency p50 / p99 / max | {_n(soak['p50_ms'])} / {_n(soak['p99_ms'])} / "
        f"{_n(soak['max_ms'])} ms |",
        f"| errors: non-2xx / connect / read / write / timeouts | {err['non_2xx']} / "
        f"{err['connect']} / {err['read']} / {err['write']} / {err['timeout']} |",
        f"| starts more than {c['late_ms']} ms behind schedule | "
        f"{soak['behind_schedule']['starts']} (the latest {soak['behind_schedule']['max_ms']:g} "
        "ms) |",
        f"| server RSS at start / max / end | {rss['start']} / {rss['max']} / {rss['end']} MB |",
        f"| RSS growth, end against start (limit {RSS_GROWTH_LIMIT_PCT:g} %) | "
        f"{rss['growth_pct']:+.1f} % |",
        "| threads, open files: first → last sample under load | "
        f"{first['threads']} → {last['threads']}, {first['fds']} → {last['fds']} |",
        "",
        "| seconds | req/s | non-2xx | server RSS at the end (MB) | server CPU (%) |",
        "|---|---:|---:|---:|---:|",
    ]
    for p in periods(result):
        rate = _n(p.answers / (p.end_s - p.start_s)) if p.end_s > p.start_s else "n/a"
        lines.append(
            f"| {p.start_s:g}–{p.end_s:g} | {rate} | {p.non_2xx} | "
            f"{'n/a' if p.rss_mb is None else p.rss_mb} | "
            f"{'n/a' if p.cpu_pct is None else f'{p.cpu_pct:g}'} |"
        )
    if result["notes"]:
        lines += ["", *(f"- {note}" for note in result["notes"])]
    return "\n".join(lines)


def update_doc(path: Path, section: str) -> None:
    """Replace what lies between the soak markers of ``path``, or append a "Soak" section
    with them at its end."""
    text = path.read_text(encoding="utf-8")
    begin, end = text.find(BEGIN), text.find(END)
    if 0 <= begin < end:
        text = text[: begin + len(BEGIN)] + "\n" + section + "\n" + text[end:]
    else:
        text = text.rstrip("\n") + f"\n\n## Soak\n\n{BEGIN}\n{section}\n{END}\n"
    path.write_text(text, encoding="utf-8")


def write(result: dict[str, Any], opts: Options) -> Path:
    opts.results_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.fromisoformat(result["when"]).strftime("%Y%m%dT%H%M%SZ")
    path = opts.results_dir / f"soak-{stamp}.json"
    body = json.dumps(result, ensure_ascii=False, indent=2) + "\n"
    path.write_text(body, encoding="utf-8")
    if opts.write_latest:
        (opts.results_dir / "soak-latest.json").write_text(body, encoding="utf-8")
    if opts.doc is not None:
        update_doc(opts.doc, markdown(result, path.name))
    return path


def parse(argv: list[str] | None) -> Options:
    p = argparse.ArgumentParser(
        prog="bench/soak",
        description="Soak test: the governed lookup for --duration seconds at 80% of its "
        "measured maximum rate; passes with zero errors and RSS growth under 10%.",
    )
    p.add_argument("--duration", type=float, default=600.0, help="soak seconds (600)")
    p.add_argument("--rows", type=int, default=FULL.rows, help="pool rows (1,000,000)")
    p.add_argument("--keys", type=int, default=200_000, help="keys cycled through (200,000)")
    p.add_argument(
        "--probe-duration",
        type=float,
        default=FULL.duration,
        help="seconds of the maximum-rate measurement (20)",
    )
    p.add_argument("--warmup", type=float, default=FULL.warmup, help="its warm-up (5)")
    p.add_argument("--sample-every", type=float, default=5.0, help="seconds per RSS sample (5)")
    p.add_argument("--connections", type=int, default=FULL.connections)
    p.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    p.add_argument("--work-dir", type=Path, default=BENCH / ".work")
    p.add_argument("--results-dir", type=Path, default=BENCH / "results")
    p.add_argument("--doc", type=Path, default=DOC, help="the doc whose Soak section to write")
    p.add_argument("--no-doc", action="store_true", help="do not touch the doc")
    p.add_argument("--no-latest", action="store_true", help="do not write soak-latest.json")
    a = p.parse_args(argv)
    if min(a.duration, a.probe_duration, a.rows, a.keys, a.connections, a.sample_every) <= 0:
        p.error("sizes and durations must be positive")
    loadgen = a.loadgen
    notes = []
    if loadgen == "auto":
        loadgen = "wrk" if wrk_path() else "python"
        if loadgen == "python":
            notes.append("wrk is not installed: the asyncio load generator ran instead")
    return Options(
        rows=a.rows,
        keys=min(a.keys, data.valid_rows(a.rows)),
        duration=a.duration,
        probe_duration=a.probe_duration,
        warmup=a.warmup,
        sample_every=a.sample_every,
        connections=a.connections,
        loadgen=loadgen,
        work_dir=a.work_dir.resolve(),
        results_dir=a.results_dir.resolve(),
        doc=None if a.no_doc else a.doc.resolve(),
        write_latest=not a.no_latest,
        notes=notes,
    )


def main(argv: list[str] | None = None) -> int:
    opts = parse(argv)
    result = run(opts)
    path = write(result, opts)
    print(markdown(result, path.name))
    print(f"\nresults: {path}" + (f"; {opts.doc} updated" if opts.doc else ""))
    if result["passed"]:  # a failed run keeps its database and server log to look into
        shutil.rmtree(result["details"]["run_dir"], ignore_errors=True)
        return 0
    print(f"kept for a look: {result['details']['run_dir']}")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
