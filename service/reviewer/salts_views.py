"""Salts for the notices (protocol §2a): each declarant's case number and salt, so they can check that
the announced `bindings.tsv` binds their case number to them.

A page per draw (names masked; the check command with the national ID masked, the declarant
types their own) and a CSV export for the notices (full names, UTF-8 with a byte-order mark,
formula-safe). Operators, admins and reviewers of the draw's office only; each export is
recorded with who asked for it.
"""

import csv
import io
import logging
from typing import Any

from flask import Response, abort, current_app, render_template, request
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select

from public_site.pages import mask_name
from service.access import CASE_VIEWERS, role_required
from service.account.signin_views import client
from service.bindings import SaltRow, SaltsLost, salt_rows
from service.config import settings_of
from service.declaration_files import mask_national_id
from service.extensions import db, session
from service.forms import EmptyForm
from service.inputs import MAX_PAGE, query_int
from service.models import Draw
from service.operator.loading import draw_or_404
from service.reports import spreadsheet_safe
from service.reviewer import reviewer_blueprint as bp
from service.signin import record_event

log = logging.getLogger(__name__)

PAGE_SIZE = 500
#: The one-line check of protocol §2a, with the case number, salt and (masked) national ID filled in.
CHECK_COMMAND = "printf 'sunshine-draw/1 binding\\n%s\\n%s\\n%s\\n' {case} {salt} {identity} | sha256sum"


def check_command(row: SaltRow) -> str:
    """The declarant's check with their ID masked (they type their own in its place)."""
    return CHECK_COMMAND.format(case=row.case_number, salt=row.salt, identity=mask_national_id(row.national_id))


def _bound_draw(draw_id: str) -> Draw:
    draw = draw_or_404(draw_id)
    if draw.status == "draft" or draw.bindings_digest is None:
        abort(404, description=gettext("This draw has no bindings: it was not announced with them."))
    return draw


def _rows(draw: Draw) -> list[SaltRow]:
    try:
        return salt_rows(session(), settings_of(current_app), draw)
    except SaltsLost:
        log.error("draw %s: the sealed salts cannot be opened", draw.draw_id)
        abort(
            409,
            description=gettext(
                "The salts of this draw cannot be opened with this deployment's key; "
                "run `flask audit verify` and restore the deployment's SECRET_KEY."
            ),
        )


@bp.route("/salts")
@role_required(*CASE_VIEWERS)
def salts_index() -> Any:
    """The office's draws that carry bindings, each with its salts page."""
    draws = db.session.scalars(
        select(Draw)
        .where(Draw.office_id == current_user.office_id, Draw.status != "draft", Draw.bindings_digest.is_not(None))
        .order_by(Draw.scheduled_at.desc())
    ).all()
    return render_template("reviewer/salts_index.html", draws=draws)


@bp.route("/draws/<draw_id:draw_id>/salts")
@role_required(*CASE_VIEWERS)
def salts(draw_id: str) -> Any:
    """Case numbers, masked names and salts of one draw, with the check each declarant can run."""
    draw = _bound_draw(draw_id)
    rows = _rows(draw)
    wanted = request.args.get("case", "").strip()[:64]
    if wanted:
        rows = [row for row in rows if row.case_number == wanted]
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page = min(query_int("page", 1, low=1, high=MAX_PAGE) or 1, pages)
    shown = rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    return render_template(
        "reviewer/salts.html",
        draw=draw,
        rows=shown,
        total=len(rows),
        page=page,
        pages=pages,
        wanted=wanted,
        mask_name=mask_name,
        check_command=check_command,
        form=EmptyForm(),
    )


@bp.route("/draws/<draw_id:draw_id>/salts.csv", methods=["POST"])
@role_required(*CASE_VIEWERS)
def salts_csv(draw_id: str) -> Response:
    """The notices' table as CSV: case number, name, agency, salt, binding (recorded: who, when)."""
    draw = _bound_draw(draw_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    data = salts_csv_bytes(_rows(draw))
    record_event(
        session(),
        "salts.exported",
        current_user.username,
        current_user,
        client(),
    )
    db.session.commit()
    log.info("user %s exported the salts of draw %s", current_user.username, draw.draw_id)
    response = Response(data, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{draw.draw_id}-salts.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


def salts_csv_bytes(rows: list[SaltRow]) -> bytes:
    """UTF-8 with a byte-order mark (so spreadsheets read the Chinese), formula-safe cells."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([gettext("Case number"), gettext("Name"), gettext("Agency"), gettext("Salt"), gettext("Binding")])
    for row in rows:
        cells = [row.case_number, row.name, row.agency, row.salt, row.binding]
        writer.writerow([spreadsheet_safe(cell) for cell in cells])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
