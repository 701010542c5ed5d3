"""A hostile-input corpus sent through every form, import, survey answer and filter; then every page and
export is rendered: nothing executes in the browser, nothing reaches a spreadsheet as a formula, nothing 500s."""

import csv
import io
from datetime import date, timedelta
from urllib.parse import quote

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from surveys.extensions import db
from surveys.models import Organisation, Question, Study
from tests import builders

pytestmark = pytest.mark.browser

CORPUS = [
    '<script>alert("x1")</script>',
    '"><img src=x onerror=alert("x2")>',
    "javascript:alert('x3')",
    "<iframe srcdoc=\"<script>alert('x4')</script>\"></iframe>",
    "<svg onload=alert('x5')>",
    '=HYPERLINK("http://evil.example.com","click")',
    "+SUM(1,1)",
    "-2+3",
    "@cmd",
    "\u202eevil\u202c",
    "Z\u0335\u0311a\u0337lgo \u200b\ufeff",
    "🙂" * 20,
]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def hostile(i: int, limit: int) -> str:
    return CORPUS[i % len(CORPUS)][:limit]


def roster_csv() -> str:
    lines = ["team,region,name,email,crm_id"]
    for t in range(6):
        for r in range(6):
            lines.append(",".join(['"' + hostile(t, 100).replace('"', '""') + f' {t}"',
                                   '"' + hostile(t + 3, 100).replace('"', '""') + '"',
                                   '"' + hostile(r + t, 150).replace('"', '""') + f' {r}"',
                                   f"r{t}{r}@acme.example.com", f"H-{t}-{r}"]))
    return "\n".join(lines) + "\n"


@pytest.fixture
def hostile_world(make_app, live_app, live_server):
    """Everything filled with the corpus through the real forms and imports (CSRF off for brevity)."""
    app = make_app()  # same database as live_app
    with app.app_context():
        builders.user("c@acme.example.com")
    client = app.test_client()
    statuses = []

    def call(method, url, **kwargs):
        response = client.open(url, method=method, **kwargs)
        statuses.append((response.status_code, url))
        return response

    call("POST", "/login", data={"email": "c@acme.example.com", "password": builders.PASSWORD})
    call("POST", "/organisations/", data={"name": CORPUS[0] + " Sales"})
    with app.app_context():
        org = db.session.scalar(select(Organisation))
        builders.user("leader@acme.example.com", role="leader", orgs=[org.name])
        org_id = org.id
    call("POST", f"/organisations/{org_id}/import/roster",
         data={"file": (io.BytesIO(roster_csv().encode()), "roster.csv")}, content_type="multipart/form-data")
    call("POST", f"/organisations/{org_id}/studies/new", data={
        "name": CORPUS[1], "models": ["manager", "peer", "external"], "unit": "team", "stratify_by": "region",
        "seed": "1", "primary_outcome": "satisfaction", "k_threshold": "3"})
    with app.app_context():
        study_id = db.session.scalar(select(Study.id))
    for i in range(3):
        call("POST", f"/studies/{study_id}/questions", data={"text": hostile(i, 400), "kind": "choice",
                                                             "options": "\n".join(CORPUS[i:i + 3])})
    call("POST", f"/studies/{study_id}/assignment", data={"seed": "5"})
    today = date.today()
    call("POST", f"/studies/{study_id}/waves", data={"label": CORPUS[0][:40], "opens_on": today.isoformat(),
                                                      "closes_on": (today + timedelta(days=9)).isoformat()})
    call("POST", f"/studies/{study_id}/launch", data={"confirm": "1"})
    with app.app_context():
        wave_id = db.session.get(Study, study_id).waves[0].id
    links = list(csv.DictReader(io.StringIO(call("POST", f"/studies/{study_id}/waves/{wave_id}/links.csv")
                                            .get_data(as_text=True))))
    with app.app_context():
        study = db.session.get(Study, study_id)
        from surveys.respond import survey as responding

        pages = responding.paginate(list(study.questions))
        answers = builders.valid_answers(study.questions)
        choices = {q.key: q.options.splitlines()[0] for q in study.questions if q.options}
    for number, row in enumerate(links[:12]):
        rep = app.test_client()
        rep.get("/s/" + row["link"].rsplit("/", 1)[1])
        for page_number, page in enumerate(pages, start=1):
            data = {f"q_{q.key}": choices.get(q.key, answers[f"q_{q.key}"]) for q in page.questions}
            if "q_comment" in data:
                data["q_comment"] = hostile(number, 2000)
            action = "submit" if page_number == len(pages) else "next"
            response = rep.post(f"/survey/{page_number}", data={**data, "action": action})
            statuses.append((response.status_code, f"/survey/{page_number}"))
    performance = "crm_id,period,quota_attainment\n" + "".join(
        f'H-{t}-0,2026-Q1,"{hostile(t, 50)}"\n' for t in range(6))
    call("POST", f"/organisations/{org_id}/import/performance",
         data={"file": (io.BytesIO(performance.encode()), "crm.csv")}, content_type="multipart/form-data")
    call("POST", "/login", data={"email": CORPUS[1], "password": CORPUS[0]})
    with app.app_context():
        wave = db.session.get(Study, study_id).waves[0]
        wave.closes_on = today - timedelta(days=1)
        wave.opens_on = today - timedelta(days=5)
        db.session.commit()
        assert db.session.scalar(select(Question.text).where(Question.key == "custom_1")) == CORPUS[0]
    return {"org": org_id, "study": study_id, "wave": wave_id, "client": client, "statuses": statuses,
            "server": live_server, "pages": len(pages)}


def test_nothing_executes_nothing_500s_and_no_formula_survives(hostile_world, chromium):
    world = hostile_world
    assert all(status < 500 for status, _ in world["statuses"]), [s for s in world["statuses"] if s[0] >= 500]
    server, org, study, wave = world["server"], world["org"], world["study"], world["wave"]
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    dialogs, errors = [], []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("response", lambda response: errors.append(f"{response.status} {response.url}")
            if response.status >= 500 else None)
    # The CSP would stop inline script even if markup slipped through; so also look for the markup itself,
    # and for the CSP complaining that something tried.
    page.on("console", lambda message: errors.append(message.text)
            if "Content Security Policy" in message.text else None)

    def no_injected_markup(where: str) -> None:
        injected = page.evaluate("""() => document.querySelectorAll(
            'img[onerror], svg[onload], iframe[srcdoc], a[href^="javascript:"]').length +
            Array.from(document.scripts).filter(s => s.textContent.includes('alert(')).length""")
        assert injected == 0, where
    filters = "?" + "&".join(f"{name}={quote(CORPUS[i])}" for i, name in enumerate(("region", "band", "wave")))
    consultant_pages = ["/", "/organisations/", f"/organisations/{org}", f"/organisations/{org}/roster",
                        f"/organisations/{org}/performance", f"/organisations/{org}/sessions", "/studies",
                        f"/studies/{study}", f"/studies/{study}/design", f"/studies/{study}/assignment",
                        f"/studies/{study}/questions", f"/studies/{study}/waves/{wave}",
                        f"/studies/{study}/report", f"/studies/{study}/report{filters}",
                        f"/studies/{study}/report?region={quote(CORPUS[3])}"]
    consultant_pages += [f"/studies/{study}/preview/{n}" for n in range(1, world["pages"] + 1)]
    for email, paths in (("c@acme.example.com", consultant_pages),
                         ("leader@acme.example.com", [f"/studies/{study}/report", f"/studies/{study}"])):
        page.goto(f"{server}/login")
        page.get_by_label("E-mail").fill(email)
        page.get_by_label("Password").fill(builders.PASSWORD)
        page.get_by_role("button", name="Log in").click()
        for path in paths:
            page.goto(server + path)
            page.wait_for_load_state("networkidle")
            no_injected_markup(path)
        if email.startswith("c@"):
            # An import whose hostile cells are listed back as problems, rendered in the browser.
            page.goto(f"{server}/organisations/{org}/performance")
            page.get_by_label("CSV or XLSX file").set_input_files(files=[{
                "name": "crm.csv", "mimeType": "text/csv",
                "buffer": ("crm_id,period,quota_attainment\n" + "".join(
                    f'H-0-{i},2026-Q2,"{c.replace(chr(34), chr(34) * 2)}"\n' for i, c in enumerate(CORPUS[:6])))
                .encode()}])
            page.get_by_role("button", name="Import").click()
            page.get_by_text("nothing was imported").first.wait_for()
            no_injected_markup("performance import problems")
        page.context.clear_cookies()
    # The import page that lists the hostile cells as problems, and a failed log-in that echoes the e-mail.
    page.goto(f"{server}/login")
    page.get_by_label("E-mail").fill(CORPUS[1])
    page.get_by_label("Password").fill(CORPUS[0])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state("networkidle")
    no_injected_markup("failed log-in")
    assert dialogs == [] and errors == []
    context.close()

    client = world["client"]
    exports = [f"/studies/{study}/exports/{name}.{fmt}" for name in ("responses", "codebook", "performance")
               for fmt in ("csv", "xlsx")] + [f"/studies/{study}/report/tables.{fmt}" for fmt in ("csv", "xlsx")]
    for url in exports:
        response = client.get(url)
        assert response.status_code == 200, url
        for cell in _cells(response):
            assert not (isinstance(cell, str) and cell.startswith(FORMULA_START)), (url, cell)
    links = client.post(f"/studies/{study}/waves/{wave}/links.csv")
    assert links.status_code in (200, 409)


def _cells(response):
    if response.mimetype == "text/csv":
        for row in csv.reader(io.StringIO(response.get_data(as_text=True))):
            yield from row
        return
    workbook = load_workbook(io.BytesIO(response.data))
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                yield cell.value
