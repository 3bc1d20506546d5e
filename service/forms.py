"""WTForms forms (Flask-WTF adds the CSRF token to every one)."""

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3's; not in types-WTForms 3.2.1
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp, ValidationError

from service.inputs import MAX_ID, IntegerField


class Form(FlaskForm):  # type: ignore[misc]  # flask_wtf is untyped: FlaskForm is Any
    """Every form: WTForms' own messages ("This field is required.") in Taiwan's Chinese.

    They come from this application's catalogue (listed in `service.i18n.wtforms_messages`), in
    Taiwan usage: WTForms' own zh_TW catalogue says 此欄位是必需的。, offices write 此欄位為必填。.
    """

    class Meta:
        def get_translations(self, form: Any) -> Any:
            from flask_babel import get_translations

            return get_translations()


class LoginForm(Form):
    """Username and password."""

    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


class CodeForm(Form):
    """The 6-digit code of an authenticator app."""

    code = StringField(_l("6-digit code"), validators=[DataRequired(), Length(min=6, max=10)])


class EmptyForm(Form):
    """A form with only the CSRF token, for POST buttons."""


class UploadForm(Form):
    """A year's declaration list (CSV or XLSX)."""

    roc_year = IntegerField(_l("Year (ROC)"), validators=[DataRequired(), NumberRange(min=80, max=200)])
    file = FileField(_l("Declaration file (CSV or XLSX)"), validators=[FileRequired()])


class ExclusionForm(Form):
    """Leave one declarant out of the population, with the reason."""

    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(min=4, max=500)])


class DrawSetupForm(Form):
    """The rule, schedule and witnesses of a draft draw."""

    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    draw_id = StringField(
        _l("Public identifier"),
        validators=[
            DataRequired(),
            Length(max=64),
            Regexp(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", message=_l("Use letters, digits, dot, dash or underscore.")),
        ],
    )
    roc_year = SelectField(_l("Declaration year (ROC)"), coerce=int)
    rate_percent = StringField(_l("Review rate (%)"), default="10", validators=[DataRequired(), Length(max=8)])
    rounding = RadioField(
        _l("Rounding"),
        choices=[
            SelectChoice("up", _l("Round up")),
            SelectChoice("nearest", _l("Round to nearest")),
            SelectChoice("down", _l("Round down")),
        ],
        default="up",
    )
    grouping = RadioField(
        _l("Grouping"),
        choices=[
            SelectChoice("pooled", _l("One pool of all declarants")),
            SelectChoice("stratified", _l("Separately in each stratum")),
        ],
        default="pooled",
    )
    comparison = BooleanField(_l("Add a comparison stage (前後年度比對)"), default=True)
    comparison_percent = StringField(
        _l("Comparison rate (percentage of the review stage)"), default="2", validators=[Optional()]
    )
    dice_count = IntegerField(_l("Dice (0 for none)"), default=20, validators=[NumberRange(min=0, max=100)])
    use_drand = BooleanField(_l("Use the drand public randomness beacon"), default=True)
    scheduled_at = DateTimeLocalField(
        _l("Draw time (Taiwan time)"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()]
    )
    min_notice_hours = IntegerField(
        _l("Minimum notice (hours)"), default=24, validators=[NumberRange(min=0, max=24 * 90)]
    )
    input_window_minutes = IntegerField(
        _l("Input window (minutes)"), default=20, validators=[NumberRange(min=1, max=120)]
    )
    witnesses = TextAreaField(_l("Witnesses (one per line)"), validators=[Length(max=2000)])


class StepForm(Form):
    """One step of a review case: the state it moves to, the note, the next due date (and a fine)."""

    to_state = StringField(validators=[DataRequired(), Length(max=24)])
    #: The state the page showed, so a step taken meanwhile by someone else is not overtaken.
    from_state = StringField(validators=[Optional(), Length(max=24)])
    note = TextAreaField(_l("Note (what was done and why)"), validators=[DataRequired(), Length(max=2000)])
    due_on = DateField(_l("Next due date"), validators=[Optional()])
    fine_amount = IntegerField(_l("Fine (NT$)"), validators=[Optional(), NumberRange(min=1, max=MAX_ID)])
    fine_ground = SelectField(_l("Ground of the fine"), validators=[Optional()], validate_choice=False)


class CorrectionForm(Form):
    """A correction of an earlier step, recorded as a new entry that names it."""

    event_id = IntegerField(_l("Entry to correct"), validators=[DataRequired(), NumberRange(min=1, max=MAX_ID)])
    to_state = StringField(_l("Corrected state"), validators=[Optional(), Length(max=24)])
    note = TextAreaField(_l("Corrected note (say what was wrong)"), validators=[DataRequired(), Length(max=2000)])
    due_on = DateField(_l("Next due date"), validators=[Optional()])
    fine_amount = IntegerField(_l("Fine (NT$)"), validators=[Optional(), NumberRange(min=1, max=MAX_ID)])
    fine_ground = SelectField(_l("Ground of the fine"), validators=[Optional()], validate_choice=False)


class OpenCasesForm(Form):
    """Open the review cases of a completed draw."""

    due_on = DateField(_l("First due date"), validators=[Optional()])


class CaseBasedForm(Form):
    """A case-based check (個案查核) of one declarant, outside the lottery."""

    roc_year = IntegerField(_l("Declaration year (ROC)"), validators=[DataRequired(), NumberRange(min=80, max=200)])
    case_number = StringField(_l("Case number"), validators=[DataRequired(), Length(max=64)])
    stage = RadioField(
        _l("Kind of check"),
        choices=[
            SelectChoice("review", _l("Substantive review")),
            SelectChoice("comparison", _l("Year-on-year comparison (前後年度比對)")),
        ],
        default="review",
    )
    note = TextAreaField(_l("Why this declaration is checked"), validators=[DataRequired(), Length(min=2, max=2000)])
    due_on = DateField(_l("First due date"), validators=[Optional()])


class ConfirmDrawForm(Form):
    """An irreversible step on a draw (announce, abandon): the draw's public identifier typed back.

    Checked here, on the server, so a stray click, a replayed request or a page without script
    cannot take the step.
    """

    confirm_draw_id = StringField(
        _l("Type the draw's identifier to confirm"),
        validators=[DataRequired(message=_l("Type the draw's identifier to confirm.")), Length(max=64)],
    )

    def __init__(self, *args: Any, draw_id: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.expected_draw_id = draw_id

    def validate_confirm_draw_id(self, field: StringField) -> None:
        """The typed identifier must be this draw's, exactly (spaces around it aside)."""
        if (field.data or "").strip() != self.expected_draw_id:
            raise ValidationError(
                _l(
                    "The identifier typed does not match this draw: type %(draw_id)s to confirm.",
                    draw_id=self.expected_draw_id,
                )
            )


class AbandonForm(ConfirmDrawForm):
    """Abandon an announced draw: the published reason and the draw's identifier typed back."""

    #: Its length and content are checked by `draw_lifecycle.abandon`, which says what is missing.
    reason = TextAreaField(_l("Reason"), validators=[Length(max=2000)])
