"""A study's analysis plan, frozen at launch (issue 17 item 1).

What the report will test, and how, is written down before any result exists: the primary and
secondary outcomes, the covariates, k, the models compared and how teams were randomised, the planned
waves, the segments a reader may filter to, and the costs, margins, prior scale and fidelity minimum.
At launch the plan is stored as canonical JSON (keys sorted, no spaces) with the SHA-256 of that text,
so anyone holding the plan file can check that it is the one the study was launched with. It never
changes afterwards; a later change of an analysis setting is a deviation, kept with who, when and why
(``DesignChange``) and printed in the report's methods.
"""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select

from .extensions import db
from .models import AnalysisPlan, Study, utcnow
from .outcomes import PERFORMANCE, outcome, outcome_choices

PLAN_VERSION = 1
METHOD = ("Each outcome compared across the coaching models with teams as clusters: a mixed model with a random "
          "intercept per team (REML; Satterthwaite degrees of freedom below 40 teams), or, with fewer than six "
          "teams in a model, a randomisation test that re-runs this study's own randomisation. Secondary outcomes "
          "Holm-corrected, gatekept behind the primary; pairwise differences corrected within each outcome.")
DECISION = ("The recommendation follows the rule in CoachLab's README (\"How the recommendation is reached\"): the "
            "primary outcome and CRM performance decide; the five responsibilities only when nothing else does; "
            "'very likely' needs adjusted p below 0.01 on what carries it, six teams a model, and a chance of being "
            "best of at least 95 %.")


def plan_content(study: Study) -> dict:
    """The plan of ``study`` as it stands now (what launch freezes)."""
    outcomes = [key for key, _ in outcome_choices()]
    waves = sorted(study.waves, key=lambda w: (w.opens_on, w.label))
    assigned: dict[str, int] = {}
    for a in study.assignments:
        assigned[a.coaching_model.value] = assigned.get(a.coaching_model.value, 0) + 1
    return {
        "plan_version": PLAN_VERSION,
        "study": {"id": study.id, "name": study.name, "organisation": study.organisation.name},
        "models": [m.value for m in study.coaching_models],
        "randomisation": {"unit": study.randomisation_unit.value, "strata": study.stratify_by, "seed": study.seed,
                          "assigned": assigned},
        "primary_outcome": {"key": study.primary_outcome, "label": outcome(study.primary_outcome).sentence},
        "secondary_outcomes": [key for key in outcomes if key != study.primary_outcome],
        "own_questions": sorted(q.key for q in study.questions if q.instrument is None),
        "covariates": {metric: f"{metric} in the CRM period before the first wave" for metric in PERFORMANCE},
        "method": METHOD,
        "decision_rule": DECISION,
        "k": study.k_threshold,
        "comment_threshold": study.comment_threshold,
        "waves": [{"label": w.label, "opens_on": w.opens_on.isoformat(), "closes_on": w.closes_on.isoformat()}
                  for w in waves],
        "interim_looks": interim_plan(study),
        "segments": ["region", "team-size band"],
        "costs": study.costs,
        "margins": {"primary": study.margin_primary, "quota_attainment": study.margin_quota},
        "prior_scale": study.prior_scale,
        "fidelity_minimum": study.fidelity_minimum,
    }


def interim_plan(study: Study) -> str | dict:
    """The interim looks planned per wave (``surveys.interim``), as the plan states them."""
    looks = study.interim_looks or 0
    if not looks:
        return "none: results are read only once a wave has closed"
    return {"per_wave": looks, "information_rates": [round((i + 1) / (looks + 1), 4) for i in range(looks)] + [1.0],
            "of": "responses over reps invited to the wave; the close is the last look",
            "efficacy": "Lan–DeMets spending, O'Brien–Fleming type, one-sided, alpha 0.05 divided by the number "
                        "of models, on the leading model's smallest z against every other model",
            "futility": "non-binding, beta spending (O'Brien–Fleming type), 80 % power",
            "outcome": study.primary_outcome}


def canonical(content: dict) -> str:
    """The plan's text as stored and hashed: JSON with sorted keys and no spaces, UTF-8."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def freeze(study: Study) -> AnalysisPlan:
    """Store ``study``'s plan, once (at launch; a study launched before plans existed gets none)."""
    existing = plan_of(study)
    if existing is not None:
        return existing
    text = canonical(plan_content(study))
    plan = AnalysisPlan(study_id=study.id, locked_at=utcnow(), content=text, sha256=digest(text))
    db.session.add(plan)
    return plan


def plan_of(study: Study) -> AnalysisPlan | None:
    return db.session.scalar(select(AnalysisPlan).where(AnalysisPlan.study_id == study.id))


def wave_deviations(plan: AnalysisPlan, study: Study) -> list[dict]:
    """The waves as planned against the waves now: each wave added, moved or deleted since launch (waves change
    without a reason asked, so none is given; the activity log says who did it and when)."""
    planned = {w["label"]: (w["opens_on"], w["closes_on"]) for w in json.loads(plan.content)["waves"]}
    now = {w.label: (w.opens_on.isoformat(), w.closes_on.isoformat()) for w in study.waves}
    rows = []
    for label in sorted(set(planned) | set(now)):
        old, new = planned.get(label), now.get(label)
        if old == new:
            continue
        rows.append({"when": None, "setting": f"wave {label}", "old": "not planned" if old is None else
                     f"{old[0]} to {old[1]}", "new": "deleted" if new is None else f"{new[0]} to {new[1]}",
                     "reason": "not asked when waves change; the activity log says who and when", "who": None})
    return rows
