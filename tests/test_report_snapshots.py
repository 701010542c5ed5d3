"""Report snapshots (issue 15 item 5): a view computed once is served warm by every app process, rebuilt in the
background when the data change, equal to the live report, and gone with its study."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
from sqlalchemy import select, text

from surveys import snapshots
from surveys.cache import clear_all
from surveys.demo import seed_demo
from surveys.extensions import db
from surveys.models import PerformanceRecord, Rep, ReportSnapshot, Role, Study, Wave
from surveys.organisations.imports import import_performance
from surveys.reports import report as report_module
from surveys.reports.output import report_json
from surveys.reports.snapshots import rebuild, report_for, sweep, views
from surveys.studies import delete_study
from tests import builders
from tests.builders import log_in_as
from tests.queue_kit import SECRET, Consumer, wait_until

STALE = "Newer data are being added; this report is from"


@pytest.fixture
def computed(monkeypatch):
    """Every call of the report builder (``report._compute``), as (wave, region, band)."""
    calls = []
    original = report_module._compute

    def counting(study, wave, visible, filters, *args, **kwargs):
        calls.append((wave.label, filters.region, filters.band))
        return original(study, wave, visible, filters, *args, **kwargs)

    monkeypatch.setattr(report_module, "_compute", counting)
    return calls


def test_a_view_built_by_one_app_process_is_served_by_another_without_computing_it(make_app, computed):
    """Two app processes on one database (two gunicorn workers, two instances): each had its own cache, so
    the second computed the same report again (a cold ~2 s per worker at 40,000 respondents)."""
    first, second = make_app(), make_app()
    with first.app_context():
        demo = seed_demo("http://localhost")
    url = f"/studies/{demo.study_id}/report.json?region=North"
    one = first.test_client()
    log_in_as(one, demo.leader)
    built = one.get(url)
    assert built.status_code == 200 and computed == [("follow-up", "North", None)]

    other = second.test_client()
    log_in_as(other, demo.leader)
    served = other.get(url)
    assert served.status_code == 200
    assert computed == [("follow-up", "North", None)]  # not computed again in the second process
    assert served.get_data() == built.get_data()
    page = other.get(f"/studies/{demo.study_id}/report?region=North")
    assert page.status_code == 200 and STALE not in page.get_data(as_text=True)
    assert computed == [("follow-up", "North", None)]


def test_stored_snapshots_equal_the_live_report_on_the_demo_pilot(make_app, computed):
    """A sample of the cube (each closed wave: all, one region, one band, both), stored by one app and
    compared with the report a second app computes live with nothing cached."""
    first, second = make_app(), make_app()
    today = date.today()
    with first.app_context():
        demo = seed_demo("http://localhost")
        study = db.session.get(Study, demo.study_id)
        whole = {w.label: report_for(study, {"wave": w.label}, Role.LEADER, today) for w in study.waves
                 if w.is_closed(today)}
    assert set(whole) == {"baseline", "follow-up"}  # the open pulse wave is no view
    sample = [(wave, region, band) for wave, report in whole.items()
              for region, band in ((None, None), (report.regions[0], None), (None, report.bands[-1]),
                                   (report.regions[-1], report.bands[0]))]
    with first.app_context():
        study = db.session.get(Study, demo.study_id)
        for wave, region, band in sample:
            report_for(study, _args(wave, region, band), Role.LEADER, today)
    computed.clear()
    with second.app_context():
        study = db.session.get(Study, demo.study_id)
        for wave, region, band in sample:
            served = report_for(study, _args(wave, region, band), Role.LEADER, today)
            assert computed == [], (wave, region, band)  # from the stored snapshot
            live = report_module.build_report(study, _args(wave, region, band), Role.LEADER, today)
            assert computed == [(wave, region, band)]
            computed.clear()
            assert served.stale_since is None
            assert report_json(served) == report_json(live), (wave, region, band)
        db.engine.dispose()


def _args(wave, region, band) -> dict:
    return {"wave": wave, **({"region": region} if region else {}), **({"band": band} if band else {})}


def test_the_rebuild_stores_every_view_of_the_cube_and_only_closed_waves(app_context):
    """The cube on a small pilot (the demo's has 40 views: too slow to build twice in a test)."""
    today = date.today()
    org = builders.organisation()
    teams = [builders.team_with_reps(org, f"{region} {i}", reps=6, region=region)
             for region in ("North", "South") for i in range(3)]
    study = builders.pilot(org, list(zip(teams, ["manager", "peer", "external"] * 2, strict=True)), today)
    reps = [r for t in teams for r in t.reps]
    closed = study.waves[0]
    builders.answer(study, closed, reps, today)
    builders.close_wave(closed, today)
    still_open = Wave(label="open-one", opens_on=today - timedelta(days=1), closes_on=today + timedelta(days=9))
    study.waves.append(still_open)
    db.session.commit()
    builders.answer(study, still_open, reps[:12], today)
    stored = rebuild(study.id, today)
    cube = [(w.label, f.region, f.band) for w, _, f in views(study, today)]
    assert stored == len(cube) == snapshots.count(study.id)
    assert {wave for wave, _, _ in cube} == {"w1"}
    assert {(region, band) for _, region, band in cube} >= {(None, None), ("North", None), ("South", None)}
    assert len(snapshots.versions(study.id)) == 1


def test_a_deleted_study_leaves_no_snapshot(app_context):
    today = date.today()
    org = builders.organisation()
    study = builders.study(org, teams=[builders.team_with_reps(org)])
    study.waves.append(Wave(label="closed-one", opens_on=today - timedelta(days=20),
                            closes_on=today - timedelta(days=2)))
    db.session.commit()
    report = report_for(study, {}, Role.CONSULTANT, today)
    assert report.wave == "closed-one"
    assert snapshots.count(study.id) == 1
    delete_study(study)
    assert db.session.scalar(text("SELECT count(*) FROM report_snapshot")) == 0


def _crm_import(organisation) -> None:
    """A new CRM figure for one rep of the study (a closed quarter's number, corrected)."""
    record = db.session.scalars(select(PerformanceRecord).join(Rep).where(Rep.organisation_id == organisation.id)
                                .order_by(PerformanceRecord.id)).first()
    frame = pd.DataFrame([{"crm_id": record.rep.crm_id, "period": record.period,
                           "quota_attainment": f"{record.quota_attainment + 7.5:.1f}"}])
    import_performance(organisation, frame)


@pytest.mark.slow  # a soak of real processes (20–30 s): `make test-slow`, on both engines in CI
def test_an_import_rebuilds_in_the_background_and_the_page_says_newer_data_are_coming_until_it_is_done(
        make_app, tmp_path):
    database, queue = f"sqlite:///{tmp_path / 'app.sqlite'}", f"sqlite:///{tmp_path / 'queue.sqlite'}"
    app = make_app(SQLALCHEMY_DATABASE_URI=database, QUEUE_URL=queue, SECRET_KEY=SECRET)
    with app.app_context():
        builders_schema(app)
        demo = seed_demo("http://localhost")
    client = app.test_client()
    log_in_as(client, demo.leader)
    page = f"/studies/{demo.study_id}/report"
    first = client.get(page)
    assert first.status_code == 200 and STALE not in first.get_data(as_text=True)  # computed inline, stored
    with app.app_context():
        study = db.session.get(Study, demo.study_id)
        built = db.session.scalar(select(ReportSnapshot.built_at))
        _crm_import(study.organisation)
        assert snapshots.pending(study.id)  # marked in the import's transaction, enqueued after its commit
    stale = client.get(page).get_data(as_text=True)
    assert STALE in stale and f"{built:%d %B %Y, %H:%M}" in stale
    assert STALE in client.get(page + ".json").get_json()["notice"]
    def rebuilt() -> bool:
        with app.app_context():
            return not snapshots.pending(demo.study_id)

    with Consumer(database, queue):
        wait_until(rebuilt, timeout=300, interval=0.5)
    assert STALE not in client.get(page).get_data(as_text=True)
    with app.app_context():
        assert not snapshots.pending(demo.study_id)
        # Every view of the cube was stored by the consumer, all from the same data version.
        assert len(snapshots.versions(demo.study_id)) == 1
        assert snapshots.count(demo.study_id) > 10
        db.engine.dispose()


def builders_schema(app) -> None:
    from tests.conftest import build_schema

    build_schema(app)


def test_a_wave_closing_as_its_date_passes_is_found_by_the_sweep(make_app, tmp_path):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'app.sqlite'}",
                   QUEUE_URL=f"sqlite:///{tmp_path / 'queue.sqlite'}")
    with app.app_context():
        builders_schema(app)
        demo = seed_demo("http://localhost")
        study = db.session.get(Study, demo.study_id)
        today = date.today()
        report_for(study, {}, Role.LEADER, today)
        assert sweep(today) == []  # current: nothing to rebuild
        pulse = next(w for w in study.waves if w.is_open(today))
        assert sweep(pulse.closes_on + timedelta(days=1)) == [study.id]  # the pulse wave closed overnight
        assert sweep(pulse.closes_on + timedelta(days=1)) == []  # pending: not enqueued twice
        db.engine.dispose()


def test_an_older_snapshot_never_stands_in_for_an_open_wave_or_another_k(make_app, tmp_path):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'app.sqlite'}",
                   QUEUE_URL=f"sqlite:///{tmp_path / 'queue.sqlite'}")
    with app.app_context():
        builders_schema(app)
        demo = seed_demo("http://localhost")
        study = db.session.get(Study, demo.study_id)
        today = date.today()
        report_for(study, {}, Role.LEADER, today)
        # Stored under another k: the data moved on (a CRM import) and the snapshot is not served stale.
        db.session.execute(ReportSnapshot.__table__.update().values(k_threshold=study.k_threshold - 1))
        db.session.commit()
        _crm_import(study.organisation)
        clear_all()
        served = report_for(study, {}, Role.LEADER, today)
        assert served.stale_since is None  # computed afresh instead
        assert db.session.scalar(select(ReportSnapshot.k_threshold)) == study.k_threshold
        db.engine.dispose()


def test_telling_whether_a_snapshot_is_current_reads_no_crm_record_or_session(app_context):
    """Serving a warm view asks whether its snapshot is still current. That check summed every CRM record and
    counted every session of the organisation: 19 of its 30 ms at 40,000 respondents, the largest part of a
    warm request. Imports are the only writers of those rows and each is audited in its own transaction, so
    the audit log's latest import says as much, from an index; an import still moves the version."""
    from sqlalchemy import event

    from surveys.models import CoachingSession, Team
    from surveys.organisations.imports import import_sessions

    demo = seed_demo("http://localhost")
    study = db.session.get(Study, demo.study_id)
    today = date.today()
    statements = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        before = report_module.data_version(study, today)
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert statements
    scanned = [s for s in statements if "performance_record" in s or "coaching_session" in s]
    assert scanned == [], scanned

    _crm_import(study.organisation)  # a figure corrected in place: no new row, the same count
    db.session.commit()
    after_crm = report_module.data_version(study, today)
    assert after_crm != before
    session = db.session.scalars(select(CoachingSession).order_by(CoachingSession.id)).first()
    team = db.session.get(Team, session.team_id) if session.team_id else db.session.get(Rep, session.rep_id).team
    logged = pd.DataFrame([{"team": team.name, "coach_model": session.coach_model.value, "date": "2026-01-05",
                            "minutes": "45"}])
    added = import_sessions(study.organisation, logged, today=date(2026, 12, 1))
    assert added.created == 1
    db.session.commit()
    assert report_module.data_version(study, today) != after_crm
