"""Bad input gets a ValueError that names the column or group; missing values are dropped and counted."""

import numpy as np
import pandas as pd
import pytest

from analysis.comparison import compare_models, compare_outcome


@pytest.fixture
def frame():
    return pd.DataFrame({"arm": ["manager"] * 4 + ["peer"] * 4 + ["external"] * 4,
                         "score": [3.0, 3.5, 4.0, 2.5, 4.0, 4.5, 3.5, 4.0, 3.0, 2.0, 2.5, 3.5]})


@pytest.mark.parametrize("mutate, words", [
    (lambda f: f.drop(columns="score"), "column 'score' not found"),
    (lambda f: f.assign(arm="manager"), "fewer than two groups"),
    (lambda f: f.assign(score=f.score.where(f.arm != "external")), "group 'external'"),
    (lambda f: f.iloc[[0, 4, 8]], "needs two values"),
    (lambda f: f.assign(score=["x"] + [1.0] * 11), "non-numeric values (for example 'x' in row 1)"),
    (lambda f: f.assign(score=2.0), "all values are equal"),
    (lambda f: f.assign(score=[np.inf] + [1.0] * 11), "infinite"),
])
def test_bad_data_is_refused_with_a_message_naming_the_problem(frame, mutate, words):
    with pytest.raises(ValueError) as error:
        compare_outcome(mutate(frame), "score", "arm")
    assert words in str(error.value)


def test_an_unknown_level_is_named():
    data = pd.DataFrame({"arm": ["a", "a", "b", "b"], "y": [1.0, 2.0, 3.0, 5.0]})
    with pytest.raises(ValueError, match="group 'c'"):
        compare_outcome(data, "y", "arm", levels=["a", "b", "c"])


def test_missing_values_are_dropped_per_outcome_and_counted(frame):
    frame.loc[[0, 5], "score"] = np.nan
    frame["other"] = np.arange(12.0)
    result = compare_models(frame, ["score", "other"], "arm", ["manager", "peer", "external"])
    assert (result.outcome("score").n, result.outcome("score").n_missing) == (10, 2)
    assert (result.outcome("other").n, result.outcome("other").n_missing) == (12, 0)


def test_a_primary_outcome_that_is_not_analysed_is_refused(frame):
    with pytest.raises(ValueError, match="primary outcome 'nope'"):
        compare_models(frame, ["score"], "arm", primary="nope")


def test_outcomes_given_as_one_string_are_refused_rather_than_read_letter_by_letter(frame):
    with pytest.raises(TypeError, match=r"dvs: a list of outcome columns, such as \['score'\]"):
        compare_models(frame, "score", "arm")


def test_rows_of_levels_not_asked_for_are_ignored(frame):
    result = compare_outcome(frame, "score", "arm", levels=["manager", "peer"])
    assert result.levels == ("manager", "peer") and result.n == 8
