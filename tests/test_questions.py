"""A consultant adds the study's own questions before the first wave opens; bad ones are refused."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from surveys.extensions import db
from surveys.models import Question
from tests import builders

pytestmark = pytest.mark.usefixtures("app_context")


@pytest.fixture
def draft_study(client):
    """A study whose only wave opens next week, and a logged-in consultant of its organisation."""
    org = builders.organisation()
    builders.user("c@acme.example.com", orgs=[org.name])
    study = builders.study(org, today=date.today() + timedelta(days=7))
    client.post("/login", data={"email": "c@acme.example.com", "password": builders.PASSWORD})
    return study


def custom_questions():
    return list(db.session.scalars(select(Question).where(Question.instrument.is_(None))))


def test_consultant_adds_a_single_choice_question(client, draft_study):
    response = client.post(f"/studies/{draft_study.id}/questions", data={
        "text": "Which channel do you mostly sell through?", "kind": "choice",
        "options": "Phone\nVideo\nIn person\n", "required": "y"})
    assert response.status_code == 302
    [question] = custom_questions()
    assert question.options.splitlines() == ["Phone", "Video", "In person"]
    assert question.required and question.key == "custom_1"
    page = client.get(f"/studies/{draft_study.id}/questions").get_data(as_text=True)
    assert "Which channel do you mostly sell through?" in page


def test_consultant_adds_a_seven_point_item_scored_in_its_own_dimension(client, draft_study):
    client.post(f"/studies/{draft_study.id}/questions", data={
        "text": "My coach helps me prioritise accounts.", "kind": "agree7", "dimension": "Prioritising",
        "reverse_scored": "y"})
    [question] = custom_questions()
    assert (question.dimension, question.scale_min, question.scale_max, question.reverse_scored) == (
        "prioritising", 1, 7, True)


@pytest.mark.parametrize("data, message", [
    ({"text": "Pick one", "kind": "choice", "options": "Only one"}, "at least two options"),
    ({"text": "Pick one", "kind": "choice", "options": "Same\nsame"}, "must all be different"),
    ({"text": "How many?", "kind": "number", "minimum": "10", "maximum": "5"}, "must be below the largest"),
    ({"text": "", "kind": "agree5"}, "This field is required"),
    ({"text": "x" * 501, "kind": "agree5"}, "500"),
    ({"text": "Anything?", "kind": "essay"}, "Not a valid choice"),
    ({"text": "Rate", "kind": "agree5", "dimension": "candour"}, "built-in instrument"),
    ({"text": "Rate", "kind": "agree5", "dimension": "no spaces please"}, "lowercase letters"),
    ({"text": "Why?", "kind": "text", "dimension": "reasons"}, "can be scored"),
    ({"text": "0-10", "kind": "scale0_10", "reverse_scored": "y"}, "only agreement questions"),
])
def test_bad_questions_are_refused_with_a_message_and_nothing_added(client, draft_study, data, message):
    response = client.post(f"/studies/{draft_study.id}/questions", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert custom_questions() == []


def test_questions_are_fixed_once_a_wave_has_opened(client, draft_study):
    draft_study.waves[0].opens_on = date.today()
    db.session.commit()
    response = client.post(f"/studies/{draft_study.id}/questions", data={"text": "Late?", "kind": "agree5"})
    assert response.status_code == 409  # the form is fine; the study's state forbids it
    assert "already opened" in response.get_data(as_text=True)
    assert custom_questions() == []


def test_consultant_removes_a_study_question_but_not_a_built_in_one(client, draft_study):
    client.post(f"/studies/{draft_study.id}/questions", data={"text": "Extra?", "kind": "agree5"})
    [question] = custom_questions()
    builtin_id = db.session.scalar(select(Question.id).where(Question.instrument.is_not(None)))
    assert client.post(f"/studies/{draft_study.id}/questions/{builtin_id}/delete").status_code == 409
    assert client.post(f"/studies/{draft_study.id}/questions/{question.id}/delete").status_code == 302
    assert custom_questions() == []
    assert db.session.scalar(select(func.count()).select_from(Question)) == len(draft_study.questions)


def test_leaders_cannot_add_questions(client, app):
    org = builders.organisation()
    builders.user("lead@acme.example.com", role="leader", orgs=[org.name])
    study = builders.study(org, today=date.today() + timedelta(days=7))
    client.post("/login", data={"email": "lead@acme.example.com", "password": builders.PASSWORD})
    assert client.get(f"/studies/{study.id}/questions").status_code == 200
    response = client.post(f"/studies/{study.id}/questions", data={"text": "Mine?", "kind": "agree5"})
    assert response.status_code == 403
    assert custom_questions() == []


def test_questions_of_another_organisations_study_are_not_found(client, draft_study):
    other = builders.study(builders.organisation("Other Co"))
    assert client.get(f"/studies/{other.id}/questions").status_code == 404
    question_id = other.questions[0].id
    assert client.post(f"/studies/{other.id}/questions/{question_id}/delete").status_code == 404
    assert client.post(f"/studies/{draft_study.id}/questions/{question_id}/delete").status_code == 404


def test_every_app_process_sees_an_added_or_removed_question_at_its_next_request(client, draft_study, make_app):
    # Each process caches a study's pages; a second app on the same database stands for another worker.
    other = make_app().test_client()
    other.post("/login", data={"email": "c@acme.example.com", "password": builders.PASSWORD})
    preview = f"/studies/{draft_study.id}/preview"
    assert other.get(f"{preview}/4").status_code == 200 and other.get(f"{preview}/5").status_code == 404
    client.post(f"/studies/{draft_study.id}/questions", data={"text": "Is the new CRM helping?", "kind": "agree5"})
    assert "Is the new CRM helping?" in other.get(f"{preview}/4").get_data(as_text=True)
    assert other.get(f"{preview}/5").status_code == 200
    [question] = custom_questions()
    client.post(f"/studies/{draft_study.id}/questions/{question.id}/delete")
    assert other.get(f"{preview}/5").status_code == 404
    assert "Is the new CRM helping?" not in other.get(f"{preview}/4").get_data(as_text=True)
