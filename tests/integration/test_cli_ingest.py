"""``govshare ingest``: load a file as a named user, download and resubmit quarantined rows."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from govshare.aggregation import queries as agg_queries
from govshare.audit.queries import AuditFilter, list_entries
from govshare.catalog import queries as catalog_queries
from govshare.cli.main import app
from govshare.config import Settings, get_settings
from govshare.platform import Platform
from tests.integration.aggregation.conftest import id_card, publish, write_csv
from tests.integration.catalog.conftest import City

runner = CliRunner()
HEADER = ["姓名", "公民身份号码", "性别", "出生日期", "手机号码", "月收入"]


@pytest.fixture
def cli_city(
    demo_platform: Platform, demo_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[City]:
    monkeypatch.setenv("GOVSHARE_DATABASE_URL", demo_settings.effective_database_url)
    monkeypatch.setenv("GOVSHARE_VAR_DIR", str(demo_settings.var_dir))
    get_settings.cache_clear()
    yield City(demo_platform)
    get_settings.cache_clear()


@pytest.mark.req("NX-29", "SQ-25")
def test_load_prints_the_batch_summary_and_audits_the_user(cli_city: City, tmp_path: Path) -> None:
    rid = publish(cli_city)
    with cli_city.db.read() as conn:
        code = catalog_queries.get_resource(conn, rid).code
    rows = [HEADER] + [[f"居民{i}", id_card(seq=100 + i), "1", "", "", ""] for i in range(5)]
    rows.append(["坏行", id_card(seq=200), "5", "", "", ""])
    path = write_csv(tmp_path / "人口.csv", rows, "gbk")
    r = runner.invoke(app, ["ingest", "load", code, str(path), "--as", "ga_catalog"])
    assert r.exit_code == 0, r.output
    assert f"into {code}: 6 rows, 5 loaded, 1 rejected" in r.stdout
    assert "encoding gbk" in r.stdout and "row 7: sex: not in the code list" in r.stdout
    with cli_city.db.read() as conn:
        (batch,) = agg_queries.list_batches(conn, rid)
        entries = list_entries(conn, AuditFilter(object_id=batch.id)).entries
    assert batch.actor_name == "ga_catalog" and batch.id in r.stdout
    assert {e.actor_name for e in entries} == {"ga_catalog"}  # a real person, not "cli"
    again = runner.invoke(app, ["ingest", "load", code, str(path), "--as", "ga_catalog"])
    assert again.exit_code == 0 and "duplicate" in again.stdout
    # the rejected row: download, fix, resubmit
    out = tmp_path / "rejected.csv"
    q = runner.invoke(app, ["ingest", "quarantine", batch.id, "-o", str(out), "--as", "ga_admin"])
    assert q.exit_code == 0, q.output
    assert "1 rejected rows written" in q.stdout
    table = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert table[1][0] == "7" and "性别" in table[1][-1]
    table[1][3] = "2"
    with out.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(table)
    fix = runner.invoke(app, ["ingest", "resubmit", batch.id, str(out), "--as", "ga_catalog"])
    assert fix.exit_code == 0, fix.output
    assert "1 loaded, 0 rejected" in fix.stdout and "resolved 1 rejected rows" in fix.stdout


def test_load_refuses_unknown_users_resources_and_other_departments(
    cli_city: City, tmp_path: Path
) -> None:
    rid = publish(cli_city)
    with cli_city.db.read() as conn:
        code = catalog_queries.get_resource(conn, rid).code
    path = tmp_path / "p.data"
    path.write_text(json.dumps({"姓名": "张三", "公民身份号码": id_card(seq=1)}) + "\n", "utf-8")
    r = runner.invoke(app, ["ingest", "load", code, str(path), "--as", "nobody"])
    assert r.exit_code != 0 and "nobody" in r.output
    r = runner.invoke(app, ["ingest", "load", "NO-SUCH", str(path), "--as", "ga_catalog"])
    assert r.exit_code != 0 and "NO-SUCH" in r.output
    # another department's user is refused before the file is even read
    r = runner.invoke(app, ["ingest", "load", code, str(path), "--as", "rs_admin"])
    assert r.exit_code != 0 and "not allowed" in r.output
    r = runner.invoke(
        app, ["ingest", "load", code, str(path), "--format", "jsonl", "--as", "ga_catalog"]
    )
    assert r.exit_code == 0 and "1 loaded" in r.stdout
