"""The languages reps can answer in, and which one a request is shown in (Flask-Babel's locale selector).

The rep side (the survey, its messages and errors, invitations and reminders) is translated; the
consultant's and the leader's pages are in English. A survey request is shown in the language the
rep chose on the survey's first page, else the one on their roster row, else the best match of
their browser's ``Accept-Language``, else English. The choice lives only in the rep's survey cookie,
never with the response nor in any count written at the submit: one rep's language in a team would
tell which response is theirs. (The report counts answers by *roster* language, from which links were
used, at study level and only from k up: ``reports.languages``.)

Catalogues: ``translations/<language>/LC_MESSAGES/messages.po`` under version control, compiled to
``.mo`` by ``make`` at install (``pybabel compile``), never committed.
"""

from __future__ import annotations

from contextlib import contextmanager

from babel.numbers import format_decimal
from flask import g, has_app_context, has_request_context, request, session
from flask_babel import Babel, force_locale, get_locale, refresh
from markupsafe import Markup

# In the order the language switch shows them; names as their speakers write them.
LANGUAGES = {"en": "English", "es": "Español", "de": "Deutsch", "fr": "Français", "ar": "العربية"}
DEFAULT = "en"
RIGHT_TO_LEFT = frozenset({"ar"})
# The Babel locale of each language: English dates as the rest of CoachLab writes them (3 December 2026).
LOCALES = {"en": "en_GB"}
# What a roster may say instead of a code.
NAMES = {"english": "en", "spanish": "es", "espanol": "es", "español": "es", "castellano": "es", "german": "de",
         "deutsch": "de", "french": "fr", "francais": "fr", "français": "fr", "arabic": "ar", "العربية": "ar"}

babel = Babel()
# Where the rep's choice is kept: their own (signed) cookie, as the language code only.
SESSION_KEY = "survey_language"
# The rep's pages: the survey and its links. Any page there, a mistyped address included, is in the rep's language.
REP_PATHS = ("/s/", "/survey")


def normalise(tag: str | None) -> str | None:
    """The offered language a tag such as ``es``, ``ES-mx`` or ``fr_CA`` names; None for blank or not offered."""
    text = (tag or "").strip().replace("_", "-").lower()
    if not text:
        return None
    if text in NAMES:
        return NAMES[text]
    primary = text.split("-", 1)[0]
    return primary if primary in LANGUAGES else None


def offered() -> str:
    """The offered languages, for messages: ``en, es, de, fr, ar``."""
    return ", ".join(LANGUAGES)


def from_browser() -> str:
    """The offered language the browser prefers most (``Accept-Language``), else English."""
    if not has_request_context():
        return DEFAULT
    return request.accept_languages.best_match(list(LANGUAGES), default=DEFAULT)


def use(language: str | None) -> None:
    """Show the rest of this request in ``language`` (an offered one; anything else means English)."""
    g.language = language if language in LANGUAGES else DEFAULT
    refresh()  # Flask-Babel keeps the locale it found on the context; an app context can outlive a request


def current() -> str:
    """The language this request is shown in."""
    if has_app_context():
        return g.get("language", DEFAULT)
    return DEFAULT


def direction(language: str | None = None) -> str:
    """``rtl`` for a right-to-left language, else ``ltr``."""
    return "rtl" if (language or current()) in RIGHT_TO_LEFT else "ltr"


def isolate(text) -> str:
    """``text`` between Unicode direction isolates (FSI … PDI): a Latin name in an Arabic sentence, or an Arabic
    one in an English sentence, keeps its own direction and its punctuation stays where it was typed."""
    return f"\u2068{text}\u2069"


def bdi(text) -> Markup:
    """``text`` escaped, in a ``<bdi>`` element: ``isolate`` for HTML."""
    return Markup("<bdi>{}</bdi>").format(text)


def number(value) -> str:
    """A number as the language writes it, without grouping (``2000``, ``3,5`` in German, ``3.5`` in English)."""
    return format_decimal(value, locale=get_locale() or LOCALES[DEFAULT], group_separator=False,
                          decimal_quantization=False)


def select_locale() -> str:
    return LOCALES.get(current(), current())


@contextmanager
def in_language(language: str | None):
    """A context in which gettext, dates, numbers and ``page_language()`` use ``language`` (for e-mail written
    outside a survey request); the language before is back afterwards."""
    language = language if language in LANGUAGES else DEFAULT
    before = g.get("language") if has_app_context() else None
    with force_locale(LOCALES.get(language, language)):
        if has_app_context():
            g.language = language
        try:
            yield
        finally:
            if has_app_context():
                if before is None:
                    g.pop("language", None)
                else:
                    g.language = before


def init_app(app) -> None:
    babel.init_app(app, locale_selector=select_locale, default_translation_directories="translations")
    app.before_request(_for_this_request)
    app.jinja_env.globals.update(page_language=current, page_direction=direction, LANGUAGES=LANGUAGES)
    app.jinja_env.filters.update(number=number, isolate=isolate, bdi=bdi)


def _for_this_request() -> None:
    """A rep's page in the rep's language (chosen, else their browser's); every other page in English.

    Chosen here, before any route is matched, so that a rep's mistyped address or a refusal before the
    view (404, 405, 429) is in their language too; the preview picks its own (``respond.views``).
    """
    if request.path.startswith(REP_PATHS):
        use(normalise(session.get(SESSION_KEY)) or from_browser())
    else:
        use(DEFAULT)
