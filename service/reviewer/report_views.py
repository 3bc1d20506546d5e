"""The annual report of the user's office: page (with a print stylesheet), CSV and XLSX."""

from typing import Any

from flask import Response, abort, render_template
from flask_login import current_user

from service.access import role_required
from service.extensions import db
from service.reports import annual_report, outcome_chart_svg, report_csv, report_rows, report_xlsx, report_years
from service.reviewer import reviewer_blueprint as bp
from service.reviewer.loading import VIEWERS
from service.web import redirect_to

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.route("/reports")
@role_required(*VIEWERS)
def reports() -> Any:
    """The newest year's report (or a page saying there is none yet)."""
    years = report_years(db.session, current_user.office_id)
    if years:
        return redirect_to("reviewer.report", roc_year=years[0])
    return render_template("reviewer/report.html", report=None, years=[], rows=[], chart=None)


def _report(roc_year: int) -> Any:
    if roc_year not in report_years(db.session, current_user.office_id):
        abort(404)
    return annual_report(db.session, roc_year, current_user.office_id)


@bp.route("/reports/<year:roc_year>")
@role_required(*VIEWERS)
def report(roc_year: int) -> Any:
    """The year's report as a page."""
    figures = _report(roc_year)
    return render_template(
        "reviewer/report.html",
        report=figures,
        rows=report_rows(figures)[1:],
        chart=outcome_chart_svg(figures),
        years=report_years(db.session, current_user.office_id),
    )


def _download(data: bytes, mimetype: str, filename: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.route("/reports/<year:roc_year>.csv")
@role_required(*VIEWERS)
def report_csv_file(roc_year: int) -> Response:
    """The year's report as CSV."""
    return _download(report_csv(_report(roc_year)), "text/csv", f"review-report-{roc_year}.csv")


@bp.route("/reports/<year:roc_year>.xlsx")
@role_required(*VIEWERS)
def report_xlsx_file(roc_year: int) -> Response:
    """The year's report as XLSX."""
    return _download(report_xlsx(_report(roc_year)), XLSX, f"review-report-{roc_year}.xlsx")
