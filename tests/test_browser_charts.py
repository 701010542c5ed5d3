"""The report's charts drawn by Chromium: every text (axis titles, tick labels, legends) inside the image."""

import pytest

from surveys import demo as demo_module
from surveys.cache import clear_all
from surveys.reports.charts import CHARTS

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("app_context")]

OUTSIDE = """svg => {
  const frame = svg.getBoundingClientRect();
  return Array.from(svg.querySelectorAll('text')).map(t => [t.textContent, t.getBoundingClientRect()])
    .filter(([, r]) => r.width > 0 && (r.left < frame.left - 0.5 || r.right > frame.right + 0.5 ||
                                       r.top < frame.top - 0.5 || r.bottom > frame.bottom + 0.5))
    .map(([text, r]) => `${text}: ${Math.round(r.left)}–${Math.round(r.right)} of ${Math.round(frame.width)}`);
}"""


def test_no_chart_text_is_cut_off(app, client, chromium):
    """D15: the forest chart's axis title ran past the right edge of the image."""
    clear_all()
    seeded = demo_module.seed_demo("http://localhost")
    client.post("/login", data={"email": seeded.leader.email, "password": seeded.leader.password})
    page = chromium.new_page()
    cut = {}
    for name in CHARTS:
        svg = client.get(f"/studies/{seeded.study_id}/report/charts/{name}.svg").get_data(as_text=True)
        page.set_content(f"<!doctype html><body style='margin:0'>{svg}</body>")
        cut[name] = page.locator("svg").first.evaluate(OUTSIDE)
    page.close()
    assert cut == {name: [] for name in CHARTS}
