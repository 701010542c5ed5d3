"""Large imports run as jobs (issue 15, item 6): a file of more than IMPORT_INLINE_ROWS rows is imported by a queue
consumer while the page shows how many rows are checked; the outcome is the inline import's, all or nothing."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select, update

from surveys.extensions import db
from surveys.models import ImportJob, PendingUpload, Rep, UploadMapping, utcnow
from surveys.organisations import jobs
from tests import builders
from tests.queue_kit import Consumer, wait_until

HEADER = "team,region,name,email,crm_id"


def roster(rows: int, bad_at: int | None = None, header: str = HEADER) -> str:
    """A roster of ``rows`` reps; spreadsheet row ``bad_at`` (the header is row 1) has no team."""
    lines = [header]
    for i in range(rows):
        team = "" if bad_at == i + 2 else f"T{i % 50}"
        lines.append(f"{team},R{i % 4},Rep {i},rep{i}@acme.example.com,C-{i}")
    return "\n".join(lines) + "\n"


def log_in(client, organisation):
    builders.user("c@acme.example.com", orgs=[organisation.name])
    client.post("/login", data={"email": "c@acme.example.com", "password": builders.PASSWORD})


def post_roster(client, organisation, content: str, filename: str = "big.csv"):
    data = {"file": (io.BytesIO(content.encode()), filename)}
    return client.post(f"/organisations/{organisation.id}/import/roster", data=data,
                       content_type="multipart/form-data")


def reps() -> int:
    return db.session.scalar(select(func.count()).select_from(Rep))


def text(response) -> str:
    return response.get_data(as_text=True)


# --- QUEUE_URL=immediate: the job runs at enqueue, the page shows the outcome at once -----------------------


@pytest.fixture
def small_limit(make_app):
    app = make_app(IMPORT_INLINE_ROWS=100)
    with app.app_context():
        organisation = builders.organisation()
        client = app.test_client()
        log_in(client, organisation)
        yield app, client, organisation


def test_a_file_over_the_limit_runs_as_a_job_and_ends_on_the_result_page(small_limit):
    app, client, organisation = small_limit
    sent = post_roster(client, organisation, roster(150))
    assert sent.status_code == 302 and "/imports/" in sent.headers["Location"]
    result = client.get(sent.headers["Location"])
    assert result.status_code == 302 and result.headers["Location"].endswith(f"/organisations/{organisation.id}/roster")
    page = client.get(result.headers["Location"])
    assert "Roster: teams and reps: 150 rows read, 150 added" in text(page)
    assert reps() == 150
    job = db.session.scalar(select(ImportJob))
    assert (job.status, job.checked, job.total, job.attempts, job.upload_id) == ("done", 150, 150, 1, None)
    assert db.session.scalar(select(func.count()).select_from(PendingUpload)) == 0


def test_a_small_file_is_still_imported_inline(small_limit):
    app, client, organisation = small_limit
    sent = post_roster(client, organisation, roster(100))
    assert sent.headers["Location"].endswith("/roster") and reps() == 100
    assert db.session.scalar(select(func.count()).select_from(ImportJob)) == 0


def test_a_refused_job_imports_nothing_and_lists_the_problems_as_inline(small_limit):
    app, client, organisation = small_limit
    sent = post_roster(client, organisation, roster(150, bad_at=120), filename="bad.csv")
    page = client.get(sent.headers["Location"])
    assert page.status_code == 400
    body = text(page)
    assert "bad.csv: nothing was imported because of the problems below." in body
    assert "<tr><td>120</td><td>team</td><td>missing</td></tr>" in body
    assert 'id="file-error"' in body or "file-error" in body  # the message stands next to the file field
    assert reps() == 0
    assert db.session.scalar(select(func.count()).select_from(PendingUpload)) == 0  # as inline: not kept


def test_a_mapped_job_refused_comes_back_to_the_mapping_page_with_the_file_and_the_choices(small_limit):
    app, client, organisation = small_limit
    sent = post_roster(client, organisation, roster(150, bad_at=130, header="Squad,Area,Person,Mail,Ident"))
    mapping_url = sent.headers["Location"]
    choices = {"map_team": "Squad", "map_region": "Area", "map_name": "Person", "map_email": "Mail",
               "map_crm_id": "Ident"}
    confirmed = client.post(mapping_url, data=choices)
    assert "/imports/" in confirmed.headers["Location"]
    page = client.get(confirmed.headers["Location"])
    assert page.status_code == 400
    body = text(page)
    assert "<tr><td>130</td><td>team</td><td>missing</td></tr>" in body
    assert f'action="{mapping_url}"' in body  # the mapping form posts to the mapping page again
    assert re.search(r'<option selected value="Person">|<option value="Person" selected>', body)
    assert reps() == 0 and db.session.scalar(select(func.count()).select_from(UploadMapping)) == 0
    fixed = roster(150, header="Squad,Area,Person,Mail,Ident").encode()
    db.session.execute(update(PendingUpload).values(content=fixed))
    db.session.commit()
    again = client.post(mapping_url, data=choices)
    done = client.get(again.headers["Location"])
    assert done.status_code == 302 and reps() == 150
    assert db.session.scalar(select(func.count()).select_from(UploadMapping)) == 1  # remembered, as inline


def test_a_running_job_shows_a_progress_bar_that_refreshes_itself(small_limit):
    app, client, organisation = small_limit
    upload = PendingUpload(user_id=builders.user("d@acme.example.com").id, organisation_id=organisation.id,
                           kind="roster", filename="big.csv", content=roster(150).encode())
    db.session.add(upload)
    db.session.commit()
    job = ImportJob(user_id=_consultant_id(), organisation_id=organisation.id, upload_id=upload.id, kind="roster",
                    filename="big.csv", status="running", total=40000, checked=12000, attempts=1)
    db.session.add(job)
    db.session.commit()
    body = text(client.get(f"/organisations/{organisation.id}/imports/{job.id}"))
    assert '<meta http-equiv="refresh" content="2">' in body
    assert '<progress max="40000" value="12000">' in body
    assert "12,000 of 40,000 rows checked" in body


def _consultant_id() -> int:
    from surveys.models import User

    return db.session.scalar(select(User.id).where(User.email == "c@acme.example.com"))


def test_another_consultants_job_is_not_found(small_limit, make_app):
    app, client, organisation = small_limit
    sent = post_roster(client, organisation, roster(150))
    other = app.test_client()
    builders.user("e@acme.example.com", orgs=[organisation.name])
    with app.app_context():  # a context (and a ``g``) of its own: the outer one remembers the first consultant
        other.post("/login", data={"email": "e@acme.example.com", "password": builders.PASSWORD})
        assert other.get(sent.headers["Location"]).status_code == 404


def test_a_job_whose_consumer_died_is_run_again_and_one_tried_too_often_fails(small_limit):
    """A consumer SIGKILLed mid-import leaves its job running with its progress standing still; nothing of its
    import was committed. The periodic resume queues it again (and, immediate here, runs it)."""
    app, client, organisation = small_limit
    upload = PendingUpload(user_id=_consultant_id(), organisation_id=organisation.id, kind="roster",
                           filename="big.csv", content=roster(150).encode())
    db.session.add(upload)
    db.session.flush()
    long_ago = utcnow() - timedelta(hours=1)
    stalled = ImportJob(user_id=_consultant_id(), organisation_id=organisation.id, upload_id=upload.id,
                        kind="roster", filename="big.csv", status="running", total=150, checked=60, attempts=1,
                        updated_at=long_ago)
    hopeless = ImportJob(user_id=_consultant_id(), organisation_id=organisation.id, upload_id=None, kind="roster",
                         filename="old.csv", status="running", total=150, checked=60, attempts=jobs.MAX_ATTEMPTS,
                         updated_at=long_ago)
    fresh = ImportJob(user_id=_consultant_id(), organisation_id=organisation.id, kind="roster", filename="now.csv",
                      status="running", total=150, attempts=1)
    db.session.add_all([stalled, hopeless, fresh])
    db.session.commit()
    assert jobs.resume_stalled() == [stalled.id]
    db.session.expire_all()
    assert (stalled.status, stalled.attempts, reps()) == ("done", 2, 150)
    assert hopeless.status == "failed" and "interrupted 3 times" in hopeless.message
    assert fresh.status == "running"
    page = client.get(f"/organisations/{organisation.id}/imports/{hopeless.id}")
    assert "interrupted 3 times" in text(page) and "refresh" not in text(page)


def test_a_run_taken_over_by_another_rolls_its_import_back(small_limit):
    app, client, organisation = small_limit
    upload = PendingUpload(user_id=_consultant_id(), organisation_id=organisation.id, kind="roster",
                           filename="big.csv", content=roster(150).encode())
    db.session.add(upload)
    db.session.flush()
    job = ImportJob(user_id=_consultant_id(), organisation_id=organisation.id, upload_id=upload.id, kind="roster",
                    filename="big.csv", status="queued", total=150)
    db.session.add(job)
    db.session.commit()
    original = jobs._Progress.__call__

    def taken_over(self, checked):
        original(self, checked)
        if checked == self.total:  # meanwhile the job was thought dead, queued and claimed again
            with db.engine.begin() as connection:
                connection.execute(update(ImportJob).values(attempts=ImportJob.attempts + 1))

    jobs._Progress.__call__ = taken_over
    try:
        assert jobs.run(job.id) is None
    finally:
        jobs._Progress.__call__ = original
    assert reps() == 0 and db.session.get(PendingUpload, upload.id) is not None


# --- a real consumer process on SQLite files --------------------------------------------------------------


@pytest.fixture
def queued(make_app, tmp_path):
    """A web app and a consumer process sharing a SQLite database file and a SQLite queue file."""
    database, queue = f"sqlite:///{tmp_path / 'app.sqlite'}", f"sqlite:///{tmp_path / 'queue.sqlite'}"
    app = make_app(SQLALCHEMY_DATABASE_URI=database, QUEUE_URL=queue)
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        organisation = builders.organisation()
        client = app.test_client()
        log_in(client, organisation)
        with Consumer(database, queue) as consumer:
            yield app, client, organisation, consumer


def follow(client, url: str, seen: list[str], timeout: float = 60):
    """GET the job page every 50 ms (a browser does every 2 s) until it is no longer a progress page."""
    def outcome():
        page = client.get(url)
        if page.status_code == 200 and "<progress" in text(page):
            seen.append(re.search(r"([\d,]+) of ([\d,]+) rows checked", text(page)).group(0))
            return None
        return page

    return wait_until(outcome, timeout=timeout, interval=0.05)


def test_a_5000_row_roster_through_the_web_is_imported_by_the_consumer_with_progress(queued):
    app, client, organisation, consumer = queued
    sent = post_roster(client, organisation, roster(5000))
    assert sent.status_code == 302 and "/imports/" in sent.headers["Location"]
    seen: list[str] = []
    result = follow(client, sent.headers["Location"], seen)
    assert seen and seen[0].endswith("of 5,000 rows checked"), seen  # the first answer is a progress page
    # The counts shown never go back. (Whether a poll catches a count between 0 and 5,000 depends on the
    # machine's speed: on an idle host the check can finish between two progress writes, so it is not asserted.)
    counts = [int(count.split(" of ")[0].replace(",", "")) for count in seen]
    assert counts == sorted(counts), seen
    assert result.status_code == 302 and result.headers["Location"].endswith("/roster")
    assert "5,000 rows read, 5,000 added" in text(client.get(result.headers["Location"]))
    assert reps() == 5000
    assert "import_task" in consumer.log_text()


def test_a_5000_row_roster_with_a_bad_row_at_4500_imports_nothing_and_shows_the_problem(queued):
    app, client, organisation, consumer = queued
    sent = post_roster(client, organisation, roster(5000, bad_at=4500), filename="bad.csv")
    result = follow(client, sent.headers["Location"], [])
    assert result.status_code == 400
    body = text(result)
    assert "bad.csv: nothing was imported because of the problems below." in body
    assert "<tr><td>4500</td><td>team</td><td>missing</td></tr>" in body
    assert reps() == 0
