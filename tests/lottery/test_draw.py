"""Draw inputs, seed and tickets (protocol §5–§8): every refusal of the inputs, and the seed's bytes."""

import copy
import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from lottery.announcement import parse_announcement
from lottery.canonical import canonical_json, digest
from lottery.draw import DrawInputs, commitment, compute_seed, parse_inputs, run_draw, seed_material, ticket
from lottery.errors import DrawRefused
from lottery.population import parse_population
from tests.lottery.test_drand import negated

DRAWS = Path(__file__).parents[1] / "vectors" / "draw"


def _load(case: str) -> tuple[bytes, dict[str, Any], dict[str, Any]]:
    folder = DRAWS / case
    return (
        (folder / "population.tsv").read_bytes(),
        json.loads((folder / "announcement.json").read_bytes()),
        json.loads((folder / "inputs.json").read_bytes()),
    )


def _draw(case: str, inputs: dict[str, Any] | None = None, *, verify_bls: bool = False, **changes: Any) -> bytes:
    """Run the vector `case`, with `inputs` replaced and announcement fields changed."""
    population, announcement, vector_inputs = _load(case)
    announcement.update(changes)
    result = run_draw(
        parse_population(population),
        parse_announcement(announcement),
        parse_inputs(vector_inputs if inputs is None else inputs),
        (DRAWS / case / "drawn_at").read_text().strip(),
        verify_bls=verify_bls,
    )
    return canonical_json(result)


def _inputs(case: str, **changes: Any) -> dict[str, Any]:
    """The vector's inputs with fields replaced (`None` removes one)."""
    inputs = copy.deepcopy(_load(case)[2])
    for name, value in changes.items():
        if value is None:
            inputs.pop(name)
        else:
            inputs[name] = value
    return inputs


STRATIFIED_DICE = "54218180078872139096"
DICE_MESSAGE = "^dice value must be exactly the announced number of digits \\(20 digits 0–9\\)$"


@pytest.mark.parametrize(
    "dice",
    [
        STRATIFIED_DICE[:-1],
        STRATIFIED_DICE + "1",
        "",
        STRATIFIED_DICE[:-1] + "a",
        STRATIFIED_DICE[:-1] + "-",
        "５４２１８１８００７８８７２１３９０９６",
        "٥" + STRATIFIED_DICE[1:],
        STRATIFIED_DICE[:10] + " " + STRATIFIED_DICE[11:],
        " " + STRATIFIED_DICE[1:],
        STRATIFIED_DICE[:19] + "\n",
        "5421 8180 0788 7213 9096",
    ],
    ids=[
        "19-digits",
        "21-digits",
        "empty",
        "letter",
        "dash",
        "full-width",
        "arabic-indic",
        "space",
        "lead",
        "nl",
        "groups",
    ],
)
def test_dice_must_be_exactly_the_announced_ascii_digits(dice: str) -> None:
    with pytest.raises(DrawRefused, match=DICE_MESSAGE):
        _draw("stratified-244", _inputs("stratified-244", dice=dice))


def test_dice_missing_when_announced_is_refused() -> None:
    with pytest.raises(DrawRefused, match=DICE_MESSAGE):
        _draw("stratified-244", _inputs("stratified-244", dice=None))


def test_dice_as_a_number_is_refused() -> None:
    with pytest.raises(DrawRefused, match=r"^dice value must be a string of digits 0–9$"):
        parse_inputs(_inputs("stratified-244", dice=54218180078872139096))


def test_secret_that_does_not_match_the_commitment_is_refused() -> None:
    with pytest.raises(DrawRefused, match=r"^secret does not match the commitment$"):
        _draw("stratified-244", _inputs("stratified-244", secret="0" * 64))


@pytest.mark.parametrize("secret", ["A" * 64, "a" * 63, "a" * 65, "", None])
def test_secret_must_be_64_lowercase_hex(secret: str | None) -> None:
    inputs = _inputs("stratified-244")
    inputs["secret"] = secret
    with pytest.raises(DrawRefused, match=r"^secret must be 64 lowercase hex characters$"):
        parse_inputs(inputs)


def test_the_secret_is_checked_as_sent_not_case_folded() -> None:
    inputs = _inputs("stratified-244")
    assert commitment(inputs["secret"]) == _load("stratified-244")[1]["entropy"]["commitment"]
    assert commitment(inputs["secret"].upper()) != commitment(inputs["secret"])


def test_another_drand_round_is_refused() -> None:
    drand = dict(_inputs("stratified-244")["drand"], round=657414)
    with pytest.raises(DrawRefused, match=r"^drand round 657414 is not the announced round 657413$"):
        _draw("stratified-244", _inputs("stratified-244", drand=drand))


def test_randomness_that_is_not_sha256_of_the_signature_is_refused() -> None:
    drand = dict(_inputs("stratified-244")["drand"], randomness="ab" * 32)
    with pytest.raises(DrawRefused, match=r"^drand randomness is not sha256\(signature\)$"):
        _draw("stratified-244", _inputs("stratified-244", drand=drand))


def test_an_altered_bls_signature_is_refused() -> None:
    signature = negated(_inputs("stratified-244")["drand"]["signature"])
    randomness = hashlib.sha256(bytes.fromhex(signature)).hexdigest()
    drand = {"round": 657413, "randomness": randomness, "signature": signature}
    with pytest.raises(DrawRefused, match=r"^drand signature does not verify for round 657413 of quicknet$"):
        _draw("stratified-244", _inputs("stratified-244", drand=drand), verify_bls=True)
    # Only the BLS check catches it: without it the draw goes through.
    assert _draw("stratified-244", _inputs("stratified-244", drand=drand), verify_bls=False)


def test_the_real_round_draws_with_the_bls_check() -> None:
    assert _draw("drand-only", verify_bls=True) == (DRAWS / "drand-only" / "result.json").read_bytes()


@pytest.mark.parametrize(
    ("case", "changes", "message"),
    [
        ("drand-only", {"dice": "12345"}, "^dice were given but the announcement has no dice$"),
        (
            "dice-only",
            {"drand": _load("drand-only")[2]["drand"]},
            "^a drand round was given but the announcement has none$",
        ),
        ("stratified-244", {"drand": None}, "^drand round 657413 is required by the announcement$"),
        ("drand-only", {"drand": None}, "^drand round 657413 is required by the announcement$"),
    ],
    ids=["extra-dice", "extra-drand", "missing-drand", "missing-only-source"],
)
def test_sources_must_be_exactly_the_announced_ones(case: str, changes: dict[str, Any], message: str) -> None:
    with pytest.raises(DrawRefused, match=message):
        _draw(case, _inputs(case, **changes))


@pytest.mark.parametrize(
    "inputs",
    [[], "secret", {"secret": "0" * 64, "witnesses": ["a"]}, {"secret": "0" * 64, "beacon": {}}],
)
def test_inputs_with_unknown_fields_are_refused(inputs: object) -> None:
    with pytest.raises(DrawRefused, match=r"^inputs must be an object with secret and the announced dice and drand$"):
        parse_inputs(inputs)


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        (
            [
                {"name": "review", "from": "population", "quota": {"*": 2}},
                {"name": "check", "from": "review", "quota": {"*": 3}},
            ],
            "stage check asks 3 of group \\*, which has 2$",
        ),
        (
            [
                {"name": "review", "from": "population", "quota": {"*": 5}},
                {"name": "check", "from": "review", "quota": {"regular": 6}},
            ],
            "stage check asks 6 of group regular, which has [0-5]$",
        ),
        (
            [
                {"name": "review", "from": "population", "quota": {"regular": 5}},
                {"name": "check", "from": "review", "quota": {"non-regular": 1}},
            ],
            "stage check asks 1 of group non-regular, which has 0$",
        ),
    ],
    ids=["pooled", "stratified", "stratum-not-drawn"],
)
def test_a_quota_exceeding_its_group_is_refused(stages: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(DrawRefused, match=r"^a quota exceeds the size of its group: " + message):
        _draw("stratified-244", stages=stages)


def test_a_population_other_than_the_announced_one_is_refused() -> None:
    population, announcement, inputs = _load("stratified-244")
    other = parse_population(population.replace(b"114-0001\tregular", b"114-0001\tnon-regular"))
    with pytest.raises(DrawRefused, match=r"^population digest does not match the announcement$"):
        run_draw(other, parse_announcement(announcement), parse_inputs(inputs), "2026-01-15T02:03:04Z")


@pytest.mark.parametrize("drawn_at", ["2026-01-15 02:03:04", "2026-01-15T02:03:04.1Z", "2026-13-15T02:03:04Z"])
def test_drawn_at_must_be_a_utc_timestamp(drawn_at: str) -> None:
    population, announcement, inputs = _load("dice-only")
    with pytest.raises(DrawRefused, match=r"^drawn_at (must look like|is not a real date)"):
        run_draw(parse_population(population), parse_announcement(announcement), parse_inputs(inputs), drawn_at)


def test_seed_material_holds_the_announced_sources_in_order() -> None:
    _, announcement, inputs = _load("stratified-244")
    parsed = parse_inputs(inputs)
    announcement_digest = digest(announcement)
    expected = (
        "sunshine-draw/1 seed\n"
        f"announcement {announcement_digest}\n"
        f"secret {inputs['secret']}\n"
        f"dice {inputs['dice']}\n"
        f"drand 657413 {inputs['drand']['randomness']}\n"
    ).encode()
    assert seed_material(announcement_digest, parsed) == expected
    assert compute_seed(announcement_digest, parsed) == hashlib.sha256(expected).hexdigest()
    result = json.loads((DRAWS / "stratified-244" / "result.json").read_bytes())
    assert result["seed"] == hashlib.sha256(expected).hexdigest()


def test_seed_material_leaves_out_sources_not_announced() -> None:
    inputs = DrawInputs(secret="ab" * 32, dice="123")
    assert seed_material("cd" * 32, inputs) == (
        b"sunshine-draw/1 seed\nannouncement " + b"cd" * 32 + b"\nsecret " + b"ab" * 32 + b"\ndice 123\n"
    )
    assert inputs.to_json() == {"secret": "ab" * 32, "dice": "123"}


def test_commitment_follows_the_spec() -> None:
    secret = "ab" * 32
    assert commitment(secret) == hashlib.sha256(b"sunshine-draw/1 commitment\n" + secret.encode()).hexdigest()


def test_a_declarant_checks_a_ticket_with_one_shell_line() -> None:
    result = json.loads((DRAWS / "stratified-244" / "result.json").read_bytes())
    picked = result["stages"][0]["selected"][0]
    line = f"printf '%s %s %s' {result['seed']} review {picked['id']} | sha256sum"
    shell = subprocess.run(["bash", "-c", line], capture_output=True, text=True, check=True, timeout=30)
    assert shell.stdout.split()[0] == picked["ticket"] == ticket(result["seed"], "review", picked["id"])


def test_every_vector_result_lists_tickets_in_rank_order() -> None:
    result = json.loads((DRAWS / "stratified-244" / "result.json").read_bytes())
    for stage in result["stages"]:
        selected = stage["selected"]
        assert [entry["rank"] for entry in selected] == list(range(1, len(selected) + 1))
        assert selected == sorted(selected, key=lambda entry: (entry["ticket"], entry["id"].encode()))
        for entry in selected:
            assert entry["ticket"] == ticket(result["seed"], stage["name"], entry["id"])
        assert [group["key"] for group in stage["groups"]] == sorted(group["key"] for group in stage["groups"])
