"""The roster as consultants change it by hand: the list of reps (searched, in pages), a rep's name,
e-mail and team, a rep leaving and coming back, a team's name and region — and the rules that keep a
running study's design intact.

**Moving reps.** Under team randomisation a rep's coaching model is their team's. Once a study is
under way (running, first wave opened) a rep may therefore move only between teams coached by the
same model in it. Moving to a team of another model would switch their model mid-study, and their
answers before and after would count for two arms; moving to a team outside the study would take
them out, and from there into another arm — so that is refused too. Joining a study's team from
outside it is allowed: it is what a new hire does. A rep randomised on their own keeps their model
wherever they move. The roster import applies the same rule. Once a wave has closed, the study's
CRM and session figures count the population frozen then (``studies.freeze_members``), so no later
move changes them; survey answers carry their team, region and size band as they were when given.

**A team's region.** A study under way that was stratified by region drew its teams within their
regions: the region of a team taking part is part of the draw and is locked. Otherwise it changes,
and only later answers count in the new region (answers keep the region they were given in).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select

from .. import audit
from ..accounts import AccountError, normalise_email
from ..database import transactional
from ..extensions import db
from ..languages import normalise as normalise_language
from ..languages import offered as offered_languages
from ..models import CoachingModel, Organisation, RandomisationUnit, Rep, Study, StudyStatus, Team
from ..refusals import ONE_LINE, Refused, has_control_characters
from ..studies import is_locked

PAGE_SIZE = 50


class RosterError(Refused):
    """A roster change that is not allowed; ``field`` names the form field the message belongs to."""

    def __init__(self, message: str, field: str = "name"):
        super().__init__(message)
        self.field = field


# --- the list of reps ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RepRow:
    """A rep as the roster lists them."""

    id: int
    name: str
    email: str | None
    crm_id: str | None
    team_id: int
    team: str
    active: bool


@dataclass(frozen=True)
class RepPage:
    """One page of the organisation's reps, by team and name, as searched."""

    reps: list[RepRow]
    total: int
    page: int
    pages: int
    query: str
    team_id: int | None


def rep_page(organisation: Organisation, query: str = "", team_id: int | None = None, page: int = 1) -> RepPage:
    """The reps whose name or e-mail contains ``query`` (any case), of team ``team_id`` if given, page ``page``."""
    query = (query or "").strip()[:200]
    conditions = [Rep.organisation_id == organisation.id]
    if query:
        pattern = "%" + query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions.append(or_(func.lower(Rep.name).like(pattern, escape="\\"),
                              func.lower(func.coalesce(Rep.email, "")).like(pattern, escape="\\")))
    if team_id is not None:
        conditions.append(Rep.team_id == team_id)
    total = db.session.scalar(select(func.count()).select_from(Rep).where(*conditions)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    rows = db.session.execute(
        select(Rep.id, Rep.name, Rep.email, Rep.crm_id, Rep.team_id, Team.name, Rep.active)
        .join(Team, Team.id == Rep.team_id).where(*conditions)
        .order_by(Team.name, Rep.name, Rep.id).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return RepPage([RepRow(*row) for row in rows], total, page, pages, query, team_id)


def rep_of(organisation: Organisation, rep_id: int) -> Rep | None:
    """The organisation's rep ``rep_id``, or None (another organisation's rep is not found either)."""
    rep = db.session.get(Rep, rep_id)
    return rep if rep is not None and rep.organisation_id == organisation.id else None


def team_of(organisation: Organisation, team_id: int) -> Team | None:
    """The organisation's team ``team_id``, or None."""
    team = db.session.get(Team, team_id)
    return team if team is not None and team.organisation_id == organisation.id else None


def teams_by_name(organisation: Organisation) -> list[Team]:
    """The organisation's teams, by name."""
    return list(db.session.scalars(select(Team).where(Team.organisation_id == organisation.id).order_by(Team.name)))


# --- the rules of a study under way --------------------------------------------------------------------


@dataclass(frozen=True)
class StudyUnderWay:
    """A running study whose first wave has opened, with the coaching model of each team it assigned."""

    study: Study
    models: dict[int, CoachingModel]  # team id -> model (team randomisation; empty for rep randomisation)
    teams: frozenset[int]  # the teams taking part (for rep randomisation: teams with an assigned rep)


def studies_under_way(organisation_id: int, today: date) -> list[StudyUnderWay]:
    """The organisation's studies whose design is locked and that still collect answers."""
    found = []
    for study in db.session.scalars(select(Study).where(Study.organisation_id == organisation_id,
                                                        Study.status == StudyStatus.RUNNING).order_by(Study.id)):
        if not is_locked(study, today):
            continue
        if study.randomisation_unit is RandomisationUnit.TEAM:
            models = {a.team_id: a.coaching_model for a in study.assignments if a.team_id is not None}
            found.append(StudyUnderWay(study, models, frozenset(models)))
        else:
            teams = frozenset(a.rep.team_id for a in study.assignments if a.rep is not None)
            found.append(StudyUnderWay(study, {}, teams))
    return found


def _team_label(team: Team | None, model: CoachingModel | None) -> str:
    name = team.name if team is not None else "a new team"
    return f"{name} ({model.value} coaching)" if model is not None else name


def move_refusal(rep: Rep, old_team: Team, new_team: Team, under_way: list[StudyUnderWay]) -> str | None:
    """Why ``rep`` may not move from ``old_team`` to ``new_team`` now (a clause), or None."""
    for running in under_way:
        if running.study.randomisation_unit is not RandomisationUnit.TEAM:
            continue
        old, new = running.models.get(old_team.id), running.models.get(new_team.id)
        if old is None or old == new:
            continue  # not in the study yet (joining is like being hired), or the same model
        name = running.study.name
        if new is None:
            return (f"moving {rep.name} from {_team_label(old_team, old)} to {_team_label(new_team, None)}, which is "
                    f"not in “{name}”, would take them out of the study while it runs (and from there into another "
                    "model); keep them in their team, or mark them as having left")
        return (f"moving {rep.name} from {_team_label(old_team, old)} to {_team_label(new_team, new)} would switch "
                f"their coaching model while “{name}” runs: their answers would count for two models; keep them in "
                "their team, or mark them as having left")
    return None


def move_limits(rep: Rep, today: date) -> list[str]:
    """What the rep form says about moving ``rep``: one sentence per study under way that limits it."""
    limits = []
    for running in studies_under_way(rep.organisation_id, today):
        model = running.models.get(rep.team_id)
        if model is None:
            continue
        limits.append(f"Moving is limited while “{running.study.name}” runs: {rep.team.name} is coached by the "
                      f"{model.value} model, so {rep.name} can move only to another team coached by it — another "
                      "team would switch their coaching model mid-study and mix the models' answers.")
    return limits


def region_lock(team: Team, today: date) -> str | None:
    """Why ``team``'s region cannot change now (a clause), or None."""
    for running in studies_under_way(team.organisation_id, today):
        if running.study.stratify_by == "region" and team.id in running.teams:
            return (f"locked while “{running.study.name}” runs: its teams were randomised within their regions, so "
                    "a team's region is part of the draw, and changing it would put the team in another stratum "
                    "than the one it was drawn in")
    return None


# --- changes -------------------------------------------------------------------------------------------


@transactional
def edit_rep(organisation: Organisation, rep: Rep, name: str, email: str | None, team: Team, today: date,
             language: str | None = None) -> None:
    """Change a rep's name, e-mail, team and language (committed); a move that would mix a running study's
    models is refused. ``language`` blank: not set (English, or what the rep's browser asks for)."""
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise RosterError("a rep needs a name of at most 200 characters", "name")
    if has_control_characters(name):
        raise RosterError(f"a rep's name {ONE_LINE}", "name")
    email = (email or "").strip()
    if email:
        try:
            email = normalise_email(email)
        except AccountError as error:
            raise RosterError(str(error), "email") from None
        other = db.session.scalar(select(Rep).where(Rep.organisation_id == organisation.id, Rep.id != rep.id,
                                                    func.lower(Rep.email) == email))
        if other is not None:
            raise RosterError(f"another rep of this organisation already has this e-mail: {other.name}", "email")
    elif not rep.crm_id:
        raise RosterError("this rep has no CRM id, so they need an e-mail to be told apart", "email")
    if team.organisation_id != organisation.id:
        raise LookupError(team.id)
    if team.id != rep.team_id:
        refusal = move_refusal(rep, rep.team, team, studies_under_way(organisation.id, today))
        if refusal:
            raise RosterError(refusal, "team_id")
    chosen = normalise_language(language)
    if (language or "").strip() and chosen is None:
        raise RosterError(f"reps can answer in {offered_languages()}", "language")
    moved = f"; team {rep.team.name} → {team.name}" if team.id != rep.team_id else ""
    rep.name, rep.email, rep.team, rep.language = name, email or None, team, chosen
    audit.record("rep.changed", organisation=organisation, detail=f"rep #{rep.id}{moved}")


@transactional
def set_rep_active(rep: Rep, active: bool) -> None:
    """Mark a rep as having left (no more links, not counted in team sizes from now), or back again."""
    rep.active = bool(active)
    audit.record("rep.changed", organisation=rep.organisation_id,
                 detail=f"rep #{rep.id} marked as {'back' if active else 'having left'}")


@transactional
def edit_team(organisation: Organisation, team: Team, name: str, region: str | None, today: date) -> None:
    """Rename a team and set its region (committed); the region is locked where ``region_lock`` says so."""
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise RosterError("a team needs a name of at most 120 characters", "name")
    if has_control_characters(name):
        raise RosterError(f"a team's name {ONE_LINE}", "name")
    taken = db.session.scalar(select(Team.id).where(Team.organisation_id == organisation.id, Team.id != team.id,
                                                    func.lower(Team.name) == name.lower()))
    if taken is not None:
        raise RosterError(f"the organisation already has a team called {name!r}", "name")
    region = (region or "").strip() or None
    if region is not None and len(region) > 120:
        raise RosterError("a region has at most 120 characters", "region")
    if region is not None and has_control_characters(region):
        raise RosterError(f"a region {ONE_LINE}", "region")
    if region != team.region:
        lock = region_lock(team, today)
        if lock:
            raise RosterError(lock, "region")
    before = f"{team.name} ({team.region or 'no region'})"
    team.name, team.region = name, region
    audit.record("team.changed", organisation=organisation, detail=f"{before} → {name} ({region or 'no region'})")
