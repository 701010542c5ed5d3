"""The response-level export: closed waves only, team labels only where the wave's pattern allows them,
rows in a fresh random order with fresh random ids on every download.

- **Closed waves only.** An open wave's rows change while people answer; two downloads would differ
  by the newest responses (DESIGN.md section 4). Asking for an open wave, or for the export while no
  wave has closed, is refused with a message.
- **Team labels from the pattern.** The export is part of each wave's cube
  (``analysis.disclosure``, rule 2): a team is named for a model only where that (team, model) has at
  least k responses *and* no combination of the report's figures with the named teams could isolate
  fewer than k of the pooled rows (security review F4, F5). Other rows carry ``POOLED``; a model with
  fewer than k responses in a wave is left out.
- **Nothing stable to diff on.** Ids are drawn afresh and rows shuffled for every download, so two
  files cannot be matched row by row (F2): a response new in the second file is not the one row
  whose id the first lacked.
"""

from __future__ import annotations

import random
import secrets
from datetime import date

import pandas as pd

from ..disclosure import wave_pattern
from ..frames import codebook_frame, responses_frame
from ..models import QuestionKind, Study, Wave
from ..refusals import Refused

POOLED = "(pooled teams)"


class ExportRefused(Refused):
    """The response export cannot be given now; the message says why."""


def exportable_waves(study: Study, today: date, label: str | None = None) -> list[Wave]:
    """The closed waves to export (or the one called ``label``); refuses an open or unknown wave."""
    if label is not None:
        wave = next((w for w in study.waves if w.label == label), None)
        if wave is None:
            raise ExportRefused(f"the study has no wave called “{label}”")
        if not wave.is_closed(today):
            raise ExportRefused(f"the wave “{wave.label}” is still open (it closes on {wave.closes_on:%d %B %Y}); "
                                "responses can be exported once it has closed")
        return [wave]
    closed = [w for w in study.waves if w.is_closed(today)]
    if not closed:
        first = min(study.waves, key=lambda w: w.closes_on, default=None)
        when = f": the first closes on {first.closes_on:%d %B %Y}" if first else ""
        raise ExportRefused(f"no wave of this study has closed yet{when}; responses can be exported once one has")
    return closed


def anonymous_responses(study: Study, today: date, label: str | None = None) -> pd.DataFrame:
    """One row per exportable response of the closed waves, shuffled, with fresh ids and allowed team labels."""
    waves = exportable_waves(study, today, label)
    rows = responses_frame(study, [w.id for w in waves])
    keep = pd.Series(False, index=rows.index)
    named = pd.Series(False, index=rows.index)
    for wave in waves:
        disclosure = wave_pattern(study, wave).disclosure
        if disclosure is None:
            continue
        here = rows["wave_id"] == wave.id
        keep |= here & rows["coaching_model"].map(dict(disclosure.exported)).fillna(False).astype(bool)
        named |= here & pd.Series([disclosure.team_shown(model, team) for model, team in
                                   zip(rows["coaching_model"], rows["team_id"], strict=True)], index=rows.index)
    rows = rows[keep].copy()
    rows["team"] = rows["team"].where(named[keep], POOLED)
    rows = _withhold_rare_facts(rows, study)
    order = list(range(len(rows)))
    random.SystemRandom().shuffle(order)
    rows = rows.iloc[order].reset_index(drop=True)
    rows["response_id"] = [secrets.token_hex(8) for _ in range(len(rows))]
    return rows.drop(columns=["wave_id", "team_id"])


WITHHELD = "(withheld: fewer than k alike)"


def _withhold_rare_facts(rows: pd.DataFrame, study: Study) -> pd.DataFrame:
    """Blank the study's own choice and number answers wherever they could pick a person out.

    Such questions ask what colleagues know ("How long have you been in sales?"): the one newcomer of
    a team would be the one row with "Less than a year", and with it their every answer (adversarial
    review F-E). Within each wave, model and team label, the combination of all these answers must
    be shared by 0 or at least k rows; where any combination is rarer, these columns are withheld
    for the whole group, so the blank picks nobody out either.
    """
    facts = [q.key for q in study.questions if q.kind in (QuestionKind.CHOICE, QuestionKind.NUMBER)
             and q.key in rows]
    if not facts or rows.empty:
        return rows
    k = study.k_threshold
    combination = rows[facts].astype(str).agg("\x1f".join, axis=1)
    groups = [rows["wave_id"], rows["coaching_model"], rows["team"]]
    sizes = combination.groupby([*groups, combination]).transform("size")
    rare = sizes.lt(k).groupby(groups).transform("any")
    rows = rows.astype({key: object for key in facts})
    rows.loc[rare, facts] = WITHHELD
    return rows


def response_sheets(study: Study, today: date, label: str | None = None) -> dict[str, pd.DataFrame]:
    """The responses and their codebook, as the export's sheets."""
    return {"responses": anonymous_responses(study, today, label), "codebook": codebook_frame(study)}
