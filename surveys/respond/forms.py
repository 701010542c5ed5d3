"""The survey-page forms, built from a study's questions (one class per page and survey version)."""

import math

from babel.numbers import NumberFormatError, parse_decimal
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import FloatField, RadioField, SelectChoice, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from ..instruments import PREFER_NOT_TO_SAY
from ..languages import DEFAULT, LOCALES, number
from ..models import QuestionKind

DEFAULT_TEXT_LIMIT = 2000


def field_name(question) -> str:
    """The form field of a question."""
    return f"q_{question.key}"

def _choices(question, text) -> list[SelectChoice]:
    """The fixed answers of a question, in order: stored values never depend on the language, labels do."""
    if question.kind in (QuestionKind.AGREE5, QuestionKind.AGREE7):
        labels = text.instrument.answer_labels(question.kind.value)
        return ([SelectChoice(str(i + 1), label) for i, label in enumerate(labels)]
                + [SelectChoice(PREFER_NOT_TO_SAY, text.instrument.text("scale.prefer_not_to_say"))])
    if question.kind is QuestionKind.SCALE0_10:
        return [SelectChoice(str(i), number(i)) for i in range(11)]
    return [SelectChoice(value, label) for value, label in text.options(question)]

# Arabic-Indic and Persian digits, and the Arabic decimal and thousands signs, as an Arabic keyboard types them.
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹٫٬", "01234567890123456789.,")


def parse_number(text: str) -> float:
    """A number as the rep's language writes it ("1.200" and "3,5" in German, "1,200" and "3.5" in English), else
    plain digits with one comma or point as the decimal sign; ``ValueError`` for anything else."""
    text = text.strip().translate(_DIGITS)
    try:
        value = float(parse_decimal(text, locale=get_locale() or LOCALES[DEFAULT], strict=True))
    except (NumberFormatError, ValueError):
        plain = text.replace(",", ".") if text.count(",") == 1 and "." not in text else text
        value = float(plain)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


class NumberField(FloatField):
    """A number as the rep's language writes it; words, ``nan`` and ``inf`` are refused with a clear message."""

    def process_formdata(self, valuelist):
        if not valuelist or valuelist[0].strip() == "":
            self.data = None
            return
        text = valuelist[0].strip()
        try:
            if len(text) > 30:
                raise ValueError(text)
            self.data = parse_number(text)
        except ValueError:
            self.data = None
            raise ValueError(_("Please enter a number, like %(whole)s or %(decimal)s.", whole=number(12),
                               decimal=number(3.5))) from None

    def _value(self):
        """What the field shows: as typed, or a saved answer written the way the rep's language writes it."""
        if self.raw_data:
            return self.raw_data[0]
        try:
            return number(float(self.data)) if self.data not in (None, "") else ""
        except (TypeError, ValueError):
            return str(self.data)

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

def survey_page_form_class(questions, text) -> type[SurveyPageForm]:
    """The WTForms form class of one survey page in one language (``text``: ``survey.SurveyText``).

    Immutable: one per page and language may serve every request. Its labels and messages are
    written when it is built, so it must be built in a request shown in ``text.language``.
    """
    class PageForm(SurveyPageForm):
        pass

    PageForm.questions = tuple(questions)
    for question in questions:
        agreement = question.kind in (QuestionKind.AGREE5, QuestionKind.AGREE7)
        required = [InputRequired(message=_("Please answer this question, or choose “%(prefer_not)s”.",
                                             prefer_not=text.instrument.text("scale.prefer_not_to_say"))
                                  if agreement else _("Please answer this question."))]
        validators = required if question.required else [Optional()]
        label = text.question(question)
        if question.kind is QuestionKind.TEXT:
            limit = question.max_length or DEFAULT_TEXT_LIMIT
            field = TextAreaField(label, validators=[Optional(), Length(
                max=limit, message=_("Please keep this to %(limit)s characters or fewer.",
                                     limit=number(limit)))],
                render_kw={"maxlength": limit, "rows": 5})
        elif question.kind is QuestionKind.NUMBER:
            low, high = question.scale_min, question.scale_max
            checks = [NumberRange(min=low, max=high, message=_range_message(low, high))] if (
                low is not None or high is not None) else []
            field = NumberField(label, validators=validators + checks, render_kw={"inputmode": "decimal"})
        else:
            field = RadioField(label, choices=_choices(question, text), validators=validators,
                               validate_choice=True)
        setattr(PageForm, field_name(question), field)
    return PageForm

def survey_page_form(questions, formdata=None, data: dict[str, str] | None = None,
                     form_class: type[SurveyPageForm] | None = None, text=None) -> SurveyPageForm:
    """The form of one survey page from the study's questions (``form_class``, when given, was built from them).

    ``data`` pre-fills answers (from the draft) by question key; ``formdata`` is a POST.
    """
    form_class = form_class or survey_page_form_class(questions, text)
    prefill = {field_name(q): data[q.key] for q in questions if data and data.get(q.key) not in (None, "")}
    return form_class(formdata=formdata, data=prefill) if formdata is not None else form_class(data=prefill)

def _range_message(low, high) -> str:
    if low is not None and high is not None:
        return _("Please enter a number from %(low)s to %(high)s.", low=number(low), high=number(high))
    if low is not None:
        return _("Please enter a number of at least %(low)s.", low=number(low))
    return _("Please enter a number of at most %(high)s.", high=number(high))
