"""Benchmarks 1 and 2 (and 7 on PostgreSQL): governed lookup and verification over HTTP
against Datasette's row JSON and the bare Starlette endpoint (the practical limit).

Every contender is one uvicorn (or Datasette) process on the same database file, loaded by
the same generator with the same connections, warm-up and duration, cycling through the
same keys in the same order. The contenders' measured periods are interleaved, in
``SLICES`` slices taken in turn (``drive_all``)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import statistics
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text

from bench import data, governed
from bench.config import ROOT, SEED, Config
from bench.loadgen import Load, LoadError, Request, run_load
from bench.measure import rotated
from bench.paced import sample, server_pid
from bench.platform_setup import BenchPlatform
from bench.results import Report, Row
from bench.servers import ServerFailed, free_port, serving
from bench.suite_ingest import pool_table


@dataclass
class Target:
    """One server process and the loads to run against it."""

    label: str
    port: int
    cmd: list[str]
    ready_path: str
    env: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    loads: dict[str, list[Request]] = field(default_factory=dict)  # load name -> requests


def uvicorn_cmd(cfg: Config, app: str, port: int, *, factory: bool = False) -> list[str]:
    return [
        str(cfg.python),
        "-m",
        "uvicorn",
        app,
        *(["--factory"] if factory else []),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--no-access-log",
        "--log-level",
        "warning",
    ]


SLICES = 4  # each contender's measured period, in slices taken in turn with the others'


def combined(slices: list[Load]) -> Load:
    """One contender's slices as one measurement: every answer over every measured second.
    wrk gives each slice's percentiles, not its latencies, so p50 and p99 are the median
    over the slices of each slice's own. The server's CPU seconds are summed when every
    slice read them."""
    cpu = [x.server_cpu_s for x in slices]
    return Load(
        requests=sum(x.requests for x in slices),
        seconds=sum(x.seconds for x in slices),
        errors=sum(x.errors for x in slices),
        p50_ms=statistics.median(x.p50_ms for x in slices),
        p99_ms=statistics.median(x.p99_ms for x in slices),
        slices=tuple(round(x.rps, 1) for x in slices),
        server_cpu_s=None if None in cpu else sum(c for c in cpu if c is not None),
    )


def cpu_us_per_answer(load: Load) -> float | None:
    """The server's CPU time (user + system, every thread) per answer over the measured
    slices: what an answer costs whether or not the server was kept busy."""
    if load.server_cpu_s is None or not load.requests:
        return None
    return round(load.server_cpu_s / load.requests * 1e6, 1)


def cpu_ratio(one: Load, other: Load) -> float | None:
    """``other``'s server CPU per answer over ``one``'s (above 1: ``one`` spends less on an
    answer): the throughput ratio a server kept busy all the time would give."""
    mine, theirs = cpu_us_per_answer(one), cpu_us_per_answer(other)
    return round(theirs / mine, 3) if mine and theirs else None


def _cpu_seconds(pid: int | None) -> float | None:
    taken = sample(pid, 0.0) if pid is not None else None
    return taken.cpu_s if taken is not None else None


def by_round(one: Load, other: Load) -> list[float]:
    """``one``'s rate over ``other``'s in each round of slices (the two taken within
    seconds of each other): how far the run's ratio moves with the machine's drift."""
    return [round(a / b, 3) for a, b in zip(one.slices, other.slices, strict=False) if b]


def drive_all(
    cfg: Config, targets: list[Target], log_dir: Path
) -> dict[str, dict[str, Load] | str]:
    """Measure every target's loads, the contenders of one load in turn.

    Every server is started first and stays up (an idle one costs the others nothing).
    For each load, each contender is primed and warmed up, then the measured period is
    taken in ``SLICES`` slices, one contender after the other and starting each round
    with the next one, so that a drift in the machine's speed during the run (on a
    shared VM the same server's rate moved by a third from one minute to the next) falls
    on every contender alike rather than on whichever ran when it came. Each slice is
    a separate wrk run with the same connections; a contender's result is its answers
    over its measured seconds (``combined``), with the CPU time its server process used
    meanwhile (read from /proc; None where it could not be). A contender that fails (its server, an
    error answer, the load generator) gets the reason instead; the others go on."""
    out: dict[str, dict[str, Load] | str] = {}
    s = cfg.sizes
    offsets: dict[tuple[str, str], int] = {}  # where each contender's next run of a load starts

    def go(t: Target, name: str, seconds: float, tag: str) -> Load:
        # each run goes on through the requests where the contender's last run of the load
        # stopped, as one continuous run would (verification counts calls per subject)
        start = offsets.get((t.label, name), 0)
        before = _cpu_seconds(pids.get(t.label))
        load = _measure(cfg, t, bases[t.label], name, start, seconds, log_dir, tag)
        after = _cpu_seconds(pids.get(t.label))
        offsets[t.label, name] = (start + load.requests) % len(t.loads[name])
        if before is None or after is None:
            return load
        return dataclasses.replace(load, server_cpu_s=round(after - before, 2))

    bases: dict[str, str] = {}
    pids: dict[str, int] = {}
    with contextlib.ExitStack() as stack:
        for t in targets:
            try:
                bases[t.label] = stack.enter_context(
                    serving(
                        t.cmd,
                        port=t.port,
                        ready_path=t.ready_path,
                        log=log_dir / f"{t.label}.log",
                        env=t.env,
                        cwd=ROOT,
                    )
                )
            except ServerFailed as exc:
                out[t.label] = str(exc)
                continue
            with contextlib.suppress(ServerFailed):  # no CPU figure then, the rest stands
                pids[t.label] = server_pid(t.cmd)
        names = list(dict.fromkeys(name for t in targets for name in t.loads))
        for name in names:
            running = [
                t
                for t in targets
                if t.label in bases and name in t.loads and not isinstance(out.get(t.label), str)
            ]
            slices: dict[str, list[Load]] = {t.label: [] for t in running}
            for t in running:
                try:
                    prime(bases[t.label], t.loads[name][0], t.headers, t.label)
                    if s.warmup > 0:
                        go(t, name, s.warmup, "warmup")
                except LoadError as exc:
                    out[t.label] = str(exc)
                    del slices[t.label]
            for r in range(SLICES):
                for t in rotated([t for t in running if t.label in slices], r):
                    try:
                        load = go(t, name, s.duration / SLICES, f"slice{r}")
                    except LoadError as exc:
                        out[t.label] = str(exc)
                        del slices[t.label]
                    else:
                        slices[t.label].append(load)
            for label, taken in slices.items():
                existing = out.setdefault(label, {})
                if isinstance(existing, dict):
                    existing[name] = combined(taken)
    return out


def _measure(
    cfg: Config,
    t: Target,
    base: str,
    name: str,
    start: int,
    seconds: float,
    log_dir: Path,
    tag: str,
) -> Load:
    """One slice (or the warm-up) of load ``name`` on ``t``, from request ``start`` on; an
    error answer fails it."""
    requests = t.loads[name]
    load = run_load(
        cfg.loadgen,
        base,
        requests[start:] + requests[:start],
        t.headers,
        connections=cfg.sizes.connections,
        duration=seconds,
        warmup=0.0,
        work_dir=log_dir,
        label=f"{t.label}-{name}-{tag}",
    )
    if load.errors:
        raise LoadError(f"{t.label} {name}: {load.errors} of {load.requests} answers were errors")
    return load


def prime(base: str, request: Request, headers: dict[str, str], label: str) -> None:
    """One request before the warm-up: it must succeed (a misconfigured contender stops
    here with its answer), and first-call set-up is not timed."""
    req = urllib.request.Request(  # noqa: S310 - the harness's own loopback server
        base + request.path,
        data=request.body.encode() if request.body else None,
        headers=headers,
        method=request.method,
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310 - loopback
            resp.read()
    except urllib.error.HTTPError as exc:
        raise LoadError(
            f"{label}: {request.method} {request.path} -> {exc.code} {exc.read()[:300]!r}"
        ) from exc


def verify_body(key: str, name: str, n: int) -> str:
    """Every fourth claim is wrong, so that both answers are exercised."""
    claimed = name if n % 4 else name + "某"
    return json.dumps({"key": key, "claims": {"name": claimed}}, ensure_ascii=False)


def run(cfg: Config, bp: BenchPlatform, report: Report) -> None:
    label = "SQLite" if bp.backend == "sqlite" else "PostgreSQL"
    keys = data.sample_keys(cfg.csv_path, cfg.sizes.keys, SEED)
    table = pool_table(bp)
    log_dir = cfg.run_dir / f"http-{bp.backend}"
    details: dict[str, object] = {}
    report.details[f"http_{bp.backend}"] = details

    bare_port = free_port()
    bare = Target(
        "bare",
        bare_port,
        uvicorn_cmd(cfg, "bench.bare_app:app", bare_port),
        "/health",
        env={
            "BENCH_DB": str(bp.sqlite_path) if bp.backend == "sqlite" else bp.url,
            "BENCH_TABLE": table,
            "BENCH_KEY": "id_card",
            "BENCH_COLUMNS": ",".join(data.ITEM_CODES),
        },
        headers={"Content-Type": "application/json"},
        loads={"lookup": [Request("GET", f"/lookup/{k}") for k, _ in keys]},
    )
    if bp.backend == "sqlite":  # issue 7 repeats 1, 3 and 4 on PostgreSQL, not 2
        bare.loads["verify"] = [
            Request("POST", "/verify", verify_body(k, nm, i)) for i, (k, nm) in enumerate(keys)
        ]
    contenders: list[Target | str] = [bare]
    if bp.backend == "sqlite":
        contenders.append(_datasette(cfg, bp, table, keys))
    contenders.append(governed.http_target(cfg, bp, keys))
    labels = ["bare", "datasette", "govshare"] if bp.backend == "sqlite" else ["bare", "govshare"]
    results: dict[str, dict[str, Load] | str] = {
        label: c for label, c in zip(labels, contenders, strict=True) if isinstance(c, str)
    }
    results.update(drive_all(cfg, [c for c in contenders if not isinstance(c, str)], log_dir))

    for who, res in results.items():
        details[who] = (
            res
            if isinstance(res, str)
            else {
                k: {
                    "rps": v.rps,
                    "p50_ms": v.p50_ms,
                    "p99_ms": v.p99_ms,
                    "requests": v.requests,
                    "slices_rps": list(v.slices),
                    "server_cpu_us_per_answer": cpu_us_per_answer(v),
                }
                for k, v in res.items()
            }
        )

    rounds: dict[str, dict[str, list[float]]] = {}
    cpu_ratios: dict[str, dict[str, float | None]] = {}
    gov_res = results.get("govshare")
    if isinstance(gov_res, dict):
        for load, gov_load in gov_res.items():
            for who in [w for w in labels if w != "govshare"]:  # the baselines
                base = results.get(who)
                if isinstance(base, dict) and load in base:
                    rounds.setdefault(load, {})[f"govshare/{who}"] = by_round(gov_load, base[load])
                    cpu_ratios.setdefault(load, {})[f"govshare/{who}"] = cpu_ratio(
                        gov_load, base[load]
                    )
    details["ratio_by_round"] = rounds
    details["cpu_ratio"] = cpu_ratios

    def get(who: str, load: str) -> tuple[Load | None, str]:
        res = results.get(who)
        if res is None:
            return None, f"{who} not run"
        if isinstance(res, str):
            return None, res
        if load not in res:
            return None, f"{who} has no {load} endpoint"
        return res[load], ""

    gov, why_gov = get("govshare", "lookup")
    bare_l, why_bare = get("bare", "lookup")
    why = why_gov or why_bare
    name = f"governed lookup over HTTP ({label})"
    if bp.backend == "sqlite":
        ds, why_ds = get("datasette", "lookup")
        report.add(
            Row(
                name,
                "req/s",
                gov.rps if gov else None,
                "Datasette /db/table/<pk>.json",
                ds.rps if ds else None,
                3.0,
                why_missing=why_gov or why_ds,
            )
        )
    report.add(
        Row(
            name,
            "req/s",
            gov.rps if gov else None,
            f"bare Starlette point lookup ({label})",
            bare_l.rps if bare_l else None,
            0.5,
            why_missing=why,
        )
    )
    for pct in ("p50", "p99"):
        report.add(
            Row(
                f"governed lookup {pct} latency ({label})",
                "ms",
                getattr(gov, f"{pct}_ms") if gov else None,
                f"bare Starlette point lookup {pct}",
                getattr(bare_l, f"{pct}_ms") if bare_l else None,
                0.0,
                higher_is_better=False,
                why_missing=why,
            )
        )
    if bp.backend != "sqlite":
        return  # issue 7 repeats 1, 3 and 4 on PostgreSQL
    gov_v, why_gov_v = get("govshare", "verify")
    bare_v, why_bare_v = get("bare", "verify")
    report.add(
        Row(
            f"governed verification (核验) over HTTP ({label})",
            "req/s",
            gov_v.rps if gov_v else None,
            "bare Starlette verify",
            bare_v.rps if bare_v else None,
            0.5,
            why_missing=why_gov_v or why_bare_v,
        )
    )
    for pct in ("p50", "p99"):
        report.add(
            Row(
                f"governed verification {pct} latency ({label})",
                "ms",
                getattr(gov_v, f"{pct}_ms") if gov_v else None,
                f"bare Starlette verify {pct}",
                getattr(bare_v, f"{pct}_ms") if bare_v else None,
                0.0,
                higher_is_better=False,
                why_missing=why_gov_v or why_bare_v,
            )
        )


def _datasette(
    cfg: Config, bp: BenchPlatform, table: str, keys: list[tuple[str, str]]
) -> Target | str:
    exe = cfg.peer("datasette")
    python = cfg.peer("python")
    if exe is None or python is None:
        return "Datasette is not installed (run bench/run, or --no-peers was given)"
    with bp.platform.db.read() as conn:
        ids: dict[str, int] = {}
        wanted = [k for k, _ in keys]
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            marks = ", ".join(f":k{j}" for j in range(len(chunk)))
            for rid, card in conn.execute(
                text(f"SELECT _row_id, id_card FROM {table} WHERE id_card IN ({marks})"),  # noqa: S608
                {f"k{j}": k for j, k in enumerate(chunk)},
            ):
                ids[str(card)] = int(rid)
    db_name = bp.sqlite_path.stem
    port = free_port()
    cmd = uvicorn_cmd(cfg, "bench.datasette_app:app", port, factory=True)
    cmd[0] = str(python)
    return Target(
        "datasette",
        port,
        cmd,
        "/-/versions.json",
        env={"BENCH_DATASETTE_DB": str(bp.sqlite_path)},
        loads={"lookup": [Request("GET", f"/{db_name}/{table}/{ids[k]}.json") for k, _ in keys]},
    )
