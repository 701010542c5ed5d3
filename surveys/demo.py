"""The demo pilot: one client organisation, a randomised three-arm study, two waves, CRM data.

All numbers come from :func:`analysis.simulate.simulate_pilot`, so the differences between the
coaching models are planted and known (see that module); this module only stores them the way
the platform would have collected them.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy import insert

from analysis.simulate import PRESETS, SimulatedPilot, simulate_pilot

from .accounts import create_user
from .extensions import db
from .instruments import builtin
from .interim import InterimRefused, take_look
from .models import (
    Answer,
    Assignment,
    CoachingModel,
    CoachingSession,
    Invitation,
    Organisation,
    PerformanceRecord,
    Rep,
    Response,
    StudyStatus,
    Team,
    Wave,
)
from .plans import freeze as freeze_plan
from .respond.scoring import rebuild_scores
from .studies import build_study
from .teams import band_of
from .tokens import hash_token, new_token, survey_link

ORGANISATION = "Northwind Sales (demo)"
CONSULTANT_EMAIL = "consultant@northwind.example.com"
LEADER_EMAIL = "leader@northwind.example.com"
DEMO_SEED = 2027  # see README: the demo seed and how often other seeds show the planted picture
DEMO_TEAMS = 45
DEMO_ICC = 0.05
WAVES = ("baseline", "follow-up", "pulse")
DEMO_INTERIM_LOOKS = 2  # per wave: the open pulse wave has its first look taken
RESPONSE_RATES = {"baseline": 0.8, "follow-up": 0.8, "pulse": 0.35}
# Planted infidelity: one team of each model got most of its coaching from another kind of coach.
DEMO_DRIFT = {"manager": "peer", "peer": "manager", "external": "manager"}
# Planted costs: a manager's and a peer's hour of selling time, an outside coach's monthly fee per rep.
# Managers coach less often (analysis.simulate.SESSION_RATES), so peers, at a lower hourly cost but more
# hours, come out a little cheaper a rep a month; an outside coach costs the most.
DEMO_COSTS = "manager=hour:120,peer=hour:30,external=rep_month:300"
DEMO_FIDELITY_MINIMUM = 0.5  # sessions a rep a month; managers meet their reps about once a month
DEMO_MARGINS = {"margin_primary": 0.3, "margin_quota": 3.0}  # satisfaction points; quota attainment points

# Free-text comments a rep might leave, by who coaches them, built from parts: an observation, a
# second thought and sometimes a closing remark (in line with the planted differences: managers
# hold people to account but are short of time, peers are easy to be candid with, outside coaches
# bring technique). About a quarter of responses leave one; every combination is used once before
# any repeats, so the demo's comments read like many people's, not a handful pasted over.
COMMENT_PARTS = {
    "manager": (
        ("My manager knows exactly where my numbers are", "Clear expectations every week",
         "Our pipeline reviews are short and to the point", "New people on our team got up to speed quickly",
         "I always know what I am accountable for", "The team feels well run",
         "Feedback comes straight after a lost deal", "My manager knows every account I work on",
         "Targets and next steps are never vague"),
        ("but our one-to-ones keep getting moved.", "though I would like more time on actual calls.",
         "but coaching slips whenever quarter end comes round.",
         "but it is hard to be open about a slipping deal with the person who writes my review.",
         "though sessions are often cut short.", "but there is rarely time to practise anything.",
         "and I wish we met more than once a month.", "but the calendar always wins over coaching."),
        ("", " Overall it works for me.", " I would keep this setup.", " A fixed weekly slot would help.",
         " Still the best coaching I have had here.", " More of it would make a difference."),
    ),
    "peer": (
        ("Easy to admit what went wrong on a call", "Nobody is keeping score in our sessions",
         "My peer coach was in my shoes last year", "I can ask the questions I would not ask my manager",
         "We meet every week without fail", "Role-playing a tough call with a colleague helps",
         "It feels like a safe place to try things", "My peer coach shares templates that actually work",
         "Being coached by someone at my level takes the pressure off"),
        ("and the advice is practical.", "but follow-up on what we agreed is loose.",
         "though sometimes it is more of a chat than coaching.", "but nobody checks whether I changed anything.",
         "and I come out with one thing to try.", "though we both run out of ideas on big deals.",
         "but it does not show up in my targets yet.", "and I am less afraid of the hard conversations."),
        ("", " I look forward to it.", " Worth the hour.", " I would like a more senior view now and then.",
         " It has made me braver on calls.", " Good, if not life-changing."),
    ),
    "external": (
        ("The coach brought a discovery framework that changed my first meetings", "Sharp on technique",
         "Sessions are well prepared", "I learned more about negotiation in six weeks than in two years",
         "The outside view on my pipeline was an eye-opener", "Our coach has seen how other sales teams do it",
         "Objection handling finally clicked for me", "The call reviews are detailed and honest",
         "Our coach brings research on what top performers do"),
        ("but less so on how our accounts actually work.", "though booking sessions takes some planning.",
         "but it feels separate from the rest of my week.", "and I use the questions on every call now.",
         "though my manager does not always know what we covered.",
         "but the examples come from other industries.", "and the homework is worth doing.",
         "though a stranger takes a while to trust."),
        ("", " Money well spent.", " I would keep it for new starters.", " Fewer slides, more practice, please.",
         " It takes a while to apply.", " Better than any course I have been sent on."),
    ),
}


def comment_texts(model: str, rng: np.random.Generator) -> Iterator[str]:
    """Endless comments of reps coached by ``model``: each observation–second-thought pair of its parts
    once, in an order drawn from ``rng``, with a closing remark drawn for each, then the pairs again in
    another order — so no text appears twice before every pair has been used."""
    openers, turns, closers = COMMENT_PARTS[model]
    pairs = [(opener, turn) for opener in openers for turn in turns]
    while True:
        for index in rng.permutation(len(pairs)):
            opener, turn = pairs[index]
            yield f"{opener}, {turn}{closers[int(rng.integers(len(closers)))]}"


@dataclass(frozen=True)
class DemoLogin:
    """A demo account."""

    email: str
    password: str


@dataclass(frozen=True)
class DemoResult:
    """What ``flask demo`` prints."""

    consultant: DemoLogin
    leader: DemoLogin
    organisation: str
    study_id: int
    survey_links: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The JSON form promised in DESIGN.md section 6."""
        return asdict(self)


def quarter_start(day: date) -> date:
    """First day of the quarter containing ``day``."""
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def previous_quarter(start: date) -> date:
    """First day of the quarter before the one starting on ``start``."""
    return quarter_start(start - timedelta(days=1))


def quarter_label(start: date) -> str:
    """``2026-Q3`` for a quarter starting on ``start``."""
    return f"{start.year}-Q{(start.month - 1) // 3 + 1}"


def seed_demo(base_url: str, today: date | None = None, seed: int = DEMO_SEED, preset: str = "vivid") -> DemoResult:
    """Seed the demo pilot into an empty database and return the logins and unused links.

    The quarter after = the last complete quarter before ``today``; the quarter before = the
    one before that. The baseline wave ran in the quarter before; the follow-up wave closed a
    week ago (so leaders can read its results); a short "pulse" wave opened three days ago and
    is still open, so a third of its links are used and the rest are the demo's survey links.
    """
    today = today or date.today()
    rng = np.random.default_rng(seed)
    instrument = builtin()
    if preset not in PRESETS:
        raise ValueError(f"preset: {preset!r} is not one of {', '.join(PRESETS)}")
    survey_effects, performance_effects = PRESETS[preset]
    pilot = simulate_pilot(n_teams=DEMO_TEAMS, icc=DEMO_ICC, waves=WAVES, response_rate=RESPONSE_RATES, seed=seed,
                           drifting=DEMO_DRIFT, survey_effects=survey_effects, performance_effects=performance_effects,
                           items=[{"key": i.key, "dimension": i.dimension, "reverse": i.reverse,
                                   "scale_min": i.scale_min, "scale_max": i.scale_max} for i in instrument.items])

    after_start = previous_quarter(quarter_start(today))
    before_start = previous_quarter(after_start)
    consultant_password = secrets.token_urlsafe(12)  # 16 characters
    leader_password = secrets.token_urlsafe(12)

    organisation = Organisation(name=ORGANISATION)
    db.session.add(organisation)
    db.session.flush()
    teams, reps = _roster(organisation, pilot)

    study = build_study(organisation, "Who should coach? Pilot " + quarter_label(after_start),
                         [CoachingModel(a) for a in pilot.arms], seed=seed)
    study.status = StudyStatus.RUNNING
    study.costs, study.margin_primary, study.margin_quota = DEMO_COSTS, *DEMO_MARGINS.values()
    study.fidelity_minimum = DEMO_FIDELITY_MINIMUM
    study.interim_looks = DEMO_INTERIM_LOOKS
    baseline = Wave(label="baseline", opens_on=before_start + timedelta(days=60),
                    closes_on=before_start + timedelta(days=74))
    follow_up = Wave(label="follow-up", opens_on=today - timedelta(days=35), closes_on=today - timedelta(days=7))
    pulse = Wave(label="pulse", opens_on=today - timedelta(days=3), closes_on=today + timedelta(days=18))
    study.waves = [baseline, follow_up, pulse]
    study.assignments = [
        Assignment(team=teams[row.team], coaching_model=CoachingModel(row.coaching_model),
                   assigned_at=_at(baseline.opens_on - timedelta(days=7)))
        for row in pilot.teams.itertuples()]
    study.assignments_locked_at = _at(baseline.opens_on - timedelta(days=3))  # launched three days before baseline
    db.session.flush()

    links = _invitations_and_responses(study, {"baseline": baseline, "follow-up": follow_up, "pulse": pulse},
                                       pilot, teams, reps, today, base_url, rng)
    _performance(pilot, reps, before_start, after_start)
    _sessions(organisation, pilot, reps, after_start)
    db.session.flush()
    freeze_plan(study).locked_at = study.assignments_locked_at  # launched three days before the baseline
    db.session.commit()
    try:  # the open pulse wave's first interim look, as a consultant would have taken it
        take_look(study, pulse, today)
    except InterimRefused:
        pass  # a seed whose pulse wave has too few responses in a model to show: the page says why

    create_user(CONSULTANT_EMAIL, "consultant", consultant_password, [ORGANISATION])
    create_user(LEADER_EMAIL, "leader", leader_password, [ORGANISATION])
    return DemoResult(consultant=DemoLogin(CONSULTANT_EMAIL, consultant_password),
                      leader=DemoLogin(LEADER_EMAIL, leader_password),
                      organisation=ORGANISATION, study_id=study.id, survey_links=links)


def _at(day: date) -> datetime:
    """Nine o'clock on ``day``, as a naive UTC datetime."""
    return datetime(day.year, day.month, day.day, 9)


# An international sales force: one rep in ten has each of these on the roster (the rest: none, so English or
# their browser's). The demo's links open the survey in them.
DEMO_LANGUAGES = {0: "es", 3: "de", 6: "fr", 9: "ar"}


def _roster(organisation: Organisation, pilot: SimulatedPilot) -> tuple[dict[int, Team], dict[int, Rep]]:
    """Teams and reps from the simulated roster, keyed by the simulator's numbers."""
    teams = {}
    for row in pilot.teams.itertuples():
        team = Team(organisation=organisation, name=f"{row.region} {row.team:02d}", region=row.region)
        teams[row.team] = team
    reps = {}
    for row in pilot.reps.itertuples():
        rep = Rep(organisation_id=organisation.id, team=teams[row.team], name=row.name, email=row.email,
                  crm_id=row.crm_id, language=DEMO_LANGUAGES.get(row.rep % 10))
        reps[row.rep] = rep
    db.session.add_all(teams.values())
    db.session.add_all(reps.values())
    db.session.flush()
    return teams, reps


def _invitations_and_responses(study, waves, pilot, teams, reps, today, base_url, rng) -> list[str]:
    """One invitation per rep and wave (used by those who answered), and the anonymous responses.

    Responses are written without any reference to the invitation or rep, exactly as a real
    submission is; the link between them exists only inside the simulator.
    """
    questions = {q.key: q for q in study.questions}
    comment_question = questions["comment"]
    links: list[str] = []
    invitation_rows = []
    for label, wave in waves.items():
        answered = set(pilot.responses.loc[pilot.responses["wave"] == label, "rep"])
        for sim_rep, rep in reps.items():
            token = new_token()
            used = sim_rep in answered
            invitation_rows.append({"wave_id": wave.id, "rep_id": rep.id, "token_hash": hash_token(token),
                                    "issued_at": _at(wave.opens_on - timedelta(days=1)),
                                    "sent_at": _at(wave.opens_on), "used": used, "reminder_count": 0})
            if not used and wave.is_open(today):
                links.append(survey_link(base_url, token))
    db.session.execute(insert(Invitation), invitation_rows)

    response_rows, answer_rows = [], []
    # Comments draw from a stream of their own (seeded from the demo's generator), so however many
    # draws their wording takes, the other draws do not shift.
    comment_rng = np.random.default_rng([int(rng.integers(2**31)), 1])
    comments = {model: comment_texts(model, comment_rng) for model in COMMENT_PARTS}
    # Every rep of the roster is active throughout: each response's frozen cell is its team's now.
    sizes = Counter(rep.team for rep in reps.values())
    cells = {key: (team.region, band_of(sizes[team])) for key, team in teams.items()}
    answers = pilot.answers.merge(pilot.responses[["response", "wave"]], on="response")
    by_response = {key: group for key, group in answers.groupby("response")}
    for row in pilot.responses.itertuples():
        wave = waves[row.wave]
        last_day = min(wave.closes_on, today)
        span = (last_day - wave.opens_on).days
        response_id = secrets.token_hex(16)
        response_rows.append({"id": response_id, "study_id": study.id, "wave_id": wave.id,
                              "coaching_model": CoachingModel(row.coaching_model), "team_id": teams[row.team].id,
                              "submitted_on": wave.opens_on + timedelta(days=int(rng.integers(0, span + 1))),
                              "region": cells[row.team][0], "band": cells[row.team][1]})
        for item in by_response[row.response].itertuples():
            value = None if np.isnan(item.value) else float(item.value)
            answer_rows.append({"response_id": response_id, "question_id": questions[item.item].id,
                                "value_num": value, "value_text": None})
        if rng.random() < 0.25:
            comment = next(comments[row.coaching_model])
            answer_rows.append({"response_id": response_id, "question_id": comment_question.id,
                                "value_num": None, "value_text": comment})
    db.session.execute(insert(Response), response_rows)
    db.session.execute(insert(Answer), answer_rows)
    rebuild_scores(study.id)
    return links


def _performance(pilot: SimulatedPilot, reps: dict[int, Rep], before_start: date, after_start: date) -> None:
    """Quota attainment, win rate, revenue and deals for the quarter before and after, per rep."""
    starts = {"before": before_start, "after": after_start}
    rows = [{"rep_id": reps[row.rep].id, "period": quarter_label(starts[row.period]),
             "period_start": starts[row.period], "quota_attainment": float(row.quota_attainment),
             "win_rate": float(row.win_rate), "revenue": float(row.revenue), "deals_won": int(row.deals_won)}
            for row in pilot.performance.itertuples()]
    db.session.execute(insert(PerformanceRecord), rows)


def _sessions(organisation: Organisation, pilot: SimulatedPilot, reps: dict[int, Rep], after_start: date) -> None:
    """The coaching-session log of the three months after the pilot started."""
    rows = []
    for row in pilot.sessions.itertuples():
        month_index = after_start.month - 1 + int(row.month)
        session_day = date(after_start.year + month_index // 12, month_index % 12 + 1, int(row.day))
        rows.append({"organisation_id": organisation.id, "rep_id": reps[row.rep].id, "team_id": None,
                     "coach_model": CoachingModel(row.coach_model), "session_date": session_day,
                     "minutes": int(row.minutes)})
    db.session.execute(insert(CoachingSession), rows)
