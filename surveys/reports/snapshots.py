"""The report served from stored snapshots (``surveys.snapshots``), and the job that builds them.

Reading a view: the snapshot of that view is served when it was built from the current data version
(``report.snapshot_version``). When the data moved on, the previous snapshot is served with a line
saying newer data are being added, and the rebuild job is enqueued unless one is pending — but never
a snapshot built under another k, nor one that shows a wave that is open again. Without any snapshot
(or with the immediate queue, where no job runs in the background) the view is computed here, as the
live report always was, and stored.

A snapshot is the live report itself: ``report.view_report`` with the same disclosure patterns
(``surveys.disclosure``), computed for every view a reader can ask for — each closed wave, all regions
and each region, all bands and each band, and each region × band — with no request's messages in it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import date

from .. import cache, snapshots
from ..extensions import db
from ..models import Role, Study, Wave
from ..queue import crontab, is_immediate, job, periodic
from .filters import Filters
from .report import Report, resolve, snapshot_version, view_report, with_messages

LOADED_SIZE = 256  # unpickled snapshots kept per process


def report_for(study: Study, args: Mapping, role: Role, today: date | None = None) -> Report:
    """The report of ``study`` for the view ``args`` ask for: stored if it can be, computed otherwise."""
    today = today or date.today()
    wave, visible, filters, messages = resolve(study, args, today)
    version = snapshots.digest(snapshot_version(study, today))
    key = snapshots.view_key(wave.id, filters.region, filters.band)
    row = snapshots.stored(study.id, key)
    if row is not None:
        report = _loaded(row)
        if report is not None and row.version == version:
            return with_messages(report, messages)
        if report is not None and _may_serve_stale(study, row, report, visible):
            snapshots.request_rebuild([study.id])
            db.session.commit()
            return replace(with_messages(report, messages), stale_since=row.built_at)
    report = view_report(study, wave, visible, filters, [], today)
    if report.filters.region == filters.region and report.filters.band == filters.band:  # a view, not a typo
        snapshots.put(study.id, key, version, study.k_threshold, report)
        db.session.commit()
    return with_messages(report, messages)


def _loaded(row: snapshots.Stored) -> Report | None:
    """The stored report (unpickled once per process and snapshot)."""
    def make():
        data = snapshots.data_of(row.id)
        return None if data is None else snapshots.load(data)

    loaded = cache.named("snapshots", LOADED_SIZE)
    entry = (row.id, row.version, row.built_at)
    report = loaded.get(entry)
    if report is None:
        report = make()
        if report is not None:
            loaded.put(entry, report)
    return report


def _may_serve_stale(study: Study, row: snapshots.Stored, report: Report, visible: list[Wave]) -> bool:
    """An older snapshot may stand in while the rebuild runs only if the queue runs jobs in the background,
    it was built under today's k, and every wave it shows is still closed (none was reopened)."""
    if is_immediate():
        return False
    closed = {w.label for w in visible}
    return row.k_threshold == study.k_threshold and report.wave in closed and set(report.waves) <= closed


def views(study: Study, today: date) -> Iterator[tuple[Wave, list[Wave], Filters]]:
    """Every view a reader can ask for: each closed wave × (all or one region) × (all or one band)."""
    visible = [w for w in study.waves if w.is_closed(today)]
    for wave in visible:
        whole = view_report(study, wave, visible, Filters(), [], today)
        yield wave, visible, Filters()
        for region in [None, *whole.regions]:
            for band in [None, *whole.bands]:
                if region is not None or band is not None:
                    yield wave, visible, Filters(None, region, band)


def rebuild(study_id: int, today: date | None = None, rounds: int = 3) -> int:
    """Build and store every view of the study; again if the data moved meanwhile (up to ``rounds`` times).
    Returns the views stored."""
    stored = 0
    for _ in range(rounds):
        today_ = today or date.today()
        study = db.session.get(Study, study_id)
        if study is None:
            return stored
        version = snapshot_version(study, today_)
        digest = snapshots.digest(version)
        for wave, visible, filters in views(study, today_):
            report = view_report(study, wave, visible, filters, [], today_)
            snapshots.put(study.id, snapshots.view_key(wave.id, filters.region, filters.band), digest,
                          study.k_threshold, report)
            db.session.commit()  # each view as soon as it is ready
            stored += 1
        db.session.expire_all()
        study = db.session.get(Study, study_id)
        if study is None or snapshot_version(study, today or date.today()) == version:
            snapshots.forget_other_versions(study_id, digest)  # views that are no longer in the cube
            db.session.commit()
            break
    snapshots.finished(study_id)
    db.session.commit()
    return stored


@job(retries=2, retry_delay=30)
def rebuild_task(study_id: int) -> None:
    """In the background: rebuild every view of one study's report."""
    rebuild(study_id)


@periodic(crontab(minute="*/10"))
def sweep_task() -> None:
    """Every 10 minutes: a study whose snapshots are older than its data (a wave closed as its date passed,
    a late submit) is rebuilt."""
    sweep(date.today())


def sweep(today: date) -> list[int]:
    """Ask for a rebuild of every study with a snapshot older than its data; the studies asked for."""
    stale = []
    for study_id in snapshots.studies_with_snapshots():
        study = db.session.get(Study, study_id)
        current = snapshots.digest(snapshot_version(study, today))
        if any(version != current for version in snapshots.versions(study_id)):
            stale.append(study_id)
    marked = snapshots.request_rebuild(stale)
    db.session.commit()
    return marked


snapshots.register(lambda study_id: rebuild_task(study_id))
