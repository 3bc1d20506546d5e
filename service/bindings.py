"""Which case number is whose (protocol §2a): committed at the announcement, checked ever after.

When a draw is announced the population is frozen; each of its entries then gets a fresh salt
(16 bytes from the CSPRNG) and a binding `H(id, salt, national ID)`. `bindings.tsv` lists the
bindings in population order and the announcement carries its digest, so the office cannot
later give a drawn declarant's case number to someone else: the self-check (`flask audit
verify`) recomputes every binding from the declarants in the database and names each case
number that no longer belongs to the declarant it was bound to.

The salts are private to the office and to each declarant (they go out with the notices, from
the reviewers' page and export). They are stored only sealed, like the draw secret: AES-256-GCM
under a key derived from the deployment's SECRET_KEY, the whole list as one zlib-compressed blob
(`<case>\\t<salt>\\n` lines) so a million entries seal and open in well under a second, with the
draw id and the bindings digest as associated data so a sealed list cannot be moved to another
draw or paired with another file.
"""

import hashlib
import json
import logging
import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lottery.bindings import binding, bindings_file, new_salt, parse_bindings
from lottery.errors import ProtocolError
from lottery.population import Population, parse_population
from service.config import Settings
from service.models import Declarant, DeclarationUpload, Draw
from service.sealing import PersonalDataLost, personal_data

log = logging.getLogger(__name__)

_INFO = b"sunshine-draw sealed binding salts v1"
#: How many case numbers one draw's problems name before they are counted instead.
MAX_NAMED = 100
#: Above this many mismatches × candidates, the check does not look for where a declarant went.
_MAX_SEARCH = 2_000_000


class SaltsLost(RuntimeError):
    """The sealed salts cannot be opened (another deployment key, or a changed row)."""


@dataclass(frozen=True)
class FrozenBindings:
    """What announcing stores: `bindings.tsv`, its digest and the sealed salts."""

    data: bytes
    digest: str
    sealed_salts: bytes


def _key(deployment_secret: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(deployment_secret.encode("utf-8"))


def _aad(draw_id: str, bindings_digest: str) -> bytes:
    return f"{draw_id}\n{bindings_digest}".encode()


def seal_salts(
    pairs: Sequence[tuple[str, str]], *, draw_id: str, bindings_digest: str, deployment_secret: str
) -> bytes:
    """Seal `(case number, salt)` pairs as one blob: nonce || AES-GCM(zlib(lines))."""
    plain = zlib.compress("".join(f"{case}\t{salt}\n" for case, salt in pairs).encode("ascii"), 1)
    nonce = os.urandom(12)
    return nonce + AESGCM(_key(deployment_secret)).encrypt(nonce, plain, _aad(draw_id, bindings_digest))


def unseal_salts(sealed: bytes, *, draw_id: str, bindings_digest: str, deployment_secret: str) -> list[tuple[str, str]]:
    """The `(case number, salt)` pairs in population order; `SaltsLost` when they cannot be opened."""
    try:
        plain = AESGCM(_key(deployment_secret)).decrypt(sealed[:12], sealed[12:], _aad(draw_id, bindings_digest))
        text = zlib.decompress(plain).decode("ascii")
    except (InvalidTag, ValueError, zlib.error):
        raise SaltsLost("the sealed salts cannot be opened with this deployment's key") from None
    pairs: list[tuple[str, str]] = []
    for line in text.splitlines():
        case, _, salt = line.partition("\t")
        pairs.append((case, salt))
    return pairs


def identities(
    session: Session, office_id: int, roc_year: int, settings: Settings | None = None
) -> dict[str, list[str]]:
    """Every declarant's national ID of one office and year, by case number (a list: hand-edited
    rows may give one number to two declarants). Opened from the sealed column under the data
    key (`service.sealing`); a value that cannot be opened (moved from another office or year,
    or changed by hand) counts as an empty identity, which no binding matches."""
    query = select(Declarant.case_number, Declarant.national_id_sealed).where(
        Declarant.office_id == office_id, Declarant.roc_year == roc_year
    )
    result = session.connection().execute(query)
    try:
        rows = result.cursor.fetchall()
    finally:
        result.close()
    sealer = personal_data(settings)
    found: dict[str, list[str]] = {}
    for case, sealed in rows:
        try:
            national_id = sealer.open(sealed, office_id=office_id, roc_year=roc_year)
        except PersonalDataLost:
            national_id = ""
        found.setdefault(str(case), []).append(national_id)
    return found


def freeze_bindings(session: Session, settings: Settings, draw: Draw, population: Population) -> FrozenBindings:
    """Draw a salt for every entry of the frozen population, bind it to its declarant, seal the salts.

    Called by `announce` in the transaction that freezes the population; the caller stores the
    three values on the draw with the other fixed fields.
    """
    known = identities(session, draw.office_id, draw.roc_year, settings)
    salts: list[tuple[str, str]] = []
    bound: list[tuple[str, str]] = []
    for raw in population.ids:
        case = raw.decode("ascii")
        salt = new_salt()
        salts.append((case, salt))
        bound.append((case, binding(case, salt, known[case][0])))
    if len({salt for _, salt in salts}) != len(salts):  # 128 random bits: never, but never reuse one
        return freeze_bindings(session, settings, draw, population)
    data = bindings_file(bound)
    digest = hashlib.sha256(data).hexdigest()
    sealed = seal_salts(salts, draw_id=draw.draw_id, bindings_digest=digest, deployment_secret=settings.secret_key)
    return FrozenBindings(data=data, digest=digest, sealed_salts=sealed)


@dataclass(frozen=True)
class SaltRow:
    """One declarant's line of the notices: case number, who, salt and binding."""

    case_number: str
    name: str
    agency: str
    national_id: str
    salt: str
    binding: str


def salt_rows(session: Session, settings: Settings, draw: Draw) -> list[SaltRow]:
    """Every entry of an announced draw with its declarant and salt, in population order.

    Raises `SaltsLost` when the salts cannot be opened.
    """
    if draw.sealed_salts is None or draw.bindings_digest is None or draw.bindings_tsv is None:
        return []
    pairs = unseal_salts(
        bytes(draw.sealed_salts),
        draw_id=draw.draw_id,
        bindings_digest=draw.bindings_digest,
        deployment_secret=settings.secret_key,
    )
    bound = dict(_lines(bytes(draw.bindings_tsv)))
    people = {
        row.case_number: row
        for row in session.execute(
            select(Declarant.case_number, Declarant.name, Declarant.agency, Declarant.national_id_sealed).where(
                Declarant.office_id == draw.office_id, Declarant.roc_year == draw.roc_year
            )
        )
    }
    sealer = personal_data(settings)
    rows = []
    for case, salt in pairs:
        person = people.get(case)
        try:
            national_id = (
                sealer.open(person.national_id_sealed, office_id=draw.office_id, roc_year=draw.roc_year)
                if person
                else ""
            )
        except PersonalDataLost:
            raise SaltsLost("the national IDs cannot be opened with this deployment's data key") from None
        rows.append(
            SaltRow(
                case_number=case,
                name=person.name if person else "",
                agency=person.agency if person else "",
                national_id=national_id,
                salt=salt,
                binding=bound.get(case, ""),
            )
        )
    return rows


def _lines(data: bytes) -> list[tuple[str, str]]:
    pairs = []
    for line in data.decode("ascii", "replace").splitlines():
        case, _, bound = line.partition("\t")
        pairs.append((case, bound))
    return pairs


# ---------------------------------------------------------------------------------------------
# The self-check


def _as_bytes(value: Any) -> bytes | None:
    """Stored bytes as bytes, even if an edit behind the app's back turned them into text."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.encode("utf-8")
    return bytes(value)


def check_bindings(session: Session) -> list[str]:
    """Recompute every binding of every announced, completed or abandoned draw from the database.

    Names each case number whose declarant or identity no longer matches, a `bindings.tsv` that
    does not hash to the announced digest, and salts that cannot be opened. Never raises for a
    hand-edited row: what cannot be read is named.
    """
    from flask import current_app, has_app_context

    from service.config import settings_of

    if not has_app_context():
        return ["bindings: not checked (no application to read the deployment key from)"]
    settings = settings_of(current_app)
    problems: list[str] = []
    draws = session.execute(select(Draw.id, Draw.draw_id).where(Draw.status != "draft")).all()
    for pk, draw_id in draws:
        try:
            problems.extend(_check_draw(session, settings, pk))
        except Exception as exc:  # a hand-edited row must be named, never crash the check
            log.exception("bindings of draw %s could not be checked", draw_id)
            problems.append(f"draw {draw_id}: its bindings could not be checked ({type(exc).__name__})")
    return problems


def _announced_digest(announcement: bytes | None) -> Any:
    if announcement is None:
        return None
    try:
        document = json.loads(announcement)
    except ValueError:
        return None  # check_draws names an announcement that is not JSON
    population = document.get("population") if isinstance(document, dict) else None
    return population.get("bindings_digest") if isinstance(population, dict) else None


def _check_draw(session: Session, settings: Settings, pk: int) -> list[str]:
    row = session.execute(
        select(
            Draw.draw_id,
            Draw.office_id,
            Draw.roc_year,
            Draw.status,
            Draw.announcement,
            Draw.population_tsv,
            Draw.bindings_tsv,
            Draw.bindings_digest,
            Draw.sealed_salts,
            Draw.abandoned_at,
        ).where(Draw.id == pk)
    ).one()
    name = f"draw {row.draw_id}"
    announced = _announced_digest(_as_bytes(row.announcement))
    data, sealed = _as_bytes(row.bindings_tsv), _as_bytes(row.sealed_salts)
    if announced is None:
        if data is not None or sealed is not None or row.bindings_digest is not None:
            return [f"{name}: it stores bindings, but its announcement commits to none"]
        return []  # announced before bindings existed: nothing was committed
    if not isinstance(announced, str):
        return [f"{name}: the announced bindings digest is not a digest"]
    if data is None or sealed is None:
        return [f"{name}: its announcement commits to bindings, but its bindings.tsv or sealed salts are missing"]
    problems: list[str] = []
    if hashlib.sha256(data).hexdigest() != announced:
        return [f"{name}: the stored bindings.tsv does not match the announced bindings digest"]
    if row.bindings_digest != announced:
        problems.append(f"{name}: the stored bindings digest is not the announced one")
    try:
        bound = parse_bindings(data, parse_population(_as_bytes(row.population_tsv) or b""))
    except ProtocolError as exc:
        return [*problems, f"{name}: bindings.tsv does not list the population's case numbers: {exc}"]
    try:
        salts = unseal_salts(
            sealed, draw_id=row.draw_id, bindings_digest=announced, deployment_secret=settings.secret_key
        )
    except SaltsLost:
        return [*problems, f"{name}: its sealed salts cannot be opened with this deployment's key (changed or lost)"]
    if [case for case, _ in salts] != list(bound):
        return [*problems, f"{name}: its sealed salts do not list the population's case numbers"]
    if row.status == "abandoned" and _reimported_after(session, row.office_id, row.roc_year, row.abandoned_at):
        return problems  # the year was imported again after the draw was abandoned, as it may be
    return problems + _compare(name, bound, salts, identities(session, row.office_id, row.roc_year, settings))


def _reimported_after(session: Session, office_id: int, roc_year: int, moment: Any) -> bool:
    if moment is None:
        return False
    # An import stamps its upload when it starts (`updated_at`); one that started after the
    # abandonment replaced the year's declarants, and their case numbers with them.
    newest = session.scalar(
        select(func.max(func.coalesce(DeclarationUpload.updated_at, DeclarationUpload.uploaded_at))).where(
            DeclarationUpload.id.in_(
                select(Declarant.upload_id).where(Declarant.office_id == office_id, Declarant.roc_year == roc_year)
            )
        )
    )
    return newest is not None and newest >= moment


def _compare(name: str, bound: dict[str, str], salts: list[tuple[str, str]], known: dict[str, list[str]]) -> list[str]:
    """Each case number against its declarant now: the recomputed binding must be the committed one."""
    problems: list[str] = []
    mismatched: list[tuple[str, str]] = []
    for case, salt in salts:
        holders = known.get(case, [])
        if not holders:
            problems.append(f"{name}: case {case} no longer has a declarant")
        elif len(holders) > 1:
            problems.append(f"{name}: case {case} is held by {len(holders)} declarants")
        elif binding(case, salt, holders[0]) != bound[case]:
            mismatched.append((case, salt))
    if mismatched:
        # Where did each bound declarant go? Among the declarants whose numbers do not match
        # (a swap) or are outside the population (a renumbering), find the one whose identity
        # reproduces the binding.
        suspects = {c for c, _ in mismatched} | (set(known) - set(bound))
        candidates = [(c, ident) for c in sorted(suspects) for ident in known.get(c, [])]
        search = len(candidates) * len(mismatched) <= _MAX_SEARCH
        for case, salt in mismatched:
            went = (
                next((c for c, ident in candidates if c != case and binding(case, salt, ident) == bound[case]), None)
                if search
                else None
            )
            if went is not None:
                problems.append(
                    f"{name}: case {case} no longer belongs to the declarant it was bound to "
                    f"(that declarant now has case {went})"
                )
            else:
                problems.append(
                    f"{name}: case {case} no longer belongs to the declarant it was bound to "
                    "(its declarant or national ID was changed)"
                )
    if len(problems) > MAX_NAMED:
        rest = len(problems) - MAX_NAMED
        problems = [*problems[:MAX_NAMED], f"{name}: … and {rest} more case numbers that no longer match"]
    return problems
