"""Interim looks at an open wave that keep the pilot's error rate (issue 17, item 3).

A consultant who reads an open wave every week and stops when one model "wins" will find a false
winner far more often than the 5 % a single analysis allows. A study may therefore plan interim looks
per wave (``Study.interim_looks``, frozen with the analysis plan at launch): the wave's close is the
last look, and the error is spent over the looks with Lan–DeMets O'Brien–Fleming-type bounds
(``analysis.sequential``), so an early stop needs a much larger difference than the close does.

The rule, on the study's primary outcome (a survey outcome; CRM figures arrive after the wave):

- The *leader* is the model with the highest mean; its z is the smallest of its pairwise z
  statistics against every other model (from the report's mixed model with teams as clusters, each
  t test turned into the z with the same p). "Stop: a clear winner" when it reaches the look's
  one-sided bound, spent at ``ALPHA / number of models``: under no difference at all, the chance that
  some model is ever declared the winner is at most the sum over the models, ``ALPHA``.
- Futility bounds are non-binding (beta spending, power 80 % against the design alternative): below
  one, the leader is unlikely to reach the last bound, "stop: futility"; ignoring it keeps the error
  rate.
- The information rate of a look is its responses over the reps invited to the wave. The real share
  of the final responses is larger (not everyone answers), so each bound is a little stricter than it
  needs to be: the error rate stays at or below ``ALPHA``.

Anonymity. An open wave's results move with each response, so a look is taken once and kept
(``InterimLook``); the next look of the wave exists only after at least k more responses in every
model, and only once the planned share of the expected responses is in. A look shows the advice and its
bounds — no z, no means, no counts. The information rate is rounded down to a tenth before the bounds
are computed from it (so a bound tells nothing finer than the share shown, "at least 60 %"); rounding
down spends less of the error early, which keeps the rate at or below ``ALPHA``. No z is shown, so a
look that the close follows by fewer than k responses tells about those few only the advice: at most
whether they moved the leader across a bound. Consultants only.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from scipy import special
from sqlalchemy import func, select

from analysis.comparison import compare_outcome
from analysis.disclosure import View
from analysis.sequential import Boundaries, boundaries, interim_decision

from . import audit
from .database import insert_or_ignore, transactional
from .disclosure import survey_frame, wave_pattern
from .extensions import db
from .models import InterimLook, Invitation, Response, Study, StudyStatus, Wave, utcnow
from .outcomes import outcome
from .refusals import Refused
from .studies import pre_intervention, randomisation_plan

ALPHA = 0.05
BETA = 0.2  # futility bounds against the alternative the design has 80 % power for
EXPECTED_RESPONSE_RATE = 0.8  # the share of invited reps expected to answer by the close
ADVICE_WORDS = ("continue", "stop: clear winner", "stop: futility")


class InterimRefused(Refused):
    """A look that cannot be taken now; the message says why and when it can."""


@dataclass(frozen=True)
class TakenLook:
    """A look as stored and shown: its number, when, the information rate rounded down to a tenth, and
    the advice (``analysis.sequential.Look``'s fields)."""

    look: int
    taken_on: date
    information_shown: str
    bound: float
    futility_bound: float | None
    advice: str
    words: str
    leader: str | None  # named only with a clear winner


@dataclass(frozen=True)
class InterimState:
    """What the interim page of a wave shows: the plan's looks, the looks taken, and whether the next
    can be taken now (``blocked``: why not, or None)."""

    wave: Wave
    planned: int
    bounds: Boundaries | None
    taken: tuple[TakenLook, ...]
    blocked: str | None

    @property
    def looks(self) -> int:
        return self.planned + 1  # the close is the last


def planned_rates(looks: int) -> tuple[float, ...]:
    """The planned information rates: ``looks`` interim looks equally spaced, then the close at 1."""
    return tuple((i + 1) / (looks + 1) for i in range(looks)) + (1.0,)


@lru_cache(maxsize=64)
def look_bounds(planned: int, levels: int, taken_rates: tuple[float, ...] = ()) -> Boundaries:
    """The one-sided bounds of a wave's looks: the rates of the looks already taken (and the one being
    taken), then the planned ones after them, then the close."""
    later = [r for r in planned_rates(planned)[:-1] if not taken_rates or r > taken_rates[-1]]
    rates = tuple(taken_rates) + tuple(later[: planned - len(taken_rates)]) + (1.0,)
    return boundaries(rates, alpha=ALPHA / max(levels, 2), sided=1, futility="obf-beta", beta=BETA)


def interim_state(study: Study, wave: Wave, today: date) -> InterimState:
    """The wave's interim looks and whether the next one can be taken (nothing is computed from answers)."""
    taken = tuple(_shown(row) for row in _looks(wave))
    planned = study.interim_looks or 0
    levels = len(study.coaching_models)
    bounds = look_bounds(planned, levels) if planned else None
    try:
        _check_open(study, wave, today, len(taken))
        _check_due(study, wave, len(taken))
        blocked = None
    except InterimRefused as error:
        blocked = str(error)
    return InterimState(wave, planned, bounds, taken, blocked)


@transactional
def take_look(study: Study, wave: Wave, today: date) -> TakenLook:
    """Take the wave's next interim look and keep it; ``InterimRefused`` says why it cannot be taken now."""
    rows = _looks(wave)
    _check_open(study, wave, today, len(rows))
    invited = _check_due(study, wave, len(rows))
    models = [m.value for m in study.coaching_models]
    k = study.k_threshold
    primary = study.primary_outcome
    frame = survey_frame(study, wave)
    counts = Counter(frame.loc[frame[primary].notna(), "coaching_model"].astype(str)) if primary in frame else {}
    shown = wave_pattern(study, wave, frame).shown_models(View(None, None), primary, models) \
        if primary in frame else []
    if rows:
        before = json.loads(rows[-1].result_json)["counts"]
        if any(counts[m] - before.get(m, 0) < k for m in models):
            raise InterimRefused(f"fewer than {k} responses came in for some coaching model since the last look: "
                                 "a look now would differ from it by a few people's answers")
    if len(shown) < len(models) or any(counts.get(m, 0) < k for m in models):
        raise InterimRefused(f"not every coaching model has enough responses on {outcome(primary).sentence.lower()} "
                             f"to be shown yet (at least {k}, in more than one answer category)")
    n = sum(counts[m] for m in models)
    # Rounded down to the tenth the page shows: a bound computed from the exact share would tell the count.
    rate = math.floor(10 * min(n / invited, 0.99)) / 10
    taken_rates = tuple(r.information for r in rows) + (rate,)
    if rate <= 0 or any(b >= a for a, b in zip(taken_rates[1:], taken_rates[:-1], strict=False)):
        raise InterimRefused("not enough new information since the last look (the share of reps who answered "
                             "has not reached the next tenth)")
    bounds = look_bounds(study.interim_looks, len(models), taken_rates)
    comparison = compare_outcome(frame, primary, "coaching_model", models, cluster="team",
                                 randomisation=randomisation_plan(study))
    leader, z = _leader(comparison, models)
    look = interim_decision(z, len(rows) + 1, bounds, labels=None)
    words = _words(look, leader, primary)
    result = {"bound": look.bound, "futility_bound": look.futility_bound, "advice": look.advice,
              "words": words, "leader": leader if look.advice == "stop: clear winner" else None,
              "counts": {m: int(counts[m]) for m in models}, "taken_on": today.isoformat()}
    row = InterimLook(study_id=study.id, wave_id=wave.id, look=len(rows) + 1, responses=n, information=rate,
                      result_json=json.dumps(result, sort_keys=True), taken_at=utcnow())
    # Two consultants taking the same look at once: the second finds it taken (one row per wave and look).
    stored = db.session.execute(insert_or_ignore(InterimLook).values(
        study_id=row.study_id, wave_id=row.wave_id, look=row.look, responses=row.responses,
        information=row.information, result_json=row.result_json, taken_at=row.taken_at)
        .on_conflict_do_nothing(index_elements=["wave_id", "look"]).returning(InterimLook.id)).scalar()
    if stored is None:
        raise InterimRefused(f"look {row.look} of this wave has just been taken by someone else: reload the page")
    audit.record("study.interim_look", study=study, detail=f"wave “{wave.label}”, look {row.look}: {look.advice}")
    return _shown(row)


def _words(look, leader: str, primary: str) -> str:
    """The advice in words, without z: the page shows the bounds and the advice, nothing finer."""
    what = outcome(primary).sentence.lower()
    if look.advice == "stop: clear winner":
        return (f"Stop: a clear winner. {_model(leader).capitalize()} is ahead of every other model on {what} by "
                f"more than this look's bound ({look.bound:.2f}) allows by chance, so the chance of a false winner "
                f"stays at most {100 * ALPHA:g} %.")
    if look.advice == "stop: futility":
        return (f"Stop for futility: the leading model's lead on {what} is below this look's futility bound "
                f"({look.futility_bound:.2f}), so a clear winner by the close is unlikely. The bound does not bind: "
                "carrying on to the close keeps the error rate.")
    futility = f" and above the futility bound ({look.futility_bound:.2f})" if look.futility_bound is not None \
        and math.isfinite(look.futility_bound) else ""
    return (f"Continue: the leading model's lead on {what} is below this look's bound ({look.bound:.2f}) for a clear "
            f"winner{futility}; the wave runs on to its next look or its close.")


def close_note(study: Study) -> str | None:
    """What the report at a wave's close says when the plan had interim looks: the sequential rule's last bound."""
    if not study.interim_looks:
        return None
    bounds = look_bounds(study.interim_looks, len(study.coaching_models))
    return (f"{study.interim_looks} interim look{'s' if study.interim_looks != 1 else ''} per wave planned: at this "
            f"close the sequential rule names a clear winner only at z ≥ {bounds.z_upper[-1]:.2f} (one-sided p < "
            f"{bounds.nominal_p[-1]:.4f}); the tests here use 0.05.")


def _check_open(study: Study, wave: Wave, today: date, taken: int) -> None:
    if not study.interim_looks:
        raise InterimRefused("the study's plan has no interim looks: its waves are read once they have closed")
    if study.status is not StudyStatus.RUNNING:
        raise InterimRefused("interim looks are taken while the study runs")
    if pre_intervention(wave):
        raise InterimRefused(f"the wave “{wave.label}” is a baseline, measured before the coaching models started: "
                             "it cannot show a winner")
    if wave.opens_on > today:
        raise InterimRefused(f"the wave “{wave.label}” has not opened yet")
    if wave.is_closed(today):
        raise InterimRefused(f"the wave “{wave.label}” has closed: its report is the last look")
    if study.primary_outcome not in _survey_outcomes(study):
        raise InterimRefused(f"the primary outcome ({outcome(study.primary_outcome).sentence.lower()}) is not "
                             "measured by the survey, so an open wave cannot show it")
    if taken >= study.interim_looks:
        raise InterimRefused(f"all {study.interim_looks} planned interim looks of this wave have been taken; the "
                             "next is its close")


def _check_due(study: Study, wave: Wave, taken: int) -> int:
    """The reps invited to the wave, once the next look is due (the planned share of the expected responses
    is in)."""
    invited = db.session.scalar(select(func.count(func.distinct(Invitation.rep_id))).where(
        Invitation.wave_id == wave.id)) or 0
    if not invited:
        raise InterimRefused("no rep has been invited to this wave yet")
    share = planned_rates(study.interim_looks)[taken]
    expected = share * EXPECTED_RESPONSE_RATE * invited
    responses = db.session.scalar(select(func.count()).select_from(Response).where(Response.wave_id == wave.id))
    if responses < expected:
        raise InterimRefused(f"look {taken + 1} is planned once about {round(100 * share)} % of the expected "
                             "responses are in; not yet")
    return invited


def _survey_outcomes(study: Study) -> set[str]:
    return {q.dimension or q.key for q in study.questions}


def _leader(comparison, models) -> tuple[str, float]:
    """The model with the highest mean and the smallest z of its differences from every other model
    (teams as clusters: the random-intercept mixed model)."""
    means = {d.group: d.mean for d in comparison.descriptives}
    leader = max(models, key=lambda m: means.get(m, -math.inf))
    mixed = comparison.mixed_model
    # The mixed model's contrasts (Satterthwaite t tests), also where the report's headline is the
    # randomisation test of few teams, whose p cannot go below a floor that early looks never reach.
    contrasts = mixed.contrasts if mixed is not None and mixed.converged else ()
    zs = []
    for c in contrasts:
        if leader not in (c.a, c.b):
            continue
        sign = 1.0 if c.b == leader else -1.0  # diff is b − a
        p = min(max(c.p, 1e-300), 1.0)
        z = float(special.ndtri(1 - p / 2))  # the z with the same two-sided p as the t test
        zs.append(math.copysign(z, sign * c.diff))
    if len(zs) != len(models) - 1:
        raise InterimRefused("the primary outcome could not be compared between the models yet")
    return leader, min(zs)


def _model(level: str) -> str:
    return {"manager": "manager coaching", "peer": "peer coaching", "external": "an outside coach"}.get(
        level, f"{level} coaching")


def _looks(wave: Wave) -> list[InterimLook]:
    return list(db.session.scalars(select(InterimLook).where(InterimLook.wave_id == wave.id)
                                   .order_by(InterimLook.look)))


def _shown(row: InterimLook) -> TakenLook:
    result = json.loads(row.result_json)
    tenth = math.floor(row.information * 10) / 10
    return TakenLook(look=row.look, taken_on=date.fromisoformat(result["taken_on"]),
                     information_shown=f"at least {100 * tenth:.0f} %" if tenth else "under 10 %",
                     bound=result["bound"], futility_bound=result["futility_bound"],
                     advice=result["advice"], words=result["words"], leader=result.get("leader"))
