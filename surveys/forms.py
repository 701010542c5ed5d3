"""Forms two audiences share: a study's design (new study under organisations, edit under pilots)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from flask import request
from flask_wtf import FlaskForm
from wtforms import (
    FloatField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from .outcomes import outcome_choices
from .refusals import ONE_LINE, has_control_characters

if TYPE_CHECKING:
    from .models import Study

MODEL_CHOICES = [SelectChoice("manager", "Manager (front-line manager coaches)"),
                 SelectChoice("peer", "Peer (a fellow rep coaches)"),
                 SelectChoice("external", "External (an outside coach)")]

def one_line(form, field) -> None:
    """A validator: a name is one line (it goes into e-mail subjects, file names, page titles)."""
    if has_control_characters(field.data):
        raise ValidationError(f"{field.label.text} {ONE_LINE}.")


class NumberField(FloatField):
    """A decimal number shown as typed: 300, not "300.0" (WTForms' FloatField writes the float's repr)."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and not math.isfinite(self.data):  # "1e400", "inf", "nan" parse as floats
            self.data = None
            raise ValueError("Not a finite number.")

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        return f"{self.data:.6f}".rstrip("0").rstrip(".") or "0"


AMOUNT = NumberRange(min=0, max=1e9, message="An amount between 0 and 1,000,000,000.")


def prior_scale_range(form, field) -> None:
    """A validator: the prior scale is 0 (no prior) or 0.01 to 2 SDs."""
    if field.data is not None and not (field.data == 0 or 0.01 <= field.data <= 2):
        raise ValidationError("Between 0 and 2 SDs: 0 for no prior, else at least 0.01.")


def above_zero(form, field) -> None:
    """A validator: a margin is a positive number."""
    if field.data is not None and not field.data > 0:
        raise ValidationError("The margin must be above 0.")


class StudyForm(FlaskForm):
    """The design of a pilot study."""

    name = StringField("Study name", validators=[DataRequired(), Length(max=200), one_line])
    description = TextAreaField("Description (optional)", validators=[Optional(), Length(max=2000)],
                                render_kw={"rows": 3})
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
    # What a model is worth (issue 16): costs per model, margins, the prior scale, the fidelity minimum.
    cost_manager_month = NumberField("Manager: cost per rep per month", validators=[Optional(), AMOUNT])
    cost_manager_hour = NumberField("Manager: cost per coaching hour", validators=[Optional(), AMOUNT])
    cost_peer_month = NumberField("Peer: cost per rep per month", validators=[Optional(), AMOUNT])
    cost_peer_hour = NumberField("Peer: cost per coaching hour", validators=[Optional(), AMOUNT])
    cost_external_month = NumberField("Outside coach: fee per rep per month",
                                     validators=[Optional(), AMOUNT])
    cost_external_hour = NumberField("Outside coach: fee per coaching hour", validators=[Optional(), AMOUNT])
    margin_primary = NumberField("No-worse margin on the primary outcome (its points)",
                                validators=[Optional(), above_zero])
    margin_quota = NumberField("No-worse margin on quota attainment (percentage points)",
                              validators=[Optional(), above_zero])
    prior_scale = NumberField("Prior scale (SDs of the outcome; empty: 0.2 for survey outcomes, 0.1 for quota)",
                             validators=[Optional(), prior_scale_range])
    fidelity_minimum = NumberField("Fewest sessions a rep a month for a team to count as coached", default=1.0,
                                  validators=[Optional(), NumberRange(min=0, max=30, message="Between 0 and 30.")])
    interim_looks = IntegerField("Interim looks per wave, before it closes (0: read each wave once it has closed)",
                                 default=0, validators=[Optional(), NumberRange(min=0, max=4,
                                                                                message="From 0 to 4.")])
    change_reason = TextAreaField("Why it changes (needed for the analysis settings once the study runs)",
                                  validators=[Optional(), Length(max=2000)], render_kw={"rows": 2})

    def worth_settings(self):
        """The costs, margins, prior scale and fidelity minimum as sent (``studies.WorthSettings``)."""
        from analysis.costs import amount_text

        from .studies import WorthSettings
        parts = []
        for model in ("manager", "peer", "external"):
            month, hour = self[f"cost_{model}_month"].data, self[f"cost_{model}_hour"].data
            bases = ([f"rep_month:{amount_text(month)}"] if month is not None else []) + (
                [f"hour:{amount_text(hour)}"] if hour is not None else [])
            if bases:
                parts.append(f"{model}=" + "+".join(bases))
        minimum = self.fidelity_minimum.data
        return WorthSettings(",".join(parts) or None, self.margin_primary.data, self.margin_quota.data,
                             self.prior_scale.data, 1.0 if minimum is None else minimum,
                             self.interim_looks.data or 0)

    def validate_models(self, field):
        if len(set(field.data or [])) < 2:
            raise ValidationError("Choose at least two coaching models.")


# The randomisation design: shown disabled once it is locked (``studies.design_lock``).
DESIGN_FIELDS = ("models", "unit", "stratify_by", "seed")


def sent_with_locked(current: dict[str, object]):
    """The request's form data, with every locked field the browser left out set to ``current[name]``.

    Browsers do not send disabled fields. A form whose locked fields are shown disabled reads their
    values from here, so a change to another field goes through; a locked field sent with another
    value stays as sent, and the service refuses it with the reason.
    """
    formdata = request.form.copy()
    for name, value in current.items():
        if name not in formdata:
            values = value if isinstance(value, list) else [value]
            formdata.setlist(name, ["" if v is None else (v.isoformat() if hasattr(v, "isoformat") else str(v))
                                    for v in values])
    return formdata


def disable(form: FlaskForm, names) -> None:
    """Show the fields ``names`` of ``form`` disabled (their values are kept by ``sent_with_locked``)."""
    for name in names:
        form[name].render_kw = {**(form[name].render_kw or {}), "disabled": True}


def design_of(study: Study | None) -> dict:
    """What the study form shows before it is sent: ``study``'s design, or a new study's starting point."""
    if study is None:
        return {"primary_outcome": "satisfaction"}
    return {"name": study.name, "description": study.description or "",
            "models": [m.value for m in study.coaching_models],
            "unit": study.randomisation_unit.value, "stratify_by": study.stratify_by or "", "seed": study.seed,
            "primary_outcome": study.primary_outcome, "k_threshold": study.k_threshold,
            "margin_primary": study.margin_primary, "margin_quota": study.margin_quota,
            "prior_scale": study.prior_scale, "fidelity_minimum": study.fidelity_minimum,
            "interim_looks": study.interim_looks or 0, **cost_fields(study.costs)}


def cost_fields(text: str | None) -> dict:
    """The study form's cost fields from a study's costs (``analysis.costs.CostInputs`` text)."""
    if not text:
        return {}
    from analysis.costs import parse_costs
    fields = {}
    for cost in parse_costs(text).models:
        fields[f"cost_{cost.level}_month"], fields[f"cost_{cost.level}_hour"] = cost.per_rep_month, cost.per_hour
    return fields


def study_form(study: Study | None, formdata_sent: bool, locked: tuple[str, ...] = ()) -> StudyForm:
    """The study form: filled from ``design_of(study)`` unless it was sent, with the primary outcomes to choose from.

    The ``locked`` fields (say ``DESIGN_FIELDS``) are shown disabled. Browsers do not send disabled
    fields, so a sent form without them keeps the study's values; one that sends a changed value
    anyway is refused by ``studies.update_design``, as before.
    """
    if formdata_sent and locked and study is not None:
        current = design_of(study)
        form = StudyForm(formdata=sent_with_locked({name: current[name] for name in locked}))
    else:
        form = StudyForm(data=None if formdata_sent else design_of(study))
    form.primary_outcome.choices = outcome_choices()
    disable(form, locked)
    return form
