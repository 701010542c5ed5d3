"""WTForms forms. The survey form is built from a study's questions (see ``surveys.respond``)."""

import math

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    FloatField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from .accounts import PASSWORD_MAX
from .models import QuestionKind


class LoginForm(FlaskForm):
    """E-mail and password."""

    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)],
                       render_kw={"autocomplete": "username", "autofocus": True})
    password = PasswordField("Password", validators=[DataRequired(), Length(max=PASSWORD_MAX)],
                             render_kw={"autocomplete": "current-password"})


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


AGREE5_LABELS = ("Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree")
AGREE7_LABELS = ("Strongly disagree", "Disagree", "Somewhat disagree", "Neither agree nor disagree",
                 "Somewhat agree", "Agree", "Strongly agree")
PREFER_NOT_TO_SAY_LABEL = "Prefer not to say"
DEFAULT_TEXT_LIMIT = 2000


def field_name(question) -> str:
    """The form field of a question."""
    return f"q_{question.key}"


def _choices(question) -> list[SelectChoice]:
    """The fixed answers of a question, in order."""
    if question.kind in (QuestionKind.AGREE5, QuestionKind.AGREE7):
        labels = AGREE5_LABELS if question.kind is QuestionKind.AGREE5 else AGREE7_LABELS
        return ([SelectChoice(str(i + 1), label) for i, label in enumerate(labels)]
                + [SelectChoice("na", PREFER_NOT_TO_SAY_LABEL)])
    if question.kind is QuestionKind.SCALE0_10:
        return [SelectChoice(str(i), str(i)) for i in range(11)]
    return [SelectChoice(option, option) for option in (question.options or "").splitlines() if option.strip()]


class NumberField(FloatField):
    """A number in plain digits; words, ``nan`` and ``inf`` are refused with a clear message."""

    def process_formdata(self, valuelist):
        if not valuelist or valuelist[0].strip() == "":
            self.data = None
            return
        text = valuelist[0].strip().replace(",", ".") if valuelist[0].count(",") == 1 else valuelist[0].strip()
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or len(text) > 30:
            self.data = None
            raise ValueError("Please enter a number, like 12 or 3.5.")
        self.data = value


class SurveyPageForm(FlaskForm):
    """Base of the per-page survey forms; fields are added by :func:`survey_page_form`."""

    questions: tuple = ()

    def answers(self) -> dict[str, str]:
        """Raw answers of this page by question key (empty strings for unanswered optional questions)."""
        return {q.key: _raw(self[field_name(q)].data) for q in self.questions}

    def valid_answers(self) -> dict[str, str]:
        """Answers of the fields that passed validation, for saving a page left with "Back"."""
        return {q.key: _raw(self[field_name(q)].data) for q in self.questions if not self[field_name(q)].errors}


def _raw(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def survey_page_form_class(questions) -> type[SurveyPageForm]:
    """The WTForms form class of one survey page (immutable; one per page may serve every request)."""
    class PageForm(SurveyPageForm):
        pass

    PageForm.questions = tuple(questions)
    for question in questions:
        required = [InputRequired(message="Please answer this question"
                                  + (", or choose “Prefer not to say”." if question.kind in
                                     (QuestionKind.AGREE5, QuestionKind.AGREE7) else "."))]
        validators = required if question.required else [Optional()]
        if question.kind is QuestionKind.TEXT:
            limit = question.max_length or DEFAULT_TEXT_LIMIT
            field = TextAreaField(question.text, validators=[Optional(), Length(
                max=limit, message=f"Please keep this to {limit} characters or fewer.")],
                render_kw={"maxlength": limit, "rows": 5})
        elif question.kind is QuestionKind.NUMBER:
            low, high = question.scale_min, question.scale_max
            checks = [NumberRange(min=low, max=high, message=_range_message(low, high))] if (
                low is not None or high is not None) else []
            field = NumberField(question.text, validators=validators + checks, render_kw={"inputmode": "decimal"})
        else:
            field = RadioField(question.text, choices=_choices(question), validators=validators,
                               validate_choice=True)
        setattr(PageForm, field_name(question), field)
    return PageForm


def survey_page_form(questions, formdata=None, data: dict[str, str] | None = None,
                     form_class: type[SurveyPageForm] | None = None) -> SurveyPageForm:
    """The form of one survey page from the study's questions (``form_class``, when given, was built from them).

    ``data`` pre-fills answers (from the draft) by question key; ``formdata`` is a POST.
    """
    form_class = form_class or survey_page_form_class(questions)
    prefill = {field_name(q): data[q.key] for q in questions if data and data.get(q.key) not in (None, "")}
    return form_class(formdata=formdata, data=prefill) if formdata is not None else form_class(data=prefill)


def _range_message(low, high) -> str:
    if low is not None and high is not None:
        return f"Please enter a number from {low:g} to {high:g}."
    if low is not None:
        return f"Please enter a number of at least {low:g}."
    return f"Please enter a number of at most {high:g}."


class OrganisationForm(FlaskForm):
    """A new client organisation."""

    name = StringField("Organisation name", validators=[DataRequired(), Length(max=120)])


class UploadForm(FlaskForm):
    """A CSV or XLSX file to import."""

    file = FileField("CSV or XLSX file", validators=[FileRequired(message="Choose a file to import."),
                                                     FileAllowed(["csv", "xlsx", "txt"], "Only CSV or XLSX files.")])
    deactivate_missing = BooleanField("Mark reps who are not in this file as having left")


def mapping_form(fields, headers: list[str], guessed: dict[str, str | None], formdata=None) -> FlaskForm:
    """One select per field we understand, listing the file's headers (pre-selected where we could tell)."""

    class MappingForm(FlaskForm):
        pass

    for field in fields:
        choices = [SelectChoice("", "— not in the file —")] + [SelectChoice(h, h) for h in headers]
        label = field.label + (" (required)" if field.required else "")
        setattr(MappingForm, f"map_{field.name}", SelectField(label, choices=choices, default=guessed.get(field.name)
                                                              or "", validate_choice=True))
    return MappingForm(formdata=formdata)


MODEL_CHOICES = [SelectChoice("manager", "Manager (front-line manager coaches)"),
                 SelectChoice("peer", "Peer (a fellow rep coaches)"),
                 SelectChoice("external", "External (an outside coach)")]


class StudyForm(FlaskForm):
    """The design of a pilot study."""

    name = StringField("Study name", validators=[DataRequired(), Length(max=200)])
    models = SelectMultipleField("Coaching models compared (two or three)", choices=MODEL_CHOICES,
                                 default=["manager", "peer", "external"], validators=[DataRequired()],
                                 widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    unit = RadioField("Randomise", choices=[SelectChoice("team", "whole teams (recommended)"),
                                            SelectChoice("rep", "individual reps")], default="team")
    stratify_by = SelectField("Stratify by", choices=[SelectChoice("", "nothing"), SelectChoice("region", "region"),
                                                      SelectChoice("team_size", "team size")], default="")
    seed = IntegerField("Random seed", validators=[Optional(), NumberRange(min=0, max=2**31 - 1)])
    primary_outcome = SelectField("Primary outcome", validators=[DataRequired()])
    k_threshold = IntegerField("Anonymity threshold k (smallest group shown)", default=5,
                               validators=[DataRequired(), NumberRange(min=3, max=100,
                                                                       message="k is between 3 and 100")])

    def validate_models(self, field):
        if len(set(field.data or [])) < 2:
            raise ValidationError("Choose at least two coaching models.")


class WaveForm(FlaskForm):
    """A survey wave."""

    label = StringField("Label", validators=[DataRequired(), Length(max=40), Regexp(
        r"^[^\x00-\x1f\x7f]+$", message="Use letters, digits, spaces and punctuation only.")], default="baseline")
    opens_on = DateField("Opens on", validators=[DataRequired(message="Enter a date like 2026-12-01.")])
    closes_on = DateField("Closes on", validators=[DataRequired(message="Enter a date like 2026-12-14.")])

    def validate_closes_on(self, field):
        if self.opens_on.data and field.data and field.data < self.opens_on.data:
            raise ValidationError("The wave must close on or after the day it opens.")


class RandomiseForm(FlaskForm):
    """Draw (or redraw) the assignment."""

    seed = IntegerField("Seed", validators=[Optional(), NumberRange(min=0, max=2**31 - 1)])


class AssignmentChangeForm(FlaskForm):
    """Move one team or rep to another coaching model, with a reason."""

    assignment_id = SelectField("Team or rep", coerce=int, validate_choice=True)
    model = SelectField("New coaching model", choices=MODEL_CHOICES)
    reason = TextAreaField("Why", validators=[DataRequired(message="Say why the assignment is changed."),
                                              Length(max=2000)], render_kw={"rows": 2})


class SessionForm(FlaskForm):
    """One coaching session entered by hand."""

    who = SelectField("Rep or team", validate_choice=True)
    coach_model = SelectField("Coach's model", choices=MODEL_CHOICES)
    session_date = DateField("Date", validators=[DataRequired(message="Enter a date like 2026-09-30.")])
    minutes = IntegerField("Minutes", validators=[DataRequired(), NumberRange(min=1, max=480)])


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""
