"""The demo leader logs in and finds the verdict and the charts, in a real browser."""

import pytest

from surveys import demo as demo_module

pytestmark = pytest.mark.browser


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
    assert "Who should coach?" in page.locator("section.verdict").inner_text()
    assert page.get_by_role("heading", name="The debate, tested").is_visible()
    page.wait_for_load_state("networkidle")
    images = page.locator("figure.chart img")
    assert images.count() == 5
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
