"""The command line, through Typer's runner, against a real database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from govshare.cli.main import app
from govshare.config import Settings, get_settings

runner = CliRunner()


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("GOVSHARE_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("GOVSHARE_VAR_DIR", str(settings.var_dir))
    get_settings.cache_clear()
    yield settings
    get_settings.cache_clear()


@pytest.mark.req("SZ-15.2", "SQ-19")
def test_calendar_add_examples(cli_env: Settings) -> None:
    r = runner.invoke(app, ["calendar", "add", "2026-09-30", "5"])
    assert r.exit_code == 0 and r.stdout.strip() == "2026-10-13"
    r = runner.invoke(app, ["calendar", "add", "2026-11-21", "1"])
    assert r.exit_code == 0 and r.stdout.strip() == "2026-11-23"
    r = runner.invoke(app, ["calendar", "add", "2026-12-25", "10"])
    assert r.exit_code != 0 and "2027" in r.output
    r = runner.invoke(app, ["calendar", "add", "2026-12-25", "10", "--provisional"])
    assert r.exit_code == 0 and "provisional" in r.stdout and "2027-01-08" in r.stdout


def test_calendar_load_makes_the_year_known(cli_env: Settings, tmp_path: Path) -> None:
    f = tmp_path / "2027.yaml"
    f.write_text(
        "year: 2027\nsource: 测试通知\nholidays:\n  - {date: 2027-01-01, name: 元旦}\n"
        "adjusted_working_days: []\n",
        encoding="utf-8",
    )
    r = runner.invoke(app, ["calendar", "load", str(f)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["calendar", "add", "2026-12-25", "10"])
    assert r.exit_code == 0 and r.stdout.strip() == "2027-01-11"
    bad = tmp_path / "bad.yaml"
    bad.write_text("year: 2028\nsource: x\nholidays: [2027-05-01]\n", encoding="utf-8")
    r = runner.invoke(app, ["calendar", "load", str(bad)])
    assert r.exit_code != 0 and "holidays[0]" in r.output


@pytest.mark.req("SQ-25", "HB-27", "YX-25")
def test_audit_verify_exit_codes(cli_env: Settings) -> None:
    runner.invoke(app, ["calendar", "add", "2026-09-30", "5"])
    r = runner.invoke(app, ["audit", "checkpoint"])
    assert r.exit_code == 0 and "checkpoint at seq 0" in r.stdout
    r = runner.invoke(app, ["audit", "verify"])
    assert r.exit_code == 0 and r.stdout.startswith("audit chain OK: 1 entries")


@pytest.mark.req("NX-33")
def test_audit_purge_refused_inside_retention(cli_env: Settings) -> None:
    r = runner.invoke(app, ["audit", "purge", "--before", "2026-11-01"])
    assert r.exit_code != 0 and "184" in r.output  # NX-33: the strictest profile wins


def test_profiles_show_prints_cited_values(cli_env: Settings) -> None:
    r = runner.invoke(app, ["profiles", "show", "shuozhou"])
    assert r.exit_code == 0 and "SZ-15" in r.stdout
    r = runner.invoke(app, ["profiles", "list"])
    assert r.exit_code == 0 and all(
        n in r.stdout for n in ("suqian", "shuozhou", "yixing", "hubei", "neixiang", "default")
    )
    assert runner.invoke(app, ["profiles", "show", "nowhere"]).exit_code != 0


def test_bad_profile_stops_startup(
    cli_env: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from govshare.rules.loader import profile_source

    src = profile_source("shuozhou", None)
    broken = src.replace("days: 2", 'days: "two"', 1)
    assert broken != src
    d = tmp_path / "profiles"
    d.mkdir()
    (d / "shuozhou.yaml").write_text(broken, encoding="utf-8")
    monkeypatch.setenv("GOVSHARE_PROFILE_DIR", str(d))
    get_settings.cache_clear()
    r = runner.invoke(app, ["calendar", "add", "2026-09-30", "5"])
    assert r.exit_code == 2
    assert "shuozhou.yaml" in r.output and "days" in r.output
    from govshare.rules import ProfileError
    from govshare.web.app import create_app

    with pytest.raises(ProfileError) as err:
        create_app(get_settings())
    assert "shuozhou.yaml" in str(err.value) and "days" in str(err.value)


def test_demo_twice_changes_nothing(cli_env: Settings) -> None:
    r = runner.invoke(app, ["demo", "--no-data"])
    assert r.exit_code == 0 and "seeded the demo city" in r.stdout and "admin" in r.stdout
    r = runner.invoke(app, ["demo", "--no-data"])
    assert r.exit_code == 0 and "unchanged" in r.stdout


def test_loading_a_year_runs_the_recompute_hooks(settings: Settings, tmp_path: Path) -> None:
    from datetime import date

    from govshare.kernel.actor import Actor
    from govshare.platform import Platform
    from govshare.rules import calendar as cal_mod

    seen: list[tuple[int, date]] = []

    def hook(tx, cal, year):  # type: ignore[no-untyped-def]
        seen.append((year, cal.add_working_days(date(2026, 12, 25), 10).day))

    f = tmp_path / "2027.yaml"
    f.write_text("year: 2027\nsource: 测试\nholidays: [2027-01-01]\n", encoding="utf-8")
    p = Platform.open(settings)
    try:
        cal_mod.load_year(p.db, f, actor=Actor.system("test"), recompute=[hook])
    finally:
        p.close()
    assert seen == [(2027, date(2027, 1, 11))]
