"""The data model of the whole product, as typed SQLAlchemy 2 models.

Anonymity is a property of this schema (DESIGN.md section 4): ``Response`` and ``Answer``
have no column that refers to a rep or an invitation, no time of day, no IP address and no
user agent, and responses get a random primary key. ``Invitation`` records *whether* a link
was used, never when, so that the use of a link cannot be matched with a response's date.
"""

from __future__ import annotations

import enum
import secrets
from datetime import UTC, date, datetime, timedelta

from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    func,
    or_,
    select,
    text,
)
from sqlalchemy import (
    false as sa_false,
)
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db
from .teams import band_of


def utcnow() -> datetime:
    """Current UTC time without tzinfo: both engines store it the same way."""
    return datetime.now(UTC).replace(tzinfo=None)


def random_id() -> str:
    """A random, non-sequential id of 128 bits (responses, kept uploads)."""
    return secrets.token_hex(16)


class CoachingModel(enum.StrEnum):
    """Who coaches the rep: the three arms a study compares."""

    MANAGER = "manager"
    PEER = "peer"
    EXTERNAL = "external"


class Role(enum.StrEnum):
    """What a user may do: consultants run studies, leaders read reports."""

    CONSULTANT = "consultant"
    LEADER = "leader"


class StudyStatus(enum.StrEnum):
    """Lifecycle of a pilot study."""

    DRAFT = "draft"
    RUNNING = "running"
    CLOSED = "closed"


class RandomisationUnit(enum.StrEnum):
    """What is randomised to a coaching model."""

    TEAM = "team"
    REP = "rep"


class QuestionKind(enum.StrEnum):
    """Answer formats a question can take."""

    AGREE5 = "agree5"
    AGREE7 = "agree7"
    SCALE0_10 = "scale0_10"
    CHOICE = "choice"
    NUMBER = "number"
    TEXT = "text"


def _enum(enum_cls: type[enum.Enum], name: str) -> Enum:
    """A portable enum column: VARCHAR plus a CHECK constraint holding the values."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


membership = Table(
    "membership",
    db.metadata,
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Column("organisation_id", ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True),
)


class Organisation(db.Model):
    """A client organisation whose sales force takes part in pilots."""

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique per consultant, not across tenants (a global rule let any consultant probe other tenants'
    # client names, security review F15): ``accounts.create_organisation`` checks it.
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    teams: Mapped[list[Team]] = relationship(back_populates="organisation", cascade="all, delete-orphan")
    studies: Mapped[list[Study]] = relationship(back_populates="organisation", cascade="all, delete-orphan")
    members: Mapped[list[User]] = relationship(secondary=membership, back_populates="organisations")

    # AUTOINCREMENT: SQLite would otherwise give a deleted organisation's id to the next one, and the
    # audit log (plain ids) would show the old one's events on it. PostgreSQL's sequences never reuse ids.
    __table_args__ = (CheckConstraint("length(name) > 0", name="name_not_empty"), {"sqlite_autoincrement": True})


class User(UserMixin, db.Model):
    """A person who logs in: a consultant or a leader."""

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on logout-everywhere or deactivation; sessions carry it and die when it moves.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)

    organisations: Mapped[list[Organisation]] = relationship(secondary=membership, back_populates="members")

    @property
    def is_active(self) -> bool:  # Flask-Login reads this
        return self.active

    def get_id(self) -> str:
        """Session identity: the id plus the epoch, so bumping the epoch ends old sessions."""
        return f"{self.id}:{self.session_epoch}"


class ReminderKind(enum.StrEnum):
    """When a scheduled reminder of a wave is due: some days after it opens, or some days before it closes."""

    AFTER_OPENING = "after_opening"
    BEFORE_CLOSING = "before_closing"


class TokenPurpose(enum.StrEnum):
    """Why a set-password link was issued: an invitation, or a forgotten password."""

    INVITE = "invite"
    RESET = "reset"


class AccountToken(db.Model):
    """A one-time link that sets an account's password: an invitation or a password reset.

    Like survey links, only the SHA-256 of the token is stored. An account has at most one (``user_id``
    is unique): issuing a new link deletes the earlier one, and using a link deletes it.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), unique=True)
    purpose: Mapped[TokenPurpose] = mapped_column(_enum(TokenPurpose, "purpose"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)

    user: Mapped[User] = relationship()

    __table_args__ = (
        CheckConstraint("length(token_hash) = 64", name="token_hash_sha256"),
        CheckConstraint("expires_at > created_at", name="expires_after_created"),
    )


class Team(db.Model):
    """A sales team of an organisation, led by a front-line manager."""

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    region: Mapped[str | None] = mapped_column(String(120))

    organisation: Mapped[Organisation] = relationship(back_populates="teams")
    reps: Mapped[list[Rep]] = relationship(back_populates="team")

    __table_args__ = (UniqueConstraint("organisation_id", "name"),)


class Rep(db.Model):
    """A sales rep on a team's roster. Never linked to a survey response."""

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    crm_id: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The language the rep's invitations, reminders and survey start in (``surveys.languages``); None: English,
    # or what the rep's browser prefers. Never copied to a response.
    language: Mapped[str | None] = mapped_column(String(8))

    team: Mapped[Team] = relationship(back_populates="reps")

    __table_args__ = (
        UniqueConstraint("organisation_id", "crm_id"),
        UniqueConstraint("organisation_id", "email"),
        CheckConstraint("email IS NOT NULL OR crm_id IS NOT NULL", name="identified"),
    )


class Study(db.Model):
    """A pilot comparing coaching models in one organisation."""

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[StudyStatus] = mapped_column(_enum(StudyStatus, "status"), default=StudyStatus.DRAFT)
    randomisation_unit: Mapped[RandomisationUnit] = mapped_column(
        _enum(RandomisationUnit, "randomisation_unit"), default=RandomisationUnit.TEAM)
    # None, "region" or "team_size": what the randomisation is stratified by.
    stratify_by: Mapped[str | None] = mapped_column(String(20))
    seed: Mapped[int] = mapped_column(Integer)
    primary_outcome: Mapped[str] = mapped_column(String(64), default="satisfaction")
    k_threshold: Mapped[int] = mapped_column(Integer, default=5)
    comment_threshold: Mapped[int] = mapped_column(Integer, default=10)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # When the study was launched, which locks its assignment, design and questions (``studies.lock_reason``);
    # the pages give it as the launch date. NULL for drafts, and for studies launched before launch set it.
    assignments_locked_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Bumped whenever a question is added or removed: running app processes key their cached copy
    # of the survey (pages, forms) on it, so every process sees a change at its next request.
    questions_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # What a model is worth (issue 16), set on the design page and, after launch, changed only with a
    # reason (a deviation, like k and the primary outcome). ``costs``: ``analysis.costs.CostInputs.text()``,
    # e.g. "manager=hour:85,peer=hour:40,external=rep_month:350"; margins in the outcome's own units (the
    # primary outcome's points, quota attainment's percentage points); ``prior_scale`` in SDs of the
    # outcome (None: the defaults in ``analysis.bayes``); ``fidelity_minimum`` in sessions a rep a month.
    costs: Mapped[str | None] = mapped_column(String(400))
    margin_primary: Mapped[float | None] = mapped_column(Float)
    margin_quota: Mapped[float | None] = mapped_column(Float)
    prior_scale: Mapped[float | None] = mapped_column(Float)
    fidelity_minimum: Mapped[float] = mapped_column(Float, default=1.0, server_default="1.0")
    # Interim looks planned at each wave after the first, before it closes (0: read only once closed); the
    # wave's close is the last look. Locked at launch with the other analysis settings (``surveys.interim``).
    interim_looks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    organisation: Mapped[Organisation] = relationship(back_populates="studies")
    arms: Mapped[list[StudyArm]] = relationship(
        back_populates="study", cascade="all, delete-orphan", order_by="StudyArm.position")
    waves: Mapped[list[Wave]] = relationship(
        back_populates="study", cascade="all, delete-orphan", order_by="Wave.opens_on")
    questions: Mapped[list[Question]] = relationship(
        back_populates="study", cascade="all, delete-orphan", order_by="Question.position")
    assignments: Mapped[list[Assignment]] = relationship(back_populates="study", cascade="all, delete-orphan")
    design_changes: Mapped[list[DesignChange]] = relationship(cascade="all, delete-orphan",
                                                              order_by="DesignChange.changed_at")

    __table_args__ = (
        CheckConstraint("k_threshold >= 3", name="k_at_least_3"),
        CheckConstraint("comment_threshold >= k_threshold", name="comment_threshold_at_least_k"),
        CheckConstraint("stratify_by IS NULL OR stratify_by IN ('region', 'team_size')", name="stratify_by_known"),
        {"sqlite_autoincrement": True},  # ids are never reused: see Organisation
    )

    @property
    def coaching_models(self) -> list[CoachingModel]:
        """The arms of the study in their display order."""
        return [arm.coaching_model for arm in self.arms]


class StudyArm(db.Model):
    """One coaching model compared in a study, with its planned allocation ratio."""

    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"), primary_key=True)
    coaching_model: Mapped[CoachingModel] = mapped_column(_enum(CoachingModel, "coaching_model"), primary_key=True)
    ratio: Mapped[int] = mapped_column(Integer, default=1)
    position: Mapped[int] = mapped_column(Integer, default=0)

    study: Mapped[Study] = relationship(back_populates="arms")

    __table_args__ = (CheckConstraint("ratio >= 1", name="ratio_positive"),)


class Assignment(db.Model):
    """A team (or, for rep-level randomisation, a rep) assigned to a coaching model."""

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"))
    rep_id: Mapped[int | None] = mapped_column(ForeignKey("rep.id"))
    coaching_model: Mapped[CoachingModel] = mapped_column(_enum(CoachingModel, "coaching_model"))
    stratum: Mapped[str | None] = mapped_column(String(120))
    assigned_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    study: Mapped[Study] = relationship(back_populates="assignments")
    team: Mapped[Team | None] = relationship()
    rep: Mapped[Rep | None] = relationship()
    changes: Mapped[list[AssignmentChange]] = relationship(
        back_populates="assignment", cascade="all, delete-orphan", order_by="AssignmentChange.changed_at")

    __table_args__ = (
        UniqueConstraint("study_id", "team_id"),
        UniqueConstraint("study_id", "rep_id"),
        CheckConstraint("(team_id IS NULL) <> (rep_id IS NULL)", name="team_or_rep"),
    )


class AssignmentChange(db.Model):
    """A manual change of an assignment before the study locked: who, why, from and to."""

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id", ondelete="CASCADE"), index=True)
    from_model: Mapped[CoachingModel] = mapped_column(_enum(CoachingModel, "from_model"))
    to_model: Mapped[CoachingModel] = mapped_column(_enum(CoachingModel, "to_model"))
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    assignment: Mapped[Assignment] = relationship(back_populates="changes")
    changed_by: Mapped[User | None] = relationship()

    __table_args__ = (CheckConstraint("length(reason) > 0", name="reason_given"),)


class StudyMember(db.Model):
    """Who the study's CRM and session figures count, frozen when its first wave has closed.

    A rep, their team, region, team-size band and coaching model as they were then. Reading the
    performance section before and after a roster change (a rep leaving, joining or moving) would
    otherwise differ by exactly that rep (adversarial review F-C). Never linked to a response.
    """

    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"), primary_key=True)
    rep_id: Mapped[int] = mapped_column(ForeignKey("rep.id", ondelete="CASCADE"), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    region: Mapped[str | None] = mapped_column(String(120))
    band: Mapped[str] = mapped_column(String(20))
    coaching_model: Mapped[CoachingModel] = mapped_column(_enum(CoachingModel, "coaching_model"))


class DesignChange(db.Model):
    """A change to an analysis setting of a study after launch (k, primary outcome): a recorded deviation."""

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"), index=True)
    setting: Mapped[str] = mapped_column(String(40))
    old_value: Mapped[str] = mapped_column(String(200))
    new_value: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    changed_by: Mapped[User | None] = relationship()

    __table_args__ = (CheckConstraint("length(reason) > 0", name="deviation_reason_given"),)


class Wave(db.Model):
    """A survey round of a study (``baseline``, ``follow-up``, …) with its open dates.

    ``closes_on`` is the last day reps may answer; the wave counts as closed (reportable, exportable,
    its links dead) from the day after — or at once when a consultant closed it early: then
    ``closes_on`` is that day and ``planned_closes_on`` the date planned before. Every "is it closed?"
    goes through :meth:`is_closed`, so a wave closed early takes the same path as one that ran out.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(40))
    opens_on: Mapped[date] = mapped_column(Date)
    closes_on: Mapped[date] = mapped_column(Date)
    planned_closes_on: Mapped[date | None] = mapped_column(Date)
    # The consultant's words in the wave's invitations and reminders (at most 1,000 characters).
    note: Mapped[str | None] = mapped_column(Text)

    study: Mapped[Study] = relationship(back_populates="waves")
    reminders: Mapped[list[WaveReminder]] = relationship(
        back_populates="wave", cascade="all, delete-orphan", passive_deletes=True,
        order_by="(WaveReminder.kind, WaveReminder.days)")

    __table_args__ = (
        UniqueConstraint("study_id", "label"),
        CheckConstraint("closes_on >= opens_on", name="closes_after_opens"),
    )

    def is_open(self, today: date) -> bool:
        """Whether reps may answer on ``today``."""
        return self.opens_on <= today <= self.closes_on and self.planned_closes_on is None

    @hybrid_method
    def is_closed(self, today: date) -> bool:
        """Whether the wave is over on ``today``: its closing date has passed, or it was closed early."""
        return self.closes_on < today or self.planned_closes_on is not None

    @is_closed.expression
    def is_closed(cls, today: date):  # the SQL side: Wave.is_closed(today) in a query
        return or_(cls.closes_on < today, cls.planned_closes_on.is_not(None))

    @property
    def closed_early(self) -> bool:
        """Whether a consultant closed the wave before its planned date."""
        return self.planned_closes_on is not None


class WaveReminder(db.Model):
    """A scheduled e-mail reminder of a wave: ``days`` after it opens, or ``days`` before it closes.

    It is due on one date (``due_on``) and runs once: ``ran_at`` (UTC) is set when the periodic task
    takes it, before any message goes out, so a second run on the same day finds nothing to do.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("wave.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ReminderKind] = mapped_column(_enum(ReminderKind, "kind"))
    days: Mapped[int] = mapped_column(Integer)
    ran_at: Mapped[datetime | None] = mapped_column(DateTime)

    wave: Mapped[Wave] = relationship(back_populates="reminders")

    __table_args__ = (
        UniqueConstraint("wave_id", "kind", "days"),
        CheckConstraint("days >= 1", name="days_positive"),
    )

    def due_on(self, wave: Wave | None = None) -> date:
        """The date the reminder goes out on, from the wave's dates as they are now."""
        wave = wave or self.wave
        if self.kind is ReminderKind.AFTER_OPENING:
            return wave.opens_on + timedelta(days=self.days)
        return wave.closes_on - timedelta(days=self.days)

    def words(self) -> str:
        """The reminder as the pages say it: "3 days after opening", "the day before closing"."""
        if self.kind is ReminderKind.AFTER_OPENING:
            return f"{self.days} day{'s' if self.days != 1 else ''} after opening"
        return "the day before closing" if self.days == 1 else f"{self.days} days before closing"


class Question(db.Model):
    """A survey question of a study: from the built-in instrument or added by the study."""

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    kind: Mapped[QuestionKind] = mapped_column(_enum(QuestionKind, "kind"))
    dimension: Mapped[str | None] = mapped_column(String(64))
    reverse_scored: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer)
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    # Numeric range of the answer (agreement and 0-10 scales, numbers); reverse scoring uses it.
    scale_min: Mapped[float | None] = mapped_column(Float)
    scale_max: Mapped[float | None] = mapped_column(Float)
    # Choice questions: the options, one per line.
    options: Mapped[str | None] = mapped_column(Text)
    max_length: Mapped[int | None] = mapped_column(Integer)
    # "cfi@1" for built-in items; NULL for a study's own questions.
    instrument: Mapped[str | None] = mapped_column(String(40))

    study: Mapped[Study] = relationship(back_populates="questions")

    __table_args__ = (
        UniqueConstraint("study_id", "key"),
        UniqueConstraint("study_id", "position"),
        CheckConstraint("scale_min IS NULL OR scale_max IS NULL OR scale_min < scale_max", name="scale_ordered"),
        CheckConstraint("max_length IS NULL OR max_length > 0", name="max_length_positive"),
    )


class QuestionTranslation(db.Model):
    """A study's own question in another language: its text and, for a single choice, its options' labels.

    Only labels are translated: a choice is stored as its English option, so answers and scores do not
    depend on the language a rep read. Changed with the questions, until the instrument locks.
    """

    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"), primary_key=True)
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    options: Mapped[str | None] = mapped_column(Text)  # one per line, in the English options' order


class Invitation(db.Model):
    """A personal survey link issued to a rep for one wave.

    Only a hash of the token is stored, and only whether the link was used — never when,
    and never which response it produced.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("wave.id", ondelete="CASCADE"))
    rep_id: Mapped[int] = mapped_column(ForeignKey("rep.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime)
    reminder_count: Mapped[int] = mapped_column(Integer, default=0)
    used: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set when a newer link is issued to the same rep for the same wave.
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)

    wave: Mapped[Wave] = relationship()
    rep: Mapped[Rep] = relationship()

    __table_args__ = (
        Index("ix_invitation_wave_rep", "wave_id", "rep_id"),
        CheckConstraint("length(token_hash) = 64", name="token_hash_sha256"),
        CheckConstraint("reminder_count >= 0", name="reminder_count_not_negative"),
    )


class SurveyDraft(db.Model):
    """Answers saved for resume, keyed to the invitation; deleted at submit or expiry.

    ``answers_json`` is ciphertext under a key that only the browser that saved it holds, the page
    reached included (``respond/survey.py``); ``page`` stays 0 and ``updated_at`` keeps the day only.
    """

    invitation_id: Mapped[int] = mapped_column(
        ForeignKey("invitation.id", ondelete="CASCADE"), primary_key=True)
    page: Mapped[int] = mapped_column(Integer, default=0)
    answers_json: Mapped[str] = mapped_column(Text, default="{}")
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Response(db.Model):
    """One submitted survey: anonymous by construction (see the module docstring).

    ``region`` and ``band`` are the team's region and size band when the response was submitted
    (``surveys.teams``): the report's cells read them, never today's roster.
    """

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"))
    wave_id: Mapped[int] = mapped_column(ForeignKey("wave.id", ondelete="CASCADE"))
    coaching_model: Mapped[CoachingModel] = mapped_column(_enum(CoachingModel, "coaching_model"))
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"))
    submitted_on: Mapped[date] = mapped_column(Date)
    region: Mapped[str | None] = mapped_column(String(120))
    band: Mapped[str | None] = mapped_column(String(20))

    answers: Mapped[list[Answer]] = relationship(back_populates="response", cascade="all, delete-orphan")

    __table_args__ = (
        Index("ix_response_study_wave", "study_id", "wave_id"),
        # No rowid in SQLite: an insertion-ordered rowid would betray the order of submissions.
        {"sqlite_with_rowid": False},
    )


@event.listens_for(Response, "before_insert")
def _freeze_team_cell(mapper, connection, target: Response) -> None:
    """A response stored through the ORM without its cell gets its team's region and band of this moment."""
    if target.band is not None or target.team_id is None:
        return
    team = Team.__table__
    target.region = connection.execute(select(team.c.region).where(team.c.id == target.team_id)).scalar()
    size = connection.execute(select(func.count()).select_from(Rep.__table__).where(
        Rep.__table__.c.team_id == target.team_id, Rep.__table__.c.active.is_(True))).scalar()
    target.band = band_of(int(size or 0))


class Answer(db.Model):
    """The answer to one question in one response; NULL values mean "prefer not to say"."""

    response_id: Mapped[str] = mapped_column(ForeignKey("response.id", ondelete="CASCADE"), primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"), primary_key=True)
    value_num: Mapped[float | None] = mapped_column(Float)
    value_text: Mapped[str | None] = mapped_column(Text)

    response: Mapped[Response] = relationship(back_populates="answers")
    question: Mapped[Question] = relationship()

    __table_args__ = (
        # Only text answers are indexed by question (the report's comments). A full index on question
        # made every submit write one more page per question, at random places: most of its cost.
        Index("ix_answer_question_text", "question_id", sqlite_where=text("value_text IS NOT NULL"),
              postgresql_where=text("value_text IS NOT NULL")),
        CheckConstraint("value_num IS NULL OR value_text IS NULL", name="one_value"),
        {"sqlite_with_rowid": False},
    )


class PerformanceRecord(db.Model):
    """A rep's sales performance for one period, from a CRM export."""

    id: Mapped[int] = mapped_column(primary_key=True)
    rep_id: Mapped[int] = mapped_column(ForeignKey("rep.id", ondelete="CASCADE"))
    # "2026-Q3" or "2026-09"; period_start orders them.
    period: Mapped[str] = mapped_column(String(7))
    period_start: Mapped[date] = mapped_column(Date)
    quota_attainment: Mapped[float | None] = mapped_column(Float)  # percent of quota
    win_rate: Mapped[float | None] = mapped_column(Float)  # 0-1
    revenue: Mapped[float | None] = mapped_column(Float)
    deals_won: Mapped[int | None] = mapped_column(Integer)

    rep: Mapped[Rep] = relationship()

    __table_args__ = (
        UniqueConstraint("rep_id", "period"),
        CheckConstraint("quota_attainment IS NULL OR (quota_attainment >= 0 AND quota_attainment <= 1000)",
                        name="quota_attainment_range"),
        CheckConstraint("win_rate IS NULL OR (win_rate >= 0 AND win_rate <= 1)", name="win_rate_range"),
        CheckConstraint("revenue IS NULL OR revenue >= 0", name="revenue_not_negative"),
        CheckConstraint("deals_won IS NULL OR deals_won >= 0", name="deals_won_not_negative"),
    )


class CoachingSession(db.Model):
    """A logged coaching session with a rep or a whole team: the "manager too busy" evidence."""

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    rep_id: Mapped[int | None] = mapped_column(ForeignKey("rep.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"), index=True)
    coach_model: Mapped[CoachingModel] = mapped_column(_enum(CoachingModel, "coach_model"))
    session_date: Mapped[date] = mapped_column(Date)
    minutes: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        CheckConstraint("rep_id IS NOT NULL OR team_id IS NOT NULL", name="rep_or_team"),
        CheckConstraint("minutes > 0 AND minutes <= 480", name="minutes_range"),
    )


class PendingUpload(db.Model):
    """An uploaded file waiting for the consultant to map its columns; deleted when imported or after a day."""

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(200))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    options_json: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (CheckConstraint("kind IN ('roster', 'performance', 'sessions')", name="kind_known"),)


class ImportJob(db.Model):
    """A large import running as a background task: its state, progress and outcome, for the page that follows it.

    The task may die with its consumer; this row does not, so a periodic task can run it again (an import is all
    or nothing, so running it twice is safe). ``mapping_json`` is the confirmed column mapping, or None when the
    file's headers needed none (then nothing is remembered). ``status``: queued → running → done, refused (the
    file's problems, in ``problems_json``, or ``message``) or failed (the task died too often; ``message``).
    """

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    upload_id: Mapped[str | None] = mapped_column(ForeignKey("pending_upload.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(200))
    mapping_json: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="queued")
    total: Mapped[int] = mapped_column(Integer, default=0)
    checked: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    summary: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str | None] = mapped_column(Text)
    problems_json: Mapped[str | None] = mapped_column(Text)
    problem_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)

    __table_args__ = (
        CheckConstraint("kind IN ('roster', 'performance', 'sessions')", name="kind_known"),
        CheckConstraint("status IN ('queued', 'running', 'done', 'refused', 'failed')", name="status_known"),
    )


class UploadMapping(db.Model):
    """How an organisation's files of one kind were last mapped to our columns, offered again on the next upload.

    ``mapping_json`` maps each of our field names to the header the consultant chose for it.
    """

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    mapping_json: Mapped[str] = mapped_column(Text, default="{}")
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (CheckConstraint("kind IN ('roster', 'performance', 'sessions')", name="kind_known"),)


class ResponseScore(db.Model):
    """A response's score on one dimension: the mean of its answered items after reverse scoring.

    Written by the database (``INSERT … SELECT … GROUP BY``) when the response is stored, so a
    report reads one row per response and dimension instead of re-aggregating every answer.
    """

    response_id: Mapped[str] = mapped_column(ForeignKey("response.id", ondelete="CASCADE"), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(64), primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    answered: Mapped[int] = mapped_column(Integer)

    __table_args__ = ({"sqlite_with_rowid": False},)


class AnalysisPlan(db.Model):
    """A study's analysis plan, frozen at launch: its canonical JSON and that text's SHA-256 (never changed;
    later changes of analysis settings are deviations, ``DesignChange``)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"), unique=True)
    locked_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    content: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))


class InterimLook(db.Model):
    """One interim look at an open wave, taken once and kept: the primary outcome's z against its
    group-sequential bound and the advice. Kept so that the numbers cannot be watched moving response by
    response: a wave's next look exists only once enough responses came in since (``surveys.interim``)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"), index=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("wave.id", ondelete="CASCADE"))
    look: Mapped[int] = mapped_column(Integer)
    responses: Mapped[int] = mapped_column(Integer)
    information: Mapped[float] = mapped_column(Float)
    result_json: Mapped[str] = mapped_column(Text)
    taken_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("wave_id", "look", name="uq_interim_look_wave_look"),)


class PlanningSimulation(db.Model):
    """A check of a study's design by simulation (``analysis.planning_simulation``), run as a background task.

    ``parameters_json``: what the consultant asked for (effect d, ICC, response rate, preset) and the design read
    from the roster when it was asked (teams per model, team sizes, primary outcome, planted model, seed);
    ``status``: queued → running → done (``result_json``: the ``DesignSimulation`` as JSON) or failed
    (``message``). ``done`` of ``total`` pilots are simulated so far, for the progress page.
    """

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    parameters_json: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="queued")
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    result_json: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status_known"),
    )


class AuditEvent(db.Model):
    """One act by a person — who, what, when, on which organisation or study — never a survey answer.

    Append-only: the database refuses to change or delete a row (``audit.GUARD`` triggers, on both
    engines), so nobody can tidy up after themselves. The organisation, study and actor are kept as
    plain ids with their names as they were, not as foreign keys: an event outlives what it is about
    (a deleted draft study, a removed account), and a cascading delete would be a change of the log.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(254))
    organisation_id: Mapped[int | None] = mapped_column(Integer, index=True)
    study_id: Mapped[int | None] = mapped_column(Integer, index=True)
    study_name: Mapped[str | None] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (CheckConstraint("length(action) > 0", name="action_named"),)


class SendItemState(enum.StrEnum):
    """Where one message of a send job stands (``pilots/sending.py`` says how an item moves)."""

    PENDING = "pending"  # not tried yet
    CLAIMED = "claimed"  # a consumer holds it until ``claimed_until``: it is being sent
    SENT = "sent"  # the mail server accepted it
    RETRY = "retry"  # a temporary failure: tried again at ``next_attempt_at``, with the same link
    FAILED = "failed"  # refused for good, or MAIL_MAX_ATTEMPTS temporary failures
    UNCERTAIN = "uncertain"  # its consumer died while holding it: the message may or may not have left
    SKIPPED = "skipped"  # not sent: the rep answered, left or lost their address, or the wave closed first


class SendJob(db.Model):
    """One run of e-mails for a wave (invitations or reminders), worked through by the task queue.

    Its progress is the states of its items; ``finished_at`` is set once none is left to try.
    ``actor_id``/``actor`` are who started it, kept as plain values (as ``AuditEvent`` keeps them).
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"), index=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("wave.id", ondelete="CASCADE"), index=True)
    reminder: Mapped[bool] = mapped_column(Boolean, default=False)
    base_url: Mapped[str] = mapped_column(String(500))
    actor_id: Mapped[int | None] = mapped_column(Integer)
    without_email: Mapped[int] = mapped_column(Integer, default=0)
    # Whether the job's size may be shown: only when it cannot depend on who has answered (an invitation run
    # to reps none of whom had a link for the wave yet). A reminder run's size, or an invitation run's after a
    # mail-merge download, is the number of reps who have not answered an open wave.
    exact: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # A runner working on the job renews this with each item it claims; the periodic resume starts one only
    # when it has passed, so a job has one runner (and MAIL_RATE holds) unless more are enqueued on purpose.
    active_until: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)

    study: Mapped[Study] = relationship()
    wave: Mapped[Wave] = relationship()


class SendItem(db.Model):
    """One rep's message of a send job.

    ``sealed_link`` is the clear link of ``invitation_id``, encrypted (AES-GCM under a key derived from
    SECRET_KEY), kept only until the item is sent or failed: a retry, or a resend of an uncertain item,
    carries the same link, so no message carries one that a later message stopped.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("send_job.id", ondelete="CASCADE"))
    rep_id: Mapped[int] = mapped_column(ForeignKey("rep.id", ondelete="CASCADE"), index=True)
    state: Mapped[SendItemState] = mapped_column(_enum(SendItemState, "send_item_state"),
                                                 default=SendItemState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime)
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitation.id", ondelete="SET NULL"))
    sealed_link: Mapped[bytes | None] = mapped_column(LargeBinary)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    uncertain_at: Mapped[datetime | None] = mapped_column(DateTime)  # kept once set: the item may have gone twice
    last_error: Mapped[str | None] = mapped_column(String(200))

    job: Mapped[SendJob] = relationship()
    rep: Mapped[Rep] = relationship()

    __table_args__ = (
        UniqueConstraint("job_id", "rep_id"),
        Index("ix_send_item_job_state", "job_id", "state"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    )


class ReportSnapshot(db.Model):
    """One view of a study's report as it was computed, for every worker and instance to serve warm.

    ``view_key`` names the view (wave, region, band: ``surveys.snapshots.view_key``); ``version`` is a
    digest of the data version the report was built from (``report.snapshot_version``); ``data`` the
    report object, pickled by the app itself and signed with its secret key (``surveys.snapshots``), so
    that nothing but the app's own writes is ever unpickled. A study's snapshots go with the study.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"), index=True)
    view_key: Mapped[str] = mapped_column(String(400))
    version: Mapped[str] = mapped_column(String(64))
    k_threshold: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    built_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("study_id", "view_key"),)


class ReportRebuild(db.Model):
    """A rebuild of a study's snapshots that was asked for and has not finished (at most one per study)."""

    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"), primary_key=True)
    requested_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
