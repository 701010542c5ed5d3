"""The reverse-scored scale mean is computed twice: by the database when a response is stored
(``ResponseScore``, ``surveys.respond.scoring``) and by ``analysis.scales.score_scale`` for a consultant's
own CSV. Answers given through the survey pages must get the same scores from both."""

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from analysis.scales import score_scale
from surveys import frames
from surveys.extensions import db
from surveys.models import QuestionKind, ResponseScore
from surveys.respond.survey import paginate
from tests import builders

pytestmark = pytest.mark.usefixtures("app_context")

AGREEMENT = (QuestionKind.AGREE5, QuestionKind.AGREE7)


def answer_survey(app, study, token, answers):
    """Redeem ``token`` in a fresh browser and post ``answers`` (field -> raw value) page by page."""
    client = app.test_client()
    assert client.get(f"/s/{token}").status_code == 302
    pages = paginate(list(study.questions))
    for number, page in enumerate(pages, start=1):
        fields = {f"q_{q.key}": answers[q.key] for q in page.questions if q.key in answers}
        action = "submit" if number == len(pages) else "next"
        response = client.post(f"/survey/{number}", data={**fields, "action": action})
        assert response.status_code == 302, (number, response.get_data(as_text=True)[:2000])
    assert response.headers["Location"] == "/survey/thanks"


def patterns(scored, rng):
    """Answer sheets (item key -> raw value; a key left out is a question left blank) covering every case."""
    def sheet(choose):
        answers = {}
        for position, question in enumerate(scored):
            value = choose(position, question)
            if value == "na" and question.kind not in AGREEMENT:  # only agreement items offer it
                value = None
            if value is None and question.required:
                value = "na" if question.kind in AGREEMENT else str(int(question.scale_min))
            if value is not None:
                answers[question.key] = value
        return answers

    def answered_first(count):
        """In every dimension, answer the first ``count`` items and say "prefer not to say" to the rest."""
        def choose(position, question):
            rank = [q.key for q in scored if q.dimension == question.dimension].index(question.key)
            return str(int(question.scale_min) + position % 5) if rank < count else "na"
        return choose

    sheets = [
        sheet(lambda p, q: str(int(q.scale_min) + p % 5)),                                # every item answered
        sheet(lambda p, q: str(int(q.scale_max if q.reverse_scored else q.scale_min))),    # reverse items at the top
        sheet(lambda p, q: "na" if q.reverse_scored else str(int(q.scale_max) - p % 3)),  # reverse items withheld
        sheet(answered_first(2)),   # 2 of 4 items: exactly half, a score; 2 of 3: a score
        sheet(answered_first(1)),   # 1 of 4 or 1 of 3: fewer than half, no score
        sheet(lambda p, q: None if p % 2 else "na"),                                     # blanks and "na" only
    ]
    for _ in range(6):  # and some at random: a value, "prefer not to say" or left blank
        def choose(position, question):
            draw = rng.random()
            low, high = int(question.scale_min), int(question.scale_max)
            if draw < 0.2 and question.kind in AGREEMENT:
                return "na"
            return None if draw < 0.35 else str(int(rng.integers(low, high + 1)))
        sheets.append(sheet(choose))
    return sheets


def as_numbers(sheet, scored):
    """What the sheet means for the scores: the answer, or missing for "prefer not to say" and blanks."""
    return pd.Series({q.key: (float(sheet[q.key]) if sheet.get(q.key, "na") != "na" else np.nan) for q in scored})


def test_scores_written_by_the_database_equal_score_scale_on_the_same_answers(app):
    sheets_count = 12
    study, team = builders.running_survey(reps=sheets_count)
    wave = study.waves[0]
    scored = [q for q in sorted(study.questions, key=lambda q: q.position)
              if q.dimension is not None and q.scale_min is not None]
    sheets = patterns(scored, np.random.default_rng(7))
    assert len(sheets) == sheets_count
    for rep, sheet in zip(team.reps, sheets, strict=True):
        answer_survey(app, study, builders.invite(wave, rep), sheet)

    posted = pd.DataFrame([as_numbers(sheet, scored) for sheet in sheets])
    assert not posted.duplicated().any()  # so that each stored response can be matched to its sheet
    # Responses cannot be traced to reps; match each to the sheet with exactly its answers.
    stored = frames.item_answers(study.id, wave.id).set_index("response").reindex(columns=posted.columns)
    sheet_of = {}
    for response, row in stored.astype(float).iterrows():
        [index] = [i for i, answers in posted.iterrows() if answers.equals(row)]
        sheet_of[response] = index
    assert sorted(sheet_of.values()) == list(range(sheets_count))

    database = frames.response_scores(study.id, wave.id).set_index("response")
    raw = {(r.response_id, r.dimension): r for r in db.session.scalars(select(ResponseScore))}
    dimensions = list(dict.fromkeys(q.dimension for q in scored))
    for dimension in dimensions:
        items = [q for q in scored if q.dimension == dimension]
        [scale_min], [scale_max] = {q.scale_min for q in items}, {q.scale_max for q in items}
        columns = posted[[q.key for q in items]]
        reverse = [q.key for q in items if q.reverse_scored]
        # The report's score: at least half of the items answered (frames.MIN_SHARE_OF_ITEMS).
        expected = score_scale(columns, reverse, scale_min, scale_max, min_share=frames.MIN_SHARE_OF_ITEMS)
        # ResponseScore itself: the mean of whatever was answered, and how many items that was.
        mean_of_answered = score_scale(columns, reverse, scale_min, scale_max, min_share=0)
        for response, index in sheet_of.items():
            what = (dimension, index, sheets[index])
            ours, theirs = expected[index], database.loc[response, dimension]
            assert np.isnan(ours) == np.isnan(theirs), what
            if not np.isnan(ours):
                assert theirs == pytest.approx(ours, rel=1e-12, abs=0), what
            row = raw.get((response, dimension))
            answered = int(columns.loc[index].notna().sum())
            if answered == 0:
                assert row is None, what
            else:
                assert row.answered == answered, what
                assert row.score == pytest.approx(mean_of_answered[index], rel=1e-12, abs=0), what
    # The sheets reach every case: reverse-scored items that count, a score from exactly half of the
    # items, none from fewer, and dimensions without a single answer.
    full, reversed_, _, half, fewer, blank = (next(r for r, i in sheet_of.items() if i == n) for n in range(6))
    for dimension in {q.dimension for q in scored if q.reverse_scored}:
        assert database.loc[reversed_, dimension] == 1.0  # agreeing with the negative items: the lowest score
    four = next(d for d in dimensions if sum(q.dimension == d for q in scored) == 4)
    three = next(d for d in dimensions if sum(q.dimension == d for q in scored) == 3)
    assert not np.isnan(database.loc[half, four]) and not np.isnan(database.loc[half, three])
    assert np.isnan(database.loc[fewer, four]) and np.isnan(database.loc[fewer, three])
    assert raw[(fewer, four)].answered == 1  # the database keeps the mean of one item; the half rule is the report's
    assert {d for r, d in raw if r == blank} == {"recommend"}  # required, so answered; nothing else
    assert not database.loc[full].isna().any()
