"""The attacks of the security review (F3–F6, F11, F17) and the statistics review (F1), run through the
app as a leader or a consultant would: each must find nothing.

Every organisation here is answered through real links and the real submit, so each response
carries the region and team-size band its team had at that moment.
"""

import csv
import io
import random
from collections import Counter
from datetime import date, timedelta

import pytest

from analysis.suppression import audit
from surveys import frames
from surveys.cache import clear_all
from surveys.extensions import db
from surveys.instruments import builtin
from surveys.models import PerformanceRecord
from surveys.pilots.exports import POOLED
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


def log_in_consultant(client, org):
    email = f"consultant@{org.name.split()[0].lower()}.example.com"
    builders.user(email, orgs=[org.name])
    assert client.post("/login", data={"email": email, "password": builders.PASSWORD}).status_code == 302


def export_rows(client, study):
    response = client.get(f"/studies/{study.id}/exports/responses.csv")
    assert response.status_code == 200, response.status_code
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_under_rep_level_randomisation_no_export_row_or_view_singles_out_fewer_than_k(client):
    """Security review F4: all 6 reps of "Rv North A" answer, randomised 3 manager / 2 external / 1 peer;
    the export named the team on every row, so its one peer row was Rival Rep 3's."""
    org = builders.organisation("Rival Reps")
    plan = [("Rv North A", "North", 6), ("Rv North B", "North", 9), ("Rv South C", "South", 9),
            ("Rv South D", "South", 12)]
    teams = {name: builders.team_with_reps(org, name=name, reps=reps, region=region) for name, region, reps in plan}
    study = builders.pilot(org, [(teams[name], "manager/external/peer") for name, _, _ in plan], TODAY, unit="rep")
    for name, _, _ in plan:
        builders.answer(study, study.waves[0], teams[name].reps, TODAY, varied)
    builders.close_wave(study.waves[0], TODAY)
    log_in_consultant(client, org)
    rows = export_rows(client, study)
    groups = Counter((row["team"], row["coaching_model"]) for row in rows if row["team"] != POOLED)
    assert all(n >= 5 for n in groups.values()), groups
    assert not any(row["team"] == "Rv North A" for row in rows)
    pooled = Counter(row["coaching_model"] for row in rows if row["team"] == POOLED)
    assert all(n >= 5 for n in pooled.values()), pooled
    # No view of the report shows a model with fewer than k responses.
    for view in every_view(client, study).values():
        for entry in view["outcomes"]:
            assert all(d["n"] >= 5 for d in entry.get("descriptives", []))


# Security review F5: one manager team per small size in a region; North minus the named North team was
# exactly the pooled rows of "North T1".
POOLING = [("North A", "North", 9, 8, "manager"), ("North T1", "North", 6, 2, "manager"),
           ("South T2", "South", 6, 3, "manager"), ("South B", "South", 9, 9, "manager"),
           ("West C", "West", 9, 7, "manager"),
           ("North P", "North", 9, 9, "peer"), ("South P", "South", 9, 9, "peer"), ("West P", "West", 9, 9, "peer"),
           ("North X", "North", 9, 9, "external"), ("South X", "South", 9, 9, "external"),
           ("West X", "West", 9, 9, "external")]


def test_pooled_export_rows_cannot_be_attributed_to_a_team_through_the_report(client):
    org, study, teams = organisation("Pooling Corp", POOLING)
    answer_plan(study, teams, POOLING)
    builders.close_wave(study.waves[0], TODAY)
    log_in_consultant(client, org)
    rows = export_rows(client, study)
    named = Counter((row["team"], row["coaching_model"]) for row in rows if row["team"] != POOLED)
    where = {name: (region, BAND_OF[reps]) for name, region, reps, _, _ in POOLING}
    views = every_view(client, study)
    for view, data in views.items():
        filters = dict(view)
        for model in ("manager", "peer", "external"):
            shown = descriptive(data, "coaching", model)
            if shown is None:
                continue
            inside = sum(n for (team, m), n in named.items() if m == model
                         and filters.get("region", where[team][0]) == where[team][0]
                         and filters.get("band", where[team][1]) == where[team][1])
            left = shown[0] - inside
            assert not 0 < left < 5, (view, model, shown[0], inside)  # the rest would be that few pooled rows
    # The exact audit over everything the consultant sees: the report's manager cells and the export's.
    counts = {name: respondents for name, _, _, respondents, model in POOLING if model == "manager"}
    cells = [{t for t in counts if dict(view).get("region", where[t][0]) == where[t][0]
              and dict(view).get("band", where[t][1]) == where[t][1]}
             for view, data in views.items() if descriptive(data, "coaching", "manager") is not None]
    cells += [{team} for team, model in named if model == "manager"] + [set(counts)]
    assert audit(counts, cells, 1, 4, method="milp") is None


# Security review F11: only 3 reps of the small North manager team have CRM figures, so North (31 reps)
# minus North × 8–10 (28) was those 3 reps' quota attainment.
CRM = [("North S", "North", 6, 6, "manager"), ("North M1", "North", 9, 9, "manager"),
       ("North M2", "North", 10, 9, "manager"), ("North M3", "North", 9, 9, "manager"),
       ("South M", "South", 9, 9, "manager"), ("North P", "North", 9, 9, "peer"), ("South P", "South", 9, 9, "peer"),
       ("North X", "North", 9, 9, "external"), ("South X", "South", 9, 9, "external")]


def test_crm_figures_of_a_few_reps_cannot_be_worked_out_by_differencing_views(client):
    org, study, teams = organisation("Quota Corp", CRM)
    answer_plan(study, teams, CRM)
    opened = study.waves[0].opens_on
    before, after = opened - timedelta(days=40), opened
    for name, *_ in CRM:
        reps = teams[name].reps[:3] if name == "North S" else teams[name].reps
        for position, rep in enumerate(reps):
            for period, start, value in ((f"{before:%Y-%m}", before, 90.0 + position),
                                         (f"{after:%Y-%m}", after, 100.0 + 3 * position)):
                db.session.add(PerformanceRecord(rep_id=rep.id, period=period, period_start=start,
                                                 quota_attainment=value, win_rate=0.3, revenue=1000.0 + position,
                                                 deals_won=2))
    db.session.commit()
    builders.close_wave(study.waves[0], TODAY)
    log_in_leader(client, org)

    def quota(**view):
        data = report_json(client, study, **view)["performance"]
        return (data or {}).get("metrics", {}).get("quota_attainment", {}).get("manager")

    north, medium = quota(region="North"), quota(region="North", band=MEDIUM)
    if north and medium and 0 < north["n"] - medium["n"] < 5:
        n = north["n"] - medium["n"]
        after_mean = (north["after"] * north["n"] - medium["after"] * medium["n"]) / n
        pytest.fail(f"North − North × 8 to 10: {n} reps, quota after {after_mean:.2f}")
    # Exactly: no combination of the shown manager CRM cells isolates 1..4 reps.
    reps_with_crm = {}
    for name, region, size, _, model in CRM:
        if model == "manager":
            atom = (region, BAND_OF[size] if size != 10 else MEDIUM)
            reps_with_crm[atom] = reps_with_crm.get(atom, 0) + (3 if name == "North S" else size)
    cells = []
    for region in (None, "North", "South"):
        for band in (None, SMALL, MEDIUM):
            view = {key: value for key, value in (("region", region), ("band", band)) if value}
            if quota(**view):
                cells.append({a for a in reps_with_crm if region in (None, a[0]) and band in (None, a[1])})
    assert audit(reps_with_crm, cells, 1, 4, method="milp") is None


def test_answer_shares_never_tell_a_category_of_a_few_or_of_everyone(client):
    """Security review F17: a "2" share of 0.0909 among 11 peers told that exactly one person disagreed."""
    plan = [("North P1", "North", 6, 6, "peer"), ("North P2", "North", 5, 5, "peer"),
            ("South P", "South", 9, 9, "peer"), ("West P", "West", 12, 12, "peer"),
            ("North M", "North", 9, 9, "manager"), ("South M", "South", 9, 9, "manager"),
            ("West M", "West", 9, 9, "manager"), ("North X", "North", 9, 9, "external"),
            ("South X", "South", 9, 9, "external"), ("West X", "West", 9, 9, "external")]
    org, study, teams = organisation("Shares Corp", plan)
    north_peers = [rep.id for name in ("North P1", "North P2") for rep in teams[name].reps]
    south_peers = [rep.id for rep in teams["South P"].reps]

    def satisfaction(rep, position):
        if rep.id in north_peers:  # one disagrees, ten agree
            return {"satisfaction": "2" if rep.id == north_peers[0] else str(4 + position % 2)}
        if rep.id in south_peers:  # all agree
            return {"satisfaction": str(4 + position % 2)}
        return {"satisfaction": str(1 + position % 5)}

    answer_plan(study, teams, plan, satisfaction)
    builders.close_wave(study.waves[0], TODAY)
    log_in_leader(client, org)
    seen = 0
    for view, data in every_view(client, study).items():
        entry = next((o for o in data["outcomes"] if o["outcome"] == "satisfaction"), {})
        for share in entry.get("distribution") or []:
            seen += 1
            n = share["n"]
            counts = {answer: round(value * n) for answer, value in share["shares"].items()}
            assert all(c == 0 or c >= 5 for c in counts.values()), (view, share["group"], counts)
            assert max(counts.values()) < n, (view, share["group"], counts)  # not everybody in one
            assert set(counts) == {"below", "middle", "above"}, counts  # never single answers
    assert seen, "some distribution is still shown"
