"""The office's report to its council, for a year or a period: page (with a print stylesheet), CSV
and XLSX — three renderings of the same tables (`service.reports.report_tables`)."""

from typing import Any

from flask import Response, abort, render_template, request
from flask_login import current_user

from service.access import CASE_VIEWERS, role_required
from service.extensions import session
from service.reports import (
    CouncilReport,
    Period,
    ReportError,
    council_report,
    latest_year,
    parse_period,
    report_csv,
    report_tables,
    report_title,
    report_xlsx,
    report_years,
    roc_short,
    scope_note,
)
from service.reviewer import reviewer_blueprint as bp
from service.web import redirect_to

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _page(report: CouncilReport | None, *, status: int = 200, error: str = "", period: Period | None = None) -> Any:
    form = {
        "start": request.args.get("from", roc_short(period.start) if period else ""),
        "end": request.args.get("to", roc_short(period.end) if period else ""),
    }
    page = render_template(
        "reviewer/report.html",
        report=report,
        title=report_title(report) if report else "",
        tables=report_tables(report) if report else [],
        note=scope_note(report) if report else "",
        years=report_years(session(), current_user.office_id),
        form=form,
        error=error,
        query={"from": form["start"], "to": form["end"]},
    )
    return page, status


@bp.route("/reports")
@role_required(*CASE_VIEWERS)
def reports() -> Any:
    """The latest year that has anything to report (or a page saying there is none yet)."""
    year = latest_year(session(), current_user.office_id)
    if year is not None:
        return redirect_to("reviewer.report", roc_year=year)
    return _page(None)


def _year_report(roc_year: int) -> CouncilReport:
    if roc_year not in report_years(session(), current_user.office_id):
        abort(404)
    return council_report(session(), current_user.office_id, roc_year=roc_year)


@bp.route("/reports/<year:roc_year>")
@role_required(*CASE_VIEWERS)
def report(roc_year: int) -> Any:
    """A year's report as a page."""
    return _page(_year_report(roc_year))


def _download(data: bytes, mimetype: str, filename: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.route("/reports/<year:roc_year>.csv")
@role_required(*CASE_VIEWERS)
def report_csv_file(roc_year: int) -> Response:
    """A year's report as CSV."""
    return _download(report_csv(_year_report(roc_year)), "text/csv", f"review-report-{roc_year}.csv")


@bp.route("/reports/<year:roc_year>.xlsx")
@role_required(*CASE_VIEWERS)
def report_xlsx_file(roc_year: int) -> Response:
    """A year's report as XLSX."""
    return _download(report_xlsx(_year_report(roc_year)), XLSX, f"review-report-{roc_year}.xlsx")


def _period_report() -> CouncilReport | str:
    """The period the query string names, as a report; or the message saying what is wrong with it."""
    try:
        period = parse_period(request.args.get("from"), request.args.get("to"))
    except ReportError as error:
        return str(error)
    return council_report(session(), current_user.office_id, period=period)


def _period_name(report: CouncilReport) -> str:
    assert report.period is not None  # noqa: S101  (a period report always has its period)
    return f"{report.period.start.isoformat()}_{report.period.end.isoformat()}"


@bp.route("/reports/period")
@role_required(*CASE_VIEWERS)
def period_report() -> Any:
    """A council session's period (`?from=108/11/08&to=109/04/10`) as a page; 400 naming the
    problem when the dates are missing, unreadable or out of order."""
    figures = _period_report()
    if isinstance(figures, str):
        return _page(None, status=400, error=figures)
    return _page(figures, period=figures.period)


@bp.route("/reports/period.csv")
@role_required(*CASE_VIEWERS)
def period_csv_file() -> Any:
    """A period's report as CSV."""
    figures = _period_report()
    if isinstance(figures, str):
        return _page(None, status=400, error=figures)
    return _download(report_csv(figures), "text/csv", f"review-report-{_period_name(figures)}.csv")


@bp.route("/reports/period.xlsx")
@role_required(*CASE_VIEWERS)
def period_xlsx_file() -> Any:
    """A period's report as XLSX."""
    figures = _period_report()
    if isinstance(figures, str):
        return _page(None, status=400, error=figures)
    return _download(report_xlsx(figures), XLSX, f"review-report-{_period_name(figures)}.xlsx")
