"""A rep answers the survey through a personal link: round trip, resume, closed links and bad input."""

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from surveys.extensions import db
from surveys.models import (
    Answer,
    Invitation,
    Question,
    QuestionKind,
    Response,
    StudyStatus,
    SurveyDraft,
)
from surveys.pilots.questions import NewQuestion
from surveys.respond import survey as responding
from surveys.respond.sealing import new_key
from surveys.respond.submit import submit as submit_response
from tests import builders

pytestmark = pytest.mark.usefixtures("app_context")


@pytest.fixture
def survey():
    """A running peer-coached team with an open wave; returns (study, team, token of the first rep)."""
    study, team = builders.running_survey(model="peer")
    token = builders.invite(study.waves[0], team.reps[0])
    return study, team, token


def pages_of(study):
    return responding.paginate(list(study.questions))


def page_fields(page, answers):
    return {f"q_{q.key}": answers[f"q_{q.key}"] for q in page.questions if f"q_{q.key}" in answers}


def answer_pages(client, study, answers, upto=None):
    """Post ``answers`` page by page (the last page submits); return the last response."""
    pages = pages_of(study)
    upto = len(pages) if upto is None else upto
    response = None
    for number, page in enumerate(pages[:upto], start=1):
        action = "submit" if number == len(pages) else "next"
        response = client.post(f"/survey/{number}", data={**page_fields(page, answers), "action": action})
        assert response.status_code == 302, (number, response.get_data(as_text=True)[:2000])
    return response


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_link_is_exchanged_for_a_session_and_a_url_without_the_token(client, survey):
    _, _, token = survey
    response = client.get(f"/s/{token}")
    assert response.status_code == 302
    assert response.headers["Location"] == "/survey"
    assert token not in response.headers["Location"]
    assert "session" in response.headers["Set-Cookie"].split("=")[0]
    assert response.headers["Referrer-Policy"] == "no-referrer"
    page = client.get("/survey", follow_redirects=True)
    assert page.status_code == 200
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "Page 1 of" in page.get_data(as_text=True)


def test_round_trip_stores_exactly_the_values_submitted(client, survey):
    study, team, token = survey
    answers = builders.valid_answers(study.questions)
    answers["q_coaching_1"] = "na"  # prefer not to say
    answers["q_recommend"] = "0"
    answers["q_comment"] = "  Peer coaching <b>works</b> & I'd say so.  "
    client.get(f"/s/{token}")
    final = answer_pages(client, study, answers)
    assert final.headers["Location"] == "/survey/thanks"

    response = db.session.scalar(select(Response))
    assert (response.study_id, response.wave_id, response.team_id) == (study.id, study.waves[0].id, team.id)
    assert response.coaching_model.value == "peer"
    assert response.submitted_on == date.today()
    stored = {q.key: (a.value_num, a.value_text) for a, q in db.session.execute(
        select(Answer, Question).join(Question, Question.id == Answer.question_id))}
    expected = {}
    for question in study.questions:
        raw = answers[f"q_{question.key}"]
        if raw == "na":
            expected[question.key] = (None, None)
        elif question.kind is QuestionKind.TEXT:
            expected[question.key] = (None, raw.strip())
        else:
            expected[question.key] = (float(raw), None)
    assert stored == expected
    assert db.session.scalar(select(Invitation.used)) is True
    assert count(SurveyDraft) == 0


def test_second_submit_with_the_same_link_is_refused(client, survey, app):
    study, _, token = survey
    answers = builders.valid_answers(study.questions)
    client.get(f"/s/{token}")
    answer_pages(client, study, answers)
    again = app.test_client().get(f"/s/{token}")
    assert again.status_code == 410
    assert "already been answered" in again.get_data(as_text=True)
    last = pages_of(study)[-1]
    replay = client.post(f"/survey/{len(pages_of(study))}", data={**page_fields(last, answers), "action": "submit"})
    assert replay.status_code in (400, 410)
    assert count(Response) == 1


def test_rep_who_closes_the_browser_resumes_where_they_stopped(client, survey, app):
    """The draft lives with the browser: its cookie outlives a closed browser (another browser starts
    over: ``tests/test_survey_drafts.py``)."""
    study, _, token = survey
    answers = builders.valid_answers(study.questions)
    client.get(f"/s/{token}")
    answer_pages(client, study, answers, upto=2)
    assert client.get_cookie(app.config["SESSION_COOKIE_NAME"]).expires is not None  # not a browser-session cookie
    response = client.get(f"/s/{token}", follow_redirects=False)  # the link from the e-mail, opened again
    assert client.get(response.headers["Location"]).headers["Location"] == "/survey/3"
    first_page = client.get("/survey/1").get_data(as_text=True)
    assert _is_checked(first_page, "q_coaching_1", answers["q_coaching_1"])


def test_answers_are_kept_when_a_page_fails_validation(client, survey):
    study, _, token = survey
    client.get(f"/s/{token}")
    first = pages_of(study)[0]
    answers = page_fields(first, builders.valid_answers(study.questions))
    missing = first.questions[1].key
    del answers[f"q_{missing}"]
    response = client.post("/survey/1", data={**answers, "action": "next"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Please answer this question" in page
    kept = first.questions[0].key
    assert _is_checked(page, f"q_{kept}", answers[f"q_{kept}"])
    assert count(SurveyDraft) == 0


def _is_checked(page: str, name: str, value: str) -> bool:
    """Whether the radio ``name`` = ``value`` is rendered checked."""
    for tag in re.findall(r"<input[^>]*>", page):
        if f'name="{name}"' in tag and f'value="{value}"' in tag:
            return "checked" in tag
    return False


@pytest.mark.parametrize("field, value, message", [
    ("q_coaching_1", "6", "Not a valid choice"),          # outside the 1-5 scale
    ("q_coaching_1", "abc", "Not a valid choice"),        # wrong type
    ("q_coaching_1", "", "Please answer this question"),  # missing required answer
])
def test_bad_answers_on_a_page_are_refused_with_a_message_and_nothing_stored(client, survey, field, value, message):
    study, _, token = survey
    client.get(f"/s/{token}")
    answers = page_fields(pages_of(study)[0], builders.valid_answers(study.questions))
    answers[field] = value
    response = client.post("/survey/1", data={**answers, "action": "next"})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert count(SurveyDraft) == 0 and count(Response) == 0


def _last_page_post(client, study, token, **changes):
    answers = builders.valid_answers(study.questions)
    client.get(f"/s/{token}")
    pages = pages_of(study)
    answer_pages(client, study, answers, upto=len(pages) - 1)
    data = {**page_fields(pages[-1], answers), "action": "submit", **changes}
    return client.post(f"/survey/{len(pages)}", data=data)


@pytest.mark.parametrize("changes, status, words", [
    ({"q_recommend": "11"}, 400, "Not a valid choice"),
    ({"q_recommend": "-1"}, 400, "Not a valid choice"),
    ({"q_comment": "x" * 2001}, 400, "2000 characters or fewer"),
    ({"q_not_a_question": "1"}, 400, "Bad request"),
    ({"rep_id": "5"}, 400, "Bad request"),
])
def test_bad_final_page_is_refused_and_nothing_is_stored(client, survey, changes, status, words):
    study, _, token = survey
    response = _last_page_post(client, study, token, **changes)
    assert response.status_code == status
    assert words in response.get_data(as_text=True)
    assert count(Response) == 0 and count(Answer) == 0
    assert db.session.scalar(select(Invitation.used)) is False


def test_comment_is_stored_as_plain_text_and_escaped_when_shown_again(client, survey):
    study, _, token = survey
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    response = _last_page_post(client, study, token, q_comment=hostile, q_recommend="")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    fixed = _last_page_post(client, study, token, q_comment=hostile)
    assert fixed.status_code == 302
    assert db.session.scalar(select(Answer.value_text).where(Answer.value_text.is_not(None))) == hostile


def test_submit_with_a_required_answer_missing_on_an_earlier_page_goes_back_to_it(client, survey):
    study, _, token = survey
    pages = pages_of(study)
    answers = builders.valid_answers(study.questions)
    client.get(f"/s/{token}")
    for number in range(2, len(pages)):  # page 1 is never saved
        assert client.post(f"/survey/{number}", data={**page_fields(pages[number - 1], answers),
                                                      "action": "next"}).status_code == 302
    response = client.post(f"/survey/{len(pages)}", data={**page_fields(pages[-1], answers), "action": "submit"})
    assert response.headers["Location"] == "/survey/1?missing=1"
    assert count(Response) == 0
    assert db.session.scalar(select(Invitation.used)) is False


def test_back_keeps_what_was_entered(client, survey):
    study, _, token = survey
    answers = builders.valid_answers(study.questions)
    client.get(f"/s/{token}")
    answer_pages(client, study, answers, upto=1)
    second = page_fields(pages_of(study)[1], answers)
    response = client.post("/survey/2", data={**second, "action": "back"})
    assert response.headers["Location"] == "/survey/1"
    key = pages_of(study)[1].questions[0].key
    assert _is_checked(client.get("/survey/2").get_data(as_text=True), f"q_{key}", answers[f"q_{key}"])


def test_unknown_link_gets_404(client, survey):
    response = client.get("/s/not-a-real-token")
    assert response.status_code == 404
    assert "not known" in response.get_data(as_text=True)
    assert client.get("/s/" + "x" * 5000).status_code == 404


def test_a_replaced_link_stops_working(client, survey):
    study, team, token = survey
    newer = builders.invite(study.waves[0], team.reps[0])
    assert client.get(f"/s/{token}").status_code == 410
    assert client.get(f"/s/{newer}").status_code == 302


def test_wave_not_open_yet_shows_the_dates(client, survey):
    study, _, token = survey
    wave = study.waves[0]
    wave.opens_on, wave.closes_on = date.today() + timedelta(days=3), date.today() + timedelta(days=10)
    db.session.commit()
    response = client.get(f"/s/{token}")
    assert response.status_code == 403
    assert f"{wave.opens_on.day} {wave.opens_on:%B %Y}" in response.get_data(as_text=True)


def test_closed_wave_shows_when_it_closed_and_drops_the_draft(client, survey):
    study, _, token = survey
    client.get(f"/s/{token}")
    answer_pages(client, study, builders.valid_answers(study.questions), upto=1)
    wave = study.waves[0]
    wave.opens_on, wave.closes_on = date.today() - timedelta(days=10), date.today() - timedelta(days=1)
    db.session.commit()
    response = client.get("/survey/2")
    assert response.status_code == 410
    assert f"{wave.closes_on.day} {wave.closes_on:%B %Y}" in response.get_data(as_text=True)
    assert count(SurveyDraft) == 0


def test_closed_study_refuses_the_link(client, survey):
    study, _, token = survey
    study.status = StudyStatus.CLOSED
    db.session.commit()
    response = client.get(f"/s/{token}")
    assert response.status_code == 410
    assert "has ended" in response.get_data(as_text=True)


def test_survey_pages_without_a_redeemed_link_explain_what_to_do(client, survey):
    response = client.get("/survey/1")
    assert response.status_code == 400
    assert "personal link" in response.get_data(as_text=True)


def test_pages_beyond_the_survey_are_not_found(client, survey):
    _, _, token = survey
    client.get(f"/s/{token}")
    assert client.get("/survey/0").status_code == 404
    assert client.get("/survey/99").status_code == 404


def test_study_questions_appear_and_their_answers_are_stored(client, app):
    study, team = builders.running_survey(today=date.today() + timedelta(days=5), questions=(
        NewQuestion("How many coaching sessions did you have last month?", QuestionKind.NUMBER, required=True,
                    minimum=0, maximum=50),
        NewQuestion("Which channel do you mostly sell through?", QuestionKind.CHOICE,
                    options=("Phone", "Video", "In person")),
        NewQuestion("My coach helps me prioritise accounts.", QuestionKind.AGREE7, dimension="prioritising")))
    wave = study.waves[0]
    wave.opens_on = date.today()
    db.session.commit()
    token = builders.invite(wave, team.reps[0])
    pages = pages_of(study)
    assert pages[-2].title == responding.EXTRA_PAGE_TITLE and len(pages[-2].questions) == 3
    answers = builders.valid_answers(study.questions)
    answers.update({"q_custom_1": "2.5", "q_custom_2": "Video", "q_custom_3": "7"})
    client.get(f"/s/{token}")
    answer_pages(client, study, answers)
    stored = dict(db.session.execute(select(Question.key, Answer.value_num).join(Answer)).all())
    texts = dict(db.session.execute(select(Question.key, Answer.value_text).join(Answer)).all())
    assert stored["custom_1"] == 2.5 and texts["custom_2"] == "Video" and stored["custom_3"] == 7.0


@pytest.mark.parametrize("value, message", [("many", "Please enter a number"), ("nan", "Please enter a number"),
                                            ("51", "from 0 to 50"), ("inf", "Please enter a number")])
def test_number_questions_refuse_words_and_out_of_range(client, value, message):
    study, team = builders.running_survey(today=date.today() + timedelta(days=5), questions=(
        NewQuestion("Sessions last month?", QuestionKind.NUMBER, required=True, minimum=0, maximum=50),))
    study.waves[0].opens_on = date.today()
    db.session.commit()
    token = builders.invite(study.waves[0], team.reps[0])
    client.get(f"/s/{token}")
    pages = pages_of(study)
    answers = builders.valid_answers(study.questions)
    answer_pages(client, study, answers, upto=len(pages) - 2)
    response = client.post(f"/survey/{len(pages) - 1}", data={"q_custom_1": value, "action": "next"})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_purge_drafts_removes_drafts_of_closed_waves_only(client, survey, runner):
    study, team, token = survey
    client.get(f"/s/{token}")
    answer_pages(client, study, builders.valid_answers(study.questions), upto=1)
    assert runner.invoke(args=["purge-drafts"]).output.startswith("Deleted 0")
    study.waves[0].closes_on = date.today() - timedelta(days=1)
    study.waves[0].opens_on = date.today() - timedelta(days=5)
    db.session.commit()
    assert runner.invoke(args=["purge-drafts"]).output.startswith("Deleted 1")
    assert count(SurveyDraft) == 0


def test_a_page_saved_after_the_link_was_used_elsewhere_leaves_no_draft(client, app, survey):
    """Two tabs: one submits while the other, which opened the link before, saves a page."""
    study, _, token = survey
    other_tab = app.test_client()
    client.get(f"/s/{token}")
    other_tab.get(f"/s/{token}")
    read_before = responding.open_link(db.session.scalar(select(Invitation.id)), date.today())
    answers = builders.valid_answers(study.questions)
    answer_pages(client, study, answers)
    # The other tab's request read the link as unused, then saves its page after the submit:
    with pytest.raises(responding.AlreadyAnswered):
        responding.save_draft(read_before, new_key(), 1, {"cfi_q1": "5"})
    assert count(SurveyDraft) == 0 and count(Response) == 1
    # And through HTTP the other tab is told the link was used.
    response = other_tab.post("/survey/1", data={**page_fields(pages_of(study)[0], answers), "action": "next"})
    assert response.status_code == 410 and count(SurveyDraft) == 0


def test_a_link_replaced_between_opening_the_page_and_submitting_says_so(survey):
    study, _, _ = survey
    invitation = db.session.scalar(select(Invitation))
    link = responding.open_link(invitation.id, date.today())
    invitation.revoked_at = responding.utcnow()  # a consultant issued a fresh link meanwhile
    db.session.commit()
    answers = builders.valid_answers_by_key(study.questions)
    with pytest.raises(responding.LinkReplaced):
        submit_response(link, new_key(), answers, date.today())
    assert count(Response) == 0


def test_on_sqlite_reading_a_link_leaves_no_transaction_open(make_app, tmp_path):
    """submit() relies on it: the write transaction must begin at the UPDATE, which can wait for
    the write lock; begun at a read, a busy database would fail at once (SQLITE_BUSY_SNAPSHOT)."""
    from flask_migrate import upgrade

    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'mode.sqlite'}")
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        study, team = builders.running_survey()
        builders.invite(study.waves[0], team.reps[0])
        db.session.commit()
        invitation_id = db.session.scalar(select(Invitation.id))
        db.session.commit()
        link = responding.open_link(invitation_id, date.today())
        assert link.coaching_model is not None
        assert db.session.connection().connection.dbapi_connection.in_transaction is False
        db.session.remove()
        db.engine.dispose()


def test_stored_scores_are_each_dimensions_mean_with_reverse_items_flipped(client, survey):
    """On PostgreSQL the scores come from the answers' INSERT ... RETURNING, on SQLite from the table."""
    from collections import defaultdict

    from surveys.models import ResponseScore
    from surveys.respond.scoring import rebuild_scores

    study, _, token = survey
    client.get(f"/s/{token}")
    answers = builders.valid_answers(study.questions)
    answer_pages(client, study, answers)
    expected = defaultdict(list)
    for question in study.questions:
        raw = answers.get(f"q_{question.key}")
        if question.dimension and question.scale_min is not None and raw not in (None, "na"):
            value = float(raw)
            expected[question.dimension].append(
                question.scale_min + question.scale_max - value if question.reverse_scored else value)
    assert any(q.reverse_scored for q in study.questions) and len(expected) >= 3

    def stored():
        return {s.dimension: (s.score, s.answered) for s in db.session.scalars(select(ResponseScore))}

    at_submit = stored()
    assert at_submit.keys() == expected.keys()
    for dimension, values in expected.items():
        assert at_submit[dimension] == (pytest.approx(sum(values) / len(values)), len(values))
    rebuild_scores(study.id)  # recomputed from the answer table: the same
    db.session.commit()
    assert stored() == at_submit
