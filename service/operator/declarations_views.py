"""Upload, preview, import and exclusions."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Response, abort, flash, jsonify, render_template, request
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import func, or_, select

from service.access import OPERATORS, role_required
from service.declaration_files import accepted_type_forms, template_csv, template_xlsx
from service.declarations import (
    DeclarationError,
    discard_upload,
    exclude_declarant,
    import_upload,
    include_declarant,
    mark_if_stalled,
    population_summary,
    start_upload,
    year_is_frozen,
    years,
)
from service.extensions import db, session
from service.forms import EmptyForm, ExclusionForm, UploadForm
from service.inputs import MAX_PAGE, query_int
from service.models import Declarant, DeclarationUpload, Draw
from service.operator import operator_blueprint as bp
from service.operator.loading import current_office, owned_or_404
from service.web import redirect_to

PAGE_SIZE = 100
#: How many row numbers a grouped problem lists before "…".
ROWS_SHOWN = 20
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class ProblemGroup:
    """Problems with the same message in the same column, on `rows` (empty for the whole file)."""

    column: str | None
    zh: str
    en: str
    rows: list[int]

    @property
    def shown_rows(self) -> list[int]:
        """The first `ROWS_SHOWN` rows (the page adds "…" when there are more)."""
        return self.rows[:ROWS_SHOWN]


def group_problems(problems: Sequence[Mapping[str, Any]]) -> list[ProblemGroup]:
    """Stored problems grouped by (column, message), in order of first appearance.

    The messages name the column and the value but not the row, so 34 rows refusing the same
    value are one line: "34 rows: …; rows 3, 7, 12 …".
    """
    groups: dict[tuple[Any, str, str], list[int]] = {}
    for problem in problems:
        rows = groups.setdefault((problem.get("column"), problem["zh"], problem["en"]), [])
        if problem.get("row") is not None:
            rows.append(int(problem["row"]))
    return [ProblemGroup(column, zh, en, rows) for (column, zh, en), rows in groups.items()]


def _year_asked() -> int | None:
    """The year a link back to the form carries (`?year=114`), when it is one the form accepts."""
    year = request.args.get("year", type=int)
    return year if year is not None and 80 <= year <= 200 else None


@bp.route("/")
@role_required(*OPERATORS)
def dashboard() -> Any:
    """Years, recent uploads and draws of the office."""
    office = current_office()
    uploads = db.session.scalars(
        select(DeclarationUpload)
        .where(DeclarationUpload.office_id == office.id)
        .order_by(DeclarationUpload.uploaded_at.desc())
        .limit(5)
    ).all()
    draws = db.session.scalars(
        select(Draw).where(Draw.office_id == office.id).order_by(Draw.scheduled_at.desc()).limit(10)
    ).all()
    counts = {
        year: db.session.scalar(
            select(func.count())
            .select_from(Declarant)
            .where(Declarant.office_id == office.id, Declarant.roc_year == year, Declarant.excluded_reason.is_(None))
        )
        for year in years(session(), office)
    }
    from service.integrity import self_check

    return render_template(
        "operator/dashboard.html",
        office=office,
        uploads=uploads,
        draws=draws,
        counts=counts,
        integrity_problems=self_check(session()),
    )


@bp.route("/declarations", methods=["GET", "POST"])
@role_required(*OPERATORS)
def upload() -> Any:
    """The upload form (with the accepted declaration types and the templates); a POST stores
    the file and starts validating it. The year stays filled in when the form comes back."""
    form = UploadForm()
    if request.method == "GET" and form.roc_year.data is None:
        form.roc_year.data = _year_asked()
    types = accepted_type_forms()
    if form.validate_on_submit():
        storage = form.file.data
        try:
            created = start_upload(
                session(),
                office=current_office(),
                user=current_user,
                roc_year=form.roc_year.data or 0,  # DataRequired: a year is there (`or` is for mypy)
                filename=storage.filename or "upload",
                data=storage.read(),
            )
        except DeclarationError as exc:
            flash(str(exc), "error")
            return render_template("operator/upload.html", form=form, types=types), 400
        return redirect_to("operator.upload_preview", upload_id=created.id)
    status = 400 if request.method == "POST" else 200
    return render_template("operator/upload.html", form=form, types=types), status


@bp.route("/declarations/template.csv", defaults={"kind": "csv"})
@bp.route("/declarations/template.xlsx", defaults={"kind": "xlsx"})
@role_required(*OPERATORS)
def upload_template(kind: str) -> Response:
    """The declaration list template: zh-TW headers and one example row (which the check refuses
    if it is left in), as CSV (UTF-8 with BOM) or XLSX."""
    if kind == "csv":
        data, mimetype = template_csv(), "text/csv; charset=utf-8"
    else:
        data, mimetype = template_xlsx(), XLSX
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename=declarations-template.{kind}"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/uploads/<id:upload_id>")
@role_required(*OPERATORS)
def upload_preview(upload_id: int) -> Any:
    """Progress while validating; then every problem, or the summary and the import button."""
    upload = owned_or_404(DeclarationUpload, upload_id)
    if mark_if_stalled(upload):
        db.session.commit()  # a page view that finds a dead job records it
    frozen = year_is_frozen(session(), current_office(), upload.roc_year)
    return render_template(
        "operator/upload_preview.html",
        upload=upload,
        form=EmptyForm(),
        frozen=frozen,
        problem_groups=group_problems(upload.problems or []) if upload.status == "invalid" else [],
    )


@bp.route("/uploads/<id:upload_id>/progress")
@role_required(*OPERATORS)
def upload_progress(upload_id: int) -> Any:
    """JSON for the progress bar: status, rows done, rows in all (when known)."""
    upload = owned_or_404(DeclarationUpload, upload_id)
    return jsonify({"status": upload.status, "done": upload.progress_done, "total": upload.progress_total})


@bp.route("/uploads/<id:upload_id>/import", methods=["POST"])
@role_required(*OPERATORS)
def upload_import(upload_id: int) -> Any:
    """Import a clean upload (replacing the year's declarants)."""
    upload = owned_or_404(DeclarationUpload, upload_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        import_upload(session(), upload)
    except DeclarationError as exc:
        flash(str(exc), "error")
    return redirect_to("operator.upload_preview", upload_id=upload.id)


@bp.route("/uploads/<id:upload_id>/discard", methods=["POST"])
@role_required(*OPERATORS)
def upload_discard(upload_id: int) -> Any:
    """Throw away an upload that was not imported."""
    upload = owned_or_404(DeclarationUpload, upload_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        discard_upload(upload)
    except DeclarationError as exc:
        flash(str(exc), "error")
        return redirect_to("operator.upload_preview", upload_id=upload.id)
    return redirect_to("operator.upload", year=upload.roc_year)


@bp.route("/years/<year:roc_year>")
@role_required(*OPERATORS)
def population(roc_year: int) -> Any:
    """The year's population by stratum and agency, the declarants, and the exclusions."""
    office = current_office()
    summary = population_summary(session(), office, roc_year)
    if not summary["total"]:
        abort(404)
    query_text = request.args.get("q", "").strip()[:100]
    page = query_int("page", 1, low=1, high=MAX_PAGE) or 1
    query = select(Declarant).where(Declarant.office_id == office.id, Declarant.roc_year == roc_year)
    if query_text:
        like = f"%{query_text}%"
        query = query.where(
            or_(Declarant.case_number.like(like), Declarant.name.like(like), Declarant.agency.like(like))
        )
    matching = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(
        query.order_by(Declarant.case_number).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    ).all()
    return render_template(
        "operator/population.html",
        roc_year=roc_year,
        summary=summary,
        rows=rows,
        page=page,
        pages=max(1, (matching + PAGE_SIZE - 1) // PAGE_SIZE),
        matching=matching,
        query_text=query_text,
        frozen=year_is_frozen(session(), office, roc_year),
        exclusion_form=ExclusionForm(),
        form=EmptyForm(),
    )


@bp.route("/declarants/<id:declarant_id>/exclude", methods=["POST"])
@role_required(*OPERATORS)
def exclude(declarant_id: int) -> Any:
    """Exclude a declarant from the population, with a reason."""
    declarant = owned_or_404(Declarant, declarant_id)
    form = ExclusionForm()
    if not form.validate_on_submit():
        flash(gettext("Give the reason for the exclusion (at least 4 characters)."), "error")
        return redirect_to("operator.population", roc_year=declarant.roc_year)
    try:
        exclude_declarant(session(), declarant, current_user, form.reason.data or "")  # validated: never None
    except DeclarationError as exc:
        flash(str(exc), "error")
    else:
        flash(gettext("%(case)s is excluded from the population.", case=declarant.case_number), "ok")
    return redirect_to("operator.population", roc_year=declarant.roc_year)


@bp.route("/declarants/<id:declarant_id>/include", methods=["POST"])
@role_required(*OPERATORS)
def include(declarant_id: int) -> Any:
    """Put an excluded declarant back into the population."""
    declarant = owned_or_404(Declarant, declarant_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        include_declarant(session(), declarant)
    except DeclarationError as exc:
        flash(str(exc), "error")
    else:
        flash(gettext("%(case)s is back in the population.", case=declarant.case_number), "ok")
    return redirect_to("operator.population", roc_year=declarant.roc_year)
