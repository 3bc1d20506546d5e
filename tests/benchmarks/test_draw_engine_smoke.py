"""The draw benchmark's methods at n=1000: same sample size everywhere, same ids on our two paths.

Timings are never asserted here; they belong in docs/benchmarks.md.
"""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARK = Path(__file__).parents[2] / "benchmarks" / "draw_engine.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    """benchmarks/draw_engine.py, imported as a module (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("draw_engine_benchmark", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being created
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("stratified", [False, True], ids=["pooled", "stratified"])
def test_every_method_selects_k_and_our_two_paths_agree(bench: ModuleType, tmp_path: Path, stratified: bool) -> None:
    workload = bench.make_workload(1000, tmp_path, stratified=stratified)
    assert workload.k == (9 if stratified else 10)  # 1% of 1000; of 750 and of 250, rounded down
    picks = {method.key: method.picks(method.run(workload), workload) for method in bench.METHODS}
    assert set(picks) == {"engine", "cli", "sampler", "floor"}
    assert {key: len(ids) for key, ids in picks.items()} == dict.fromkeys(picks, workload.k)
    assert picks["engine"] == picks["cli"]
    population = set(bench.synthetic_ids(1000))
    assert all(set(ids) <= population for ids in picks.values())


def test_measure_checks_agreement_and_reports(bench: ModuleType, tmp_path: Path) -> None:
    workload = bench.make_workload(1000, tmp_path)
    results = bench.measure(list(bench.METHODS), workload, runs=1)
    bench.check_agreement(results)
    assert all(len(result.seconds) == 1 for result in results)
    table = bench.table(results)
    assert table.count("\n") == 1 + len(bench.METHODS)
    assert len(bench.ratios(results)) == 2
