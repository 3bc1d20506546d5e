"""The ticket chart stays readable at 244 entries and light at 100,000."""

import hashlib

from lottery.draw import ticket
from public_site.chart import MAX_DOTS, build_chart, position


def _draw(size: int, quota: int) -> tuple[list[tuple[str, str]], dict, dict]:
    population = [(f"114-{i:06d}", "regular" if i % 3 else "non-regular") for i in range(size)]
    seed = hashlib.sha256(b"chart").hexdigest()
    ranked = sorted((ticket(seed, "review", i), i, s) for i, s in population)[:quota]
    announcement = {"stages": [{"name": "review", "from": "population", "quota": {"*": quota}}]}
    result = {
        "seed": seed,
        "stages": [
            {
                "name": "review",
                "groups": [{"key": "*", "size": size, "quota": quota, "threshold": ranked[-1][0]}],
                "selected": [{"id": i, "stratum": s, "ticket": t, "rank": n + 1} for n, (t, i, s) in enumerate(ranked)],
            }
        ],
    }
    return population, announcement, result


def test_small_draw_draws_one_dot_per_entry_with_its_threshold() -> None:
    population, announcement, result = _draw(244, 25)
    (stage,) = build_chart(population, announcement, result, "%(group)s", "%(group)s zoom")
    (group,) = stage.groups
    assert str(group.svg).count("<circle") == 244 and str(group.svg).count("dot-selected") == 25
    assert group.threshold == position(bytes.fromhex(result["stages"][0]["groups"][0]["threshold"]))
    assert all(selected == (where <= group.threshold) for where, _, _, selected in group.members)


def test_large_draw_is_drawn_as_density_not_as_a_hundred_thousand_nodes() -> None:
    population, announcement, result = _draw(100_000, 10_000)
    (stage,) = build_chart(population, announcement, result, "%(group)s", "%(group)s zoom")
    svg = str(stage.groups[0].svg)
    assert stage.dense and "<circle" not in svg and svg.count("<rect") < 500
    assert len(svg) < 60_000 and "bar-selected" in svg
    assert len(stage.groups[0].members) == 100_000 > MAX_DOTS
