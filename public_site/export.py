"""`flask export-site OUT/`: the public site as static files for any web server or CDN.

Every public page is rendered by the application itself (through its test client, anonymous, so
exactly what a visitor sees) and every link in it is rewritten to a relative path, so the folder
works wherever it is served from, under any path. Pages become `<path>/index.html`; the zh-TW
site sits at the root and the English one under `en/`; the published files keep their protocol §11
paths (`draws/<id>/bundle.zip`, `log/checkpoint`, the log's tiles `log/tile/…`), and the verify page fetches
`../bundle.zip` relative to itself. Absolute addresses that must stay absolute (QR codes, the
commands on the verify and log pages) use `--base-url`, the address the copy will be served at.
"""

import contextvars
import posixpath
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from flask.testing import FlaskClient
from sqlalchemy import select

from lottery.tiles import Tile, tiles_for_size
from service.extensions import db, session
from service.models import Draw

LANGUAGES = ("zh", "en")
#: JSON endpoints get a `.json` name so that any server sends them with the right type.
RENAMED = {"/log/entries": "log/entries.json", "/api/v1/draws": "api/v1/draws.json"}
_ATTRIBUTE = re.compile(r'(\s(?:href|src|data-[a-z-]*url)=")([^"]*)(")')
MAX_LOG_PAGE = 1000


class ExportError(RuntimeError):
    """A page or file could not be rendered for the export."""


@dataclass
class SiteMap:
    """Which URL paths are pages and which are files, and where each goes in the output folder."""

    pages: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    prefix: str = ""

    def page_file(self, path: str, lang: str) -> str:
        """`/draws/x` → `draws/x/index.html` (under `en/` for English)."""
        inner = path.strip("/")
        name = f"{inner}/index.html" if inner else "index.html"
        return name if lang == "zh" else f"en/{name}"

    def file_name(self, path: str) -> str:
        """Where a published file is written (JSON API answers get a `.json` name)."""
        if path in RENAMED:
            return RENAMED[path]
        return path.lstrip("/") + (".json" if path.startswith("/api/") else "")

    def target(self, url: str, lang: str) -> str | None:
        """The output file a link points at, or None when it is not part of the export."""
        parts = urlsplit(url)
        if parts.scheme or parts.netloc or not parts.path.startswith("/"):
            return None
        path = parts.path
        if self.prefix and (path == self.prefix or path.startswith(self.prefix + "/")):
            path = path[len(self.prefix) :] or "/"
        if path in self.pages:
            return self.page_file(path, lang)
        if path in self.files or path in RENAMED or path.startswith("/static/"):
            return self.file_name(path)
        return None


def relative(target: str, current: str) -> str:
    """The relative link from the file `current` to the file `target` (both relative to the root)."""
    return posixpath.relpath(target, posixpath.dirname(current) or ".")


def rewrite_links(html: str, site: SiteMap, path: str, lang: str) -> str:
    """Point every internal link of a rendered page at the exported files, relatively."""
    current = site.page_file(path, lang)

    def replace(match: re.Match[str]) -> str:
        value = match.group(2).replace("&amp;", "&")
        if value.startswith("?lang="):
            chosen = value.split("=", 1)[1]
            if chosen in LANGUAGES:
                return match.group(1) + relative(site.page_file(path, chosen), current) + match.group(3)
        target = site.target(value, lang)
        if target is None:
            return match.group(0)
        fragment = "#" + value.split("#", 1)[1] if "#" in value else ""
        return match.group(1) + relative(target, current) + fragment + match.group(3)

    return _ATTRIBUTE.sub(replace, html)


def _get(client: FlaskClient, path: str, base_url: str, **query: str) -> bytes:
    response = client.get(path, base_url=base_url, query_string=query or None)
    if response.status_code != 200:
        raise ExportError(f"{path} answered {response.status_code}")
    return response.get_data()


def site_map(prefix: str) -> SiteMap:
    """The pages and files of every published draw (drafts are never exported)."""
    site = SiteMap(prefix=prefix)
    site.pages += ["/", "/how-it-works", "/log"]
    _add_statistics(site)
    site.files += ["/keys/office.vkey", "/log/checkpoint"]
    for draw in db.session.scalars(select(Draw).where(Draw.status != "draft").order_by(Draw.draw_id)):
        base = f"/draws/{draw.draw_id}"
        site.pages += [base, f"{base}/verify", f"{base}/live"]
        site.files += [f"{base}/population.tsv", f"{base}/announcement.json", f"{base}/announcement.json.sig"]
        site.files += [f"{base}/live.json", f"/api/v1/draws/{draw.draw_id}"]
        if draw.status == "completed":
            site.files += [f"{base}/result.json", f"{base}/result.json.sig", f"{base}/bundle.zip"]
    return site


def _add_statistics(site: SiteMap) -> None:
    """The yearly review statistics (public_site/statistics.py): a page and a JSON file per year."""
    from service.reports import report_years

    site.pages.append("/statistics")
    for year in report_years(session(), public=True):  # the years an announced draw made public
        site.pages.append(f"/statistics/{year}")
        site.files.append(f"/api/v1/stats/{year}")


def export_site(app: Flask, out: Path, base_url: str) -> list[str]:
    """Write the static public site into `out`; returns the files written (relative paths).

    Runs in an empty `contextvars.Context`: under `flask` commands an application context is
    already active, and requests made inside it would share its `g` (and so one cached
    language for every page).
    """
    return contextvars.Context().run(_export_site, app, out, base_url)


def _export_site(app: Flask, out: Path, base_url: str) -> list[str]:
    base_url = base_url.rstrip("/") + "/"
    prefix = urlsplit(base_url).path.rstrip("/")
    written: list[str] = []

    def write(name: str, data: bytes) -> None:
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written.append(name)

    with app.app_context():
        site = site_map(prefix)
    client = app.test_client()
    for lang in LANGUAGES:
        for path in site.pages:
            html = _get(client, path, base_url, lang=lang).decode("utf-8")
            write(site.page_file(path, lang), rewrite_links(html, site, path, lang).encode("utf-8"))
    for path in site.files:
        try:
            write(site.file_name(path), _get(client, path, base_url))
        except ExportError:
            if path not in ("/keys/office.vkey", "/log/checkpoint"):  # absent before the first key
                raise
    write(RENAMED["/api/v1/draws"], _get(client, "/api/v1/draws", base_url))
    write(RENAMED["/log/entries"], _get(client, "/log/entries", base_url, start="0"))
    for tile in _tiles_of(out / "log" / "checkpoint"):
        write(f"log/{tile.path()}", _get(client, f"/log/{tile.path()}", base_url))
    for folder, url_path in ((Path(app.static_folder or ""), "static"), (_public_static(app), "static/public")):
        for source in sorted(folder.rglob("*")):
            if source.is_file():
                name = f"{url_path}/{source.relative_to(folder).as_posix()}"
                (out / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, out / name)
                written.append(name)
    return written


def _tiles_of(checkpoint: Path) -> list[Tile]:
    """Every tile and entry bundle (C2SP tlog-tiles, docs/tiles.md) of the exported checkpoint's
    tree, full and partial: the checkpoint was fetched first, so a log that grew since still has
    them all (a narrower partial tile is served for as long as the log exists)."""
    if not checkpoint.exists():
        return []
    lines = checkpoint.read_text(encoding="utf-8").split("\n")
    return tiles_for_size(int(lines[1])) if len(lines) > 1 and lines[1].isdigit() else []


def _public_static(app: Flask) -> Path:
    blueprint = app.blueprints["public"]
    return Path(blueprint.static_folder or "")


@click.command("export-site")
@with_appcontext
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--base-url",
    default=None,
    help="the address the copy will be served at, for QR codes and commands (default: SUNSHINE_PUBLIC_URL)",
)
def export_site_command(out: Path, base_url: str | None) -> None:
    """Write the public site (pages, published files, verifier, assets) as static files into OUT."""
    from service.config import settings_of

    app = current_app._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy typed as Flask
    chosen = base_url or settings_of(app).public_base_url
    if not urlsplit(chosen).scheme:
        raise click.ClickException("--base-url must be an absolute address such as https://ethics.example.gov.tw/draws")
    out.mkdir(parents=True, exist_ok=True)
    try:
        written = export_site(app, out, chosen)
    except ExportError as exc:
        raise click.ClickException(f"the export stopped: {exc}") from None
    click.echo(f"wrote {len(written)} files to {out} (served at {chosen})")


def register_export_command(app: Flask) -> None:
    """Attach `flask export-site` (called from `service.create_app`, beside `service.cli.register_commands`)."""
    app.cli.add_command(export_site_command)
