"""Properties of the draw (protocol §6–§7) over random populations, stages and seeds.

- the result does not depend on the order the entries arrive in;
- adding an entry never changes another entry's ticket (nor displaces more than one pick);
- every group selects exactly its quota, and the threshold splits selected from unselected.
"""

import hashlib
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lottery.announcement import Stage, build_announcement, parse_announcement
from lottery.canonical import canonical_json
from lottery.draw import DrawInputs, commitment, run_draw, select_stage, smallest, ticket, ticket_digests
from lottery.population import parse_population, serialize_population

SECRET = "5e" * 32
INPUTS = DrawInputs(secret=SECRET, dice="314")
ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"
STRATA = ["a", "b", "non-regular"]
PROPERTY = settings(max_examples=60, deadline=None, database=None)

entry_ids = st.builds(
    lambda head, tail: head + tail, st.sampled_from(ID_ALPHABET[:62]), st.text(alphabet=ID_ALPHABET, max_size=8)
)
populations = st.dictionaries(entry_ids, st.sampled_from(STRATA), min_size=1, max_size=40).map(
    lambda d: list(d.items())
)
seeds = st.binary(min_size=32, max_size=32).map(bytes.hex)
stage_names = st.sampled_from(["review", "comparison", "x-1"])


@st.composite
def draws(draw: st.DrawFn) -> tuple[list[tuple[str, str]], list[Stage]]:
    """A population and one or two stages whose quotas can always be met."""
    entries = draw(populations)
    counts = {s: sum(1 for _, stratum in entries if stratum == s) for s in STRATA}
    present = [s for s in STRATA if counts[s]]
    if draw(st.booleans()):
        first = Stage("review", "population", {"*": draw(st.integers(0, len(entries)))})
    else:
        keys = draw(st.lists(st.sampled_from(present), min_size=1, unique=True))
        first = Stage("review", "population", {key: draw(st.integers(0, counts[key])) for key in keys})
    stages = [first]
    if draw(st.booleans()):
        if first.pooled or draw(st.booleans()):
            total = sum(first.quota.values())
            stages.append(Stage("comparison", "review", {"*": draw(st.integers(0, total))}))
        else:
            key = draw(st.sampled_from(sorted(first.quota)))
            stages.append(Stage("comparison", "review", {key: draw(st.integers(0, first.quota[key]))}))
    return entries, stages


def _run(entries: list[tuple[str, str]], stages: list[Stage]) -> dict[str, Any]:
    population = parse_population(serialize_population(entries))
    document = build_announcement(
        draw_id="property",
        title="Property test",
        office="Ethics Office",
        population=population,
        stages=stages,
        commitment=commitment(SECRET),
        dice_count=3,
        use_drand=False,
        scheduled_at=datetime(2026, 1, 15, 2, tzinfo=UTC),
        announced_at=datetime(2026, 1, 8, 2, tzinfo=UTC),
    )
    return run_draw(population, parse_announcement(document), INPUTS, "2026-01-15T02:03:04Z")


@PROPERTY
@given(plan=draws(), data=st.data())
def test_the_result_does_not_depend_on_arrival_order(
    plan: tuple[list[tuple[str, str]], list[Stage]], data: st.DataObject
) -> None:
    entries, stages = plan
    shuffled = data.draw(st.permutations(entries))
    assert canonical_json(_run(shuffled, stages)) == canonical_json(_run(entries, stages))


@PROPERTY
@given(plan=draws(), seed=seeds, data=st.data())
def test_selecting_a_stage_does_not_depend_on_member_order(
    plan: tuple[list[tuple[str, str]], list[Stage]], seed: str, data: st.DataObject
) -> None:
    entries, stages = plan
    members = [(i.encode(), s.encode()) for i, s in entries]
    shuffled = data.draw(st.permutations(members))
    assert select_stage(seed, stages[0], shuffled) == select_stage(seed, stages[0], members)


@PROPERTY
@given(entries=populations, extra=entry_ids, seed=seeds, stage=stage_names, data=st.data())
def test_adding_an_entry_never_changes_another_entrys_ticket(
    entries: list[tuple[str, str]], extra: str, seed: str, stage: str, data: st.DataObject
) -> None:
    ids = [i.encode() for i, _ in entries if i != extra]
    before = ticket_digests(seed, stage, ids)
    after = ticket_digests(seed, stage, [*ids, extra.encode()])
    assert after[: len(ids)] == before
    assert after[-1].hex() == ticket(seed, stage, extra)

    # Selection: the newcomer either takes a place (pushing out exactly the last pick) or nothing moves.
    members = [(i, b"a") for i in ids]
    k = data.draw(st.integers(0, len(members)))
    _, picks_before = select_stage(seed, Stage(stage, "population", {"*": k}), members)
    _, picks_after = select_stage(seed, Stage(stage, "population", {"*": k}), [*members, (extra.encode(), b"a")])
    assert picks_after == sorted([*picks_before, (after[-1], extra.encode(), b"a")])[:k]


@PROPERTY
@given(plan=draws())
def test_each_group_takes_exactly_its_quota_split_by_the_threshold(
    plan: tuple[list[tuple[str, str]], list[Stage]],
) -> None:
    entries, stages = plan
    result = _run(entries, stages)
    seed = result["seed"]
    from_sets: dict[str, list[tuple[str, str]]] = {"population": sorted(entries)}
    assert [stage["name"] for stage in result["stages"]] == [stage.name for stage in stages]
    for stage, published in zip(stages, result["stages"], strict=True):
        members = from_sets[stage.source]
        selected = {entry["id"] for entry in published["selected"]}
        assert [group["key"] for group in published["groups"]] == sorted(stage.quota)
        for group in published["groups"]:
            key, k, threshold = group["key"], group["quota"], group["threshold"]
            in_group = [entry_id for entry_id, stratum in members if key in ("*", stratum)]
            assert group["size"] == len(in_group)
            assert k == stage.quota[key]
            tickets = {entry_id: ticket(seed, stage.name, entry_id) for entry_id in in_group}
            chosen = [entry_id for entry_id in in_group if entry_id in selected]
            assert len(chosen) == k
            if k == 0:
                assert threshold is None
                continue
            assert threshold == max(tickets[entry_id] for entry_id in chosen)
            for entry_id, value in tickets.items():
                assert (value <= threshold) == (entry_id in selected)
        ranked = published["selected"]
        assert [entry["rank"] for entry in ranked] == list(range(1, len(ranked) + 1))
        assert len(ranked) == sum(stage.quota.values())
        assert [entry["ticket"] for entry in ranked] == sorted(entry["ticket"] for entry in ranked)
        for entry in ranked:
            assert entry["ticket"] == ticket(seed, stage.name, entry["id"])
            assert (entry["id"], entry["stratum"]) in members
        from_sets[stage.name] = [(entry["id"], entry["stratum"]) for entry in ranked]


@st.composite
def adversarial_tickets(draw: st.DrawFn) -> tuple[int, list[bytes], list[bytes]]:
    """`k`, tickets and distinct ids where tickets tie or crowd together, unlike real ones."""
    if draw(st.booleans()):
        pool = draw(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=4))
        tickets = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=150))
    else:
        tickets = draw(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=150))
    ids = draw(st.lists(st.binary(min_size=1, max_size=3), min_size=len(tickets), max_size=len(tickets), unique=True))
    return draw(st.integers(0, len(tickets))), tickets, ids


def _reference(k: int, tickets: list[bytes], ids: list[bytes]) -> list[int]:
    return sorted(range(len(tickets)), key=lambda i: (tickets[i], ids[i]))[:k]


@settings(max_examples=100, deadline=None, database=None)
@given(case=adversarial_tickets())
def test_smallest_breaks_ties_by_id_whatever_the_tickets(case: tuple[int, list[bytes], list[bytes]]) -> None:
    k, tickets, ids = case
    assert smallest(k, tickets, ids) == _reference(k, tickets, ids)


@settings(max_examples=60, deadline=None, database=None)
@given(n=st.integers(1, 3000), salt=st.binary(max_size=8), data=st.data())
def test_smallest_on_uniform_tickets(n: int, salt: bytes, data: st.DataObject) -> None:
    tickets = [hashlib.sha256(salt + i.to_bytes(4, "big")).digest() for i in range(n)]
    ids = [str(i).encode() for i in range(n)]
    k = data.draw(st.one_of(st.integers(0, min(n, 20)), st.integers(0, n)), label="k")
    assert smallest(k, tickets, ids) == _reference(k, tickets, ids)


def _plain_selection(seed: str, stage: Stage, members: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes, bytes]]:
    """protocol §7 as written: every ticket computed, each group sorted, the first k taken."""
    prefix = f"{seed} {stage.name} ".encode()
    tickets = [(hashlib.sha256(prefix + entry_id).digest(), entry_id, stratum) for entry_id, stratum in members]
    picks: list[tuple[bytes, bytes, bytes]] = []
    for key, k in stage.quota.items():
        picks.extend(sorted(pick for pick in tickets if key in ("*", pick[2].decode()))[:k])
    return sorted(picks)


def test_a_large_population_selects_what_a_plain_sort_selects() -> None:
    # Large enough that the engine may split the hashing over several processes.
    size = 250_000
    members = [(b"114-%07d" % i, b"non-regular" if i % 4 == 0 else b"regular") for i in range(size)]
    seed = hashlib.sha256(b"a large draw").hexdigest()
    for stage in (
        Stage("review", "population", {"*": 25}),
        Stage("review", "population", {"non-regular": 7, "regular": 18}),
    ):
        groups, picks = select_stage(seed, stage, members)
        assert picks == _plain_selection(seed, stage, members)
        assert [group["size"] for group in groups] == ([size] if stage.pooled else [size // 4, size - size // 4])
