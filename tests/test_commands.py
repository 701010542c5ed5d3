"""The administration commands: good input does the job, bad input exits 2 and changes nothing."""

import pytest
from sqlalchemy import func, select

from surveys.accounts import authenticate
from surveys.extensions import db
from surveys.models import Organisation, Role, User
from tests import builders


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_create_org_creates_an_organisation(runner, app_context):
    result = runner.invoke(args=["create-org", "Globex Sales"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(Organisation.name)) == "Globex Sales"


@pytest.mark.parametrize("name", ["Globex Sales", "globex sales", "   "])
def test_create_org_refuses_a_duplicate_or_empty_name(runner, app_context, name):
    builders.organisation("Globex Sales")
    result = runner.invoke(args=["create-org", name])
    assert result.exit_code == 2
    assert count(Organisation) == 1
    assert "Traceback" not in result.output


def _second_tenant_with(name):
    """An organisation called ``name`` that another consultant created in the browser (names are per tenant)."""
    from surveys.accounts import create_organisation

    other = builders.user("consultant@rival.example.com")
    return create_organisation(name, member=other)


def test_an_org_name_two_tenants_share_is_refused_with_their_ids_and_id_n_picks_one(runner, app_context,
                                                                                     tmp_path):
    """F15 made names unique per consultant only; a command given a shared name must not guess which."""
    first = builders.organisation("Globex Sales")
    second = _second_tenant_with("globex SALES")
    roster = tmp_path / "roster.csv"
    roster.write_text("team,region,name,email\nEast 1,East,Ann Example,ann@globex.example.com\n")
    result = runner.invoke(args=["import-roster", "--org", "Globex Sales", str(roster)])
    assert result.exit_code == 2
    assert f"2 organisations are called 'Globex Sales' (ids {first.id}, {second.id})" in result.output
    assert "id:" in result.output and "Traceback" not in result.output
    assert not second.teams and not first.teams
    result = runner.invoke(args=["import-roster", "--org", f"id:{second.id}", str(roster)])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert [t.name for t in second.teams] == ["East 1"] and not first.teams
    for bad in ["id:999", "id:x", "id:\u0661"]:
        result = runner.invoke(args=["import-roster", "--org", bad, str(roster)])
        assert result.exit_code == 2 and "no organisation with id" in result.output, (bad, result.output)


def test_create_user_with_a_shared_org_name_is_refused_and_creates_nobody(runner, app_context, monkeypatch):
    first = builders.organisation("Globex Sales")
    _second_tenant_with("Globex Sales")
    users = count(User)
    monkeypatch.setenv("COACHLAB_PASSWORD", "a long enough password")
    result = runner.invoke(args=["create-user", "lead@globex.example.com", "--role", "leader", "--org", "Globex Sales"])
    assert result.exit_code == 2 and "2 organisations are called" in result.output
    assert count(User) == users
    result = runner.invoke(args=["create-user", "lead@globex.example.com", "--role", "leader",
                                 "--org", f"id:{first.id}"])
    assert result.exit_code == 0, result.output
    lead = db.session.scalar(select(User).where(User.email == "lead@globex.example.com"))
    assert [o.id for o in lead.organisations] == [first.id]


def test_create_user_reads_the_password_from_the_environment(runner, app_context, monkeypatch):
    builders.organisation("Globex Sales")
    monkeypatch.setenv("COACHLAB_PASSWORD", "a long enough password")
    result = runner.invoke(args=["create-user", "Lead@Globex.example.com", "--role", "leader",
                                 "--org", "Globex Sales"])
    assert result.exit_code == 0, result.output
    user = authenticate("lead@globex.example.com", "a long enough password")
    assert user is not None and user.role is Role.LEADER
    assert [o.name for o in user.organisations] == ["Globex Sales"]
    assert user.password_hash.startswith("scrypt:")


def test_create_user_asks_for_the_password_twice(runner, app_context, monkeypatch):
    monkeypatch.delenv("COACHLAB_PASSWORD", raising=False)
    result = runner.invoke(args=["create-user", "c@globex.example.com", "--role", "consultant"],
                           input="typed password 1\ntyped password 1\n")
    assert result.exit_code == 0, result.output
    assert authenticate("c@globex.example.com", "typed password 1") is not None


@pytest.mark.parametrize("args, message", [
    (["not-an-email", "--role", "consultant"], "not a valid e-mail"),
    (["x@globex.example.com", "--role", "admin"], "unknown role"),
    (["x@globex.example.com", "--role", "leader"], "exactly one organisation"),
    (["x@globex.example.com", "--role", "consultant", "--org", "Nobody Inc"], "no organisation"),
])
def test_create_user_refuses_bad_input_and_changes_nothing(runner, app_context, monkeypatch, args, message):
    monkeypatch.setenv("COACHLAB_PASSWORD", "a long enough password")
    result = runner.invoke(args=["create-user", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert count(User) == 0


def test_create_user_refuses_a_short_password(runner, app_context, monkeypatch):
    monkeypatch.setenv("COACHLAB_PASSWORD", "short")
    result = runner.invoke(args=["create-user", "x@globex.example.com", "--role", "consultant"])
    assert result.exit_code == 2
    assert "at least 12" in result.output
    assert count(User) == 0


def test_create_user_refuses_an_existing_email_and_keeps_the_old_password(runner, app_context, monkeypatch):
    builders.user("taken@globex.example.com")
    monkeypatch.setenv("COACHLAB_PASSWORD", "another long password")
    result = runner.invoke(args=["create-user", "TAKEN@globex.example.com", "--role", "consultant"])
    assert result.exit_code == 2
    assert "already exists" in result.output
    assert count(User) == 1
    assert authenticate("taken@globex.example.com", builders.PASSWORD) is not None
    assert authenticate("taken@globex.example.com", "another long password") is None


def test_init_db_builds_the_schema_on_an_empty_database(make_app, tmp_path):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'empty.sqlite'}")
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert count(User) == 0  # the table exists
        db.engine.dispose()


@pytest.mark.parametrize("args", [["scrub-links"], ["purge-drafts"], ["create-org", "Acme"]])
def test_a_database_without_tables_gets_one_line_that_says_to_upgrade(make_app, tmp_path, args):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'empty.sqlite'}")
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 2, result.output
    assert "no such table" in result.output and "flask --app app db upgrade" in result.output
    assert "Traceback" not in result.output
