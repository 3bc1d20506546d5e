"""Notices for the drawn: one page per completed draw with every selected declarant's notice,
for the office to print (A4, one notice per sheet).

The salts on them are secret: the office's reviewers and admins only, and each time the page is
opened it is recorded with who asked for it (like the salts export).
"""

import logging
from typing import Any

from flask import abort, current_app, render_template, url_for
from flask_babel import gettext
from flask_login import current_user

from service.access import NOTICE_PRINTERS, role_required
from service.account.signin_views import client
from service.bindings import SaltsLost
from service.config import settings_of
from service.extensions import db, session
from service.notices import DOCUMENTS, NoticesUnavailable, draw_notices, roc_date
from service.operator.loading import draw_or_404
from service.qr import qr_svg
from service.reviewer import reviewer_blueprint as bp
from service.signin import record_event

log = logging.getLogger(__name__)

#: Who may print the notices (they carry the secret salts).


@bp.route("/draws/<draw_id:draw_id>/notices")
@role_required(*NOTICE_PRINTERS)
def notices(draw_id: str) -> Any:
    """Every drawn declarant's notice of one completed draw, ready to print."""
    draw = draw_or_404(draw_id)
    try:
        found = draw_notices(session(), settings_of(current_app), draw)
    except NoticesUnavailable:
        abort(404, description=gettext("Notices exist only for a completed draw."))
    except SaltsLost:
        log.error("draw %s: the sealed salts cannot be opened for the notices", draw.draw_id)
        abort(
            409,
            description=gettext(
                "The salts of this draw cannot be opened with this deployment's key; "
                "run `flask audit verify` and restore the deployment's SECRET_KEY."
            ),
        )
    record_event(
        session(),
        "notices.printed",
        current_user.username,
        current_user,
        client(),
    )
    db.session.commit()
    log.info("user %s opened the notices of draw %s", current_user.username, draw.draw_id)
    verify_url = url_for("public.verify_page", draw_id=draw.draw_id, _external=True)
    label = gettext("QR code of the draw's verification page: %(url)s", url=verify_url)
    return render_template(
        "reviewer/notices.html",
        draw=draw,
        found=found,
        documents=DOCUMENTS,
        roc_date=roc_date,
        verify_url=verify_url,
        bindings_url=url_for("public.bindings_tsv", draw_id=draw.draw_id, _external=True),
        qr=qr_svg(verify_url, label, "qr notice-qr"),
    )
