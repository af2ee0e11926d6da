from datetime import timedelta

import pytest

from frontdesk.tui.countdown import format_countdown


@pytest.mark.parametrize(
    ("remaining", "shown"),
    [
        (timedelta(days=4, hours=3, minutes=59), "4d 03h"),
        (timedelta(hours=23, minutes=59, seconds=59), "23h 59m"),
        (timedelta(minutes=42, seconds=10), "42m 10s"),
        (timedelta(seconds=0), "0m 00s"),
        (-timedelta(hours=3, minutes=12, seconds=5), "-3h 12m"),
        (-timedelta(seconds=30), "-0m 30s"),
        (timedelta(days=5000), "999d+"),
    ],
)
def test_format_countdown(remaining, shown):
    assert format_countdown(remaining) == shown
