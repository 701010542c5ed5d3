"""The attacks of the security review (F3–F6, F11, F17) and the statistics review (F1), run through the
app as a leader or a consultant would: each must find nothing.

Every organisation here is answered through real links and the real submit, so each response
carries the region and team-size band its team had at that moment.
"""

import random
from datetime import date

import pytest

from analysis.suppression import audit
from surveys import frames
from surveys.cache import clear_all
from surveys.extensions import db
from surveys.instruments import builtin
from tests import builders

pytestmark = pytest.mark.usefixtures("app_context")

TODAY = date.today()
SMALL, MEDIUM, LARGE = "up to 7 reps", "8 to 10 reps", "11 or more reps"


def organisation(name: str, plan: list[tuple[str, str, int, int, str]]):
    """Teams ``(name, region, reps, respondents, model)``; returns the org, the study and the teams by name."""
    org = builders.organisation(name)
    teams = {team: builders.team_with_reps(org, name=team, reps=reps, region=region)
             for team, region, reps, _, _ in plan}
    study = builders.pilot(org, [(teams[team], model) for team, _, _, _, model in plan], TODAY)
    return org, study, teams


def varied(rep, position) -> dict[str, str]:
    """Answers that differ from rep to rep (identical answers would be hidden for being identical)."""
    rng = random.Random(rep.id)
    values = {q.key: str(rng.randint(1, 5)) for q in builtin().items if q.kind == "agree5"}
    values["recommend"] = str(rng.randint(0, 10))
    return values


def answer_plan(study, teams, plan, answers=None):
    wave = study.waves[0]
    extra = answers or (lambda rep, position: {})
    for team, _, _, respondents, _ in plan:
        builders.answer(study, wave, teams[team].reps[:respondents], TODAY,
                        lambda rep, position: {**varied(rep, position), **extra(rep, position)})


def log_in_leader(client, org):
    email = f"leader@{org.name.split()[0].lower()}.example.com"
    builders.user(email, role="leader", orgs=[org.name])
    assert client.post("/login", data={"email": email, "password": builders.PASSWORD}).status_code == 302


def report_json(client, study, **filters):
    query = "&".join(f"{key}={value}" for key, value in filters.items())
    return client.get(f"/studies/{study.id}/report.json" + (f"?{query}" if query else "")).get_json()


def descriptive(data, outcome, model):
    """(n, mean) of ``model`` on ``outcome`` in a report.json, or None when not shown."""
    entry = next((o for o in data["outcomes"] if o["outcome"] == outcome), None)
    for d in (entry or {}).get("descriptives", []):
        if d["group"] == model:
            return d["n"], d["mean"]
    return None


# Security review F3: the Rival data. The manager teams hold, by region and band:
# North 2 / 12 / 8 and South 1 / 12 / 15, and South − (8 to 10) + North × (8 to 10) − South × (11+)
# is the one respondent of "Rv South A" (South, up to 7 reps).
RIVAL = [("Rv North S", "North", 6, 2, "manager"), ("Rv North B1", "North", 9, 6, "manager"),
         ("Rv North B2", "North", 9, 6, "manager"), ("Rv North L", "North", 12, 8, "manager"),
         ("Rv South A", "South", 5, 1, "manager"), ("Rv South B1", "South", 9, 6, "manager"),
         ("Rv South B2", "South", 9, 6, "manager"), ("Rv South L1", "South", 11, 8, "manager"),
         ("Rv South L2", "South", 11, 7, "manager"),
         ("Rv North P", "North", 9, 9, "peer"), ("Rv South P", "South", 12, 9, "peer"),
         ("Rv North X", "North", 9, 9, "external"), ("Rv South X", "South", 12, 9, "external")]
BAND_OF = {6: SMALL, 5: SMALL, 9: MEDIUM, 11: LARGE, 12: LARGE}


def test_a_leader_cannot_combine_views_across_filter_families_to_read_one_respondent(client):
    org, study, teams = organisation("Rival Corp", RIVAL)
    target = teams["Rv South A"].reps[0]
    coaching = [f"coaching_{i}" for i in range(1, 5)]
    answer_plan(study, teams, RIVAL, lambda rep, position: dict.fromkeys(coaching, "2") if rep.id == target.id else {})
    builders.close_wave(study.waves[0], TODAY)
    log_in_leader(client, org)
    attack = [({"region": "South"}, 1), ({"band": MEDIUM}, -1), ({"region": "North", "band": MEDIUM}, 1),
              ({"region": "South", "band": LARGE}, -1)]
    parts = [(descriptive(report_json(client, study, **view), "coaching", "manager"), sign)
             for view, sign in attack]
    if all(part is not None for part, _ in parts):
        n = sum(sign * part[0] for part, sign in parts)
        total = sum(sign * part[0] * part[1] for part, sign in parts)
        stored = frames.response_scores(study.id)
        truth = stored.loc[stored["team"] == teams["Rv South A"].id, "coaching"].item()
        pytest.fail(f"South − (8 to 10) + North × (8 to 10) − South × (11+): n = {n}, coaching {total / n:.4f}; "
                    f"the stored score of Rv South A's one respondent: {truth:.4f}")
    # And no other combination of what the leader can request isolates anyone (exact audit).
    counts = {}
    for team, region, reps, respondents, model in RIVAL:
        if model == "manager":
            atom = (region, BAND_OF[reps])
            counts[atom] = counts.get(atom, 0) + respondents
    cells = []
    for region in (None, "North", "South"):
        for band in (None, SMALL, MEDIUM, LARGE):
            view = {key: value for key, value in (("region", region), ("band", band)) if value}
            if descriptive(report_json(client, study, **view), "coaching", "manager") is not None:
                cells.append({a for a in counts if region in (None, a[0]) and band in (None, a[1])})
    assert cells, "the leader still sees manager figures somewhere"
    assert audit(counts, cells, 1, 4, method="milp") is None


# Security review F6: bands and regions came from the roster of today.
FROZEN = [("North E", "North", 11, 11, "manager"), ("North A", "North", 9, 9, "manager"),
          ("South M", "South", 9, 9, "manager"), ("North P", "North", 9, 9, "peer"),
          ("South P", "South", 9, 9, "peer"), ("North X", "North", 9, 9, "external"),
          ("South X", "South", 9, 9, "external")]


def every_view(client, study):
    first = report_json(client, study)
    views = [{}] + [{"region": r} for r in first["available_filters"]["regions"]] + [
        {"band": b} for b in first["available_filters"]["bands"]] + [
        {"region": r, "band": b} for r in first["available_filters"]["regions"]
        for b in first["available_filters"]["bands"]]
    return {tuple(sorted(view.items())): report_json(client, study, **view) for view in views}


def test_a_roster_edit_moves_no_response_of_a_closed_wave_between_cells(client):
    org, study, teams = organisation("Frozen Corp", FROZEN)
    answer_plan(study, teams, FROZEN)
    builders.close_wave(study.waves[0], TODAY)
    log_in_leader(client, org)
    before = every_view(client, study)
    # A rep of North E leaves (11 -> 10 reps: another band) and South M moves to North.
    teams["North E"].reps[-1].active = False
    teams["South M"].region = "North"
    db.session.commit()
    clear_all()
    after = every_view(client, study)
    assert after.keys() == before.keys()
    for view, data in before.items():
        assert after[view] == data, view
