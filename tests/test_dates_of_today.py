"""A module's date constants are those of the day its tests run (conftest ``dates_of_today``)."""

from datetime import date, timedelta

# As if this module had been collected yesterday and its tests ran after midnight.
TODAY = date.today() - timedelta(days=1)
TOMORROW = date.today().isoformat()


def test_a_module_collected_yesterday_sees_today_when_its_test_runs():
    assert TODAY == date.today()
    assert TOMORROW == (date.today() + timedelta(days=1)).isoformat()
