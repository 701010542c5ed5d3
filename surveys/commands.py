"""Command-line commands, registered on the app by ``init_app``.

Bad input exits with status 2 and one line on standard error; nothing is half-written.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade
from sqlalchemy.exc import OperationalError, ProgrammingError

from analysis import cli as analysis_cli

from . import accounts
from .config import MAX_UPLOAD_BYTES, MAX_UPLOAD_MB, ConfigurationError
from .database import delete_all_data, has_data, is_sqlite
from .demo import WAVES as DEMO_WAVES
from .demo import seed_demo
from .extensions import db
from .models import Study, TokenPurpose
from .organisations import uploads
from .organisations.imports import ImportRejected
from .pilots import invitations
from .refusals import Refused
from .reports.output import write_report
from .respond.survey import purge_expired_drafts, scrub_link_traces
from .tabular import TableError, parse_map_options, read_table
from .tokens import account_link
from .web import today


def upgrade_schema() -> None:
    """Bring the schema to the newest migration (creates it on an empty database)."""
    upgrade(directory=current_app.extensions["migrate"].directory)


@click.command("init-db")
@with_appcontext
def init_db_command():
    """Create or upgrade the database schema."""
    upgrade_schema()
    click.echo("Database ready.")


@click.command("create-org")
@with_appcontext
@click.argument("name")
def create_org_command(name):
    """Create a client organisation called NAME."""
    organisation = accounts.create_organisation(name)
    click.echo(f"Created organisation {organisation.name!r} (id {organisation.id}).")


@click.command("create-user")
@with_appcontext
@click.argument("email")
@click.option("--role", required=True, help="consultant or leader")
@click.option("--org", "orgs", multiple=True,
              help="organisation the user may see, by name or id:N (repeatable; one for leaders)")
def create_user_command(email, role, orgs):
    """Create a user; the password comes from COACHLAB_PASSWORD or a prompt."""
    # Check what can be checked before asking for a password.
    accounts.normalise_email(email)
    if role not in ("consultant", "leader"):
        raise accounts.AccountError(f"unknown role {role!r}: choose consultant or leader")
    password = os.environ.get("COACHLAB_PASSWORD")
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    user = accounts.create_user(email, role, password, list(orgs))
    click.echo(f"Created {user.role.value} {user.email}.")


@click.command("disable-user")
@click.argument("email")
@with_appcontext
def disable_user_command(email):
    """Stop a user from logging in and end all their sessions."""
    user = accounts.disable_user(email)
    click.echo(f"Disabled {user.email}; their sessions have ended.")


@click.command("password-link")
@click.argument("email")
@with_appcontext
def password_link_command(email):
    """Print a one-time link that sets EMAIL's password (for a server without mail); an earlier link stops working."""
    user = accounts.active_account(email)
    purpose = TokenPurpose.RESET if accounts.has_password(user) else TokenPurpose.INVITE
    token = accounts.issue_account_token(user, purpose)
    hours = accounts.token_hours(purpose)
    click.echo(f"One-time link for {user.email}; it works once, for {hours} hour{'s' if hours != 1 else ''}:")
    click.echo(account_link(current_app.config["PUBLIC_BASE_URL"], token))


@click.command("demo")
@with_appcontext
@click.option("--reset", is_flag=True, help="delete all existing data first")
@click.option("--json", "as_json", is_flag=True, help="print logins, study id and links as JSON")
@click.option("--preset", type=click.Choice(["vivid", "realistic"]), default="vivid", show_default=True,
              help="vivid: large planted differences; realistic: as large as the coaching literature makes likely")
def demo_command(reset, as_json, preset):
    """Seed a realistic demo pilot and print how to use it."""
    upgrade_schema()
    if has_data():
        if not reset:
            raise ConfigurationError("demo: the database already holds data; run `flask --app app demo --reset` "
                                     "to delete it and seed the demo")
        delete_all_data()
    result = seed_demo(current_app.config["PUBLIC_BASE_URL"], preset=preset)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
        return
    click.echo(f"CoachLab demo ready: {result.organisation}, study {result.study_id}.")
    click.echo(f"  consultant  {result.consultant.email}  password {result.consultant.password}")
    click.echo(f"  leader      {result.leader.email}  password {result.leader.password}")
    click.echo(f"  log in at   {current_app.config['PUBLIC_BASE_URL']}/login")
    click.echo(f"  {len(result.survey_links)} unused survey links for the open {DEMO_WAVES[-1]!r} wave, for example:")
    for link in result.survey_links[:5]:
        click.echo(f"    {link}")


def _scrub() -> None:
    """Run the scrub and say what it did on this engine."""
    click.echo(f"Rewrote {scrub_link_traces()} used link(s) so no transaction id pairs one with a response.")
    if is_sqlite():
        click.echo("Checkpointed the write-ahead log into the database file and truncated it.")


@click.command("purge-drafts")
@with_appcontext
def purge_drafts_command():
    """Delete saved partial answers of closed waves and of used or replaced links, and set-password links
    that have expired (run daily)."""
    removed = purge_expired_drafts(today())
    click.echo(f"Deleted {removed} expired draft(s).")
    click.echo(f"Deleted {accounts.purge_expired_account_tokens()} expired set-password link(s).")
    _scrub()


@click.command("worker")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Threads running tasks in this consumer.")
@click.option("--periodic/--no-periodic", default=True, show_default=True,
              help="Also run the periodic tasks (scrub, purge, reminders); --no-periodic on all consumers but one.")
@with_appcontext
def worker_command(workers: int, periodic: bool):
    """Consume the task queue (QUEUE_URL): sending links and reminders, imports, report rebuilds, maintenance."""
    from . import tasks  # registers every task
    from .queue import IMMEDIATE, huey

    if current_app.config["QUEUE_URL"] == IMMEDIATE:
        raise ConfigurationError("worker: QUEUE_URL is 'immediate': tasks run where they are enqueued, so there is "
                                 "no queue to consume")
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    click.echo(f"Consuming {current_app.config['QUEUE_URL']} with {workers} worker thread(s)"
               + ("" if periodic else ", periodic tasks left to another consumer") + ".")
    tasks.sending.resume_sends_at_start()  # enqueued: a consumer killed mid-send is picked up now, not in a minute
    huey.create_consumer(workers=workers, worker_type="thread", periodic=periodic, check_worker_health=True).run()


@click.command("mail-catcher")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=8025, show_default=True, type=click.IntRange(1, 65535))
@click.option("--outbox", default="instance/outbox", show_default=True,
              help="folder that receives each message as an .eml file (DEMO_OUTBOX shows it at /demo/outbox)")
@with_appcontext
def mail_catcher_command(host: str, port: int, outbox: str):
    """A local SMTP server for the demo: keeps every message as a file instead of delivering it (Ctrl-C stops it)."""
    import signal
    import threading

    from .outbox import outbox_folder, serve

    folder = outbox_folder(outbox)
    try:
        controller = serve(folder, host, port)
    except (OSError, RuntimeError) as error:
        raise ConfigurationError(f"mail-catcher: cannot listen on {host}:{port}: {error}") from None
    click.echo(f"Catching mail on {host}:{port} into {folder}.")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


@click.command("scrub-links")
@with_appcontext
def scrub_links_command():
    """Rewrite used links together so no transaction id or log pairs one with a response (every 10 minutes)."""
    _scrub()


@click.command("analyze")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--group", required=True, help="column with the coaching model of each row")
@click.option("--outcome", "outcomes", multiple=True, help="outcome column (repeatable; default: every numeric one)")
@click.option("--levels", help="group order, comma-separated; the first is the reference")
@click.option("--cluster", help="team column: fits a random-intercept mixed model")
@click.option("--baseline", help="baseline column: ANCOVA (and a covariate of the mixed model)")
@click.option("--primary", help="the primary outcome (default: the first); the others are Holm-corrected")
@click.option("--decimal", type=click.Choice([".", ","]), help="decimal mark (default: sniffed)")
@click.option("--df", "df_method", type=click.Choice(["auto", "satterthwaite", "containment"]), default="auto",
              help="mixed model's denominator df (default auto: Satterthwaite below 40 teams)")
@click.option("--margin", help="non-inferiority margin: 3 (the primary outcome's) or quota_attainment=3,"
                                 "satisfaction=0.3")
@click.option("--prior-scale", "prior_scale", help="sceptical prior's SD in SDs of the outcome (0–2; 'flat': none)")
@click.option("--costs", help="cost per model: manager=hour:85,peer=hour:40,external=rep_month:350+hour:20")
@click.option("--minutes", help="column of coaching minutes per rep per month (for costs per hour)")
@click.option("--revenue", help="column of revenue per rep (the value of a quota point, for break-even)")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="write here instead of stdout")
def analyze_command(file, group, outcomes, levels, cluster, baseline, primary, decimal, df_method, margin,
                    prior_scale, costs, minutes, revenue, output_format, output):
    """Compare the coaching models in a CSV or XLSX file (no database needed)."""
    try:
        analysis = analysis_cli.run(file, group, outcomes, levels, cluster, baseline, primary, decimal=decimal,
                                    df_method=df_method, margin=margin, prior_scale=prior_scale, costs=costs,
                                    minutes=minutes, revenue=revenue)
    except ValueError as error:
        raise ConfigurationError(f"analyze: {error}") from None
    text = analysis_cli.to_json(analysis) if output_format == "json" else analysis_cli.to_text(analysis)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"Wrote {output}.", err=True)
    else:
        click.echo(text, nl=False)


PROGRESS_THRESHOLD = 2000  # rows; below this a progress bar would only flicker


@contextmanager
def progress_bar(total: int, label: str):
    """Yield a ``progress(done)`` callback drawing click's bar on stderr, or None for small jobs."""
    if total < PROGRESS_THRESHOLD:
        yield None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        shown = [0]

        def advance(done: int) -> None:
            bar.update(done - shown[0])
            shown[0] = done

        yield advance


def _organisation(reference: str):
    try:
        return accounts.find_organisation(reference)
    except accounts.AccountError as error:
        hint = "; create it with `flask --app app create-org`" if str(error).startswith("no organisation") else ""
        raise ConfigurationError(f"{error}{hint}") from None


def _run_import(kind_name: str, org: str, file: str, maps: tuple[str, ...], options: dict) -> None:
    """Read, map, import with a progress bar for big files; print every problem and exit 2 when refused."""
    kind = uploads.KINDS[kind_name]
    organisation = _organisation(org)
    path = Path(file)
    if path.stat().st_size > MAX_UPLOAD_BYTES:
        raise ConfigurationError(f"{path.name}: larger than {MAX_UPLOAD_MB} MB")
    content = path.read_bytes()
    try:
        mapping = parse_map_options(maps, kind.fields)
        rows = len(read_table(content, path.name))
        with progress_bar(rows, f"Importing {kind.title.lower()}") as progress:
            report = uploads.run(organisation, kind, content, path.name, mapping, options, progress)
    except ImportRejected as rejected:
        for problem in rejected.problems:
            click.echo(f"{path.name}: {problem}", err=True)
        raise ConfigurationError(f"{path.name}: {len(rejected.problems)} problem(s); nothing was imported") from None
    except TableError as error:
        raise ConfigurationError(f"{path.name}: {error}") from None
    click.echo(f"{kind.title}: {report.summary()}")


MAP_HELP = 'map a header of the file to ours: --map "Their header=canonical" (repeatable)'


@click.command("import-roster")
@click.option("--org", required=True, help="organisation name, or id:N")
@click.option("--map", "maps", multiple=True, help=MAP_HELP)
@click.option("--deactivate-missing", is_flag=True, help="mark reps who are not in the file as having left")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_roster_command(org, maps, deactivate_missing, file):
    """Import teams and reps (team, region, name, email, crm_id) from CSV or XLSX: all or nothing."""
    _run_import("roster", org, file, maps, {"deactivate_missing": deactivate_missing})


@click.command("import-performance")
@click.option("--org", required=True, help="organisation name, or id:N")
@click.option("--map", "maps", multiple=True, help=MAP_HELP)
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_performance_command(org, maps, file):
    """Import CRM performance (crm_id or email, period, quota_attainment, win_rate, revenue, deals_won)."""
    _run_import("performance", org, file, maps, {})


@click.command("import-sessions")
@click.option("--org", required=True, help="organisation name, or id:N")
@click.option("--map", "maps", multiple=True, help=MAP_HELP)
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_sessions_command(org, maps, file):
    """Import a coaching-session log (crm_id, email or team; coach_model; date; minutes)."""
    _run_import("sessions", org, file, maps, {})


@click.command("invitations")
@click.option("--study", "study_id", required=True, type=int, help="study id")
@click.option("--wave", "label", required=True, help="wave label, e.g. baseline")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True),
              help="CSV file to write (one row per rep with the link)")
@with_appcontext
def invitations_command(study_id, label, output):
    """Issue a fresh link to every active rep of the study who has not answered the wave, as a mail-merge CSV."""
    study = db.session.get(Study, study_id)
    if study is None:
        raise ConfigurationError(f"invitations: no study with id {study_id}")
    wave = next((w for w in study.waves if w.label == label), None)
    if wave is None:
        labels = ", ".join(w.label for w in study.waves) or "none yet"
        raise ConfigurationError(f"invitations: study {study_id} has no wave {label!r} (waves: {labels})")
    reps = len(invitations.participating_reps(study))
    with progress_bar(reps, "Issuing links") as progress:
        issued = invitations.issue_links(study, wave, current_app.config["PUBLIC_BASE_URL"], today(),
                                         progress=progress)
    Path(output).write_text(invitations.links_csv(issued), encoding="utf-8")
    click.echo(f"Issued {len(issued)} link(s) for wave {label!r} of study {study_id}; wrote {output}.")


@click.command("report")
@click.argument("study_id", type=int)
@click.option("--wave", help="wave label (default: the latest closed wave, else the latest open one)")
@click.option("--format", "output_format", type=click.Choice(["json", "csv", "xlsx", "html"]), required=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def report_command(study_id, wave, output_format, output):
    """Write a study's comparison report as JSON, CSV, XLSX or a self-contained HTML file."""

    study = db.session.get(Study, study_id)
    if study is None:
        raise ConfigurationError(f"report: no study with id {study_id}")
    content = write_report(study, {"wave": wave} if wave else {}, output_format)
    Path(output).write_bytes(content)
    click.echo(f"Wrote the report of study {study_id} to {output}.")


def _errors_in_one_line(command: click.Command) -> click.Command:
    """Make a refusal, or a database the command cannot use (no tables yet, an older schema), one line, exit 2.

    A refusal reads ``<command>: <reason>``; the services have rolled back what they began.
    """
    if getattr(command.callback, "errors_in_one_line", False):
        return command
    callback = command.callback

    @functools.wraps(callback)
    def guarded(*args, **kwargs):
        try:
            return callback(*args, **kwargs)
        except Refused as error:
            raise ConfigurationError(f"{command.name}: {error}") from None
        except (OperationalError, ProgrammingError) as error:
            reason = str(error.orig or error).strip().splitlines()[0]
            raise ConfigurationError(f"{command.name}: the database cannot be used ({reason}); if it is new or was "
                                     "made by an older CoachLab, run `flask --app app db upgrade` first") from None

    guarded.errors_in_one_line = True
    command.callback = guarded
    return command


def init_app(app: Flask) -> None:
    """Register the commands."""
    for command in (init_db_command, create_org_command, create_user_command, demo_command, purge_drafts_command,
                    scrub_links_command, analyze_command, import_roster_command, import_performance_command,
                    import_sessions_command, invitations_command, report_command, disable_user_command,
                    password_link_command, worker_command, mail_catcher_command):
        app.cli.add_command(_errors_in_one_line(command))
