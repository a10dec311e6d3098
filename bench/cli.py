"""``python -m bench`` (called by ``bench/run``): generate the data, run every suite on every
database, print the table and write the results."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from bench import data, suite_audit, suite_export, suite_http, suite_ingest, suite_search
from bench.config import BACKENDS, BENCH, FULL, QUICK, SEED, SUITES, Config, wrk_path
from bench.machine import describe
from bench.platform_setup import BenchPlatform, pg_admin, pg_available, prepare
from bench.results import Report, table

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
Suite = Callable[[Config, BenchPlatform, Report], None]
RUNNERS: dict[str, Suite] = {
    "ingest": suite_ingest.run,
    "lookup": suite_http.run,
    "export": suite_export.run,
    "search": suite_search.run,
    "audit": suite_audit.run,
}


def parse(argv: list[str] | None) -> Config:
    p = argparse.ArgumentParser(prog="bench/run", description=__doc__)
    p.add_argument("--quick", action="store_true", help="tiny sizes (the CI smoke run)")
    p.add_argument("--rows", type=int, help="population rows (default 1,000,000)")
    p.add_argument("--entries", type=int, help="catalog entries (default 100,000)")
    p.add_argument("--duration", type=float, help="seconds per HTTP measurement (default 20)")
    p.add_argument("--suites", default=",".join(SUITES), help=f"subset of {','.join(SUITES)}")
    p.add_argument("--backends", default=",".join(BACKENDS), help="sqlite,postgresql")
    p.add_argument("--pg-url", default=DEFAULT_PG, help="PostgreSQL to create the bench db in")
    p.add_argument("--no-postgres", action="store_true")
    p.add_argument("--peers", type=Path, default=BENCH / ".venv-peers" / "bin")
    p.add_argument("--no-peers", action="store_true", help="measure no peer (smoke runs)")
    p.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    p.add_argument("--work-dir", type=Path, default=BENCH / ".work")
    p.add_argument("--results-dir", type=Path, default=BENCH / "results")
    p.add_argument("--no-latest", action="store_true", help="do not write latest.json")
    a = p.parse_args(argv)
    sizes = QUICK if a.quick else FULL
    loadgen = a.loadgen
    if loadgen == "auto":
        loadgen = "wrk" if wrk_path() and not a.quick else "python"
    cfg = Config(
        sizes=sizes,
        work_dir=a.work_dir.resolve(),
        results_dir=a.results_dir.resolve(),
        peers_bin=None if a.no_peers else a.peers.resolve(),
        loadgen=loadgen,
        pg_admin_url=None if a.no_postgres else a.pg_url,
        suites=tuple(s for s in a.suites.split(",") if s),
        backends=tuple(b for b in a.backends.split(",") if b),
        quick=a.quick,
        write_latest=not a.no_latest,
    )
    changes = {
        k: v
        for k, v in (("rows", a.rows), ("entries", a.entries), ("duration", a.duration))
        if v is not None
    }
    unknown = set(cfg.suites) - set(SUITES) or set(cfg.backends) - set(BACKENDS)
    if unknown:
        p.error(f"unknown: {', '.join(sorted(unknown))}")
    return cfg.with_sizes(**changes) if changes else cfg


def _pg_facts(url: str | None) -> tuple[str, dict[str, str]]:
    if not url or pg_available(url):
        return "", {}
    with pg_admin(url) as conn:
        row = conn.execute("SELECT version()").fetchone()
        settings = {
            name: str(v[0])
            for name in ("synchronous_commit", "fsync", "shared_buffers", "work_mem")
            if (v := conn.execute(f"SHOW {name}").fetchone())
        }
    return str(row[0]) if row else "", settings


def log(msg: str) -> None:
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {msg}\n")
    sys.stderr.flush()


def run(cfg: Config) -> Report:
    pg_version, pg_settings = _pg_facts(cfg.pg_admin_url)
    machine, info = describe(pg_version=pg_version, pg_settings=pg_settings)
    conf = asdict(cfg.sizes) | {
        "seed": SEED,
        "loadgen": cfg.loadgen,
        "wrk": f"-t1 -c{cfg.sizes.connections} -d{cfg.sizes.duration}s "
        f"after a {cfg.sizes.warmup}s warm-up",
        "quick": cfg.quick,
        "peers": bool(cfg.peers_bin),
    }
    report = Report(machine=machine, machine_info=info, config=conf)
    report.on_row = lambda r: log(
        f"  {r.name}: {r.value if r.value is not None else 'n/a'} {r.unit} | {r.baseline}: "
        f"{r.baseline_value if r.baseline_value is not None else 'n/a'}"
    )
    cfg.work_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    log(f"population CSV: {cfg.sizes.rows:,} rows")
    data.write_population_csv(cfg.csv_path, cfg.sizes.rows, SEED)
    for backend in cfg.backends:
        if backend == "postgresql":
            why = pg_available(cfg.pg_admin_url)
            if why:
                report.notes.append(f"PostgreSQL benchmarks not run: {why}")
                log(why)
                continue
        log(f"{backend}: fresh database, demo departments, bench resource")
        bp = prepare(backend, cfg.var_dir(backend), cfg.pg_admin_url, cfg.pg_database)
        try:
            # ingest first: it fills the pool the lookup and export suites read
            for suite in ("ingest", "lookup", "export", "search", "audit"):
                if suite not in cfg.suites:
                    continue
                if suite in ("lookup", "export") and "ingest" not in cfg.suites:
                    report.notes.append(f"{suite} ({backend}) skipped: it needs the ingest suite")
                    continue
                t = time.perf_counter()
                load_before = os.getloadavg()[0]
                log(f"{backend}: {suite} (load average {load_before:.1f})")
                try:
                    RUNNERS[suite](cfg, bp, report)
                except Exception as exc:
                    report.notes.append(f"{suite} ({backend}) failed: {exc!r}")
                    log(f"{suite} ({backend}) FAILED\n{traceback.format_exc()}")
                    if suite == "ingest":
                        break
                report.details.setdefault("seconds", {})[f"{backend}:{suite}"] = round(
                    time.perf_counter() - t, 1
                )
                # Other work on the machine skews a run: keep the load it ran under.
                report.details.setdefault("load_average", {})[f"{backend}:{suite}"] = [
                    round(load_before, 2),
                    round(os.getloadavg()[0], 2),
                ]
                report.write(cfg.results_dir, latest=False)  # progress, overwritten at the end
        finally:
            bp.close()
    shutil.rmtree(cfg.run_dir, ignore_errors=True)
    report.details["total_seconds"] = round(time.perf_counter() - started, 1)
    return report


def main(argv: list[str] | None = None) -> int:
    cfg = parse(argv)
    report = run(cfg)
    print(f"\n{report.machine}\n{report.when:%Y-%m-%d %H:%M} UTC\n")
    print(table(report.rows))
    for note in report.notes:
        print(f"- {note}")
    path = report.write(cfg.results_dir, latest=cfg.write_latest)
    print(
        f"\nresults: {path}"
        + (f" and {cfg.results_dir / 'latest.json'}" if cfg.write_latest else "")
    )
    failed = [n for n in report.notes if " failed: " in n]
    return 1 if failed else 0
