"""Small builders for test data, so tests state only what matters to them."""

from __future__ import annotations

from datetime import date, timedelta

from surveys import accounts
from surveys.extensions import db
from surveys.models import Assignment, CoachingModel, Organisation, Rep, Team, Wave
from surveys.studies import create_study

PASSWORD = "correct horse battery"


def organisation(name: str = "Acme Sales") -> Organisation:
    """A committed organisation."""
    return accounts.create_organisation(name)


def user(email: str = "consultant@acme.example.com", role: str = "consultant", orgs: list[str] | None = None,
         password: str = PASSWORD):
    """A committed user; consultants default to no organisation."""
    return accounts.create_user(email, role, password, orgs or [])


def team_with_reps(org: Organisation, name: str = "North 1", reps: int = 6, region: str = "North") -> Team:
    """A team with ``reps`` reps (committed)."""
    team = Team(organisation=org, name=name, region=region)
    db.session.add(team)
    db.session.flush()
    for i in range(reps):
        db.session.add(Rep(organisation_id=org.id, team=team, name=f"Rep {name} {i}",
                           email=f"rep{i}.{team.id}@acme.example.com", crm_id=f"CRM-{team.id}-{i}"))
    db.session.commit()
    return team


def study(org: Organisation, models=("manager", "peer", "external"), teams: list[Team] | None = None,
          today: date | None = None):
    """A study with the built-in instrument, an open wave and teams assigned round-robin."""
    today = today or date.today()
    result = create_study(org, "Pilot", [CoachingModel(m) for m in models], seed=1)
    result.waves = [Wave(label="baseline", opens_on=today - timedelta(days=3), closes_on=today + timedelta(days=10))]
    for i, team in enumerate(teams or []):
        result.assignments.append(Assignment(team=team, coaching_model=CoachingModel(models[i % len(models)])))
    db.session.commit()
    return result


def invite(wave, rep, today: date | None = None) -> str:
    """Issue a survey link to ``rep`` for ``wave`` (through the real service) and return its token."""
    from surveys.pilots.invitations import issue_links

    [link] = issue_links(wave.study, wave, "http://localhost", today or date.today(), only={rep.id})
    return link.link.rsplit("/", 1)[1]


def running_survey(org_name: str = "Acme Sales", model: str = "peer", reps: int = 6, today: date | None = None,
                   questions=()):
    """A running study with one open wave and one team assigned to ``model``; returns (study, team).

    ``questions`` (``NewQuestion``s) are added as the study's own while it is a draft: they lock at launch.
    """
    from surveys.models import StudyStatus
    from surveys.pilots.questions import add_question

    org = organisation(org_name)
    team = team_with_reps(org, reps=reps)
    result = study(org, models=(model, *[m for m in ("manager", "peer", "external") if m != model]),
                   teams=[team], today=today)
    for new in questions:
        add_question(result, new, date.today())
    result.status = StudyStatus.RUNNING
    db.session.commit()
    return result, team


def valid_answers(questions) -> dict[str, str]:
    """A plausible answer for every question, as the form would post it (field name -> value)."""
    from surveys.models import QuestionKind

    values = {}
    for position, question in enumerate(questions):
        kind = question.kind
        if kind in (QuestionKind.AGREE5, QuestionKind.AGREE7):
            value = str(1 + position % 5)
        elif kind is QuestionKind.SCALE0_10:
            value = "8"
        elif kind is QuestionKind.NUMBER:
            value = "3"
        elif kind is QuestionKind.CHOICE:
            value = question.options.splitlines()[0]
        else:
            value = "Helpful coaching."
        values[f"q_{question.key}"] = value
    return values


def valid_answers_by_key(questions) -> dict[str, str]:
    """``valid_answers`` keyed by question key, as ``submit`` and drafts take them."""
    return {name.removeprefix("q_"): value for name, value in valid_answers(questions).items()}


def pilot(org: Organisation, teams: list[tuple[Team, str]], today: date, unit: str = "team",
          k: int = 5, opened_days_ago: int = 20):
    """A running study over ``teams`` (team, model), with one wave open since ``opened_days_ago``.

    With ``unit="rep"`` each rep is assigned the team's model name cycling through ``model`` split
    on ``/`` (say ``"manager/external/peer"``), so that one team mixes models.
    """
    from surveys.models import RandomisationUnit, StudyStatus

    result = create_study(org, "Pilot", list(CoachingModel), seed=1, k_threshold=k,
                          randomisation_unit=RandomisationUnit(unit))
    result.waves = [Wave(label="w1", opens_on=today - timedelta(days=opened_days_ago),
                         closes_on=today + timedelta(days=10))]
    for team, models in teams:
        if unit == "team":
            result.assignments.append(Assignment(team=team, coaching_model=CoachingModel(models)))
        else:
            cycle = models.split("/")
            for i, rep in enumerate(team.reps):
                result.assignments.append(Assignment(rep=rep, coaching_model=CoachingModel(cycle[i % len(cycle)])))
    result.status = StudyStatus.RUNNING
    db.session.commit()
    return result


def answer(study, wave, reps, today: date, answers=None) -> list[str]:
    """Each of ``reps`` answers ``wave`` through a real link and the real submit; returns the response ids.

    ``answers(rep, position)`` may return question key -> raw value to override the defaults.
    """
    from surveys.pilots.invitations import issue_links
    from surveys.respond.sealing import new_key
    from surveys.respond.submit import submit
    from surveys.respond.survey import redeem

    wanted = {rep.id: rep for rep in reps}
    issued = issue_links(study, wave, "http://localhost", today, only=set(wanted))
    defaults = valid_answers_by_key(study.questions)
    ids = []
    for position, link in enumerate(sorted(issued, key=lambda i: i.rep_id)):
        rep = wanted[link.rep_id]
        values = dict(defaults)
        values.update((answers or (lambda r, p: {}))(rep, position) or {})
        ids.append(submit(redeem(link.link.rsplit("/", 1)[1], today), new_key(), values, today))
    return ids


def close_wave(wave, today: date) -> None:
    """Close ``wave`` yesterday (its responses stay), so that leaders see it."""
    wave.closes_on = today - timedelta(days=1)
    db.session.commit()


def log_in_as(client, login) -> None:
    """Log ``client`` in with a demo login (``seed_demo``'s consultant or leader)."""
    assert client.post("/login", data={"email": login.email, "password": login.password}).status_code == 302


def page_text(response) -> str:
    """A test client's page as a reader sees it: tags dropped, entities decoded, white space collapsed."""
    import html
    import re

    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def xlsx(rows) -> bytes:
    """An XLSX workbook whose first sheet holds ``rows``, as a spreadsheet program saves it."""
    import io

    from openpyxl import Workbook

    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
