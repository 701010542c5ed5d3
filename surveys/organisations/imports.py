"""Imports of rosters, CRM performance and coaching-session logs: all or nothing, problems by row and column.

Each import reads the file (``tabular``), maps the headers, checks every row, and writes only
when no row has a problem — in one transaction, which the import owns. Re-importing updates
instead of duplicating: reps by CRM id (or e-mail), performance by rep and period, sessions by
their full content.
Row numbers are spreadsheet rows: the header is row 1, the first data row is row 2.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import pandas as pd
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from .. import audit, snapshots
from ..database import transactional
from ..extensions import db
from ..languages import normalise as normalise_language
from ..languages import offered as offered_languages
from ..models import CoachingModel, CoachingSession, Organisation, PerformanceRecord, Rep, Team
from ..outcomes import CRM_FIELDS
from ..refusals import Refused
from ..tabular import Field, TableError, apply_mapping
from .roster import move_refusal, studies_under_way

# Headers the common CRM and HR exports use (Salesforce, HubSpot, Workday…), after ``normalise_header``.
EMAIL_ALIASES = ("e_mail", "email_address", "mail", "work_email", "business_email", "company_email",
                 "corporate_email", "work_e_mail")
CRM_ALIASES = ("crm", "crm_external_id", "external_id", "rep_id", "salesforce_id", "salesforce_user_id", "sfdc_id",
               "hubspot_id", "hubspot_owner_id")
TEAM_ALIASES = ("team_name", "sales_team", "squad", "pod")
ROSTER_FIELDS = [
    Field("team", TEAM_ALIASES, True, "Team"),
    Field("region", ("area", "territory"), False, "Region"),
    Field("name", ("rep_name", "rep", "full_name", "sales_rep", "employee_name"), True, "Rep name"),
    Field("email", EMAIL_ALIASES, False, "E-mail"),
    Field("crm_id", (*CRM_ALIASES, "employee_id"), False, "CRM id"),
    Field("language", ("lang", "locale", "preferred_language", "survey_language"), False, "Language"),
]
PERFORMANCE_FIELDS = [
    Field("crm_id", (*CRM_ALIASES, "owner_id"), False, "CRM id"),
    Field("email", (*EMAIL_ALIASES, "owner_email"), False, "E-mail"),
    Field("period", ("quarter", "month", "fiscal_period"), True, "Period"),
    Field("quota_attainment", ("quota", "attainment", "quota_attainment_pct", "percent_to_quota"), False,
          "Quota attainment %"),
    Field("win_rate", ("winrate", "win_ratio", "close_rate"), False, "Win rate"),
    Field("revenue", ("bookings", "closed_revenue", "amount"), False, "Revenue"),
    Field("deals_won", ("deals", "won_deals", "closed_won"), False, "Deals won"),
]
SESSION_FIELDS = [
    Field("crm_id", CRM_ALIASES, False, "CRM id"),
    Field("email", (*EMAIL_ALIASES, "rep_email"), False, "E-mail"),
    Field("team", TEAM_ALIASES, False, "Team"),
    Field("coach_model", ("model", "coach", "coach_type", "coaching_model"), True, "Coach's model"),
    Field("date", ("session_date", "day"), True, "Date"),
    Field("minutes", ("duration", "duration_minutes", "length"), True, "Minutes"),
]
PERIOD = re.compile(r"^(\d{4})-(?:[Qq]([1-4])|(0[1-9]|1[0-2]))$")
MAX_MINUTES = 480


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one cell (or row) of the file."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.column}: {self.message}"


class ImportRejected(Refused):
    """The file was refused; nothing was written. ``problems`` lists every reason."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        first = problems[0] if problems else "no rows"
        super().__init__(f"{len(problems)} problem(s), nothing imported; first: {first}")


@dataclass
class ImportReport:
    """What an accepted import changed."""

    rows: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    teams_created: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{self.rows:,} rows read", f"{self.created:,} added", f"{self.updated:,} updated"]
        if self.unchanged:
            parts.append(f"{self.unchanged:,} unchanged")
        if self.deactivated:
            parts.append(f"{self.deactivated:,} reps marked as left")
        if self.teams_created:
            parts.append(f"{self.teams_created:,} new teams")
        return ", ".join(parts) + "."


Progress = Callable[[int], None]
"""Told how many rows have been checked so far, while they are checked (before anything is written)."""


def _rows(frame: pd.DataFrame, progress: Progress | None = None):
    """(spreadsheet row number, row dict) pairs; ``progress`` hears of each row checked, and of the last."""
    records = frame.to_dict("records")
    for index, row in enumerate(records):
        if progress:
            progress(index)
        yield index + 2, row
    if progress:
        progress(len(records))


def _email(value: str) -> str:
    return validate_email(value, check_deliverability=False).normalized.lower()


def parse_number(text: str) -> float:
    """A number as people write it in spreadsheets: ``1,234.5``, ``1234,5``, ``€ 900``, ``95 %``."""
    cleaned = re.sub(r"[\s$€£%_]", "", text)
    if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", cleaned):
        cleaned = cleaned.replace(",", "")
    elif cleaned.count(",") == 1 and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    value = float(cleaned)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(text)
    return value


def parse_period(text: str) -> tuple[str, date]:
    """``2026-Q3`` or ``2026-09`` → (canonical label, first day)."""
    match = PERIOD.match(text.strip())
    if not match:
        raise ValueError(text)
    year = int(match.group(1))
    if match.group(2):
        quarter = int(match.group(2))
        return f"{year}-Q{quarter}", date(year, 3 * quarter - 2, 1)
    month = int(match.group(3))
    return f"{year}-{month:02d}", date(year, month, 1)


# --- rosters -------------------------------------------------------------------------------------------


@transactional
def import_roster(organisation: Organisation, frame: pd.DataFrame, mapping: dict | None = None,
                  deactivate_missing: bool = False, progress: Progress | None = None,
                  today: date | None = None) -> ImportReport:
    """Create or update teams and reps from a roster; optionally mark reps missing from the file as left.

    A row that moves a rep to a team of another coaching model of a study under way is a problem of
    the file, as the same move by hand is refused (``roster.move_refusal``).
    """
    table = apply_mapping(frame, ROSTER_FIELDS, mapping or {})
    problems: list[Problem] = []
    seen: dict[tuple[str, str], int] = {}
    clean = []
    for number, row in _rows(table, progress):
        team, name = row["team"], row["name"]
        email, crm_id = row["email"], row["crm_id"]
        if not team:
            problems.append(Problem(number, "team", "missing"))
        elif len(team) > 120:
            problems.append(Problem(number, "team", "longer than 120 characters"))
        if not name:
            problems.append(Problem(number, "name", "missing"))
        elif len(name) > 200:
            problems.append(Problem(number, "name", "longer than 200 characters"))
        if len(row["region"]) > 120:
            problems.append(Problem(number, "region", "longer than 120 characters"))
        if email:
            try:
                email = _email(email)
            except EmailNotValidError:
                problems.append(Problem(number, "email", f"{row['email']!r} is not an e-mail address"))
        if len(crm_id) > 64:
            problems.append(Problem(number, "crm_id", "longer than 64 characters"))
        if not email and not crm_id:
            problems.append(Problem(number, "crm_id", "each rep needs a CRM id or an e-mail"))
        for key, value in (("crm_id", crm_id), ("email", email)):
            if value:
                if (key, value.lower()) in seen:
                    problems.append(Problem(number, key, f"duplicate of row {seen[(key, value.lower())]}"))
                seen.setdefault((key, value.lower()), number)
        language = normalise_language(row["language"])
        if row["language"] and language is None:
            problems.append(Problem(number, "language", f"{row['language'][:40]!r} is not a language reps can "
                                                        f"answer in ({offered_languages()})"))
        clean.append((team, row["region"] or None, name, email or None, crm_id or None, language))
    if problems:
        raise ImportRejected(problems)

    report = ImportReport(rows=len(clean))
    teams = {t.name.lower(): t for t in db.session.scalars(select(Team).where(Team.organisation_id == organisation.id))}
    reps = list(db.session.scalars(select(Rep).where(Rep.organisation_id == organisation.id)))
    by_crm = {r.crm_id.lower(): r for r in reps if r.crm_id}
    by_email = {r.email.lower(): r for r in reps if r.email}
    applied: dict[int, int] = {}  # id(rep) -> spreadsheet row that set it
    conflicts: list[Problem] = []
    under_way = studies_under_way(organisation.id, today or date.today())
    for position, (team_name, region, name, email, crm_id, language) in enumerate(clean, start=1):
        team = teams.get(team_name.lower())
        if team is None:
            team = Team(organisation_id=organisation.id, name=team_name, region=region)
            db.session.add(team)
            teams[team_name.lower()] = team
            report.teams_created += 1
        elif region and team.region != region:
            team.region = region
        by_id = by_crm.get(crm_id.lower()) if crm_id else None
        by_mail = by_email.get(email) if email else None
        if by_id is not None and by_mail is not None and by_id is not by_mail:
            conflicts.append(Problem(position + 1, "email", f"CRM id {crm_id!r} belongs to {by_id.name} but "
                                                            f"e-mail {email} to {by_mail.name}"))
            continue
        rep = by_id or by_mail
        if rep is not None and id(rep) in applied:
            conflicts.append(Problem(position + 1, "crm_id", f"refers to the same rep as row {applied[id(rep)]} "
                                                             "(same CRM id or e-mail)"))
            continue
        if rep is None:
            rep = Rep(organisation_id=organisation.id, team=team, name=name, email=email, crm_id=crm_id, active=True,
                      language=language)
            db.session.add(rep)
            report.created += 1
        else:
            refusal = (move_refusal(rep, rep.team, team, under_way)
                       if under_way and rep.team is not team else None)
            if refusal:
                conflicts.append(Problem(position + 1, "team", refusal))
                continue
            before = (rep.team, rep.name, rep.email, rep.crm_id, rep.active, rep.language)
            old_keys = ((rep.crm_id or "").lower(), (rep.email or "").lower())
            rep.team, rep.name, rep.active = team, name, True
            rep.email = email or rep.email
            rep.crm_id = crm_id or rep.crm_id
            rep.language = language or rep.language  # a blank cell keeps the language set before
            changed = before != (rep.team, rep.name, rep.email, rep.crm_id, rep.active, rep.language)
            report.updated += changed
            report.unchanged += not changed
            by_crm.pop(old_keys[0], None)
            by_email.pop(old_keys[1], None)
        # Later rows must find the rep under its new keys, and only once.
        if rep.crm_id:
            by_crm[rep.crm_id.lower()] = rep
        if rep.email:
            by_email[rep.email.lower()] = rep
        applied[id(rep)] = position + 1
    if conflicts:
        raise ImportRejected(conflicts)
    if deactivate_missing:
        for rep in reps:
            if id(rep) not in applied and rep.active:
                rep.active = False
                report.deactivated += 1
    _write_or_reject()
    audit.record("roster.imported", organisation=organisation, detail=report.summary())
    snapshots.request_rebuild_of_organisation(organisation.id)
    return report


def _write_or_reject() -> None:
    """Write what is pending; a constraint the checks above missed (a race, say) rejects the whole file cleanly."""
    try:
        db.session.flush()
    except IntegrityError as error:
        raise ImportRejected([Problem(0, "file", "conflicts with data saved meanwhile; please import again "
                                                f"({type(error.orig).__name__})")]) from None


# --- performance ---------------------------------------------------------------------------------------


def _rep_lookup(organisation: Organisation) -> tuple[dict[str, int], dict[str, int]]:
    reps = db.session.execute(select(Rep.id, Rep.crm_id, Rep.email).where(Rep.organisation_id == organisation.id))
    by_crm, by_email = {}, {}
    for rep_id, crm_id, email in reps:
        if crm_id:
            by_crm[crm_id.lower()] = rep_id
        if email:
            by_email[email.lower()] = rep_id
    return by_crm, by_email


def _find_rep(row, number, by_crm, by_email, problems) -> int | None:
    crm_id, email = row["crm_id"], row["email"].lower()
    if not crm_id and not email:
        problems.append(Problem(number, "crm_id", "each row needs the rep's CRM id or e-mail"))
        return None
    rep_id = by_crm.get(crm_id.lower()) if crm_id else None
    if rep_id is None and email:
        rep_id = by_email.get(email)
    if rep_id is None:
        column = "crm_id" if crm_id else "email"
        problems.append(Problem(number, column, f"no rep with {column.replace('_', ' ')} {crm_id or email!r} "
                                                "in this organisation's roster"))
    return rep_id


def _plain(number: float) -> str:
    """A bound as people write it: 0, 1, 1,000, 1,000,000,000,000 (never 1e+12)."""
    return f"{number:,.0f}" if float(number).is_integer() else f"{number:,}"


def _metric(row, number, name, problems, low, high, integer=False, percent_means_share=False):
    text = row[name]
    if not text:
        return None
    try:
        value = parse_number(text)
    except ValueError:
        problems.append(Problem(number, name, f"{text!r} is not a number"))
        return None
    if percent_means_share and text.strip().endswith("%"):
        value /= 100
    if integer and value != int(value):
        problems.append(Problem(number, name, f"{text!r} is not a whole number"))
        return None
    if not low <= value <= high:
        as_percent = percent_means_share and text.strip().endswith("%")
        written = (lambda bound: f"{_plain(bound * 100)}%") if as_percent else _plain
        bound = f"must be {written(low)} or more" if value < low else f"must be at most {written(high)}"
        hint = " (a share: write 0.35 or 35%)" if percent_means_share and value > 1 and not as_percent else ""
        problems.append(Problem(number, name, f"{text} {bound}{hint}"))
        return None
    return int(value) if integer else value


@transactional
def import_performance(organisation: Organisation, frame: pd.DataFrame, mapping: dict | None = None,
                       progress: Progress | None = None) -> ImportReport:
    """Upsert CRM performance by rep and period (re-importing the same file changes nothing)."""
    table = apply_mapping(frame, PERFORMANCE_FIELDS, mapping or {})
    if not any(table[name].astype(bool).any() for name in CRM_FIELDS):
        raise TableError(f"the file has none of the metrics: {', '.join(CRM_FIELDS)}")
    by_crm, by_email = _rep_lookup(organisation)
    problems: list[Problem] = []
    seen: dict[tuple[int, str], int] = {}
    records = []
    for number, row in _rows(table, progress):
        rep_id = _find_rep(row, number, by_crm, by_email, problems)
        try:
            period, start = parse_period(row["period"])
        except ValueError:
            problems.append(Problem(number, "period", f"{row['period']!r} is not a period like 2026-Q3 or 2026-09"))
            period = start = None
        values = {
            "quota_attainment": _metric(row, number, "quota_attainment", problems, 0, 1000),
            "win_rate": _metric(row, number, "win_rate", problems, 0, 1, percent_means_share=True),
            "revenue": _metric(row, number, "revenue", problems, 0, 1e12),
            "deals_won": _metric(row, number, "deals_won", problems, 0, 1e6, integer=True),
        }
        if all(row[name] == "" for name in values):
            problems.append(Problem(number, "quota_attainment", "the row has no metric"))
        if rep_id is not None and period is not None:
            key = (rep_id, period)
            if key in seen:
                problems.append(Problem(number, "period", f"duplicate of row {seen[key]} (same rep and period)"))
            seen.setdefault(key, number)
            records.append({"rep_id": rep_id, "period": period, "period_start": start, **values})
    if problems:
        raise ImportRejected(problems)

    existing = {}
    rep_ids = sorted({r["rep_id"] for r in records})
    for chunk in range(0, len(rep_ids), 500):
        for record in db.session.scalars(select(PerformanceRecord).where(
                PerformanceRecord.rep_id.in_(rep_ids[chunk:chunk + 500]))):
            existing[(record.rep_id, record.period)] = record
    report = ImportReport(rows=len(records))
    new_rows, changed_rows = [], []
    for record in records:
        old = existing.get((record["rep_id"], record["period"]))
        if old is None:
            new_rows.append(record)
        elif tuple(getattr(old, m) for m in CRM_FIELDS) != tuple(record[m] for m in CRM_FIELDS):
            changed_rows.append({"id": old.id, **{m: record[m] for m in CRM_FIELDS}})
        else:
            report.unchanged += 1
    if new_rows:
        db.session.execute(insert(PerformanceRecord), new_rows)
    if changed_rows:
        db.session.execute(update(PerformanceRecord), changed_rows)
    report.created, report.updated = len(new_rows), len(changed_rows)
    _write_or_reject()
    audit.record("performance.imported", organisation=organisation, detail=report.summary())
    snapshots.request_rebuild_of_organisation(organisation.id)
    return report


# --- coaching sessions ---------------------------------------------------------------------------------


@transactional
def import_sessions(organisation: Organisation, frame: pd.DataFrame, mapping: dict | None = None,
                    today: date | None = None, progress: Progress | None = None) -> ImportReport:
    """Add logged coaching sessions (with a rep or a whole team); rows already stored are skipped."""
    today = today or date.today()
    table = apply_mapping(frame, SESSION_FIELDS, mapping or {})
    by_crm, by_email = _rep_lookup(organisation)
    teams = {name.lower(): team_id for team_id, name in db.session.execute(
        select(Team.id, Team.name).where(Team.organisation_id == organisation.id))}
    problems: list[Problem] = []
    seen: dict[tuple, int] = {}
    sessions = []
    for number, row in _rows(table, progress):
        rep_id = team_id = None
        if row["crm_id"] or row["email"]:
            rep_id = _find_rep(row, number, by_crm, by_email, problems)
        elif row["team"]:
            team_id = teams.get(row["team"].lower())
            if team_id is None:
                problems.append(Problem(number, "team", f"no team called {row['team']!r} in this organisation"))
        else:
            problems.append(Problem(number, "crm_id", "each session needs a rep (CRM id or e-mail) or a team"))
        try:
            model = CoachingModel(row["coach_model"].strip().lower())
        except ValueError:
            problems.append(Problem(number, "coach_model", f"{row['coach_model']!r} is not manager, peer or external"))
            model = None
        try:
            day = date.fromisoformat(row["date"].strip()[:10])
            if day > today:
                problems.append(Problem(number, "date", f"{day.isoformat()} is in the future"))
        except ValueError:
            problems.append(Problem(number, "date", f"{row['date']!r} is not a date like 2026-09-30"))
            day = None
        try:
            minutes = parse_number(row["minutes"])
            if minutes != int(minutes) or not 1 <= minutes <= MAX_MINUTES:
                raise ValueError(row["minutes"])
            minutes = int(minutes)
        except ValueError:
            problems.append(Problem(number, "minutes", f"{row['minutes']!r} is not a whole number of minutes "
                                                       f"from 1 to {MAX_MINUTES}"))
            minutes = None
        if None not in (model, day, minutes) and (rep_id or team_id):
            key = (rep_id, team_id, model, day, minutes)
            if key in seen:
                problems.append(Problem(number, "date", f"duplicate of row {seen[key]}"))
            seen.setdefault(key, number)
            sessions.append(key)
    if problems:
        raise ImportRejected(problems)
    stored = set(tuple(row) for row in db.session.execute(select(CoachingSession.rep_id, CoachingSession.team_id,
                                           CoachingSession.coach_model, CoachingSession.session_date,
                                           CoachingSession.minutes)
                                    .where(CoachingSession.organisation_id == organisation.id)).all())
    report = ImportReport(rows=len(sessions))
    rows = []
    for key in sessions:
        if key in stored:
            report.unchanged += 1
        else:
            rep_id, team_id, model, day, minutes = key
            rows.append({"organisation_id": organisation.id, "rep_id": rep_id, "team_id": team_id,
                         "coach_model": model, "session_date": day, "minutes": minutes})
    if rows:
        db.session.execute(insert(CoachingSession), rows)
    report.created = len(rows)
    _write_or_reject()
    audit.record("sessions.imported", organisation=organisation, detail=report.summary())
    snapshots.request_rebuild_of_organisation(organisation.id)
    return report
