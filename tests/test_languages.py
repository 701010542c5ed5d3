"""Reps answer in their own language (issue 18): the roster's language, the invitation in it, the survey in it,
a switch on page 1 that keeps the draft, right to left for Arabic, and scores that do not depend on any of it.

What the rep reads is compared with the catalogue (``translations/<language>/…/messages.po``) and the
instrument's translation files, read here directly; dates with Babel's own formatting of that locale.
"""

from __future__ import annotations

import json
import re
from datetime import date
from email import message_from_string, policy
from pathlib import Path

import pytest
from babel.dates import format_date
from babel.messages.pofile import read_po
from sqlalchemy import func, inspect, select

from surveys.extensions import db
from surveys.models import Answer, Invitation, Rep, Response, SurveyDraft
from surveys.organisations.imports import ImportRejected, import_roster
from surveys.respond import survey as responding
from surveys.tabular import read_table
from tests import builders

pytestmark = pytest.mark.usefixtures("app_context")
ROOT = Path(__file__).resolve().parent.parent


def catalogue(language: str):
    with (ROOT / "translations" / language / "LC_MESSAGES" / "messages.po").open("rb") as source:
        return read_po(source)


def said(language: str, msgid: str, **values) -> str:
    """``msgid`` as the catalogue of ``language`` writes it, its placeholders filled."""
    text = catalogue(language)[msgid].string
    assert text, f"{msgid!r} has no {language} translation"
    return text % values if values else text


def instrument(language: str) -> dict:
    path = ROOT / "surveys" / "instruments" / f"coaching_feedback.{language}.json"
    return json.loads(path.read_text(encoding="utf-8"))["strings"]


def unescaped(response) -> str:
    import html

    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def pilot(client):
    """A running study, one peer team of six, an open wave, a logged-in consultant."""
    study, team = builders.running_survey(model="peer", reps=6)
    builders.user("c@acme.example.com", orgs=[study.organisation.name])
    client.post("/login", data={"email": "c@acme.example.com", "password": builders.PASSWORD})
    return study, team


def _set_language(rep: Rep, language: str | None) -> None:
    rep.language = language
    db.session.commit()


def test_a_spanish_rep_gets_a_spanish_invitation_answers_in_spanish_and_switches_to_english_keeping_the_draft(
        client, app, pilot, smtp):
    study, team = pilot
    rep = team.reps[0]
    _set_language(rep, "es")
    controller, inbox = smtp
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    wave = study.waves[0]
    assert client.post(f"/studies/{study.id}/waves/{wave.id}/send").status_code == 302
    [raw] = [raw for to, raw in inbox.wait_for(6) if to == [rep.email]]
    message = message_from_string(raw, policy=policy.default)
    assert message["Subject"] == said("es", "Your coaching feedback survey — %(study)s",
                                       study=f"\u2068{study.name}\u2069")  # the name isolated (FSI … PDI)
    text = message.get_body(("plain",)).get_content()
    assert said("es", "Please do not forward this link: it can be used once.") in text
    assert format_date(wave.closes_on, "long", locale="es") in text  # "… de diciembre de 2026"
    assert "Please do not forward" not in text
    html_part = message.get_body(("html",)).get_content()
    assert '<html lang="es" dir="ltr">' in html_part
    others = [raw for to, raw in inbox.messages if to != [rep.email]]
    assert all(message_from_string(r, policy=policy.default)["Subject"].startswith("Your coaching feedback survey")
               for r in others)  # the team's other reps have no language: English

    token = re.search(r"/s/([A-Za-z0-9_-]+)", text).group(1)
    rep_browser = app.test_client()
    assert rep_browser.get(f"/s/{token}").status_code == 302
    page = rep_browser.get("/survey/1")
    body = unescaped(page)
    wording = instrument("es")
    assert '<html lang="es" dir="ltr">' in body
    assert wording["intro"] in body and wording["item.coaching_1"] in body and wording["scale.5"] in body
    assert said("es", "Next") in body and ">Next<" not in body

    # Two answers on page 1, then the switch to English: the page comes back in English with both kept.
    first = responding.paginate(list(study.questions))[0]
    chosen = {f"q_{first.questions[0].key}": "4", f"q_{first.questions[1].key}": "2"}
    switched = rep_browser.post("/survey/1", data={**chosen, "language": "en"})
    assert switched.status_code == 302 and switched.headers["Location"].endswith("/survey/1")
    english = unescaped(rep_browser.get("/survey/1"))
    assert '<html lang="en" dir="ltr">' in english and first.questions[0].text in english
    for name, value in chosen.items():
        assert re.search(rf'<input checked[^>]*name="{name}"[^>]*value="{value}"'
                         rf'|<input[^>]*name="{name}"[^>]*value="{value}"[^>]*checked', english), name
    assert db.session.scalar(select(func.count()).select_from(SurveyDraft)) == 1

    # …and back to Spanish, still kept; then the whole survey, sent in Spanish.
    assert rep_browser.post("/survey/1", data={"language": "es"}).status_code == 302
    spanish = unescaped(rep_browser.get("/survey/1"))
    assert '<html lang="es"' in spanish and all(
        re.search(rf'<input checked[^>]*name="{name}"[^>]*value="{value}"', spanish) for name, value in chosen.items())
    answers = builders.valid_answers(study.questions)
    pages = responding.paginate(list(study.questions))
    for number, each in enumerate(pages, start=1):
        data = {f"q_{q.key}": answers[f"q_{q.key}"] for q in each.questions}
        action = "submit" if number == len(pages) else "next"
        assert rep_browser.post(f"/survey/{number}", data={**data, "action": action}).status_code == 302
    thanks = unescaped(rep_browser.get("/survey/thanks"))
    assert said("es", "Your answers are saved, anonymously. You can close this page.") in thanks
    assert db.session.scalar(select(func.count()).select_from(Response)) == 1


def test_scores_do_not_depend_on_the_language_and_no_response_says_its_language(client, app, pilot):
    study, team = pilot
    wave = study.waves[0]
    answers = builders.valid_answers(study.questions)
    pages = responding.paginate(list(study.questions))
    for rep, language in zip(team.reps[:4], ("en", "es", "de", "ar"), strict=True):
        token = builders.invite(wave, rep)
        browser = app.test_client()
        browser.get(f"/s/{token}")
        if language != "en":
            assert browser.post("/survey/1", data={"language": language}).status_code == 302
            assert f'lang="{language}"' in browser.get("/survey/1").get_data(as_text=True)
        for number, each in enumerate(pages, start=1):
            data = {f"q_{q.key}": answers[f"q_{q.key}"] for q in each.questions}
            action = "submit" if number == len(pages) else "next"
            assert browser.post(f"/survey/{number}", data={**data, "action": action}).status_code == 302
    stored = {}
    for response_id in db.session.scalars(select(Response.id)):
        stored[response_id] = sorted(db.session.execute(
            select(Answer.question_id, Answer.value_num, Answer.value_text).where(Answer.response_id == response_id)))
    assert len(stored) == 4 and len({tuple(v) for v in stored.values()}) == 1  # four languages, one set of answers
    columns = {c["name"] for table in ("response", "answer") for c in inspect(db.engine).get_columns(table)}
    assert not any("lang" in c or "locale" in c for c in columns)


def test_an_arabic_rep_reads_the_survey_right_to_left(client, app, pilot):
    study, team = pilot
    _set_language(team.reps[1], "ar")
    token = builders.invite(study.waves[0], team.reps[1])
    browser = app.test_client()
    browser.get(f"/s/{token}")
    body = unescaped(browser.get("/survey/1"))
    assert '<html lang="ar" dir="rtl">' in body
    assert instrument("ar")["item.coaching_1"] in body and said("ar", "Next") in body


def test_a_rep_without_a_language_gets_what_the_browser_asks_for_then_english(client, app, pilot):
    study, team = pilot
    token = builders.invite(study.waves[0], team.reps[2])
    browser = app.test_client()
    browser.get(f"/s/{token}", headers={"Accept-Language": "de-CH,de;q=0.9,en;q=0.5"})
    body = unescaped(browser.get("/survey/1", headers={"Accept-Language": "de-CH,de;q=0.9,en;q=0.5"}))
    assert '<html lang="de"' in body and instrument("de")["intro"] in body
    body = unescaped(browser.get("/survey/1", headers={"Accept-Language": "pt-BR"}))
    assert '<html lang="en"' in body
    error = app.test_client().get("/s/" + "x" * 30, headers={"Accept-Language": "fr"})
    assert error.status_code == 404 and said("fr", "Unknown link") in unescaped(error)


@pytest.mark.parametrize("value", ["pt", "", "en'><script>", "x" * 5000])
def test_a_switch_to_a_language_not_offered_is_refused_and_keeps_nothing(client, app, pilot, value):
    study, team = pilot
    token = builders.invite(study.waves[0], team.reps[0])
    browser = app.test_client()
    browser.get(f"/s/{token}")
    first = responding.paginate(list(study.questions))[0]
    response = browser.post("/survey/1", data={f"q_{first.questions[0].key}": "4", "language": value})
    assert response.status_code == 400 and "<h1>" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(SurveyDraft)) == 0
    assert '<html lang="en"' in browser.get("/survey/1").get_data(as_text=True)


def test_the_switch_without_a_csrf_token_saves_nothing(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        study, team = builders.running_survey(org_name="Csrf Sales", model="peer")
        token = builders.invite(study.waves[0], team.reps[0])
        first = responding.paginate(list(study.questions))[0]
        browser = app.test_client()
        browser.get(f"/s/{token}")
        response = browser.post("/survey/1", data={f"q_{first.questions[0].key}": "4", "language": "es"})
        assert response.status_code == 400
        assert db.session.scalar(select(func.count()).select_from(SurveyDraft)) == 0
        assert '<html lang="en"' in browser.get("/survey/1").get_data(as_text=True)


def test_a_reminder_is_written_in_the_reps_language(app, pilot):
    from surveys.pilots.invitations import IssuedLink, _message

    study, _ = pilot
    wave = study.waves[0]
    with app.test_request_context("/"):
        message = _message(study, wave, IssuedLink(1, "Jonas", "j@example.com", "", "http://x/s/t", "de"), True)
        english = _message(study, wave, IssuedLink(2, "Ann", "a@example.com", "", "http://x/s/u", None), True)
    assert message["Subject"] == said("de", "Reminder: your coaching feedback survey — %(study)s",
                                       study=f"\u2068{study.name}\u2069")
    assert format_date(wave.closes_on, "long", locale="de") in message.get_body(("plain",)).get_content()
    assert english["Subject"] == f"Reminder: your coaching feedback survey — \u2068{study.name}\u2069"


ROSTER = "team,region,name,email,crm_id,language\n"


def _frame(text: str):
    return read_table(text.encode("utf-8"), "roster.csv")


def test_the_roster_takes_a_language_as_a_code_a_tag_or_a_name(app):
    org = builders.organisation("Lingua")
    import_roster(org, _frame(ROSTER + "T1,North,Ana,ana@x.example,,es\nT1,North,Ben,ben@x.example,,Spanish\n"
                              "T1,North,Chloé,chloe@x.example,,fr-CA\nT1,North,Dan,dan@x.example,,\n"
                              "T1,North,Eli,eli@x.example,,العربية\n"), today=date.today())
    db.session.commit()
    languages = dict(db.session.execute(select(Rep.name, Rep.language)).all())
    assert languages == {"Ana": "es", "Ben": "es", "Chloé": "fr", "Dan": None, "Eli": "ar"}
    # A later file without the column (or with a blank cell) keeps what was set.
    import_roster(org, _frame("team,name,email\nT1,Ana,ana@x.example\n"), today=date.today())
    db.session.commit()
    assert db.session.scalar(select(Rep.language).where(Rep.name == "Ana")) == "es"


def test_a_roster_with_a_language_not_offered_is_refused_whole(app):
    org = builders.organisation("Lingua")
    with pytest.raises(ImportRejected) as refused:
        import_roster(org, _frame(ROSTER + "T1,North,Ana,ana@x.example,,es\nT1,North,Bo,bo@x.example,,pt\n"),
                      today=date.today())
    db.session.rollback()
    [problem] = refused.value.problems
    assert problem.row == 3 and problem.column == "language" and "en, es, de, fr, ar" in problem.message
    assert db.session.scalar(select(func.count()).select_from(Rep)) == 0


def test_the_import_command_refuses_a_language_not_offered_with_exit_status_2(app, runner, tmp_path):
    builders.organisation("Lingua")
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER + "T1,North,Bo,bo@x.example,,klingon\n", encoding="utf-8")
    result = runner.invoke(args=["import-roster", "--org", "Lingua", str(path)])
    assert result.exit_code == 2 and "language" in result.output and "klingon" in result.output
    assert db.session.scalar(select(func.count()).select_from(Rep)) == 0


def test_the_consultant_sets_a_reps_language_on_the_rep_page(client, pilot):
    study, team = pilot
    rep = team.reps[0]
    url = f"/organisations/{study.organisation_id}/reps/{rep.id}"
    page = client.get(url).get_data(as_text=True)
    assert 'name="language"' in page and "Español" in page
    base = {"name": rep.name, "email": rep.email, "team_id": str(rep.team_id)}
    assert client.post(url, data={**base, "language": "de"}).status_code == 302
    db.session.refresh(rep)
    assert rep.language == "de"
    refused = client.post(url, data={**base, "language": "pt"})
    assert refused.status_code == 400 and "Not a valid choice" in refused.get_data(as_text=True)
    db.session.refresh(rep)
    assert rep.language == "de"
    assert client.post(url, data={**base, "language": ""}).status_code == 302
    db.session.refresh(rep)
    assert rep.language is None


def test_a_used_link_stays_used_in_every_language(client, app, pilot):
    """The messages of a link that cannot be used are the rep's language too, and say the same thing."""
    study, team = pilot
    [response_id] = builders.answer(study, study.waves[0], [team.reps[0]], date.today())
    assert response_id
    token = builders.invite(study.waves[0], team.reps[1])
    invitation = db.session.scalars(select(Invitation).where(Invitation.rep_id == team.reps[1].id)).one()
    invitation.used = True
    db.session.commit()
    page = app.test_client().get(f"/s/{token}", headers={"Accept-Language": "es"})
    assert page.status_code == 410
    assert said("es", "This survey has already been answered with this link. Each link can be used once.") in \
        unescaped(page)
