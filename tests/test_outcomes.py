"""The outcome catalogue: one place that names, groups and words every outcome a study can compare."""

from surveys.instruments import builtin
from surveys.outcomes import CRM, CRM_FIELDS, PERFORMANCE, catalogue, outcome, outcome_choices, survey_order


def test_every_dimension_of_the_instrument_is_named_as_the_instrument_names_it():
    for dimension in builtin().dimensions:
        about = outcome(dimension.key)
        assert (about.label, about.sentence) == (dimension.label, dimension.label.lower())
    assert outcome("expertise").sentence == "coach expertise"
    responsibilities = [o.key for o in catalogue().values() if o.section == "responsibilities"]
    assert responsibilities == ["coaching", "mentoring", "motivating", "accountability", "onboarding"]
    claims = [o.key for o in catalogue().values() if o.section == "claims"]
    assert claims == ["candour", "expertise", "availability", "sessions_per_rep_month"]


def test_performance_outcomes_come_from_the_crm_and_are_worded_in_percentage_points():
    assert PERFORMANCE == ("quota_attainment", "win_rate", "revenue")
    assert CRM_FIELDS == (*PERFORMANCE, "deals_won")
    assert all(outcome(key).source == CRM and outcome(key).section == "performance" for key in PERFORMANCE)
    assert (outcome("win_rate").unit, outcome("win_rate").unit_scale) == ("percentage points", 100.0)
    assert outcome("quota_attainment").sentence == "quota attainment (%)"


def test_single_item_outcomes_carry_their_answer_scale():
    assert outcome("satisfaction").scale == (1.0, 2.0, 3.0, 4.0, 5.0)
    assert outcome("recommend").scale == tuple(float(i) for i in range(11))
    assert outcome("candour").scale is None


def test_a_study_question_of_its_own_is_a_custom_outcome_in_plain_words():
    about = outcome("team_spirit")
    assert (about.sentence, about.section, about.unit, about.scale) == ("team spirit", "custom", "points", None)


def test_the_primary_outcome_choices_keep_their_order_and_labels():
    choices = outcome_choices()
    assert choices[:2] == [("satisfaction", "Overall satisfaction"), ("recommend", "Would recommend (0–10)")]
    assert choices[2:-3] == [(d.key, d.label) for d in builtin().dimensions]
    assert choices[-3:] == [("quota_attainment", "Quota attainment (CRM)"), ("win_rate", "Win rate (CRM)"),
                            ("revenue", "Revenue (CRM)")]
    assert "sessions_per_rep_month" not in dict(choices)
    assert survey_order() == [d.key for d in builtin().dimensions] + ["satisfaction", "recommend"]
