"""The rep's survey, as services: redeem a link, page the questions, keep a draft, clear old traces.

A draft is sealed (AES-GCM, ``sealing.py``) under a key that only the browser that saved it holds
(``survey_cookie.py``): the row keyed to the invitation is ciphertext, the page the rep reached
included, so neither another browser with the same link nor anyone reading the database can read
it. The submit itself is in ``submit.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import aliased

from ..cache import named as named_cache
from ..database import insert_or_ignore, is_sqlite, transactional, truncate_wal
from ..extensions import db
from ..instruments import EXTRA_PAGE_TITLE, Wording, builtin, wording
from ..languages import DEFAULT as DEFAULT_LANGUAGE
from ..languages import isolate
from ..models import (
    Assignment,
    CoachingModel,
    Invitation,
    Question,
    QuestionKind,
    QuestionTranslation,
    Rep,
    Study,
    StudyStatus,
    SurveyDraft,
    Team,
    Wave,
    utcnow,
)
from ..refusals import Refused
from ..studies import assignment_join
from ..teams import band_of
from ..tokens import hash_token
from . import sealing

ALREADY_ANSWERED = _l("This survey has already been answered with this link. Each link can be used once.")
LINK_REPLACED = _l("A newer link was sent to you for this survey; please use the most recent one.")


class SurveyUnavailable(Exception):
    """The survey cannot be taken through this link now; carries the page to show."""

    status = 400
    title = _l("Survey unavailable")

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class UnknownLink(SurveyUnavailable):
    status, title = 404, _l("Unknown link")


class AlreadyAnswered(SurveyUnavailable):
    status, title = 410, _l("Already answered")


class LinkReplaced(SurveyUnavailable):
    status, title = 410, _l("This link was replaced")


class NotOpenYet(SurveyUnavailable):
    status, title = 403, _l("Not open yet")


class WaveClosed(SurveyUnavailable):
    status, title = 410, _l("Survey closed")


class StudyClosed(SurveyUnavailable):
    status, title = 410, _l("Study closed")


class NotAssigned(SurveyUnavailable):
    status, title = 409, _l("Not part of the study")


class Incomplete(Exception):
    """Required answers are missing; ``page`` is the first page that lacks one."""

    def __init__(self, page: int, keys: list[str]):
        super().__init__(f"missing answers on page {page + 1}: {', '.join(keys)}")
        self.page = page
        self.keys = keys


@dataclass(frozen=True)
class SurveyPage:
    """A page of the survey: a title and its questions."""

    title: str
    questions: tuple[Question | QuestionSpec, ...]


@dataclass(frozen=True)
class QuestionSpec:
    """What the survey needs of a question: a copy of its row, immutable, safe to share between requests."""

    id: int
    key: str
    text: str
    kind: QuestionKind
    dimension: str | None
    reverse_scored: bool
    position: int
    required: bool
    scale_min: float | None
    scale_max: float | None
    options: str | None
    max_length: int | None
    instrument: str | None


@dataclass(frozen=True)
class SurveyPlan:
    """A study's questions and pages at one ``questions_version``; ``forms`` memoises each page's form class."""

    questions: tuple[QuestionSpec, ...]
    pages: tuple[SurveyPage, ...]
    forms: dict = field(default_factory=dict, compare=False, repr=False)
    # The study's own questions in other languages: language -> key -> (text, option labels or None).
    translations: dict = field(default_factory=dict, compare=False, repr=False)

    def text(self, language: str, own: bool = True) -> SurveyText:
        """What a rep reads in ``language``: the instrument's wording and (``own``) the study's own translations."""
        return SurveyText(language, wording(language), self.translations.get(language, {}) if own else {})


@dataclass(frozen=True)
class SurveyText:
    """The survey's wording in one language; a study's own question without a translation stays English."""

    language: str
    instrument: Wording
    own: dict

    def _builtin(self, question) -> bool:
        return question.instrument == builtin().tag

    def question(self, question) -> str:
        if self._builtin(question):
            return self.instrument.text(f"item.{question.key}")
        translated = self.own.get(question.key)
        return translated[0] if translated else question.text

    def untranslated(self, question) -> bool:
        """True when a study's own question is shown in English because it has no translation here."""
        return self.language != DEFAULT_LANGUAGE and not self._builtin(question) and question.key not in self.own

    def options(self, question) -> list[tuple[str, str]]:
        """A single choice's (stored value, label) pairs: the value is always the English option."""
        values = [option for option in (question.options or "").splitlines() if option.strip()]
        translated = self.own.get(question.key)
        labels = translated[1] if translated and translated[1] and len(translated[1]) == len(values) else values
        return list(zip(values, labels, strict=True))

    def title(self, page: SurveyPage) -> str:
        return self.instrument.page_title(page.title)


@dataclass(frozen=True)
class Draft:
    """What one browser saved: the page to resume at (0-based) and the answers by question key."""

    page: int = 0
    answers: dict[str, str] = field(default_factory=dict)
    mine: bool = False  # the stored draft opened with the browser's key


NO_DRAFT = Draft()


def _draft_context(wave_id: int, rep_id: int) -> str:
    # A draft opens only as the draft of this rep for this wave (it moves with the rep to a newer link).
    return f"survey draft|wave {wave_id}|rep {rep_id}"


def seal_draft(key: bytes, wave_id: int, rep_id: int, page: int, answers: dict[str, str]) -> str:
    """The text stored in ``survey_draft.answers_json``: ciphertext of page and answers, padded."""
    return sealing.seal(key, _draft_context(wave_id, rep_id), {"page": page, "answers": answers}, pad=True)


def open_draft(key: bytes, wave_id: int, rep_id: int, stored: str | None) -> Draft:
    """The draft ``key`` sealed, or ``NO_DRAFT`` when there is none or it does not open (another key, forged)."""
    value = sealing.unseal(key, _draft_context(wave_id, rep_id), stored) if stored else None
    if not isinstance(value, dict):
        return NO_DRAFT
    page, answers = value.get("page"), value.get("answers")
    if not isinstance(page, int) or page < 0 or not isinstance(answers, dict):
        return NO_DRAFT
    return Draft(page, {k: v for k, v in answers.items() if isinstance(v, str)}, mine=True)


@dataclass(frozen=True)
class Link:
    """An invitation that can be answered now, with what the survey needs of its wave, study, rep and draft."""

    invitation_id: int
    rep_id: int
    wave_id: int
    study_id: int
    study_name: str
    k_threshold: int
    questions_version: int
    team_id: int | None
    coaching_model: CoachingModel | None  # None: the rep's team (or the rep) is not assigned yet
    draft_sealed: str | None  # the stored draft as it was when the link was read
    region: str | None = None  # the team's region and size band now: frozen on the response
    band: str | None = None
    language: str | None = None  # the rep's roster language: where the survey starts, never stored with it

    def draft(self, key: bytes) -> Draft:
        """What the browser holding ``key`` saved; ``NO_DRAFT`` for any other browser."""
        return open_draft(key, self.wave_id, self.rep_id, self.draft_sealed)


_SPEC_COLUMNS = [getattr(Question, name) for name in QuestionSpec.__dataclass_fields__]


def survey_plan(study_id: int, questions_version: int) -> SurveyPlan:
    """The study's questions and pages, cached per process by ``(study, questions_version)``.

    Every submit needs them; reading 31 questions through the ORM on each one cost more than the
    rest of the submit. The version in the study row changes with any added or removed question.
    """
    cache = named_cache("survey_plans", 64)

    def load() -> SurveyPlan:
        rows = db.session.execute(select(*_SPEC_COLUMNS).where(Question.study_id == study_id)
                                  .order_by(Question.position)).all()
        questions = tuple(QuestionSpec(*row) for row in rows)
        translations: dict[str, dict[str, tuple[str, tuple[str, ...] | None]]] = {}
        for key, language, text, options in db.session.execute(
                select(Question.key, QuestionTranslation.language, QuestionTranslation.text,
                       QuestionTranslation.options).join(Question, Question.id == QuestionTranslation.question_id)
                .where(Question.study_id == study_id)):
            translations.setdefault(language, {})[key] = (text, tuple(options.splitlines()) if options else None)
        return SurveyPlan(questions, tuple(paginate(list(questions))), translations=translations)

    return cache.get_or_make((study_id, questions_version), load)


def own_translations_shown(link: Link, language: str) -> bool:
    """Whether the rep of ``link`` may read the study's own questions translated into ``language``.

    The consultant writes those translations and sets each rep's roster language, so a wording in a
    language only one or two reps of a team start in could ask just them for an answer nobody else gives,
    and tag their response. So a translation is shown only where at least k reps of the rep's team have the
    language on the roster; elsewhere the question is shown in English, with the note. The built-in
    instrument's wording is CoachLab's, the same in every study, and is always shown.
    """
    if language == DEFAULT_LANGUAGE or link.team_id is None:
        return language == DEFAULT_LANGUAGE
    speakers = db.session.scalar(select(func.count()).select_from(Rep).where(
        Rep.team_id == link.team_id, Rep.active.is_(True), Rep.language == language))
    return speakers >= link.k_threshold


def paginate(questions: list[Question]) -> list[SurveyPage]:
    """Group questions into pages by the instrument's page plan; a study's own questions go before the last page."""
    plan = builtin().pages
    placed: dict[int, list[Question]] = {i: [] for i in range(len(plan))}
    extra: list[Question] = []
    where = {name: i for i, (_, names) in enumerate(plan) for name in names}
    for question in sorted(questions, key=lambda q: q.position):
        page = where.get(question.dimension) if question.instrument else None
        if page is None and question.instrument:
            page = where.get(question.key)
        (placed[page] if page is not None else extra).append(question)
    pages = [SurveyPage(title, tuple(placed[i])) for i, (title, _) in enumerate(plan) if placed[i]]
    if extra:
        pages.insert(max(len(pages) - 1, 0), SurveyPage(EXTRA_PAGE_TITLE, tuple(extra)))
    return pages


def check_open(status: StudyStatus, study_name: str, opens_on: date, closes_on: date, today: date,
               closed_early: bool = False) -> None:
    """Raise unless reps may answer a wave open from ``opens_on`` to ``closes_on`` on ``today``
    (a wave ``closed_early`` is closed from that moment, its ``closes_on`` being the day it was closed)."""
    if status is StudyStatus.CLOSED:
        raise StudyClosed(_("The study “%(study)s” has ended. Thank you for your interest.", study=isolate(study_name)))
    if status is StudyStatus.DRAFT:  # its dates may still change: no date is promised (ux review D12)
        raise NotOpenYet(_("This survey has not started yet. Your link will work once it has; please come back "
                           "later."))
    if today < opens_on:
        raise NotOpenYet(_("This survey opens on %(opens)s and closes on %(closes)s. Please come back then.",
                           opens=format_date(opens_on, "long"), closes=format_date(closes_on, "long")))
    if today > closes_on or closed_early:
        raise WaveClosed(_("This survey closed on %(closes)s. Thank you all the same.",
                           closes=format_date(closes_on, "long")))


def roster_language(token: str) -> str | None:
    """The roster language of the rep a token was issued to (None: none, or not a known link)."""
    return db.session.scalar(select(Rep.language).join(Invitation, Invitation.rep_id == Rep.id)
                             .where(Invitation.token_hash == hash_token(token)))


def redeem(token: str, today: date) -> Link:
    """Find the invitation of ``token`` and check that it can still be used."""
    invitation_id = db.session.scalar(select(Invitation.id).where(Invitation.token_hash == hash_token(token)))
    if invitation_id is None:
        raise UnknownLink(_("This survey link is not known. Check that you copied the whole link."))
    return open_link(invitation_id, today)


# One query for everything a survey request needs: the link's state, its wave and study, the rep's
# coaching model (through their team's assignment or their own), the team's region and active reps
# (the response's frozen cell) and the saved draft.
_member = aliased(Rep)
_TEAM_SIZE = (select(func.count()).select_from(_member)
              .where(_member.team_id == Rep.team_id, _member.active.is_(True)).scalar_subquery())
_OPEN_LINK = (
    select(Invitation.used, Invitation.revoked_at, Invitation.rep_id, Wave.id, Wave.opens_on, Wave.closes_on,
           Wave.planned_closes_on, Study.id,
           Study.name, Study.status, Study.k_threshold, Study.questions_version, Rep.team_id,
           Assignment.coaching_model, SurveyDraft.answers_json, Team.region, _TEAM_SIZE, Rep.language)
    .join(Wave, Wave.id == Invitation.wave_id).join(Study, Study.id == Wave.study_id)
    .join(Rep, Rep.id == Invitation.rep_id).join(Team, Team.id == Rep.team_id)
    .outerjoin(Assignment, (Assignment.study_id == Study.id) & assignment_join())
    .outerjoin(SurveyDraft, SurveyDraft.invitation_id == Invitation.id)
    .where(Invitation.id == bindparam("invitation_id")))


def open_link(invitation_id: int, today: date) -> Link:
    """The invitation, if it can still be answered (one query); raise the reason otherwise."""
    row = db.session.connection().execute(_OPEN_LINK, {"invitation_id": invitation_id}).first()
    if row is None:
        raise UnknownLink(_("This survey link is not known."))
    (used, revoked_at, rep_id, wave_id, opens_on, closes_on, planned_closes_on, study_id, name, status, k_threshold,
     version, team_id, coaching_model, draft_sealed, region, team_size, language) = row
    if used:
        raise AlreadyAnswered(ALREADY_ANSWERED)
    if revoked_at is not None:
        raise LinkReplaced(LINK_REPLACED)
    try:
        check_open(status, name, opens_on, closes_on, today, closed_early=planned_closes_on is not None)
    except (WaveClosed, StudyClosed):
        discard_draft(invitation_id)  # drafts expire with the wave
        raise
    return Link(invitation_id, rep_id, wave_id, study_id, name, k_threshold, version, team_id, coaching_model,
                draft_sealed, region, band_of(team_size or 0), language)


_LINK_STATE = select(Invitation.used, Invitation.revoked_at).where(
    Invitation.id == bindparam("invitation_id")).with_for_update(read=True)


def _refuse_used_link(invitation_id: int) -> None:
    """Raise when the link was used or replaced; on PostgreSQL, hold it shared until the commit."""
    used, revoked_at = db.session.execute(_LINK_STATE, {"invitation_id": invitation_id}).one()
    if used or revoked_at is not None:
        raise AlreadyAnswered(ALREADY_ANSWERED) if used else LinkReplaced(LINK_REPLACED)


@transactional(fresh=True)
def save_draft(link: Link, key: bytes, page: int, answers: dict[str, str]) -> None:
    """Merge ``answers`` into the draft this browser sealed under ``key``; seal it again with ``page``.

    A draft sealed under another key (another browser saved with the same link) is replaced, not
    read: the browser that saves last keeps its answers, and no browser ever sees another's.
    The row's own columns say nothing either: ``page`` stays 0 (the page is in the ciphertext),
    ``updated_at`` keeps the day only.

    Safe when the same rep posts twice at once (a double click, two tabs): the row is created
    with ``ON CONFLICT DO NOTHING`` and then read under a lock, so no save is lost or fails.
    Raises ``AlreadyAnswered`` (or ``LinkReplaced``) when the link was used meanwhile, say in the
    other tab, so that no draft tied to the rep outlives their submitted response.

    The save is a transaction of its own (``fresh``): what the caller read (the link, when the
    page opened) is rolled back first, so that the save's first lock is the one on the link, and
    nothing the caller left in the session is committed with the draft.
    """
    invitation_id = link.invitation_id
    saved_on = datetime.combine(utcnow().date(), time())  # the day only: no time of day per rep
    # On PostgreSQL, lock the link before the draft, in the order submit() takes them; the other
    # order deadlocked a save against a submit. A submit that comes later waits and takes this draft.
    _refuse_used_link(invitation_id)
    db.session.execute(insert_or_ignore(SurveyDraft)
                       .values(invitation_id=invitation_id, page=0, answers_json="", updated_at=saved_on)
                       .on_conflict_do_nothing(index_elements=["invitation_id"]))
    draft = db.session.execute(select(SurveyDraft).where(SurveyDraft.invitation_id == invitation_id)
                               .with_for_update().execution_options(populate_existing=True)).scalar_one()
    # SQLite has no row locks: its write lock, held from the insert on, makes this second look final.
    _refuse_used_link(invitation_id)
    merged = dict(open_draft(key, link.wave_id, link.rep_id, draft.answers_json).answers)
    merged.update(answers)
    draft.answers_json = seal_draft(key, link.wave_id, link.rep_id, page, merged)
    draft.page = 0
    draft.updated_at = saved_on


@transactional
def discard_draft(invitation_id: int) -> None:
    """Delete an invitation's draft, if any."""
    db.session.execute(delete(SurveyDraft).where(SurveyDraft.invitation_id == invitation_id))


@transactional
def purge_expired_drafts(today: date) -> int:
    """Delete drafts of waves that have closed and of links already used or replaced; return how many.

    Drafts an earlier version stored in plain JSON are deleted too: they are readable by anyone
    with the database, and no browser's key opens them anyway.
    """
    expired = (select(Invitation.id).join(Wave, Wave.id == Invitation.wave_id)
               .where(Wave.is_closed(today) | Invitation.used.is_(True) | Invitation.revoked_at.is_not(None)))
    unsealed = ~SurveyDraft.answers_json.startswith(sealing.PREFIX, autoescape=True)
    return db.session.execute(delete(SurveyDraft).where(SurveyDraft.invitation_id.in_(expired) | unsealed)).rowcount


_RESTAMP_USED = update(Invitation.__table__).where(Invitation.__table__.c.used.is_(True)).values(used=True)


@transactional
def _restamp_used_links() -> int:
    """Rewrite every used invitation, all in one transaction; return how many."""
    return db.session.execute(_RESTAMP_USED).rowcount


def scrub_link_traces() -> int:
    """Rewrite every used invitation in one transaction; return how many.

    On PostgreSQL each row carries the id of the transaction that wrote it (``xmin``). The submit
    marks the invitation used and inserts the response in one transaction, so until the
    invitation is written again ``invitation.xmin = response.xmin`` pairs the two. Rewriting all
    used invitations together gives them one shared ``xmin``: neither the pairing nor the order
    in which links were used survives. VACUUM then frees the old row versions and deleted drafts.

    On SQLite the same pairing sits in the write-ahead log: each submit's commit is one run of page
    images holding the invitation marked used and the new response. A checkpoint copies the log
    into the database file and ``TRUNCATE`` empties the log file, so nothing is left to pair. Raises
    ``Refused`` when another connection kept the log busy (run the command again).
    """
    restamped = _restamp_used_links()
    if is_sqlite():
        if not truncate_wal():
            raise Refused(f"rewrote {restamped} used link(s), but the write-ahead log could not be truncated "
                          "because another connection was reading it; run the command again")
    else:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM invitation, survey_draft")
    return restamped
