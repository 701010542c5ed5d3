"""The study's own questions translated through a spreadsheet (issue 18): download, fill, upload; what is missing
is listed before launch and falls back to English with a note; answers stay the English options.

The sheet is filled here with openpyxl, as a translator's spreadsheet program would, and read back
through the real upload.
"""

from __future__ import annotations

import html
import io
from datetime import date, timedelta

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from surveys.extensions import db
from surveys.models import Answer, Question, QuestionKind, QuestionTranslation, Response
from surveys.pilots.questions import NewQuestion, add_question
from surveys.respond import survey as responding
from tests import builders

pytestmark = pytest.mark.usefixtures("app_context")
SOON = date.today() + timedelta(days=5)


@pytest.fixture
def study(client):
    """A draft study whose wave opens in a few days, with three questions of its own; a logged-in consultant."""
    org = builders.organisation()
    teams = [builders.team_with_reps(org, name=f"Team {n}", reps=6) for n in range(3)]
    result = builders.study(org, models=("peer", "manager", "external"), teams=teams, today=SOON)
    for new in (NewQuestion("How often do you meet your coach?", QuestionKind.CHOICE, required=True,
                            options=("Weekly", "Monthly", "Rarely")),
                NewQuestion("My coach knows our products well.", QuestionKind.AGREE5, required=True),
                NewQuestion("What should your coach do more of?", QuestionKind.TEXT)):
        add_question(result, new, date.today())
    builders.user("c@acme.example.com", orgs=[org.name])
    client.post("/login", data={"email": "c@acme.example.com", "password": builders.PASSWORD})
    return result


def sheet(client, study) -> Workbook:
    response = client.get(f"/studies/{study.id}/questions/translations.xlsx")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    return load_workbook(io.BytesIO(response.data))


def fill(workbook: Workbook, cells: dict[tuple[str, str], dict[str, str]]) -> bytes:
    """Write ``cells`` ((key, what) -> language -> text) into the sheet as downloaded; the XLSX bytes."""
    rows = workbook["translations"]
    header = [c.value for c in rows[1]]
    for row in rows.iter_rows(min_row=2):
        key, what = row[0].value, row[1].value
        for language, text in cells.get((key, what), {}).items():
            row[header.index(language)].value = text
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(client, study, data: bytes, name: str = "translations.xlsx"):
    return client.post(f"/studies/{study.id}/questions/translations",
                       data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


SPANISH = {("custom_1", "question"): {"es": "¿Con qué frecuencia se reúne con su coach?"},
           ("custom_1", "option 1"): {"es": "Cada semana"}, ("custom_1", "option 2"): {"es": "Cada mes"},
           ("custom_1", "option 3"): {"es": "Casi nunca"},
           ("custom_2", "question"): {"es": "Mi coach conoce bien nuestros productos.",
                                      "de": "Mein Coach kennt unsere Produkte gut."},
           ("custom_3", "question"): {"es": "¿Qué debería hacer más su coach?"}}


def translations() -> set[tuple[str, str]]:
    return set(db.session.execute(select(Question.key, QuestionTranslation.language).join(
        Question, Question.id == QuestionTranslation.question_id)).all())


def test_the_sheet_has_a_row_per_text_and_a_column_per_language(client, study):
    rows = list(sheet(client, study)["translations"].values)
    assert rows[0] == ("key", "what", "en", "es", "de", "fr", "ar")
    assert [r[:3] for r in rows[1:]] == [
        ("custom_1", "question", "How often do you meet your coach?"), ("custom_1", "option 1", "Weekly"),
        ("custom_1", "option 2", "Monthly"), ("custom_1", "option 3", "Rarely"),
        ("custom_2", "question", "My coach knows our products well."),
        ("custom_3", "question", "What should your coach do more of?")]
    assert all(cell is None for r in rows[1:] for cell in r[3:])


def test_translations_round_trip_and_reps_read_them_while_answers_stay_english(client, app, study):
    response = upload(client, study, fill(sheet(client, study), SPANISH))
    assert response.status_code == 302, html.unescape(response.get_data(as_text=True))[-3000:]
    assert translations() == {("custom_1", "es"), ("custom_2", "es"), ("custom_3", "es"), ("custom_2", "de")}
    # Downloaded again, the sheet holds them: a translator continues where the last one stopped.
    again = list(sheet(client, study)["translations"].values)
    assert again[2][3] == "Cada semana" and again[5][4] == "Mein Coach kennt unsere Produkte gut."

    # Missing ones are listed on the questions page and on the launch confirmation.
    page = html.unescape(client.get(f"/studies/{study.id}/questions").get_data(as_text=True))
    assert "Deutsch</strong> (2 of 3)" in page and "Français</strong> (3 of 3)" in page
    assert "Español</strong>" not in page
    confirm = html.unescape(client.get(f"/studies/{study.id}/launch").get_data(as_text=True))
    assert "no translation (Deutsch: 2; Français: 3; العربية: 3)" in confirm

    # The wave opens; a Spanish rep reads the translation and answers; the stored answer is the English option.
    study.waves[0].opens_on = date.today() - timedelta(days=1)
    from surveys.models import StudyStatus

    study.status = StudyStatus.RUNNING
    db.session.commit()
    spanish, german = study.assignments[0].team, study.assignments[1].team
    for member in spanish.reps[:5]:  # k reps of the team read Spanish: a translation shows only from k up
        member.language = "es"
    for member in german.reps[:5]:
        member.language = "de"
    db.session.commit()
    rep = spanish.reps[0]
    token = builders.invite(study.waves[0], rep)
    browser = app.test_client()
    browser.get(f"/s/{token}")
    pages = responding.paginate(list(study.questions))
    own = next(i for i, p in enumerate(pages, start=1) if any(q.key == "custom_1" for q in p.questions))
    body = html.unescape(browser.get(f"/survey/{own}").get_data(as_text=True))
    assert "¿Con qué frecuencia se reúne con su coach?" in body and "Cada semana" in body
    assert 'value="Weekly"' in body and "How often" not in body and ">Weekly<" not in body
    answers = builders.valid_answers(study.questions)
    answers["q_custom_1"] = "Monthly"
    for number, each in enumerate(pages, start=1):
        data = {f"q_{q.key}": answers[f"q_{q.key}"] for q in each.questions}
        action = "submit" if number == len(pages) else "next"
        assert browser.post(f"/survey/{number}", data={**data, "action": action}).status_code == 302
    stored = db.session.scalar(select(Answer.value_text).join(Question, Question.id == Answer.question_id)
                               .where(Question.key == "custom_1"))
    assert stored == "Monthly"

    # A German rep reads the one German translation, and the two others in English, each with the note.
    browser = app.test_client()
    browser.get(f"/s/{builders.invite(study.waves[0], german.reps[0])}")
    body = html.unescape(browser.get(f"/survey/{own}").get_data(as_text=True))
    assert '<html lang="de"' in body and "Mein Coach kennt unsere Produkte gut." in body
    assert '<span lang="en" dir="ltr">How often do you meet your coach?</span>' in body
    assert body.count('class="hint untranslated"') == 2

    # A rep of a team where fewer than k read Spanish, switching to it, reads the study's own questions in
    # English: the consultant wrote them and chose who starts in Spanish (adversary A9).
    browser = app.test_client()
    browser.get(f"/s/{builders.invite(study.waves[0], study.assignments[2].team.reps[0])}")
    assert browser.post("/survey/1", data={"language": "es"}).status_code == 302
    body = html.unescape(browser.get(f"/survey/{own}").get_data(as_text=True))
    assert '<html lang="es"' in body and "¿Con qué frecuencia" not in body
    assert body.count('class="hint untranslated"') == 3


def _refused(client, study, data, words, status=400, name="translations.xlsx"):
    before = translations()
    response = upload(client, study, data, name)
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == status, page[-2000:]
    assert words in page, page[-3000:]
    assert "<h1>Questions</h1>" in page  # the questions page, with the message: no dead end
    assert translations() == before
    return page


def test_a_sheet_whose_english_changed_since_the_download_is_refused_whole(client, study):
    workbook = sheet(client, study)
    edited = fill(workbook, SPANISH | {("custom_2", "question"): {"en": "My coach knows our products.", "es": "Sí"}})
    _refused(client, study, edited, "row 6: the English of custom_2 (question) is not the question as it stands now")


@pytest.mark.parametrize("cells, words", [
    ({("custom_1", "question"): {"es": "¿Con qué frecuencia?"}, ("custom_1", "option 1"): {"es": "Cada semana"}},
     "custom_1, es: a translation needs the question and every option; missing: option 2, option 3"),
    ({("custom_1", "question"): {"es": "¿?"}, ("custom_1", "option 1"): {"es": "Igual"},
      ("custom_1", "option 2"): {"es": "igual"}, ("custom_1", "option 3"): {"es": "Otra"}},
     "custom_1, es: the options must all be different"),
    ({("custom_3", "question"): {"fr": "x" * 501}}, "row 7, fr: at most 500 characters"),
    ({("custom_3", "question"): {"ar": "سطر\nسطر"}}, "row 7, ar: a translation is one line"),
])
def test_a_sheet_with_a_wrong_cell_is_refused_with_every_problem_and_changes_nothing(client, study, cells, words):
    upload(client, study, fill(sheet(client, study), {("custom_2", "question"): {"es": "Bien."}}))
    _refused(client, study, fill(sheet(client, study), cells), words)


_workbook = builders.xlsx


@pytest.mark.parametrize("data, words", [
    (b"", "the file is empty"),
    (b"\x00\x01binary", "neither a CSV text file nor an XLSX workbook"),
    (_workbook([["key", "what", "en", "pt"], ["custom_1", "question", "How often do you meet your coach?", "x"]]),
     "'pt' are not languages reps can answer in"),
    (_workbook([["key", "en", "es"], ["custom_2", "My coach knows our products well.", "Sí"]]), "missing: what"),
    (_workbook([["key", "what", "en", "es"], ["custom_9", "question", "Hm?", "¿?"]]),
     "row 2: 'custom_9' is not one of this study's own questions"),
    (_workbook([["key", "what", "en", "es"], ["coaching_1", "question", "x", "y"]]),
     "'coaching_1' is not one of this study's own questions"),
    (_workbook([["key", "what", "en", "es"], ["custom_1", "option 4", "x", "y"]]),
     "'option 4' is not a text of custom_1 (question, option 1 to option 3)"),
    (_workbook([["key", "what", "en", "es"], *[["custom_2", "question", "My coach knows our products well.", "Sí"]]
                * 2]),
     "row 3: custom_2 (question) appears twice"),
])
def test_a_wrong_file_is_refused_with_a_clear_message(client, study, data, words):
    _refused(client, study, data, words)


def test_a_csv_of_the_sheet_is_taken_too(client, study):
    data = (b"key,what,en,es\ncustom_2,question,My coach knows our products well.,Mi coach conoce nuestros productos.\n"
            )
    assert upload(client, study, data, "sheet.csv").status_code == 302
    assert translations() == {("custom_2", "es")}


def test_a_column_left_out_keeps_that_languages_translations_and_an_emptied_one_removes_them(client, study):
    upload(client, study, fill(sheet(client, study), SPANISH))
    data = _workbook([["key", "what", "en", "de"], ["custom_2", "question", "My coach knows our products well.", ""]])
    assert upload(client, study, data).status_code == 302
    assert translations() == {("custom_1", "es"), ("custom_2", "es"), ("custom_3", "es")}


def test_translations_lock_with_the_questions(client, study):
    study.waves[0].opens_on = date.today() - timedelta(days=1)
    db.session.commit()
    page = _refused(client, study, fill(sheet(client, study), SPANISH), "questions are locked", status=409)
    assert "Upload translations" not in page  # the form is not offered once locked


def test_a_leader_can_neither_download_nor_upload(client, app, study):
    leader = builders.user("leader@acme.example.com", role="leader", orgs=[study.organisation.name])
    assert leader
    browser = app.test_client()
    with app.app_context():  # its own context: Flask-Login keeps the user of a context on its ``g``
        browser.post("/login", data={"email": "leader@acme.example.com", "password": builders.PASSWORD})
        assert browser.get(f"/studies/{study.id}/questions/translations.xlsx").status_code == 403
        assert upload(browser, study, _workbook([["key", "what", "en"]])).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(QuestionTranslation)) == 0


def test_another_tenants_study_is_not_found(client, app, study):
    other = builders.organisation("Other Co")
    theirs = builders.study(other, today=SOON)
    assert client.get(f"/studies/{theirs.id}/questions/translations.xlsx").status_code == 404
    assert upload(client, theirs, _workbook([["key", "what", "en"]])).status_code == 404


def test_no_response_is_written_by_any_of_this(client, study):
    upload(client, study, fill(sheet(client, study), SPANISH))
    assert db.session.scalar(select(func.count()).select_from(Response)) == 0
