"""The planning panel: what difference this study's design could detect, from the analysis engine."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select

from analysis.planning import Design, minimum_detectable_effect, teams_needed

from ..extensions import db
from ..models import Assignment, RandomisationUnit, Study
from ..studies import team_sizes

TYPICAL_SD = 0.8  # SD of a 1-5 scale score in coaching surveys; used only to translate SD units into points
DEFAULT_ICC = 0.10
DEFAULT_RESPONSE_RATE = 0.8
TARGET_EFFECT = 0.3  # a small-to-medium difference worth being able to see


@dataclass(frozen=True)
class PlanningPanel:
    """Inputs and results shown before launch."""

    k: int
    units_per_arm: float
    respondents_per_unit: float
    icc: float
    response_rate: float
    mde_sd: float | None
    mde_points: float | None
    units_needed: int | None
    target_effect: float = TARGET_EFFECT


def _number(args: Mapping, name: str, default: float, low: float, high: float) -> float:
    try:
        value = float(args.get(name, default))
    except (TypeError, ValueError):
        return default
    return min(max(value, low), high) if value == value else default


def planning_panel(study: Study, args: Mapping) -> PlanningPanel:
    """The minimum detectable effect for the study's design and roster, at the assumed ICC and response rate."""
    icc = _number(args, "icc", DEFAULT_ICC, 0.0, 0.9)
    response_rate = _number(args, "response_rate", DEFAULT_RESPONSE_RATE, 0.1, 1.0)
    k = max(len(study.arms), 2)
    sizes = list(team_sizes(study.organisation_id).values())
    assigned = db.session.scalar(select(func.count()).select_from(Assignment).where(Assignment.study_id == study.id))
    # Before the draw, the units are the teams with active reps (or the active reps).
    if study.randomisation_unit is RandomisationUnit.TEAM:
        units = assigned or len(sizes)
        per_unit = (sum(sizes) / len(sizes) if sizes else 0) * response_rate
        design_icc = icc
    else:
        units = assigned or sum(sizes)
        per_unit, design_icc = response_rate, 0.0
    units_per_arm = units / k
    mde = needed = None
    if units_per_arm >= 2 and per_unit >= 1:
        design = Design(k, units_per_arm, max(per_unit, 1.0), design_icc)
        mde = minimum_detectable_effect(design)
        try:
            needed = teams_needed(TARGET_EFFECT, k, max(per_unit, 1.0), design_icc).teams_per_arm
        except ValueError:
            needed = None
    return PlanningPanel(k, units_per_arm, per_unit, icc, response_rate, mde,
                         mde * TYPICAL_SD if mde is not None else None, needed)
