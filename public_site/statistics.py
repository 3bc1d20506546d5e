"""Public review statistics: the yearly figures of every office together, aggregate only.

Nothing here names a declarant, an agency or a case: only counts and sums, the same figures as
the annual report and `GET /api/v1/stats/<year>`.
"""

from typing import Any

from flask import abort, render_template

from public_site import public_blueprint as bp
from service.access import public
from service.extensions import session
from service.labels import state_label
from service.reports import OUTCOME_STATES, annual_report, outcome_chart_svg, report_years


@bp.route("/statistics")
@public
def statistics_latest() -> Any:
    """The newest year's statistics."""
    years = report_years(session(), public=True)
    if not years:
        return render_template("public/statistics.html", report=None, years=[], chart=None)
    return statistics(years[0])


@bp.route("/statistics/<year:roc_year>")
@public
def statistics(roc_year: int) -> Any:
    """One year's statistics: declarations, drawn, outcomes, referrals, fines."""
    years = report_years(session(), public=True)  # only years an announced draw has made public
    if roc_year not in years:
        abort(404)
    report = annual_report(session(), roc_year, public=True)
    return render_template(
        "public/statistics.html",
        report=report,
        years=years,
        chart=outcome_chart_svg(report),
        outcome_states=OUTCOME_STATES,
        state_label=state_label,
    )
