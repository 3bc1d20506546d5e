"""zh-TW comes first: every string the code marks for translation has a Traditional Chinese translation
whose placeholders match, the catalog compiles, and pages are Chinese unless `?lang=en` is asked for."""

import io
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parents[2]
CATALOG_DIR = ROOT / "service" / "translations" / "zh_Hant_TW" / "LC_MESSAGES"
PO = CATALOG_DIR / "messages.po"
MO = CATALOG_DIR / "messages.mo"
#: The keywords of the documented extraction command (`pybabel extract -F babel.cfg -k _l -k lazy_gettext ...`).
KEYWORDS = ["-k", "_l", "-k", "lazy_gettext"]

NAMED = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrs]")
BRACES = re.compile(r"\{(\w*)\}")


def _load(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale="zh_Hant_TW" if path.suffix == ".po" else None)


def _ids(message: Message) -> list[str]:
    return list(message.id) if isinstance(message.id, (list, tuple)) else [message.id]


def _strings(message: Message) -> list[str]:
    return list(message.string) if isinstance(message.string, (list, tuple)) else [message.string]


def _named(text: str) -> set[str]:
    return {match.group(0) for match in NAMED.finditer(text)}


def _bare_percent(text: str) -> bool:
    """A `%` that is neither a named placeholder nor an escaped `%%`."""
    return "%" in NAMED.sub("", text).replace("%%", "")


@pytest.fixture(scope="session")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """What `pybabel extract` finds in the current tree, in a temporary .pot."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    command = [sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F", str(ROOT / "babel.cfg")]
    command += [*KEYWORDS, "-o", str(pot), "--no-wrap", "."]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True, timeout=120)
    return _load(pot)


@pytest.fixture(scope="session")
def chinese() -> Catalog:
    """The zh_Hant_TW catalog as committed."""
    return _load(PO)


@pytest.fixture(scope="session")
def compiled_catalog(chinese: Catalog) -> Iterator[Path]:
    """The .mo the app loads; built here when `make translations` has not (or not since the .po changed)."""
    if not MO.exists() or MO.stat().st_mtime < PO.stat().st_mtime:
        scratch = MO.with_name(f"messages.mo.{id(chinese)}.tmp")
        with scratch.open("wb") as f:
            write_mo(f, chinese)
        scratch.replace(MO)
    yield MO


def test_the_extraction_finds_python_template_and_plural_strings(extracted: Catalog) -> None:
    ids = {_ids(m)[0] for m in extracted if m.id}
    assert "Sunshine Draw" in ids  # templates
    assert "Substantive review" in ids  # lazy_gettext as _l
    assert "Please sign in again." in ids  # gettext
    assert any(m.pluralizable for m in extracted if m.id)  # ngettext in templates
    assert len(ids) > 500


def test_every_extracted_string_has_a_chinese_translation(extracted: Catalog, chinese: Catalog) -> None:
    missing, fuzzy, empty = [], [], []
    for message in extracted:
        if not message.id:
            continue
        found = chinese.get(message.id)
        if found is None:
            missing.append(_ids(message)[0])
        elif found.fuzzy:
            fuzzy.append(_ids(message)[0])
        elif not all(s.strip() for s in _strings(found)) or len(_strings(found)) < chinese.num_plurals:
            empty.append(_ids(message)[0])
    assert not chinese.fuzzy, "the catalog header is marked fuzzy"
    assert not missing, f"{len(missing)} strings are not in {PO.relative_to(ROOT)} (pybabel update): {missing}"
    assert not fuzzy, f"fuzzy translations: {fuzzy}"
    assert not empty, f"untranslated: {empty}"


def test_translations_keep_every_placeholder(chinese: Catalog) -> None:
    wrong = []
    for message in chinese:
        if not message.id or not any(_strings(message)):
            continue
        ids = _ids(message)
        wanted = set().union(*(_named(i) for i in ids))
        braces = set().union(*(set(BRACES.findall(i)) for i in ids))
        for text in _strings(message):
            if _named(text) != wanted:
                wrong.append((ids[0], text, "named placeholders"))
            if "python-brace-format" in message.flags and set(BRACES.findall(text)) != braces:
                wrong.append((ids[0], text, "{placeholders}"))
            # templates format every string, so a stray % would raise or swallow text
            if _bare_percent(text) and not any(_bare_percent(i) for i in ids):
                wrong.append((ids[0], text, "a bare % (write %%)"))
    assert not wrong, wrong


def test_the_catalog_compiles(chinese: Catalog) -> None:
    buffer = io.BytesIO()
    write_mo(buffer, chinese)
    buffer.seek(0)
    translations = Translations(buffer)
    assert translations.gettext("Sunshine Draw") == "陽光抽籤"
    assert translations.ngettext("%(num)s case", "%(num)s cases", 2) == "%(num)s 件"


@pytest.mark.usefixtures("compiled_catalog")
def test_pages_are_chinese_by_default_and_english_on_request(client: FlaskClient) -> None:
    client.delete_cookie("lang")  # a first visit: no language chosen yet
    for path in ("/", "/login"):
        chinese = client.get(path).get_data(as_text=True)
        assert '<html lang="zh-Hant-TW">' in chinese, path
        assert "陽光抽籤" in chinese and "Sunshine Draw" not in chinese, path
    assert "登入" in client.get("/login").get_data(as_text=True)

    for path in ("/?lang=en", "/login?lang=en"):
        english = client.get(path).get_data(as_text=True)
        assert '<html lang="en">' in english, path
        assert "Sunshine Draw" in english and "陽光抽籤" not in english, path
    assert "Sign in" in client.get("/login").get_data(as_text=True)  # the choice is remembered

    assert "陽光抽籤" in client.get("/login?lang=zh").get_data(as_text=True)
