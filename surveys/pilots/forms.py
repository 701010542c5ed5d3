"""Consultants' forms for a study: its own questions, waves, randomisation, assignment changes, actions."""

import re

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    FloatField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from ..forms import MODEL_CHOICES

QUESTION_KIND_LABELS = [
    SelectChoice("agree5", "Agreement, 5 points"), SelectChoice("agree7", "Agreement, 7 points"),
    SelectChoice("scale0_10", "Scale 0–10"), SelectChoice("choice", "Single choice"),
    SelectChoice("number", "Number"), SelectChoice("text", "Free text"),
]

class QuestionForm(FlaskForm):
    """A study's own question."""

    text = TextAreaField("Question", validators=[DataRequired(), Length(max=500)], render_kw={"rows": 2})
    kind = SelectField("Answer format", choices=QUESTION_KIND_LABELS, validators=[DataRequired()])
    options = TextAreaField("Options (single choice: one per line)", validators=[Optional(), Length(max=5000)],
                            render_kw={"rows": 3})
    minimum = FloatField("Smallest allowed number (number questions)", validators=[Optional()])
    maximum = FloatField("Largest allowed number (number questions)", validators=[Optional()])
    dimension = StringField("Dimension to score it in (optional)", validators=[Optional(), Length(max=40)])
    reverse_scored = BooleanField("Reverse-scored (agreement only)")
    required = BooleanField("Required")

class TranslationsForm(FlaskForm):
    """The translation sheet of the study's own questions, filled in."""

    file = FileField("Filled translation sheet (XLSX or CSV)", validators=[
        FileRequired(message="Choose the filled translation sheet."),
        FileAllowed(["xlsx", "csv"], "Only the XLSX sheet as downloaded (or a CSV of it).")])

class QuestionEditForm(FlaskForm):
    """Changes to one of the study's own questions (its format and dimension stay)."""

    text = TextAreaField("Question", validators=[DataRequired(), Length(max=500)], render_kw={"rows": 2})
    options = TextAreaField("Options (one per line)", validators=[Optional(), Length(max=5000)], render_kw={"rows": 4})
    required = BooleanField("Required")

class WaveDatesForm(FlaskForm):
    """A wave's label and dates (when it is changed: as far as ``waves.wave_locks`` allows)."""

    label = StringField("Label", validators=[DataRequired(), Length(max=40), Regexp(
        r"^[^\x00-\x1f\x7f]+$", message="Use letters, digits, spaces and punctuation only.")])
    opens_on = DateField("Opens on", validators=[DataRequired(message="Enter a date like 2026-12-01.")])
    closes_on = DateField("Closes on", validators=[DataRequired(message="Enter a date like 2026-12-14.")])

    def validate_closes_on(self, field):
        if self.opens_on.data and field.data and field.data < self.opens_on.data:
            raise ValidationError("The wave must close on or after the day it opens.")

class WaveForm(WaveDatesForm):
    """A new survey wave."""

    # Asked for only when the wave is over already (the view re-renders the form with it).
    confirm_past = BooleanField("This wave is over already — add it anyway")

class RandomiseForm(FlaskForm):
    """Draw (or redraw) the assignment."""

    seed = IntegerField("Seed", validators=[Optional(), NumberRange(min=0, max=2**31 - 1)])

class AssignmentChangeForm(FlaskForm):
    """Move one team or rep to another coaching model, with a reason."""

    assignment_id = SelectField("Team or rep", coerce=int, validate_choice=True)
    model = SelectField("New coaching model", choices=MODEL_CHOICES)
    reason = TextAreaField("Why", validators=[DataRequired(message="Say why the assignment is changed."),
                                              Length(max=2000)], render_kw={"rows": 2})

def parse_days(text: str | None) -> list[int]:
    """"3, 5" (commas, semicolons or spaces between) as ``[3, 5]``; ``ValueError`` for anything but whole numbers."""
    words = [word for word in re.split(r"[\s,;]+", (text or "").strip()) if word]
    if not all(re.fullmatch(r"[+-]?[0-9]{1,4}", word) for word in words):
        raise ValueError(text)
    return [int(word) for word in words]


class RemindersForm(FlaskForm):
    """A wave's reminder schedule and the consultant's note in its e-mails (``pilots.reminders`` checks them)."""

    days = StringField("Reminders, in days after the wave opens", validators=[Optional(), Length(max=200)],
                       render_kw={"placeholder": "3, 5", "inputmode": "numeric"})
    day_before_closing = BooleanField("And one the day before the wave closes")
    note = TextAreaField("Note in the invitations and reminders (optional, at most 1,000 characters)",
                         validators=[Optional()], render_kw={"rows": 4, "maxlength": 1000})

    def validate_days(self, field):
        try:
            parse_days(field.data)
        except ValueError:
            raise ValidationError("Write whole numbers of days, separated by commas, like 3, 5.") from None


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


# What each preset fixes (the other inputs are the form's): the coaching literature's realistic differences
# (survey d ≈ 0.2–0.3, quota attainment d ≈ 0.1–0.15; ``analysis.simulate.REALISTIC_SURVEY_EFFECTS``).
SIMULATION_PRESETS = {"survey": {"effect": 0.25, "icc": 0.10}, "quota": {"effect": 0.12}, "custom": {}}
SIMULATION_PRESET_CHOICES = [
    SelectChoice("survey", "realistic survey difference d 0.25, ICC 0.10"),
    SelectChoice("quota", "realistic quota d 0.12"),
    SelectChoice("custom", "custom"),
]


class SimulationForm(FlaskForm):
    """Check the design by simulating pilots of it: the effect to find, the ICC and response rate assumed.

    Its fields are prefixed ``sim-`` (``sim-icc``): the planning panel's GET form beside it has an ``icc`` and a
    ``response_rate`` of its own, and two inputs may not share an id (nor a label its ``for``).
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "sim")
        super().__init__(*args, **kwargs)

    preset = SelectField("Difference to look for", choices=SIMULATION_PRESET_CHOICES, default="survey")
    effect = FloatField("Effect d, in SD units (custom)", default=0.25, validators=[
        InputRequired(message="Give the effect d, between 0.05 and 2 (SD units)."),
        NumberRange(min=0.05, max=2, message="The effect d is between 0.05 and 2 (SD units).")])
    icc = FloatField("ICC (share of the variance between teams)", default=0.10, validators=[
        InputRequired(message="Give the ICC, between 0 and 0.5."),
        NumberRange(min=0, max=0.5, message="The ICC is between 0 and 0.5.")])
    response_rate = FloatField("Response rate", default=0.8, validators=[
        InputRequired(message="Give the response rate, between 0.1 and 1."),
        NumberRange(min=0.1, max=1, message="The response rate is between 0.1 and 1.")])

    def validate(self, extra_validators=None) -> bool:
        """A preset's values replace what its fields say (a field it fixes is not checked)."""
        for name, value in SIMULATION_PRESETS.get(self.preset.data, {}).items():
            self[name].process_errors, self[name].validators, self[name].data = [], [], value
        return super().validate(extra_validators)
