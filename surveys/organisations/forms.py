"""Consultants' forms for an organisation: its creation, file imports, column mapping, one coaching session,
and who has access (invitations, roles)."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, DateField, EmailField, IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from ..accounts import AccountError, normalise_email
from ..forms import MODEL_CHOICES, one_line
from ..languages import LANGUAGES


class OrganisationForm(FlaskForm):
    """A new client organisation."""

    name = StringField("Organisation name", validators=[DataRequired(), Length(max=120), one_line])

class RepForm(FlaskForm):
    """A rep's name, e-mail and team."""

    name = StringField("Name", validators=[DataRequired(), Length(max=200), one_line])
    email = StringField("E-mail", validators=[Optional(), Length(max=254)])
    team_id = SelectField("Team", coerce=int, validate_choice=True)
    language = SelectField("Language", validators=[Optional()], validate_choice=True, choices=[
        SelectChoice("", "Not set: English, or what the rep's browser asks for"),
        *(SelectChoice(code, name) for code, name in LANGUAGES.items())])

class TeamForm(FlaskForm):
    """A team's name and region."""

    name = StringField("Team name", validators=[DataRequired(), Length(max=120), one_line])
    region = StringField("Region", validators=[Optional(), Length(max=120), one_line])

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

class SessionForm(FlaskForm):
    """One coaching session entered by hand."""

    who = SelectField("Rep or team", validate_choice=True)
    coach_model = SelectField("Coach's model", choices=MODEL_CHOICES)
    session_date = DateField("Date", validators=[DataRequired(message="Enter a date like 2026-09-30.")])
    minutes = IntegerField("Minutes", validators=[DataRequired(), NumberRange(min=1, max=480)])

ROLE_CHOICES = [SelectChoice("leader", "Leader (reads the reports)"),
                SelectChoice("consultant", "Consultant (runs the studies)")]


class InviteForm(FlaskForm):
    """Someone to give access to an organisation, by e-mail."""

    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)], render_kw={"autocomplete": "off"})
    role = SelectField("Role", choices=ROLE_CHOICES, default="leader")

    def validate_email(self, field):
        try:
            normalise_email(field.data)
        except AccountError as error:
            raise ValidationError(str(error).capitalize() + ".") from None


class RoleForm(FlaskForm):
    """A member's new role."""

    role = SelectField("Role", choices=ROLE_CHOICES)


class ButtonForm(FlaskForm):
    """A button that changes something: nothing but the CSRF token."""
