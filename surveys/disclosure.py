"""The suppression pattern of a study: decided once per version of the data over every view anyone can
request, and read by all of them — the report page, report.json, the tables, the charts, the trend, reliability,
the CRM and session figures and the response export (DESIGN.md section 4, "Linked tables").

Per wave, the cube is every region × band view × coaching model × outcome of the report plus the
export's team labels (``analysis.disclosure.decide`` with ``export=True``): cells of different waves
never share a response, so a wave's pattern depends on that wave's responses (and k) alone, and a
closed wave's pattern does not move when other data change. Regions and bands are those frozen on
the responses (``surveys.teams``).

CRM performance and coaching-session figures are per rep, of the reps in the study now: their own
cubes (views × models, counted in reps), decided the same way.

A wave's pattern is cached in the ``disclosure`` cache under its own version (k, the questions and
the wave's responses: ``wave_version``), shared by both roles and by the export — what a leader sees
is a part of what a consultant may see, decided together — and it survives changes elsewhere (a CRM
import, another wave's answers). The rep tables' patterns are cached under the report's data version.

A view added later (a segment, a language) joins the same cube: it becomes a column of the atoms and
a family of cells in ``analysis.disclosure.decide``, so every audit covers it with everything else.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import pandas as pd
from sqlalchemy import func, select

from analysis.disclosure import Disclosure, View, decide

from . import cache, frames
from .extensions import db
from .models import Response, Study, Wave
from .outcomes import outcome
from .studies import RateRow
from .teams import BANDS, NO_REGION, band_of

CACHE_SIZE = 64
META = ("response", "wave", "coaching_model", "team", "region", "band")


def wave_version(study: Study, wave: Wave) -> tuple:
    """What a wave's pattern depends on: k, the questions, and the wave's responses (immutable once stored,
    so their number and extreme ids tell any change). Cheap: one aggregate over the wave's index."""
    responses = db.session.execute(select(func.count(), func.min(Response.id), func.max(Response.id))
                                   .where(Response.study_id == study.id, Response.wave_id == wave.id)).one()
    return (study.k_threshold, study.questions_version, tuple(responses))


def survey_frame(study: Study, wave: Wave) -> pd.DataFrame:
    """The wave's scale scores, one row per response, with the band and region frozen on each response
    (and, per scale of several items, whether it was answered completely)."""
    scores = frames.response_scores(study.id, wave.id, complete=True)
    scores["band"] = scores["band"].fillna(band_of(0))
    scores["region"] = scores["region"].fillna(NO_REGION)
    # Categories make the many group comparisons that follow cheap.
    for column in ("coaching_model", "region", "band"):
        scores[column] = scores[column].astype("category")
    return scores


@dataclass(frozen=True)
class WavePattern:
    """The decision on every cell of a wave's cube, with the outcomes, regions and bands it covers.

    The cached pattern keeps the decisions only (not the responses, nor the cells and systems it
    was audited on), so that many cached waves of large studies cost little memory.
    """

    outcomes: list[str]
    regions: list[str]
    bands: list[str]
    disclosure: Disclosure | None  # None: no responses

    def shown_models(self, view, outcome: str, models) -> list[str]:
        return self.disclosure.shown_models(view, outcome, models) if self.disclosure else []


def _outcomes(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in META and not c.endswith(frames.COMPLETE.format(""))]


def wave_pattern(study: Study, wave: Wave, frame: pd.DataFrame | None = None) -> WavePattern:
    """The wave's pattern, decided once per ``wave_version`` and cached; ``frame`` is the wave's
    ``survey_frame`` when the caller has read it already."""
    def make() -> WavePattern:
        data = survey_frame(study, wave) if frame is None else frame
        return _decide_wave(study, data)

    return cache.named("disclosure", CACHE_SIZE).get_or_make(("wave", study.id, wave.id, wave_version(study, wave)),
                                                               make)


def _decide_wave(study: Study, frame: pd.DataFrame) -> WavePattern:
    outcomes = _outcomes(frame)
    if frame.empty:
        return WavePattern(outcomes, [], [], None)
    regions = sorted(frame["region"].unique())
    present = set(frame["band"])
    bands = [label for label, _, _ in BANDS if label in present]
    scales = {key: (min(outcome(key).scale), max(outcome(key).scale)) for key in outcomes if outcome(key).scale}
    complete = {key: frames.COMPLETE.format(key) for key in outcomes if frames.COMPLETE.format(key) in frame}
    disclosure = decide(frame, outcomes, study.k_threshold, regions=regions, bands=bands, team="team",
                        export=True, scales=scales, complete=complete)
    return WavePattern(outcomes, regions, bands, replace(disclosure, cells={}, systems=[]))


def rep_pattern(study: Study, name: tuple, reps: pd.DataFrame, columns: list[str], version: tuple) -> Disclosure:
    """The pattern of a table per rep (CRM figures, sessions): ``reps`` labelled with model, region and
    band; a rep counts towards a column's cells where it has a value. Cached under ``name`` and the
    report's data ``version`` (the roster, the CRM imports and the session log are in it)."""
    def make() -> Disclosure:
        regions = sorted(reps["region"].astype(str).unique())
        present = set(reps["band"].astype(str))
        bands = [label for label, _, _ in BANDS if label in present]
        # Reps' figures are not answers: no answer categories, and CRM values are often alike by design.
        decided = decide(reps, columns, study.k_threshold, regions=regions, bands=bands, homogeneity=False)
        return replace(decided, cells={}, systems=[])

    return cache.named("disclosure", CACHE_SIZE).get_or_make(("reps", study.id, name, version), make)


def shown_model_counts(study: Study, wave: Wave, frame: pd.DataFrame | None = None) -> dict[str, int | None]:
    """Per model, the responses of a closed wave as the report may count them: the largest n of an outcome
    the wave's pattern shows for that model without filters (None where it shows none).

    The number of rows would be a count the pattern never decided on: rows minus an outcome's n is how many
    of a model's reps declined that outcome, which may be 1 to k−1 (adversarial review F-F). An outcome's
    n is already shown, so this adds no number to the cube.
    """
    frame = survey_frame(study, wave) if frame is None else frame
    pattern = wave_pattern(study, wave, frame)
    models = [m.value for m in study.coaching_models]
    counts: dict[str, int | None] = {m: None for m in models}
    if frame.empty:
        return counts
    view = View(None, None)
    for name in pattern.outcomes:
        for model in pattern.shown_models(view, name, models):
            n = int(frame.loc[frame["coaching_model"] == model, name].notna().sum())
            counts[model] = max(counts[model] or 0, n)
    return counts


def closed_wave_rates(study: Study, wave: Wave, per_model: list[RateRow], per_team: list[RateRow], total: RateRow,
                      today: date) -> tuple[list[RateRow], list[RateRow], RateRow]:
    """The wave page's counts (``studies.response_rates``) once the wave has closed, brought in line with the
    report: a model's count is the one the report shows (``shown_model_counts``), the total their sum, and a
    team's count is rounded down to a multiple of k, so that no team sum gives a model's number of rows."""
    if not wave.is_closed(today):
        return per_model, per_team, total
    k = study.k_threshold
    counted = shown_model_counts(study, wave)
    models = [replace(row, responses=counted.get(row.name)) for row in per_model]
    teams = [row if row.responses is None else replace(row, responses=row.responses // k * k, at_least=True)
             for row in per_team]
    shown = [row.responses for row in models if row.invited]
    all_shown = bool(shown) and all(n is not None for n in shown)
    return models, teams, replace(total, responses=sum(shown) if all_shown else None)
