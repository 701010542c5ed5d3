"""A draft study issues no links, and a rep is told the truth about a survey that has not started (ux D12, D1).

In review, links issued for a draft study opened on a page that gave the server's today as the
opening date; the reason (the study was not launched) was told to nobody.
"""

import re
import socket
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from surveys.extensions import db
from surveys.models import Invitation, StudyStatus, Wave
from tests import builders

pytestmark = pytest.mark.usefixtures("app_context")

TODAY = date.today()


text = builders.page_text


@pytest.fixture
def draft(client):
    """A draft study with a team assigned and a wave open today; a logged-in consultant."""
    org = builders.organisation()
    team = builders.team_with_reps(org, reps=6)
    study = builders.study(org, teams=[team])
    builders.user("c@acme.example.com", orgs=[org.name])
    client.post("/login", data={"email": "c@acme.example.com", "password": builders.PASSWORD})
    return study


def invitations() -> int:
    return db.session.scalar(select(func.count()).select_from(Invitation))


def test_links_cannot_be_downloaded_for_a_draft_study(client, draft):
    wave = draft.waves[0]
    response = client.post(f"/studies/{draft.id}/waves/{wave.id}/links.csv", data={"confirm": "1"})
    assert response.status_code == 409 and response.mimetype == "text/html"
    assert "No links issued: the study has not been launched yet; launch it on its study page first." in \
        text(response)
    assert invitations() == 0


def test_links_cannot_be_e_mailed_for_a_draft_study_and_the_mail_server_is_not_even_tried(client, app, draft):
    with socket.socket() as probe:  # a port where nothing listens: trying it would say "cannot use the mail server"
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_TIMEOUT=2)
    wave = draft.waves[0]
    response = client.post(f"/studies/{draft.id}/waves/{wave.id}/send", data={"confirm": "1"})
    assert response.status_code == 409
    assert "Nothing sent: the study has not been launched yet" in text(response)
    assert invitations() == 0


def test_the_invitations_command_refuses_a_draft_study(runner, draft, tmp_path):
    target = tmp_path / "links.csv"
    result = runner.invoke(args=["invitations", "--study", str(draft.id), "--wave", "baseline", "-o", str(target)])
    assert result.exit_code == 2 and "the study has not been launched yet" in result.output
    assert not target.exists() and invitations() == 0


def test_the_wave_page_of_a_draft_study_offers_no_links_and_says_why(client, draft):
    page = text(client.get(f"/studies/{draft.id}/waves/{draft.waves[0].id}"))
    assert "Issue links" not in page
    assert "Links can be issued once the study is launched" in page


def test_a_link_of_a_study_that_is_not_launched_says_so_without_a_date(client, app, draft):
    draft.status = StudyStatus.RUNNING  # links issued while it ran (or before links needed a launch) …
    db.session.commit()
    token = builders.invite(draft.waves[0], draft.assignments[0].team.reps[0])
    draft.status = StudyStatus.DRAFT  # … of a study that is a draft again
    db.session.commit()
    response = app.test_client().get(f"/s/{token}")
    assert response.status_code == 403
    page = text(response)
    assert "This survey has not started yet" in page
    for day in (TODAY, draft.waves[0].opens_on):
        assert f"{day.day} {day:%B %Y}" not in page  # no date that is not the real one


def test_a_link_of_a_launched_study_whose_wave_opens_later_gives_its_dates(client, app, draft):
    wave = draft.waves[0]
    wave.opens_on, wave.closes_on = TODAY + timedelta(days=5), TODAY + timedelta(days=12)
    draft.status = StudyStatus.RUNNING
    db.session.commit()
    token = builders.invite(wave, draft.assignments[0].team.reps[0])
    page = text(app.test_client().get(f"/s/{token}"))
    opens, closes = (f"{d.day} {d:%B %Y}" for d in (wave.opens_on, wave.closes_on))
    assert f"This survey opens on {opens} and closes on {closes}" in page


def test_the_wave_form_never_suggests_a_label_already_used(client, draft):
    def suggested():
        page = client.get(f"/studies/{draft.id}").get_data(as_text=True)
        return re.search(r'<input[^>]*id="label"[^>]*value="([^"]*)"', page).group(1)

    assert suggested() == "follow-up"  # the study has a "baseline" wave
    draft.waves.append(Wave(label="Follow-up", opens_on=TODAY, closes_on=TODAY + timedelta(days=3)))
    db.session.commit()
    assert suggested() == "wave 3"
