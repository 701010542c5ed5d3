"""Study services: creating a study with the built-in instrument, and summarising its progress."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from .extensions import db
from .instruments import Instrument, builtin
from .models import (
    Assignment,
    CoachingModel,
    Invitation,
    Organisation,
    Question,
    QuestionKind,
    RandomisationUnit,
    Response,
    Study,
    StudyArm,
    Wave,
)


def create_study(organisation: Organisation, name: str, coaching_models: list[CoachingModel], seed: int,
                 randomisation_unit: RandomisationUnit = RandomisationUnit.TEAM,
                 primary_outcome: str = "satisfaction", k_threshold: int = 5,
                 instrument: Instrument | None = None) -> Study:
    """Create a draft study whose questions are a copy of the built-in instrument (not committed)."""
    instrument = instrument or builtin()
    study = Study(organisation=organisation, name=name, seed=seed, randomisation_unit=randomisation_unit,
                  primary_outcome=primary_outcome, k_threshold=k_threshold,
                  comment_threshold=max(10, k_threshold))
    study.arms = [StudyArm(coaching_model=model, position=i) for i, model in enumerate(coaching_models)]
    study.questions = [
        Question(key=item.key, text=item.text, kind=QuestionKind(item.kind), dimension=item.dimension,
                 reverse_scored=item.reverse, position=i, required=item.required, scale_min=item.scale_min,
                 scale_max=item.scale_max, max_length=item.max_length, instrument=instrument.tag)
        for i, item in enumerate(instrument.items)
    ]
    db.session.add(study)
    return study


@dataclass(frozen=True)
class WaveProgress:
    """A wave with its invitation and response counts."""

    wave: Wave
    invited: int
    responses: int
    is_open: bool


@dataclass(frozen=True)
class StudyOverview:
    """What a study page shows above the details."""

    units_per_model: dict[str, int]
    waves: list[WaveProgress]


def study_overview(study: Study, today: date | None = None) -> StudyOverview:
    """Count assigned units per model, and invitations and responses per wave (three queries)."""
    today = today or date.today()
    units = dict(db.session.execute(
        select(Assignment.coaching_model, func.count()).where(Assignment.study_id == study.id)
        .group_by(Assignment.coaching_model)).all())
    invited = dict(db.session.execute(
        select(Invitation.wave_id, func.count(func.distinct(Invitation.rep_id)))
        .join(Wave, Wave.id == Invitation.wave_id).where(Wave.study_id == study.id)
        .group_by(Invitation.wave_id)).all())
    answered = dict(db.session.execute(
        select(Response.wave_id, func.count()).where(Response.study_id == study.id)
        .group_by(Response.wave_id)).all())
    return StudyOverview(
        units_per_model={model.value: units.get(model, 0) for model in study.coaching_models},
        waves=[WaveProgress(w, invited.get(w.id, 0), answered.get(w.id, 0), w.is_open(today)) for w in study.waves],
    )
