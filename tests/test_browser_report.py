"""The demo leader logs in and finds the verdict and the charts, in a real browser."""

import pytest

from surveys import demo as demo_module

pytestmark = pytest.mark.browser


def signed_in_demo_leader(live_app, live_server, chromium):
    """The demo seeded on ``live_server`` and a 1200 × 900 browser signed in as its leader."""
    with live_app.app_context():
        seeded = demo_module.seed_demo(live_server)
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail").fill(seeded.leader.email)
    page.get_by_label("Password").fill(seeded.leader.password)
    page.get_by_role("button", name="Log in").click()
    return seeded, context, page


def test_demo_leader_reads_the_verdict_and_the_charts(live_app, live_server, chromium):
    with live_app.app_context():
        seeded = demo_module.seed_demo(live_server)
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("response", lambda response: problems.append(f"{response.status} {response.url}")
            if response.status >= 400 else None)
    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail").fill(seeded.leader.email)
    page.get_by_label("Password").fill(seeded.leader.password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Studies").click()
    page.get_by_role("link", name="Who should coach?").first.click()
    page.get_by_role("link", name="Report").click()
    page.get_by_role("heading", name="The verdict").wait_for()
    assert "primary outcome" in page.locator("section.verdict").inner_text()  # the question is the decision's
    assert page.get_by_role("heading", name="The debate, tested").is_visible()
    page.wait_for_load_state("networkidle")
    images = page.locator("figure.chart img")
    assert images.count() == 6  # the flow of reps among them
    for i in range(images.count()):
        image = images.nth(i)
        assert image.evaluate("img => img.complete && img.naturalWidth > 0"), image.get_attribute("src")
        assert len(image.get_attribute("alt")) > 40
    page.get_by_label("Region").select_option(index=1)
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**region=**")  # the old page's heading would satisfy a wait for the heading
    page.get_by_role("heading", name="The verdict").wait_for()
    assert problems == []
    context.close()


def test_demo_leader_reads_who_should_coach_how_sure_the_trade_off_and_the_next_step_first(
        live_app, live_server, chromium):
    """Issue 12: the top of the page answers the question before any statistics, in a VP's words."""
    seeded, context, page = signed_in_demo_leader(live_app, live_server, chromium)
    page.goto(f"{live_server}/studies/{seeded.study_id}/report")
    decision = page.locator("section.decision")
    decision.wait_for()
    # It is the first thing in the report, above the fold, before the verdict's statistics.
    first = page.locator("main section").first
    assert first.get_attribute("id") == "decision"
    box = decision.locator(".recommendation").bounding_box()
    assert box is not None and box["y"] + box["height"] < 900, box
    text = decision.inner_text()
    assert decision.locator(".recommendation").inner_text().startswith("Choose manager coaching")
    assert decision.locator(".certainty-words").inner_text() == "Very likely"
    assert "availability" in decision.locator(".trade-offs").inner_text()
    assert decision.locator(".next-steps li").count() >= 1
    headline = decision.locator(".recommendation").inner_text()
    for word in ("p =", "p <", "g =", "Holm", "mixed model"):
        assert word not in headline, word
    # The numbers are one click away.
    numbers = decision.locator("details.evidence")
    assert not numbers.locator("table").is_visible()
    numbers.locator("summary").click()
    assert numbers.locator("table").is_visible()
    assert "quota attainment" in numbers.inner_text()
    assert "Trade-offs" in text and "Next step" in text
    context.close()


def test_demo_leader_reads_is_it_worth_it_in_the_browser(live_app, live_server, chromium):
    """Issue 16: costs, no worse, chance of being best and fidelity, read in Chromium; the team table opens."""
    seeded, context, page = signed_in_demo_leader(live_app, live_server, chromium)
    page.goto(f"{live_server}/studies/{seeded.study_id}/report")
    section = page.locator("section#worth")
    section.wait_for()
    text = section.inner_text()
    for heading in ("What each model costs", "What it buys on quota attainment", "No worse?", "Chance of being best",
                    "Was each model delivered?"):
        assert heading in text, heading
    assert "Peer coaching may be worse than manager coaching by more than 3.0 percentage points" in text
    assert "got most of its coaching from" in text
    teams = section.locator("details.worth-teams")
    assert not teams.locator("table").is_visible()
    teams.locator("summary").click()
    assert teams.locator("table tbody tr").count() == 45
    assert "Manager coaching costs about $" in page.locator("section.decision .trade-offs").inner_text()
    context.close()
