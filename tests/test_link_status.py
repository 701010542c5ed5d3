"""What a link tells whoever opens it (review F2): every opening counts against the per-client limit,
and a used link shows the same page to every browser, the one that submitted included."""

import pytest

from surveys.respond import survey as responding
from tests import builders

pytestmark = pytest.mark.usefixtures("app_context")


def submit_everything(client, study, token):
    client.get(f"/s/{token}")
    pages = responding.paginate(list(study.questions))
    answers = builders.valid_answers(study.questions)
    for number, page in enumerate(pages, start=1):
        data = {f"q_{q.key}": answers[f"q_{q.key}"] for q in page.questions}
        action = "submit" if number == len(pages) else "next"
        assert client.post(f"/survey/{number}", data={**data, "action": action}).status_code == 302


def test_opening_working_links_counts_against_the_limit_too(app):
    """Before, only answers of 400 and above counted: a client could poll every link's status freely."""
    study, team = builders.running_survey(reps=3)
    tokens = [builders.invite(study.waves[0], rep) for rep in team.reps]
    client = app.test_client()
    statuses = [client.get(f"/s/{tokens[i % 3]}").status_code for i in range(21)]
    assert statuses[:20] == [302] * 20 and statuses[20] == 429
    assert app.test_client().get(f"/s/{tokens[0]}", environ_base={"REMOTE_ADDR": "198.51.100.9"}).status_code == 302


def test_a_used_link_shows_every_browser_the_same_page(app):
    study, team = builders.running_survey()
    token = builders.invite(study.waves[0], team.reps[0])
    rep = app.test_client()
    submit_everything(rep, study, token)
    own, other = rep.get(f"/s/{token}"), app.test_client().get(f"/s/{token}")
    assert own.status_code == other.status_code == 410
    assert own.get_data() == other.get_data()
    assert "already been answered" in other.get_data(as_text=True)
