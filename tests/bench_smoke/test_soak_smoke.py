"""The soak tool keeps working (issue 8, section 7; the soak itself is not in CI): its paced
load and its sampling of the server process (bench/paced.py), its summary, and the "Soak"
section it writes into docs/performance.md, against a small keep-alive server of this test
(the platform set-up it shares with the benchmark is exercised by test_bench_smoke). It
asserts what ran and what was counted, never a time or a rate."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from bench import paced, soak
from bench.loadgen import Load, Request
from bench.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
SERVER = """
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 65536  # one write per answer
    def do_GET(self):
        ok = self.headers.get("X-Purpose") == "soak" and not self.path.endswith("=bad")
        body = b'{"ok": true}'
        self.send_response(200 if ok else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""
REQUESTS = [Request("GET", f"/records?key={k}") for k in ("a", "b", "c", "bad")]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    script = tmp_path_factory.mktemp("soak") / "server.py"
    script.write_text(SERVER, encoding="utf-8")
    port = free_port()
    cmd = [sys.executable, str(script), str(port)]
    proc = subprocess.Popen(cmd)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        assert paced.server_pid(cmd) == proc.pid
        yield base, proc.pid
    finally:
        proc.terminate()
        proc.wait()


def check_paced(done: paced.Paced) -> None:
    assert done.requests > 0
    # the requests cycle in order, one in four is the 404 (give or take the requests in
    # flight as the run stops)
    assert done.connect == done.read == done.write == done.timeouts == 0
    assert set(done.codes) == {"404"} and done.non_2xx == done.codes["404"]
    assert abs(done.non_2xx - done.requests // 4) <= 4
    assert sum(done.answers) == done.requests and sum(done.failures) == done.non_2xx


def test_the_paced_python_load_counts_answers_and_samples_the_server(
    server: tuple[str, int], tmp_path: Path
) -> None:
    base, pid = server

    def load() -> paced.Paced:
        return paced.paced_python(
            base, REQUESTS, {"X-Purpose": "soak"}, connections=4, duration=1.0, rate=40.0
        )

    done, samples = paced.sampled(pid, 0.2, load)
    check_paced(done)
    assert len(samples) >= 2 and all(s.rss_kib > 0 and s.threads >= 1 for s in samples)

    results, doc = tmp_path / "results", tmp_path / "performance.md"
    opts = soak.parse(
        ["--no-latest", "--results-dir", str(results), "--doc", str(doc), "--duration", "1"]
    )
    shutil.copy(ROOT / "docs" / "performance.md", doc)
    result = soak.summarise(
        opts,
        when=datetime.now(UTC),
        machine="test machine",
        info={},
        peak=Load(requests=100, seconds=2.0, errors=0, p50_ms=1.0, p99_ms=2.0),
        rate=40.0,
        paced=done,
        samples=samples,
        before=samples[0],
        alive=True,
        extra={"load_average": [0.0, 0.0], "server_log": "-", "run_dir": "-", "total_seconds": 1},
    )
    assert result["criteria"]["zero_errors"] == {
        "target": 0,
        "value": done.non_2xx,
        "met": False,
    }
    assert result["passed"] is False  # the 404s are errors
    assert result["soak"]["errors"]["status_codes"] == {"404": done.non_2xx}

    original = doc.read_text(encoding="utf-8")
    path = soak.write(result, opts)
    assert path.parent == results and path.name.startswith("soak-")
    assert not (results / "soak-latest.json").exists()
    once = doc.read_text(encoding="utf-8")
    soak.write(result, opts)
    twice = doc.read_text(encoding="utf-8")
    assert once == twice  # the section between the markers is replaced, not appended
    assert once.count(soak.BEGIN) == 1 and once.count(soak.END) == 1
    assert "**Failed** (not met: zero_errors" in once
    head, _, rest = original.partition(soak.BEGIN)
    _, _, tail = rest.partition(soak.END)
    assert once.startswith(head + soak.BEGIN) and once.endswith(soak.END + tail)


def test_the_section_is_added_when_the_doc_has_none(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("# Performance\n", encoding="utf-8")
    soak.update_doc(doc, "result one")
    soak.update_doc(doc, "result two")
    text = doc.read_text(encoding="utf-8")
    assert text == f"# Performance\n\n## Soak\n\n{soak.BEGIN}\nresult two\n{soak.END}\n"


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (CI has none)")
def test_the_wrk_script_counts_answers_and_non_2xx(server: tuple[str, int], tmp_path: Path) -> None:
    base, _ = server
    done = paced.paced_wrk(
        base,
        REQUESTS,
        {"X-Purpose": "soak"},
        connections=4,
        duration=1.0,
        rate=40.0,
        work_dir=tmp_path,
    )
    check_paced(done)


def test_the_soak_is_documented() -> None:
    assert "bench/soak" in (ROOT / "README.md").read_text(encoding="utf-8")
    doc = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    assert "bench/soak" in doc and soak.BEGIN in doc and soak.END in doc
