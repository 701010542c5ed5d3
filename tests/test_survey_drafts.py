"""A link reveals nothing already answered: a draft is readable only by the browser that saved it.

The consultant holds every rep's link (the mail-merge file). These tests play that consultant: a
second browser that opens a rep's link must see an empty survey, and the database must hold no
draft answer in a form anyone can read. The rep's own browser keeps its draft, and is told plainly
when another device replaced it.
"""

import re

import pytest
from sqlalchemy import func, select

from surveys.extensions import db
from surveys.models import Answer, Invitation, Question, Response, SurveyDraft
from surveys.respond import survey as responding
from tests import builders

pytestmark = pytest.mark.usefixtures("app_context")

COMMENT = "Zebra-17: my manager never has time for me"


@pytest.fixture
def survey():
    """A running manager-coached team with an open wave; returns (study, token of the first rep)."""
    study, team = builders.running_survey(model="manager")
    return study, builders.invite(study.waves[0], team.reps[0])


def pages_of(study):
    return responding.paginate(list(study.questions))


def rep_answers(study):
    """What the rep answers: every agreement item a distinctive value, a comment no one else writes."""
    answers = builders.valid_answers(study.questions)
    answers["q_comment"] = COMMENT
    return answers


def post_page(client, study, number, answers, action="next"):
    page = pages_of(study)[number - 1]
    data = {f"q_{q.key}": answers[f"q_{q.key}"] for q in page.questions if f"q_{q.key}" in answers}
    return client.post(f"/survey/{number}", data={**data, "action": action})


def checked_answers(html: str) -> list[str]:
    """Every radio button rendered checked, and every text box or number field that has a value."""
    tags = re.findall(r"<input[^>]*>", html)
    filled = [t for t in tags if "checked" in t and 'type="radio"' in t]
    filled += [t for t in tags if re.search(r'type="(text|number)"', t) and re.search(r'value="[^"]', t)]
    filled += [m for m in re.findall(r"<textarea[^>]*>([^<]*)</textarea>", html) if m.strip()]
    return filled


def save_pages_one_and_two(client, study, token):
    """The rep opens the link and saves pages 1 and 2."""
    assert client.get(f"/s/{token}").status_code == 302
    answers = rep_answers(study)
    assert post_page(client, study, 1, answers).headers["Location"] == "/survey/2"
    assert post_page(client, study, 2, answers).headers["Location"] == "/survey/3"
    return answers


def test_the_consultant_opening_a_reps_link_sees_no_saved_answer_and_the_database_holds_none(app, survey):
    """F1: the rep saved pages 1-2 and, going back from the last page, the comment. The consultant,
    holding the same link, opens it in another browser: every page is empty, and the draft row holds
    no answer, key or page number anyone can read."""
    study, token = survey
    rep = app.test_client()
    answers = save_pages_one_and_two(rep, study, token)
    last = len(pages_of(study))
    assert post_page(rep, study, 3, answers).status_code == 302
    assert post_page(rep, study, last, answers, action="back").status_code == 302  # the comment is in the draft

    consultant = app.test_client()
    assert consultant.get(f"/s/{token}").status_code == 302
    assert consultant.get("/survey").headers["Location"] == "/survey/1"  # not "you stopped at page 4"
    for number in range(1, last + 1):
        page = consultant.get(f"/survey/{number}")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert checked_answers(html) == [], number
        assert "Zebra-17" not in html

    stored = db.session.execute(select(SurveyDraft.answers_json, SurveyDraft.page)).one()
    assert "Zebra-17" not in stored.answers_json
    for question in study.questions:
        assert question.key not in stored.answers_json
    assert '"' not in stored.answers_json and "{" not in stored.answers_json  # ciphertext, not JSON
    assert stored.page == 0  # how far the rep got is inside the ciphertext too


def test_the_reps_own_browser_resumes_with_its_answers_and_submits_them(app, survey):
    study, token = survey
    rep = app.test_client()
    answers = save_pages_one_and_two(rep, study, token)
    app.test_client().get(f"/s/{token}")  # a second browser opening the link changes nothing for the rep
    assert rep.get(f"/s/{token}").status_code == 302  # the rep opens the link from the e-mail again
    assert rep.get("/survey").headers["Location"] == "/survey/3"
    first = rep.get("/survey/1").get_data(as_text=True)
    question = pages_of(study)[0].questions[0]
    assert f'value="{answers[f"q_{question.key}"]}"' in " ".join(checked_answers(first))
    for number in range(3, len(pages_of(study)) + 1):
        action = "submit" if number == len(pages_of(study)) else "next"
        assert post_page(rep, study, number, answers, action=action).status_code == 302
    stored = dict(db.session.execute(select(Question.key, Answer.value_num).join(Answer)).all())
    for question in study.questions:
        raw = answers[f"q_{question.key}"]
        if question.scale_min is not None and raw != "na":
            assert stored[question.key] == float(raw), question.key
    assert db.session.scalar(select(func.count()).select_from(SurveyDraft)) == 0


def test_a_submit_from_another_browser_does_not_read_the_reps_draft(app, survey):
    """The consultant sends only the last page with the rep's link: the rep's earlier pages are not theirs."""
    study, token = survey
    rep = app.test_client()
    answers = rep_answers(study)
    rep.get(f"/s/{token}")
    last = len(pages_of(study))
    for number in range(1, last):
        assert post_page(rep, study, number, answers).status_code == 302
    consultant = app.test_client()
    consultant.get(f"/s/{token}")
    response = post_page(consultant, study, last, builders.valid_answers(study.questions), action="submit")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/survey/1")  # the earlier pages are missing
    assert db.session.scalar(select(func.count()).select_from(Response)) == 0
    assert db.session.scalar(select(Invitation.used)) is False
    assert checked_answers(consultant.get("/survey/1").get_data(as_text=True)) == []


def test_the_reps_browser_is_told_plainly_when_another_device_replaced_its_draft(app, survey):
    study, token = survey
    rep = app.test_client()
    save_pages_one_and_two(rep, study, token)
    other = app.test_client()
    other.get(f"/s/{token}")
    theirs = builders.valid_answers(study.questions)
    assert post_page(other, study, 1, theirs).status_code == 302  # the other device saves page 1

    back = rep.get("/survey/3")
    assert back.status_code == 302 and back.headers["Location"] == "/survey/1"
    page = rep.get("/survey/1")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "replaced" in html and "another device" in html
    assert checked_answers(html) == []  # neither the rep's old answers nor the other device's
    assert "replaced" not in rep.get("/survey/1").get_data(as_text=True)  # said once
    assert post_page(rep, study, 1, rep_answers(study)).status_code == 302  # and the rep starts again


def test_the_browser_that_never_saved_is_not_told_whether_someone_else_did(app, survey):
    """An oracle check: a fresh browser sees the same page whether or not the rep has a draft."""
    study, token = survey
    before = app.test_client()
    before.get(f"/s/{token}")
    empty = before.get("/survey/1").get_data(as_text=True)
    save_pages_one_and_two(app.test_client(), study, token)
    after = app.test_client()
    after.get(f"/s/{token}")
    assert after.get("/survey").headers["Location"] == "/survey/1"
    with_draft = after.get("/survey/1").get_data(as_text=True)
    strip = re.compile(r'name="csrf_token" type="hidden" value="[^"]*"')
    assert strip.sub("", with_draft) == strip.sub("", empty)


@pytest.mark.parametrize("forged", ["{}", '{"page": 3, "answers": {"coaching_1": "5"}}', "v1.AAAA", "v1." + "A" * 80])
def test_a_forged_or_foreign_draft_counts_as_no_draft(app, survey, forged):
    study, token = survey
    rep = app.test_client()
    save_pages_one_and_two(rep, study, token)
    draft = db.session.scalar(select(SurveyDraft))
    draft.answers_json = forged
    db.session.commit()
    assert rep.get("/survey").status_code == 302
    page = rep.get("/survey/1")
    assert page.status_code == 200 and checked_answers(page.get_data(as_text=True)) == []
    last = len(pages_of(study))
    response = post_page(rep, study, last, rep_answers(study), action="submit")
    assert response.status_code == 302 and response.headers["Location"].startswith("/survey/1")
    assert db.session.scalar(select(func.count()).select_from(Response)) == 0


def test_the_survey_cookie_shows_neither_the_invitation_nor_the_draft_key(app, survey):
    """Info item of the review: the signed cookie read ``{"survey_invitation": 1205}``."""
    _, token = survey
    client = app.test_client()
    client.get(f"/s/{token}")
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    data = app.session_interface.get_signing_serializer(app).loads(cookie.value)
    assert set(data) == {"survey", "_permanent"}
    assert isinstance(data["survey"], str) and len(data["survey"]) > 40
    assert cookie.expires is not None  # kept when the browser closes, so the rep can resume
    other = app.test_client()
    other.get(f"/s/{token}")
    theirs = app.session_interface.get_signing_serializer(app).loads(
        other.get_cookie(app.config["SESSION_COOKIE_NAME"]).value)
    assert theirs["survey"] != data["survey"]


def test_after_the_submit_the_cookie_holds_no_survey_key(app, survey):
    study, token = survey
    client = app.test_client()
    client.get(f"/s/{token}")
    answers = rep_answers(study)
    last = len(pages_of(study))
    for number in range(1, last + 1):
        action = "submit" if number == last else "next"
        assert post_page(client, study, number, answers, action=action).status_code == 302
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    data = app.session_interface.get_signing_serializer(app).loads(cookie.value) if cookie else {}
    assert "survey" not in data


def test_drafts_saved_by_an_earlier_version_in_plain_text_are_purged(app, survey, runner):
    """Drafts written before drafts were sealed are readable: the first purge after the upgrade drops them."""
    _, token = survey
    invitation_id = db.session.scalar(select(Invitation.id))
    db.session.add(SurveyDraft(invitation_id=invitation_id, page=2, answers_json='{"coaching_1": "5"}'))
    db.session.commit()
    result = runner.invoke(args=["purge-drafts"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Deleted 1")
    assert db.session.scalar(select(func.count()).select_from(SurveyDraft)) == 0
