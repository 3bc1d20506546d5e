"""The B2–B5 benchmarks at toy sizes: they build what they say, check it, and report in their own
section of docs/benchmarks.md. Timings are never asserted here; they belong in docs/benchmarks.md."""

import json
from pathlib import Path

import pytest

from benchmarks import http_load, results, service_scale, verify_bundle
from lottery.bundle import read_bundle
from lottery.bundle import verify_bundle as check_bundle


def test_each_section_is_replaced_in_place_and_sections_keep_their_order(tmp_path: Path) -> None:
    page = tmp_path / "benchmarks.md"
    results.write_section("B3", "## B3\n\nfirst", page)
    results.write_section("B1", "## B1\n\nfirst", page)
    results.write_section("B5", "## B5\n\nfirst", page)
    results.write_section("B3", "## B3\n\nsecond", page)
    text = page.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks")
    assert text.index("<!-- B1 begin -->") < text.index("<!-- B3 begin -->") < text.index("<!-- B5 begin -->")
    assert "second" in text and text.count("<!-- B3 begin -->") == 1 and "## B3\n\nfirst" not in text
    with pytest.raises(ValueError, match="unknown section"):
        results.write_section("B9", "x", page)


@pytest.mark.parametrize("drand", [False, True], ids=["dice", "drand-657413"])
def test_the_verify_benchmark_builds_a_bundle_that_verifies(tmp_path: Path, drand: bool) -> None:
    bundle = verify_bundle.build_bundle(2000, tmp_path, drand=drand)
    report = check_bundle(read_bundle(bundle.zip_path))
    assert report.ok, [check.line() for check in report.checks if check.outcome == "fail"]
    assert len(json.loads((tmp_path / "result.json").read_bytes())["stages"][0]["selected"]) == 20
    assert verify_bundle.time_verify_cli(bundle, 1).seconds
    assert verify_bundle.time_draw_cli(bundle, 1).seconds  # and the CLI draws the very same result


WRK_OUTPUT = """Running 3s test @ http://127.0.0.1:40000/hello
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    10.61ms    8.21ms  83.02ms   86.55%
    Req/Sec     3.13k   423.17     4.03k    70.00%
  Latency Distribution
     50%    8.14ms
     75%   12.43ms
     90%   19.65ms
     99%   1.05s
  18648 requests in 3.01s, 2.85MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:   6189.18
Transfer/sec:      0.95MB
"""


def test_the_http_benchmark_reads_wrk_and_counts_every_error(monkeypatch: pytest.MonkeyPatch) -> None:
    class Completed:
        stdout, stderr = WRK_OUTPUT, ""

    class Answer:
        def __enter__(self) -> "Answer":
            return self

        def __exit__(self, *args: object) -> None:
            return None

        def read(self) -> bytes:
            return b"hello, world\n"

    monkeypatch.setattr(http_load.subprocess, "run", lambda *a, **k: Completed())
    monkeypatch.setattr(http_load.urllib.request, "urlopen", lambda *a, **k: Answer())
    load = http_load.run_wrk("minimal", "http://127.0.0.1:40000", "/hello", 3)
    assert (load.requests, load.rate, load.p50_ms, load.p99_ms) == (18648, 6189.18, 8.14, 1050.0)
    assert load.errors == 7 and load.bytes_per_response == 13
    with pytest.raises(ValueError, match="loopback"):
        http_load.run_wrk("elsewhere", "http://example.org", "/", 1)


@pytest.mark.slow
def test_the_scale_benchmark_runs_the_service_end_to_end_on_sqlite(tmp_path: Path) -> None:
    from tests.fixtures.declarations.make_fixtures import write_large_csv

    csv_path = write_large_csv(tmp_path / "declarations.csv", 1500)
    (tmp_path / "sqlite").mkdir()
    measured = service_scale.measure("sqlite", csv_path, tmp_path / "sqlite")
    assert measured["bundle_verified"] and measured["failed_checks"] == []
    assert measured["entries"] == 1500 and measured["selected"] == [150, 3]  # 10% up, then 2% of those up
    assert set(measured["steps"]) == set(service_scale.STEPS)
    assert measured["peak_bytes"] > 0
    assert set(measured["floors"]) == {"bare", "indexed", "keyed"} and min(measured["floors"].values()) > 0
