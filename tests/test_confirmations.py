"""What cannot be undone is confirmed first (ux review D13): launch, close the study, re-issue links.

A GET, or a POST without ``confirm=1``, shows a page that says exactly what will happen, with
counts from the database; only a POST that carries the confirmation does it. No JavaScript.
"""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from surveys.extensions import db
from surveys.models import CoachingModel, Invitation, QuestionKind, StudyStatus, Wave
from surveys.pilots.questions import NewQuestion, add_question
from surveys.pilots.randomisation import randomise
from surveys.studies import create_study
from tests import builders

pytestmark = pytest.mark.usefixtures("app_context")

TODAY = date.today()


text = builders.page_text


@pytest.fixture
def draft(client):
    """A randomised draft study over 12 teams (4 per model), 2 waves ahead, 3 questions of its own; consultant in."""
    org = builders.organisation()
    for i in range(12):
        builders.team_with_reps(org, name=f"T{i:02d}", reps=3)
    study = create_study(org, "Pilot", list(CoachingModel), seed=7)
    randomise(study, TODAY)
    study.waves = [Wave(label="baseline", opens_on=TODAY + timedelta(days=3), closes_on=TODAY + timedelta(days=10)),
                   Wave(label="follow-up", opens_on=TODAY + timedelta(days=60), closes_on=TODAY + timedelta(days=70))]
    db.session.commit()
    for n in range(3):
        add_question(study, NewQuestion(text=f"Own question {n}", kind=QuestionKind.AGREE5), TODAY)
    builders.user("c@acme.example.com", orgs=[org.name])
    client.post("/login", data={"email": "c@acme.example.com", "password": builders.PASSWORD})
    return study


def test_launch_shows_what_it_locks_and_does_nothing_until_confirmed(client, draft):
    questions = len(draft.questions)
    for response in (client.get(f"/studies/{draft.id}/launch"), client.post(f"/studies/{draft.id}/launch")):
        assert response.status_code == 200
        page = text(response)
        assert "Launching locks the assignment of 12 teams (4 manager, 4 peer, 4 external)" in page
        assert f"the questions ({questions}, 3 of them the study's own)" in page
        assert ("primary outcome (satisfaction), the anonymity threshold (k = 5), the costs, the no-worse "
                "margins") in page
        assert "2 waves are planned: baseline" in page and "follow-up" in page
        assert "cannot go back to draft" in page
        assert 'name="confirm" value="1"' in response.get_data(as_text=True)
        db.session.refresh(draft)
        assert draft.status is StudyStatus.DRAFT


def test_launch_confirmed_runs_the_study_and_locks_assignment_and_questions(client, draft):
    response = client.post(f"/studies/{draft.id}/launch", data={"confirm": "1"})
    assert response.status_code == 302
    db.session.refresh(draft)
    assert draft.status is StudyStatus.RUNNING and draft.assignments_locked_at is not None
    refused = client.post(f"/studies/{draft.id}/assignment", data={"seed": "9"})
    assert refused.status_code == 409 and "the study has been launched" in text(refused)
    added = client.post(f"/studies/{draft.id}/questions", data={"text": "Too late?", "kind": "agree5"})
    assert added.status_code == 409 and "launched" in text(added)


def test_a_launch_that_would_be_refused_says_why_on_the_confirmation_page(client, draft):
    draft.waves = []
    db.session.commit()
    response = client.get(f"/studies/{draft.id}/launch")
    assert response.status_code == 409
    assert "Not launched: add at least one wave before launching." in text(response)
    assert 'name="confirm"' not in response.get_data(as_text=True)


def running(client, draft):
    assert client.post(f"/studies/{draft.id}/launch", data={"confirm": "1"}).status_code == 302
    return draft


def issue(client, study, wave, **data):
    return client.post(f"/studies/{study.id}/waves/{wave.id}/links.csv", data=data)


def test_close_says_how_many_links_stop_and_does_nothing_until_confirmed(client, app, draft):
    study = running(client, draft)
    links = issue(client, study, study.waves[0]).get_data(as_text=True).splitlines()[1:]
    assert len(links) == 36
    response = client.get(f"/studies/{study.id}/close")
    assert response.status_code == 200
    page = text(response)
    assert "Closing the study stops every link that still works (36)" in page and "cannot be reopened" in page
    assert client.post(f"/studies/{study.id}/close").status_code == 200
    db.session.refresh(study)
    assert study.status is StudyStatus.RUNNING
    token = links[0].rsplit("/", 1)[1]
    assert app.test_client().get(f"/s/{token}").status_code == 403  # still works: "opens on …", not "closed"
    assert client.post(f"/studies/{study.id}/close", data={"confirm": "1"}).status_code == 302
    db.session.refresh(study)
    assert study.status is StudyStatus.CLOSED
    assert app.test_client().get(f"/s/{token}").status_code == 410


def test_while_a_wave_is_open_the_close_page_bounds_the_links_instead_of_counting_them(client, draft):
    study = running(client, draft)
    study.waves[0].opens_on = TODAY - timedelta(days=1)
    db.session.commit()
    issue(client, study, study.waves[0])
    page = text(client.get(f"/studies/{study.id}/close"))
    # an exact count would move by one with each response (no view moves by one response)
    assert "Closing the study stops every link that still works (up to 36)" in page


def test_the_first_issue_of_links_needs_no_confirmation(client, draft):
    study = running(client, draft)
    response = issue(client, study, study.waves[0])
    assert response.status_code == 200 and response.mimetype == "text/csv"


def test_re_issuing_links_says_how_many_stop_and_does_nothing_until_confirmed(client, app, draft):
    study = running(client, draft)
    wave = study.waves[0]
    first = issue(client, study, wave).get_data(as_text=True).splitlines()[1:]
    token = first[0].rsplit("/", 1)[1]
    for response in (client.get(f"/studies/{study.id}/waves/{wave.id}/links.csv"), issue(client, study, wave)):
        assert response.status_code == 200 and response.mimetype == "text/html"
        page = text(response)
        assert "Re-issuing links stops the 36 links already issued for wave “baseline” that were not used" in page
        assert "nobody has answered yet" in page
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 36
    assert app.test_client().get(f"/s/{token}").status_code == 403  # still works: "opens on …", not "replaced"
    again = issue(client, study, wave, confirm="1")
    assert again.mimetype == "text/csv" and len(again.get_data(as_text=True).splitlines()) == 37
    assert app.test_client().get(f"/s/{token}").status_code == 410


def test_re_issuing_during_an_open_wave_bounds_the_links_and_the_answers(client, app, draft):
    study = running(client, draft)
    wave = study.waves[0]
    wave.opens_on = TODAY
    db.session.commit()
    reps = [rep for a in study.assignments for rep in a.team.reps]
    builders.answer(study, wave, reps[:6], TODAY)
    issue(client, study, wave)  # the 30 who have not answered
    page = text(issue(client, study, wave))
    assert "stops the links already issued for wave “baseline” that were not used (up to 31 of the 36 reps " \
           "invited)" in page
    assert "at least 5 reps have answered and are not affected" in page
