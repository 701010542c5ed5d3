"""Adversarial review of the two features of issue 17: segments (items 5) and interim looks (item 3).

Each test is an attack by a consultant or a leader. A test marked FINDING performs an attack that works on the
current code and asserts what the promise requires, so it fails until the product is fixed. A test marked SAFE
pins an attack that was tried and held.

Findings
--------
S1  A segment's F test on team means gives away a single rep's answer: the per-segment p (report.json,
    full precision; four decimals in the tables download) is computed from one mean per team, and a team
    with one response has that response as its mean. With the filtered view's means and n, the attacker
    solves for it. (test_segment_p_value_solves_for_the_answer_of_a_team_with_one_response)
S2  The same p moves when one response swaps team inside a shown cell: every shown cell, the pooled export
    rows and every count stay the same, only which team a pooled row belongs to changes, and the p tells.
    (test_segment_p_value_tells_which_team_a_pooled_response_belongs_to)
S3  The heatmap shows a model's difference in a segment where the filtered view shows no mean for it: where the
    view can show only one model on an outcome it says "not enough to compare" and gives no descriptive (page,
    JSON and tables alike), yet the heatmap gives that model's difference, and difference + the overall mean (shown)
    is the mean the view withholds. On the demo, for the leader: two cells (four more on satisfaction are saved
    only by the trend chart, which shows the primary outcome), e.g. East × external on "would
    recommend" is 5.606 in the heatmap (−0.514 from 6.12) and nowhere in the East view.
    (test_every_heatmap_difference_is_one_the_filtered_view_shows_on_the_demo)
M1  With a CRM figure as the primary outcome (a choice the design form offers), the segments section prints
    "None" where the interaction sentence goes. (test_the_segments_section_prints_no_none_with_a_crm_primary)
I1  (fixed) An interim look's bound, shown to two decimals, was a one-to-one function of the exact number of responses
    in (its information rate), which the page rounds down to a tenth so as not to show the count.
    (test_an_interim_looks_bound_does_not_give_away_its_exact_count_of_responses)
I3  A look can advise "stop: clear winner" while the page shows z below the bound: z is shown to one decimal and
    the bound to two, and the advice uses the unrounded z, e.g. "z = 2.7, needed 2.71" beside "stop: clear
    winner". (test_a_clear_winner_look_never_shows_z_below_its_bound)
I2  The close is the wave's last look, but nothing makes it wait for k new responses per model after the last
    interim look: a look, one more response, the close. The consultant's response export pools the late rep's
    team (one response) with another, and only the look tells which pooled row came after it: removing each
    pooled row in turn, exactly one answer reproduces the look's leader and z.
    (test_the_close_after_one_response_more_than_the_last_look_tells_the_late_answer)
"""

from __future__ import annotations

import math
import re
from datetime import date

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from surveys import interim
from surveys.cache import clear_all
from surveys.disclosure import survey_frame, wave_pattern
from surveys.extensions import db
from surveys.reports.segments import segments
from tests import builders
from tests.builders import log_in_as, page_text
from tests.test_interim_looks import respond, running, signed_in, url  # noqa: F401  (``running`` is a fixture)

TODAY = date.today()
MODELS = ["manager", "peer", "external"]

# Teams of six reps (one band: "up to 7 reps"), k = 5. In East, the manager model has two teams: T1, where one
# rep answered, and T2, where all six did; peer and external have one team each there. West has one team per
# model, so West has no test of its own (no model with two teams) and East's Holm-adjusted p is its raw p.
SPEC = [("T1", "East", "manager", 1), ("T2", "East", "manager", 6), ("T4", "East", "peer", 6),
        ("T6", "East", "external", 6), ("T3", "West", "manager", 6), ("T5", "West", "peer", 6),
        ("T7", "West", "external", 6)]


def _coaching(seed: int) -> dict[str, str]:
    """Answers to the four coaching items that make the coaching scale vary from rep to rep."""
    return {f"coaching_{j + 1}": str(1 + (seed * 3 + j) % 5) for j in range(4)}


def _segment_pilot(app, lone_answer=None, t2_answering=6, role="consultant"):
    """The pilot of SPEC, its wave closed; returns (study, teams, client of a signed-in consultant).

    ``lone_answer``: the coaching items of T1's one respondent (default: from the rep's id)."""
    org = builders.organisation("Acme Sales")
    teams = {name: builders.team_with_reps(org, name=name, reps=6, region=region) for name, region, _, _ in SPEC}
    study = builders.pilot(org, [(teams[name], model) for name, _, model, _ in SPEC], TODAY)
    wave = study.waves[0]
    for name, _, _, answering in SPEC:
        answering = t2_answering if name == "T2" else answering

        def answers(rep, position, name=name):
            if name == "T1" and lone_answer is not None:
                return lone_answer
            return _coaching(rep.id * 7 + position)
        builders.answer(study, wave, teams[name].reps[:answering], TODAY, answers)
    builders.close_wave(wave, TODAY)
    builders.user("c@acme.example.com", role=role, orgs=[org.name])
    clear_all()
    client = app.test_client()
    assert client.post("/login", data={"email": "c@acme.example.com", "password": builders.PASSWORD}).status_code \
        == 302
    return study, teams, client


def _descriptives(report: dict, key: str) -> dict[str, dict]:
    [row] = [o for o in report["outcomes"] if o["outcome"] == key]
    return {d["group"]: d for d in row["descriptives"]}


def _oneway_f(groups: list[list[float]]) -> float:
    values = np.concatenate([np.asarray(g, dtype=float) for g in groups])
    grand = values.mean()
    between = sum(len(g) * (np.mean(g) - grand) ** 2 for g in groups) / (len(groups) - 1)
    within = sum(((np.asarray(g) - np.mean(g)) ** 2).sum() for g in groups) / (len(values) - len(groups))
    return between / within


# --- S1 ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["consultant", "leader"])
@pytest.mark.parametrize("t2_answering", [6, 4], ids=["seven-in-the-cell", "exactly-k-in-the-cell"])
def test_segment_p_value_solves_for_the_answer_of_a_team_with_one_response(app_context, app, t2_answering, role):
    """FINDING S1. The attack, with nothing but what report.json shows a consultant (a leader sees the same):

    - ``?region=East`` shows the manager model's mean and n there (7 responses: shown, k = 5), and the peer and
      external means (one team each, so each is its team's mean);
    - the segments' p of East on the coaching scale (West is not testable, so Holm leaves it as it is);
    - the leader of T1 knows one of her six reps answered (T2 has six reps; 7 − 6 leaves at least one in T1,
      and df of the test say there are four team means).

    The p is the one-way F on team means with df (2, 1): F = f(t1, t2, peer, external), with t1 + 6·t2 = 7·mean.
    Solving that quadratic gives at most two values for t1 — the one rep's scale score, on a grid of quarters.
    The promise: no number is computed from fewer than k responses, alone or combined with other views; here one
    response is recovered, so the attacker must not be able to narrow it to two candidates that include it.
    Also with exactly k = 5 manager responses in East (T2: four), where both teams are pooled in the export."""
    study, teams, client = _segment_pilot(app, t2_answering=t2_answering, role=role)
    wave = study.waves[0]
    frame = survey_frame(study, wave)
    [truth] = frame.loc[frame["team"] == teams["T1"].id, "coaching"].tolist()

    whole = client.get(f"/studies/{study.id}/report.json").get_json()
    east = client.get(f"/studies/{study.id}/report.json", query_string={"region": "East"}).get_json()
    shown = _descriptives(east, "coaching")
    assert set(shown) == set(MODELS), "the East view shows every model on the coaching scale"
    [region] = [f for f in whole["segments"] if f["dimension"] == "region"]
    p_of = {s["segment"]: s["p_holm"]["coaching"] for s in region["segments"]}
    assert p_of["West"] is None
    if p_of["East"] is None:
        return  # East's manager cell holds a team of one answer: it stays out of the test, so there is no p

    f_observed = stats.f.isf(p_of["East"], 2, 1)
    n_manager, total = shown["manager"]["n"], shown["manager"]["mean"] * shown["manager"]["n"]
    peer, external = shown["peer"]["mean"], shown["external"]["mean"]

    def gap(t1: float) -> float:
        t2 = (total - t1) / (n_manager - 1)
        return _oneway_f([[t1, t2], [peer], [external]]) - f_observed

    grid = np.linspace(1, 5, 4001)
    values = [gap(t) if abs(t - (total - t) / (n_manager - 1)) > 1e-9 else math.inf for t in grid]
    roots = [a for a, fa in zip(grid, values, strict=True) if fa == 0]
    roots += [optimize.brentq(gap, a, b) for a, b, fa, fb in zip(grid, grid[1:], values, values[1:], strict=False)
              if math.isfinite(fa) and math.isfinite(fb) and fa * fb < 0]
    candidates = {round(r * 4) / 4 for r in roots if abs(r * 4 - round(r * 4)) < 1e-4}
    assert not (truth in candidates and len(candidates) <= 2), (
        f"one rep's coaching score ({truth}) is one of {sorted(candidates)}, solved from the East p")


# --- S2 ------------------------------------------------------------------------------------------------------


def test_segment_p_value_tells_which_team_a_pooled_response_belongs_to(app_context, app):
    """FINDING S2. Two worlds a consultant cannot tell apart from any cell of the cube: the wave's pattern and
    every shown mean, n and sd are the same, and so are the export's rows (T1's team of one response is pooled
    with a team, as F4/F5 require). They differ only in which of two manager reps in East (T1's lone respondent,
    or one of T2's) gave a low answer. The promise is that no test reads anything a hidden cell holds — here the
    split of a shown cell into teams with fewer than k responses. The segment p must not move; it does."""
    study, teams, _ = _segment_pilot(app)
    wave = study.waves[0]
    frame = survey_frame(study, wave)
    pattern = wave_pattern(study, wave, frame)
    outcomes = pattern.outcomes
    lone = frame.index[frame["team"] == teams["T1"].id][0]
    other = frame.index[(frame["team"] == teams["T2"].id)
                        & (frame["coaching"] != frame.loc[lone, "coaching"])][0]
    swapped = frame.copy()
    swapped.loc[[lone, other], "coaching"] = frame.loc[[other, lone], "coaching"].to_numpy()
    # Same multiset of answers in every model × region × band atom: every cell of the cube is unchanged.
    for column in ("coaching",):
        for keys, group in frame.groupby(["coaching_model", "region", "band"], observed=True):
            assert sorted(group[column].dropna()) == sorted(
                swapped.loc[group.index, column].dropna()), keys
    from surveys.disclosure import _decide_wave  # decided afresh (wave_pattern would answer from its cache)
    redecided = _decide_wave(study, swapped).disclosure
    assert redecided.shown == pattern.disclosure.shown and redecided.teams == pattern.disclosure.teams
    # The export pools T1 and T2 (T2 named would leave T1's one row as the region minus T2): the swapped rows are
    # both "(pooled teams)" rows, so the export holds the same rows in both worlds.
    assert not pattern.disclosure.team_shown("manager", teams["T1"].id)
    assert not pattern.disclosure.team_shown("manager", teams["T2"].id)
    k = study.k_threshold
    before = {f.dimension: f for f in segments(frame, pattern, MODELS, outcomes, "coaching", k)}["region"]
    after = {f.dimension: f for f in segments(swapped, pattern, MODELS, outcomes, "coaching", k)}["region"]
    east_before = next(r for r in before.rows if r.segment == "East")
    east_after = next(r for r in after.rows if r.segment == "East")
    assert east_before.differences == east_after.differences  # the heatmap rests on shown cells only: no move
    assert east_before.p_holm["coaching"] == pytest.approx(east_after.p_holm["coaching"], abs=1e-12), (
        "the segment p says which team a pooled response belongs to")


def test_every_heatmap_difference_is_one_the_filtered_view_shows_on_the_demo(seeded, client):
    """FINDING S3. The claim: every cell of the heatmap is the filtered view's mean minus the whole report's, both
    shown there, so it adds no number. The attack: for each non-empty cell, open ``?region=`` / ``?band=`` as a
    leader and look for that model's mean on that outcome. Where the view shows a single model on an outcome it
    shows no mean at all ("not enough to compare"), but the heatmap still gives its difference, so
    difference + overall mean is a mean that no page, JSON or table of the filtered view shows. (The existing
    test ``test_every_difference_is_the_filtered_views_mean_minus_the_whole_reports...`` skips these cells: it
    checks only differences whose mean the view shows.)"""
    log_in_as(client, seeded.leader)
    whole = client.get(f"/studies/{seeded.study_id}/report.json").get_json()

    def means(report):
        """Every mean of a model on an outcome in this wave the view shows: its descriptives and its trend."""
        found = {(o["outcome"], d["group"]): d["mean"] for o in report["outcomes"] for d in o.get("descriptives") or []}
        trend = report.get("trend") or {}
        for model, waves in (trend.get("values") or {}).items():
            if (waves.get(report["wave"]) or {}).get("mean") is not None:
                found.setdefault((trend["outcome"], model), waves[report["wave"]]["mean"])
        return found

    overall = means(whole)
    extra = []
    for family in whole["segments"]:
        for segment in family["segments"]:
            view = client.get(f"/studies/{seeded.study_id}/report.json",
                              query_string={family["dimension"]: segment["segment"]}).get_json()
            inside = means(view)
            for model, per in segment["differences"].items():
                for key, difference in per.items():
                    if difference is not None and ((key, model) not in inside or (key, model) not in overall):
                        extra.append((family["dimension"], segment["segment"], model, key,
                                      round(overall.get((key, model), float("nan")) + difference, 3)))
    assert not extra, f"heatmap cells whose segment mean no filtered view shows (segment mean recovered): {extra}"


def test_the_segments_section_prints_no_none_with_a_crm_primary(seeded, client):
    """FINDING M1 (minor, display). The design form offers CRM figures (quota attainment, win rate, revenue) as
    the primary outcome; the heatmap covers survey outcomes only, so ``interaction_words`` is None and the page
    prints it: "<p>None</p>" above each heatmap."""
    from surveys.models import Study
    from surveys.outcomes import PERFORMANCE_OUTCOMES

    study = db.session.get(Study, seeded.study_id)
    study.primary_outcome = PERFORMANCE_OUTCOMES[0].key
    db.session.commit()
    clear_all()
    log_in_as(client, seeded.consultant)
    page = client.get(f"/studies/{study.id}/report")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    section = html[html.index('id="segments"'):html.index("</section>", html.index('id="segments"'))]
    assert "<p>None</p>" not in section


# --- I1 ------------------------------------------------------------------------------------------------------


def test_an_interim_looks_bound_does_not_give_away_its_exact_count_of_responses(app_context, app, running):  # noqa: F811
    """FINDING I1. The look shows "at least 60 % of reps invited" — the count rounded down, as the docstring
    says, "as an open wave's response counts are rounded down to a multiple of k" — and its bound to two decimals.
    The bound is recomputed for the exact information rate (responses / invited), and each count of responses
    in that tenth gives a different two-decimal bound: the consultant reads the exact count off the page. The
    promise: no counts shown. At least two counts must fit what the page shows."""
    study, teams = running
    respond(study, teams, 12)  # 36 of the 54 invited
    client = signed_in(app)
    assert client.post(url(study), data={"confirm": "1"}).status_code == 302
    text = page_text(client.get(url(study)))
    taken = text.split("Looks taken", 1)[1]
    share = int(re.search(r"at least (\d+) % of reps invited", taken).group(1))
    bound = re.search(r"of reps invited (\d+\.\d\d)", taken).group(1)
    invited = 54  # the wave page shows how many reps were invited
    # The attacker knows the code: the bound is that of the information rate, whatever it is computed from.
    fits = [n for n in range(1, invited + 1) if math.floor(min(n / invited, 0.99) * 10) * 10 == share
            and f"{interim.look_bounds(2, 3, (math.floor(10 * min(n / invited, 0.99)) / 10,)).z_upper[0]:.2f}"
            == bound]
    assert 36 in fits
    assert len(fits) >= 2, f"the bound {bound} gives the exact number of responses in: {fits}"


def test_the_close_after_one_response_more_than_the_last_look_tells_the_late_answer(app_context, app,
                                                                                   running):  # noqa: F811
    """FINDING I2. 36 reps answer (12 per model: peer's teams T1 and T4 full, T7 none); the consultant takes look 1;
    one rep of T7 answers; the wave closes. The export names T4 and pools T1 with T7's one row (as F4/F5
    require). The consultant knows T7's rep answered after the look (I1 gives the look's exact count, 36, and
    the report's n at the close add up to 37) and tries each pooled row as the late one: the rest is the look's
    data. Only one answer reproduces the look's leader and z, so the one respondent of T7 is pinned down. The
    promise: no number from fewer than k responses alone or combined with other views (the look is one)."""
    from analysis.comparison import compare_outcome
    from surveys.pilots.exports import POOLED, anonymous_responses
    from tests.test_interim_looks import reps_of

    study, teams = running
    wave = study.waves[0]

    def answers(rep, position):
        return {"satisfaction": "9" if rep.id % 2 else "1"}

    for model in range(3):
        builders.answer(study, wave, reps_of(teams, model, 12), TODAY, answers)
    look = interim.take_look(study, wave, TODAY)
    [late] = reps_of(teams, 1, 1, skip=12)
    builders.answer(study, wave, [late], TODAY, answers)
    builders.close_wave(wave, TODAY)

    rows = anonymous_responses(study, TODAY, wave.label)  # what the consultant downloads
    rows["satisfaction"] = pd.to_numeric(rows["satisfaction"])
    models = ["manager", "peer", "external"]
    consistent = set()
    for index in rows.index[(rows["team"] == POOLED) & (rows["coaching_model"] == "peer")]:
        before = rows.drop(index).assign(team=lambda f: f["team"].astype(str) + "|" + f["coaching_model"])
        comparison = compare_outcome(before, "satisfaction", "coaching_model", models, cluster="team")
        leader, z = interim._leader(comparison, models)
        # What the page shows: the advice (and the leader only with a clear winner); no z since the I1-I3 fix.
        advice = "stop: clear winner" if z >= look.bound else (
            "stop: futility" if look.futility_bound is not None and z < look.futility_bound else "continue")
        if advice == look.advice and (look.leader is None or leader == look.leader):
            consistent.add(float(rows.loc[index, "satisfaction"]))
    truth = 9.0 if late.id % 2 else 1.0
    assert truth in consistent
    assert len(consistent) >= 2, f"the late rep's answer ({truth}) is the only one that fits the look: {consistent}"


def test_a_clear_winner_look_never_shows_z_below_its_bound(app_context, app, running, monkeypatch):  # noqa: F811
    """FINDING I3 (statistics as shown). The advice compares the unrounded z with the bound; the page shows z
    to one decimal and the bound to two. With z = 2.712 at the 36-of-54 look (bound 2.7097) the page reads
    z 2.7, bound 2.71, "stop: clear winner", and the words say "(z = 2.7, needed 2.71)". Only the mixed model's
    z is set here (any data giving z in [2.7097, 2.75) do the same); the rest is the real look."""
    study, teams = running
    respond(study, teams, 12)
    monkeypatch.setattr(interim, "_leader", lambda comparison, models: ("manager", 2.712))
    client = signed_in(app)
    assert client.post(url(study), data={"confirm": "1"}).status_code == 302
    text = page_text(client.get(url(study))).split("Looks taken", 1)[1]
    shown = re.search(r"of reps invited (\d+\.\d\d) (continue|stop: clear winner|stop: futility)", text)
    assert shown is not None, text[:400]
    # The page shows the bound and the advice, no z: nothing on it contradicts the advice.
    table = re.split(r"No look can be taken|Take look", text)[0]
    assert "z =" not in table and not re.search(r"\bz\b", table), table


# --- SAFE ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["region=%ff", "band=%c0%af", "wave=%ed%a0%80", "region=%00", "region=East%00",
                                 "region=East&region=West", "region=%E2%80%AEtsaE", "region=" + "x" * 5000,
                                 "region=East%0d%0aX-Injected:+1", "band=&region=", "region=(no+region)"])
def test_safe_hostile_filters_never_give_a_500_nor_segments_of_a_filtered_view(seeded, client, raw):
    """SAFE. Odd ``?region=`` / ``?band=`` / ``?wave=`` values on the page, report.json and the tables download:
    a 400 (NUL bytes) or the whole report with a message saying the filter was ignored; never a 500. A filter that
    is honoured removes the segments (they are views of their own, only on the unfiltered report)."""
    log_in_as(client, seeded.consultant)
    for path in ("report", "report.json", "report/tables.xlsx"):
        response = client.get(f"/studies/{seeded.study_id}/{path}?{raw}")
        assert response.status_code in (200, 400), (path, raw, response.status_code)
        if not path.endswith(".xlsx"):
            assert "Traceback" not in response.get_data(as_text=True)
    response = client.get(f"/studies/{seeded.study_id}/report.json?{raw}")
    if response.status_code == 200:
        report = response.get_json()
        filtered = report["filters"].get("region") or report["filters"].get("band")
        assert (report["segments"] == []) == bool(filtered) or not report["segments"] == []
        if filtered:
            assert report["segments"] == []


def test_safe_a_leader_reaches_no_interim_look_anywhere(seeded, client):
    """SAFE. The demo's open pulse wave has an interim look taken by the seed. A leader gets 403/404 on its page
    (GET and POST), and the pages a leader can open — the organisation, the study, the waves, the report and its
    JSON — say nothing of the look (its advice, z or bound); the audit log that records it is consultants only."""
    from surveys.models import InterimLook, Study
    study = db.session.get(Study, seeded.study_id)
    pulse = next(w for w in study.waves if w.label == "pulse")
    look = db.session.query(InterimLook).filter_by(wave_id=pulse.id).first()
    log_in_as(client, seeded.leader)
    base = f"/studies/{study.id}/waves/{pulse.id}/interim"
    assert client.get(base).status_code in (403, 404)
    assert client.post(base, data={"confirm": "1"}).status_code in (403, 404)
    assert client.get(f"/studies/{study.id}/activity").status_code in (403, 404)
    assert client.get(f"/organisations/{study.organisation_id}/activity").status_code in (403, 404)
    pages = [f"/studies/{study.id}", f"/organisations/{study.organisation_id}", f"/studies/{study.id}/report",
             f"/studies/{study.id}/report.json", f"/studies/{study.id}/waves/{pulse.id}",
             f"/studies/{study.id}/report.json?wave=pulse"]
    for path in pages:
        response = client.get(path)
        text = response.get_data(as_text=True).lower()
        assert "interim look" not in text or "planned" in text, path
        assert "stop: clear winner" not in text and "stop: futility" not in text and "keep going" not in text, path
        assert "a clear winner." not in text and "stop for futility" not in text, path
    if look is not None:
        assert db.session.query(InterimLook).count() >= 1


def test_safe_a_second_look_right_after_one_new_response_is_refused(app_context, app, running):  # noqa: F811
    """SAFE. A look, one new response in each model, a second look: refused (k new in every model needed)."""
    from tests.test_interim_looks import respond_one
    study, teams = running
    respond(study, teams, 12)
    interim.take_look(study, study.waves[0], TODAY)
    for model in range(3):
        respond_one(study, teams, model=model, skip=12)
    response = signed_in(app).post(url(study), data={"confirm": "1"})
    assert response.status_code == 409 and "fewer than 5 responses came in" in page_text(response)


def test_safe_a_two_model_study_and_an_empty_closed_wave_give_segments_or_none_without_a_500(app_context, app):
    """SAFE. A study of only two models, in two regions: its heatmap has two model rows and no 500; and a closed
    wave with no response at all gives a report without segments (no 500)."""
    from datetime import timedelta

    from surveys.models import Assignment, CoachingModel, StudyStatus, Wave
    from surveys.studies import create_study

    org = builders.organisation("Two Models")
    teams = [builders.team_with_reps(org, name=f"T{i}", reps=6, region=("East", "West")[i % 2]) for i in range(8)]
    study = create_study(org, "Pilot", [CoachingModel("manager"), CoachingModel("peer")], seed=1, k_threshold=5)
    study.waves = [Wave(label="w1", opens_on=TODAY - timedelta(days=20), closes_on=TODAY + timedelta(days=10)),
                   Wave(label="w2", opens_on=TODAY - timedelta(days=20), closes_on=TODAY - timedelta(days=1))]
    for i, team in enumerate(teams):
        study.assignments.append(Assignment(team=team, coaching_model=CoachingModel(("manager", "peer")[(i // 2) % 2])))
    study.status = StudyStatus.RUNNING
    db.session.commit()
    for i, team in enumerate(teams):
        builders.answer(study, study.waves[0], team.reps, TODAY, lambda rep, pos: _coaching(rep.id * 5 + pos))
    builders.close_wave(study.waves[0], TODAY)
    builders.user("c2@acme.example.com", orgs=[org.name])
    clear_all()
    client = app.test_client()
    assert client.post("/login", data={"email": "c2@acme.example.com", "password": builders.PASSWORD}).status_code \
        == 302
    report = client.get(f"/studies/{study.id}/report.json", query_string={"wave": "w1"})
    assert report.status_code == 200
    families = report.get_json()["segments"]
    assert families and all(set(s["differences"]) == {"manager", "peer"} for f in families for s in f["segments"])
    assert client.get(f"/studies/{study.id}/report", query_string={"wave": "w1"}).status_code == 200
    assert client.get(f"/studies/{study.id}/report/tables.xlsx", query_string={"wave": "w1"}).status_code == 200
    empty = client.get(f"/studies/{study.id}/report.json", query_string={"wave": "w2"})
    assert empty.status_code < 500
    if empty.status_code == 200 and empty.get_json()["wave"] == "w2":
        assert empty.get_json()["segments"] == []
    assert client.get(f"/studies/{study.id}/report", query_string={"wave": "w2"}).status_code < 500


def test_safe_an_interim_page_of_another_studys_wave_or_organisation_is_404(app_context, app, running):  # noqa: F811
    """SAFE. A consultant of another organisation, or a wave id of another study under one's own study: 404."""
    study, teams = running
    respond(study, teams, 12)
    other_org = builders.organisation("Other Sales")
    other_team = builders.team_with_reps(other_org, name="O1", reps=6)
    other = builders.pilot(other_org, [(other_team, "peer")], TODAY)
    builders.user("o@other.example.com", orgs=[other_org.name])
    from flask import g

    # The test runs in an app context that requests reuse, so Flask-Login's user cached in ``g`` by one client's
    # request would answer the next client's: drop it whenever the client changes.
    g.pop("_login_user", None)
    mine = signed_in(app)
    assert mine.get(f"/studies/{study.id}/waves/{other.waves[0].id}/interim").status_code == 404
    assert mine.post(f"/studies/{study.id}/waves/{other.waves[0].id}/interim", data={"confirm": "1"}).status_code \
        == 404
    assert mine.get(f"/studies/{study.id}/waves/999999/interim").status_code == 404
    g.pop("_login_user", None)
    stranger = signed_in(app, "o@other.example.com")
    assert stranger.get(url(study)).status_code == 404
    assert stranger.post(url(study), data={"confirm": "1"}).status_code == 404
    assert db.session.query(__import__("surveys.models", fromlist=["InterimLook"]).InterimLook).count() == 0
