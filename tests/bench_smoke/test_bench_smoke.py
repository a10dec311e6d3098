"""The benchmark harness keeps working (issue 7): the whole pipeline of ``bench/run`` at
tiny sizes, without the peers or wrk (the asyncio load generator drives the same servers).
It asserts that every suite ran and that latest.json has the shape of issue 7; never a
time or a ratio."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from bench import cli, suite_http
from bench.loadgen import Load
from bench.measure import ContenderFailed, Measured, in_turn
from bench.results import check_shape


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict, dict]:
    tmp = tmp_path_factory.mktemp("bench")
    code = cli.main(
        [
            "--quick",
            "--no-peers",
            "--loadgen",
            "python",
            "--backends",
            "sqlite",
            "--no-postgres",
            "--work-dir",
            str(tmp / "work"),
            "--results-dir",
            str(tmp / "results"),
        ]
    )
    latest = json.loads((tmp / "results" / "latest.json").read_text(encoding="utf-8"))
    full = json.loads(
        next(p for p in (tmp / "results").glob("2*.json")).read_text(encoding="utf-8")
    )
    return code, latest, full


def test_every_suite_ran(run: tuple[int, dict, dict]) -> None:
    code, _, full = run
    assert code == 0, full["notes"]
    assert not [n for n in full["notes"] if " failed: " in n]
    assert set(full["details"]["seconds"]) == {
        f"sqlite:{s}" for s in ("ingest", "lookup", "export", "search", "audit")
    }


def test_latest_json_has_the_issue_shape(run: tuple[int, dict, dict]) -> None:
    _, latest, _ = run
    check_shape(latest)
    names = {r["name"] for r in latest["benchmarks"]}
    for wanted in (
        "ingest 10,000-row CSV, full validation (SQLite)",
        "governed lookup over HTTP (SQLite)",
        "governed verification (核验) over HTTP (SQLite)",
        "masked CSV export of 9,990 rows (SQLite)",
        "catalog search p95, 500 entries, 20 queries (SQLite)",
    ):
        assert wanted in names, wanted


def test_in_process_contenders_have_numbers_and_missing_ones_say_why(
    run: tuple[int, dict, dict],
) -> None:
    _, latest, full = run
    rows = latest["benchmarks"]
    by_baseline = {r["baseline"]: r for r in rows}
    # the practical limits run without any peer
    for baseline in (
        "raw executemany, no validation",
        "bare Starlette point lookup (SQLite)",
        "bare Starlette verify",
        "raw Python csv export",
        "LIKE '%…%' scan, p95 of 20 of the queries",
    ):
        assert by_baseline[baseline]["baseline_value"] > 0, baseline
    # a peer that is not installed is "not available", with its reason, never a number
    for baseline in ("Datasette /db/table/<pk>.json", "sqlite-utils insert --csv"):
        row = by_baseline[baseline]
        assert row["baseline_value"] is None and row["ratio"] is None and row["met"] is False
    assert any("not installed" in n for n in full["notes"])


def test_http_contenders_are_measured_in_interleaved_slices(run: tuple[int, dict, dict]) -> None:
    _, _, full = run
    http = full["details"]["http_sqlite"]
    for who in ("bare", "govshare"):
        for load in ("lookup", "verify"):
            measured = http[who][load]
            assert len(measured["slices_rps"]) == suite_http.SLICES, (who, load)
            assert measured["requests"] > 0
            assert measured["server_cpu_us_per_answer"] > 0, (who, load)  # read from /proc
    for load in ("lookup", "verify"):  # each round's ratio, for the run's spread
        assert len(http["ratio_by_round"][load]["govshare/bare"]) == suite_http.SLICES
        assert http["cpu_ratio"][load]["govshare/bare"] > 0


def test_ratio_by_round_pairs_the_slices_of_one_round() -> None:
    gov = Load(600, 3.0, 0, 2.0, 9.0, slices=(200.0, 150.0, 250.0))
    bare = Load(1200, 3.0, 0, 1.0, 4.0, slices=(400.0, 500.0, 0.0))
    # the third round's bare slice answered nothing: no ratio for it, not a division by 0
    assert suite_http.by_round(gov, bare) == [0.5, 0.3]


def test_server_cpu_is_summed_over_slices_and_compared_per_answer() -> None:
    gov = suite_http.combined(
        [
            Load(100, 1.0, 0, 2.0, 9.0, server_cpu_s=0.05),
            Load(300, 1.0, 0, 2.0, 9.0, server_cpu_s=0.15),
        ]
    )
    assert gov.server_cpu_s == 0.2 and suite_http.cpu_us_per_answer(gov) == 500.0
    bare = Load(1000, 2.0, 0, 1.0, 4.0, server_cpu_s=0.2)  # 200 us an answer
    assert suite_http.cpu_ratio(gov, bare) == 0.4  # bare's CPU per answer over govshare's
    # a slice whose CPU could not be read leaves the whole without a figure, not a part
    partial = suite_http.combined(
        [Load(100, 1.0, 0, 2.0, 9.0, server_cpu_s=0.05), Load(100, 1.0, 0, 2.0, 9.0)]
    )
    assert partial.server_cpu_s is None and suite_http.cpu_us_per_answer(partial) is None
    assert suite_http.cpu_ratio(partial, bare) is None


def test_slices_combine_into_answers_over_measured_seconds() -> None:
    slices = [Load(100, 1.0, 0, 2.0, 9.0), Load(300, 2.0, 0, 4.0, 7.0), Load(50, 1.0, 0, 3.0, 8.0)]
    total = suite_http.combined(slices)
    assert (total.requests, total.seconds, total.errors) == (450, 4.0, 0)
    assert total.rps == 112.5  # not the mean of the slices' rates (116.7)
    assert (total.p50_ms, total.p99_ms) == (3.0, 8.0)
    assert total.slices == (100.0, 150.0, 50.0)


def test_process_contenders_run_in_turn_and_a_failed_one_is_not_run_again() -> None:
    calls: list[tuple[str, int]] = []

    def contender(name: str, seconds: float, fail_in: int | None = None) -> Any:
        def run(r: int) -> Measured:
            calls.append((name, r))
            if r == fail_in:
                raise ContenderFailed(f"{name} broke")
            return Measured(seconds + r, 10.0 + r, {"round": r})

        return run

    out = in_turn(
        {"a": contender("a", 1.0), "b": contender("b", 2.0, 1), "c": contender("c", 3.0)}, 3
    )
    # each round starts with the next contender; b failed in round 1 and was dropped
    assert calls == [
        *(("a", 0), ("b", 0), ("c", 0)),
        *(("b", 1), ("c", 1), ("a", 1)),
        *(("c", 2), ("a", 2)),
    ]
    assert out["b"] == "b broke"
    a = out["a"]
    assert isinstance(a, Measured)
    assert (a.seconds, a.peak_rss_mb) == (2.0, 12.0)  # mean time, highest peak
    assert a.result == {"round": 2, "runs_seconds": [1.0, 2.0, 3.0]}


def test_check_shape_refuses_other_shapes() -> None:
    good = {
        "machine": "m",
        "when": "2026-01-01T00:00:00+00:00",
        "benchmarks": [
            {
                "name": "x",
                "unit": "req/s",
                "value": 2.0,
                "baseline": "y",
                "baseline_value": 1.0,
                "ratio": 2.0,
                "target_ratio": 1.0,
                "met": True,
            }
        ],
    }
    check_shape(good)
    for broken in (
        {**good, "extra": 1},
        {**good, "benchmarks": [{**good["benchmarks"][0], "met": "yes"}]},
        {**good, "benchmarks": [{**good["benchmarks"][0], "value": None}]},
    ):
        with pytest.raises(ValueError):
            check_shape(broken)


def test_the_run_script_is_documented() -> None:
    root = Path(__file__).resolve().parents[2]
    assert "bench/run" in (root / "README.md").read_text(encoding="utf-8")
    assert "bench/run" in (root / "docs" / "performance.md").read_text(encoding="utf-8")
