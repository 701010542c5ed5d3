"""Issuing survey links for a wave, exporting them for mail merge, and sending them by e-mail.

Tokens are stored hashed, so a link exists in clear only at the moment it is issued: the CSV
is made then (an e-mail run keeps it encrypted until its message is sent: ``sending.py``).
Issuing again gives the rep a new link and revokes the old unused one; answers saved for resume
move to the new link. Nothing here ever shows who has not answered — the pages only get counts.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from flask import render_template
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import func, insert, select, update

from .. import audit
from ..database import transactional
from ..extensions import db
from ..languages import in_language, isolate
from ..mail import compose
from ..models import Invitation, Rep, Study, StudyStatus, SurveyDraft, Team, Wave, utcnow
from ..refusals import Refused
from ..studies import response_rates, study_members
from ..tabular import escape_cell
from ..tokens import hash_token, new_token, survey_link

CHUNK = 500


class InvitationError(Refused):
    """Links cannot be issued now; the message says why."""


@dataclass(frozen=True)
class IssuedLink:
    """A freshly issued link, for the mail merge file or an e-mail."""

    rep_id: int
    name: str
    email: str | None
    team: str
    link: str
    language: str | None = None  # the rep's roster language: the e-mail's


def participating_reps(study: Study) -> list[tuple[Rep, str]]:
    """Active reps in the study's assigned teams (or assigned reps), with their team's name."""
    members = study_members(study, Rep, Team.name).order_by(Team.name, Rep.name)
    return [tuple(row) for row in db.session.execute(members)]


def _chunks(items: list, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _link_targets(wave: Wave, reps: list[tuple[Rep, str]], only: set[int] | None = None) -> list[tuple[Rep, str]]:
    """Of ``reps`` (and of ``only``, when given), those who have not answered ``wave``: they get a new link."""
    answered = set(db.session.scalars(select(Invitation.rep_id).where(Invitation.wave_id == wave.id,
                                                                      Invitation.used.is_(True))))
    return [(rep, team) for rep, team in reps if rep.id not in answered and (only is None or rep.id in only)]


def reissue_targets(study: Study, wave: Wave, only: set[int] | None = None) -> set[int]:
    """The ids of the reps whose unused link issuing again for ``wave`` replaces (and of ``only``, when given)."""
    return {rep.id for rep, _ in _link_targets(wave, participating_reps(study), only)}


def check_can_issue(study: Study, wave: Wave, today: date) -> None:
    """Raise ``InvitationError`` unless links can be issued for ``wave`` now: only while the study runs.

    A draft study issues none: its design can still change, and a rep opening such a link could
    only be told that the survey has not started (ux review D12).
    """
    if wave.study_id != study.id:
        raise LookupError(wave.id)
    if study.status is StudyStatus.DRAFT:
        raise InvitationError("the study has not been launched yet; launch it on its study page first")
    if study.status is StudyStatus.CLOSED:
        raise InvitationError("the study is closed")
    if wave.is_closed(today):
        raise InvitationError(f"the wave closed on {wave.closes_on.isoformat()}")


@transactional
def issue_links(study: Study, wave: Wave, base_url: str, today: date, only: set[int] | None = None,
                progress: Callable[[int], None] | None = None, recorded: bool = True) -> list[IssuedLink]:
    """Issue a new link to every participating rep who has not answered ``wave`` (or to ``only`` of them).

    ``recorded``: the issue is an act of its own in the audit log (a mail-merge download); ``send_links``
    records its run instead.
    """
    check_can_issue(study, wave, today)
    reps = participating_reps(study)
    if not reps:
        raise InvitationError("no active reps are assigned to a coaching model yet; randomise first")
    targets = _link_targets(wave, reps, only)
    target_ids = [rep.id for rep, _ in targets]
    now = utcnow()
    old_drafts: dict[int, int] = {}  # rep id -> invitation id holding a draft
    for chunk in _chunks(target_ids):
        old_drafts.update({rep_id: invitation_id for invitation_id, rep_id in db.session.execute(
            select(SurveyDraft.invitation_id, Invitation.rep_id).join(Invitation)
            .where(Invitation.wave_id == wave.id, Invitation.rep_id.in_(chunk),
                   Invitation.used.is_(False), Invitation.revoked_at.is_(None)))})
        db.session.execute(update(Invitation).where(
            Invitation.wave_id == wave.id, Invitation.rep_id.in_(chunk), Invitation.used.is_(False),
            Invitation.revoked_at.is_(None)).values(revoked_at=now))
    issued, rows, hashes = [], [], {}
    for position, (rep, team) in enumerate(targets, start=1):
        token = new_token()
        rows.append({"wave_id": wave.id, "rep_id": rep.id, "token_hash": hash_token(token), "issued_at": now,
                     "used": False, "reminder_count": 0})
        hashes[rep.id] = rows[-1]["token_hash"]
        issued.append(IssuedLink(rep.id, rep.name, rep.email, team, survey_link(base_url, token), rep.language))
        if progress:
            progress(position)
    for chunk in _chunks(rows):
        db.session.execute(insert(Invitation), chunk)
    for rep_id, old_invitation in old_drafts.items():
        new_id = db.session.scalar(select(Invitation.id).where(Invitation.token_hash == hashes[rep_id]))
        db.session.execute(update(SurveyDraft).where(SurveyDraft.invitation_id == old_invitation)
                           .values(invitation_id=new_id))
    if recorded:
        audit.record("links.issued", study=study, detail=f"wave {wave.label!r}: {len(issued)} link(s)")
    return issued


def live_links(wave: Wave, rep_ids: set[int] | None = None) -> int:
    """Links of ``wave`` (of ``rep_ids`` only, when given) issued and neither used nor replaced: links that work."""
    query = select(func.count()).select_from(Invitation).where(
        Invitation.wave_id == wave.id, Invitation.used.is_(False), Invitation.revoked_at.is_(None))
    if rep_ids is None:
        return db.session.scalar(query)
    return sum(db.session.scalar(query.where(Invitation.rep_id.in_(chunk))) for chunk in _chunks(sorted(rep_ids)))


@dataclass(frozen=True)
class LinksThatStop:
    """How many working links an action stops, as a page may show it.

    ``count`` is exact before the wave opens (nobody can have answered). Once it is open an exact
    count would move by one with each response, so it is the bound ``invited − answered`` read
    from the counts the wave page shows (answers rounded down to a multiple of k), and ``exact``
    is False.
    """

    count: int
    exact: bool
    invited: int
    answered: int | None  # as the wave page shows it: None hidden; exact when ``exact``, else at least this many


def links_that_stop(study: Study, wave: Wave, today: date, rep_ids: set[int] | None = None,
                    among: int | None = None) -> LinksThatStop:
    """The working links of ``wave`` (of ``rep_ids``) that issuing again, or closing, would stop.

    ``among``: how many reps the action is for, counted without regard to who answered (the
    bound must not be read from the exact count of those who have not).
    """
    live = live_links(wave, rep_ids)
    if today < wave.opens_on:
        invited = db.session.scalar(select(func.count(func.distinct(Invitation.rep_id))).where(
            Invitation.wave_id == wave.id))
        return LinksThatStop(live, True, invited, 0)
    *_, total = response_rates(study, wave, today)
    if not live:  # nothing stops, and no page asks
        return LinksThatStop(0, False, total.invited, total.responses)
    bound = total.invited - (total.responses or 0)
    if among is not None:
        bound = min(bound, among)
    return LinksThatStop(bound, False, total.invited, total.responses)


def links_csv(issued: list[IssuedLink]) -> str:
    """The mail-merge file: one row per rep with the link; cells escaped against formulas."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["name", "email", "team", "link"])
    for link in issued:
        writer.writerow([escape_cell(link.name), escape_cell(link.email or ""), escape_cell(link.team), link.link])
    return buffer.getvalue()


@dataclass(frozen=True)
class MailRun:
    """Counts of an e-mail run, never names."""

    sent: int
    failed: int
    without_email: int


def _message(study: Study, wave: Wave, link: IssuedLink, reminder: bool):
    """The e-mail carrying ``link``: plain text (``templates/email/invitation.txt`` or ``reminder.txt``) and
    HTML (``….html``, its values escaped) with the study's name, the closing date, the consultant's note
    of the wave (when there is one) and the link; the subject is one line (``mail.compose``). All of it in
    the rep's roster language (the consultant's note as written), dates in that language's form."""
    with in_language(link.language):
        subject = (_("Reminder: your coaching feedback survey — %(study)s", study=isolate(study.name)) if reminder
                   else _("Your coaching feedback survey — %(study)s", study=isolate(study.name)))
        values = {"name": link.name, "link": link.link, "closes_on": format_date(wave.closes_on, "long"),
                  "study_name": study.name, "note": wave.note or ""}
        name = "email/reminder" if reminder else "email/invitation"
        return compose(link.email, subject, render_template(f"{name}.txt", **values),
                       html=render_template(f"{name}.html", **values))


def mail_targets(study: Study, wave: Wave, reminder: bool) -> tuple[set[int], set[int]]:
    """The reps an e-mail run is for (invitations: never sent one; reminders: sent one), and those with an address."""
    sent_before = set(db.session.scalars(select(Invitation.rep_id).where(
        Invitation.wave_id == wave.id, Invitation.sent_at.is_not(None))))
    reps = {rep.id: rep for rep, _ in participating_reps(study)}
    wanted = {rep_id for rep_id in reps if (rep_id in sent_before) == reminder}
    return wanted, {rep_id for rep_id in wanted if reps[rep_id].email}
