"""Load the object named in a URL, only from the signed-in user's own office (else 404)."""

from typing import TypeVar

from flask import abort
from flask_login import current_user
from sqlalchemy import select

from service.extensions import db
from service.models import Declarant, DeclarationUpload, Draw, Office

Owned = TypeVar("Owned", Declarant, DeclarationUpload)


def current_office() -> Office:
    """The signed-in user's office."""
    office: Office = current_user.office
    return office


def owned_or_404(model: type[Owned], object_id: int) -> Owned:
    """The row with this id if it belongs to the user's office; another office's row is a 404."""
    row = db.session.get(model, object_id)
    if row is None or row.office_id != current_user.office_id:
        abort(404)
    return row


def draw_or_404(draw_id: str) -> Draw:
    """The user's office's draw with this public identifier, or 404."""
    draw = db.session.scalar(select(Draw).where(Draw.draw_id == draw_id, Draw.office_id == current_user.office_id))
    if draw is None:
        abort(404)
    return draw
