"""Adversarial tests for issue 17 (frozen analysis plan, flow section, ICC, NumberField).

Each test here is an attack that succeeded when written; it fails until the product is fixed.
"""

from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import select

from analysis.icc import icc_interval
from surveys.extensions import db
from surveys.models import AnalysisPlan, Study
from surveys.pilots.waves import delete_wave, edit_wave
from surveys.studies import add_wave
from tests.test_confirmations import TODAY, draft  # noqa: F401  (the fixture: a randomised draft, consultant in)
from tests.test_insider_views import design_form

pytestmark = pytest.mark.usefixtures("app_context")


def _worth_form(study: Study, **changes) -> dict:
    """The design form with the worth fields present (so the view saves them)."""
    return design_form(study, fidelity_minimum="1", **changes)


@pytest.mark.parametrize("field", ["margin_primary", "margin_quota"])
def test_an_infinite_margin_is_a_400_at_its_field_not_a_409_at_the_name(client, draft, field):  # noqa: F811
    """"1e400" parses to inf and passes ``above_zero``; update_design then refuses it as a StudyError,
    which the view answers 409 ("the form is fine; the study's state forbids the change") with the
    message attached to the Name field. The value is bad input, not a state conflict."""
    response = client.post(f"/studies/{draft.id}/design", data=_worth_form(draft, **{field: "1e400"}))
    db.session.expire_all()
    assert getattr(db.session.get(Study, draft.id), field) is None  # held: nothing stored
    assert response.status_code == 400


def test_a_wave_added_after_launch_is_a_deviation_on_the_plan_page(client, draft):  # noqa: F811
    """The plan lists its planned waves; a third wave added to the running study changes the
    analysis (a new look at the data) but the plan page still says "Deviations from the plan: None."."""
    assert client.post(f"/studies/{draft.id}/launch", data={"confirm": "1"}).status_code == 302
    study = db.session.get(Study, draft.id)
    add_wave(study, "extra look", TODAY + timedelta(days=20), TODAY + timedelta(days=25))
    db.session.commit()
    plan = db.session.scalar(select(AnalysisPlan).where(AnalysisPlan.study_id == draft.id))
    assert "extra look" not in plan.content  # the frozen plan is right not to change
    page = client.get(f"/studies/{draft.id}/plan").get_data(as_text=True)
    deviations = page.split("Deviations from the plan", 1)[1]
    assert "extra look" in deviations, deviations[:400]


def test_a_planned_wave_moved_after_launch_is_a_deviation_on_the_plan_page(client, draft):  # noqa: F811
    """The follow-up wave is moved a month later after launch (allowed: it has not opened); the plan
    still says 60 to 70 days out, the report reads another period, and the plan page lists no deviation."""
    assert client.post(f"/studies/{draft.id}/launch", data={"confirm": "1"}).status_code == 302
    study = db.session.get(Study, draft.id)
    follow_up = next(w for w in study.waves if w.label == "follow-up")
    edit_wave(study, follow_up, "follow-up", TODAY + timedelta(days=90), TODAY + timedelta(days=100), TODAY)
    db.session.commit()
    page = client.get(f"/studies/{draft.id}/plan").get_data(as_text=True)
    deviations = page.split("Deviations from the plan", 1)[1]
    assert "follow-up" in deviations, deviations[:400]


def test_a_planned_wave_deleted_after_launch_is_a_deviation_on_the_plan_page(client, draft):  # noqa: F811
    """Deleting the planned follow-up wave after launch drops the study's only post-baseline look;
    the plan page still says "Deviations from the plan: None."."""
    assert client.post(f"/studies/{draft.id}/launch", data={"confirm": "1"}).status_code == 302
    study = db.session.get(Study, draft.id)
    delete_wave(study, next(w for w in study.waves if w.label == "follow-up"), TODAY)
    db.session.expire_all()
    page = client.get(f"/studies/{draft.id}/plan").get_data(as_text=True)
    deviations = page.split("Deviations from the plan", 1)[1]
    assert "follow-up" in deviations, deviations[:400]


def _teams_constant_within(value_of_team) -> pd.DataFrame:
    rows = []
    for arm in ("manager", "peer"):
        for t in range(4):
            for _ in range(3 + t):
                rows.append({"y": value_of_team(t), "team": f"{arm}{t}", "arm": arm})
    return pd.DataFrame(rows)


def test_icc_refuses_no_variation_within_teams_whatever_the_decimals():
    """Integer team values with no within-team variation are refused ("no variation within teams");
    the same data in tenths (0.1, 0.2, ...) leave float noise in SSW and come back as ICC 1.000,
    95 % interval 1.000 to 1.000, F = 8.5e32: the same data, a confident interval instead of a refusal."""
    with pytest.raises(ValueError, match="no variation within teams"):
        icc_interval(_teams_constant_within(lambda t: t + 1), "y", "team", between="arm")
    with pytest.raises(ValueError, match="no variation within teams"):
        icc_interval(_teams_constant_within(lambda t: 0.1 * (t + 1)), "y", "team", between="arm")


def test_icc_refuses_an_infinite_value_with_a_message():
    """An inf in the outcome is not dropped (dropna keeps it) and gives NaN in every field."""
    data = _teams_constant_within(lambda t: float(t))
    data["y"] = data["y"] + pd.Series(range(len(data)), dtype=float) / 7
    data.loc[0, "y"] = float("inf")
    with pytest.raises(ValueError, match="'y'"):
        result = icc_interval(data, "y", "team", between="arm")
        pytest.fail(f"no error: {result}")
