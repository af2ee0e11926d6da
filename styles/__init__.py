"""Styles shipped with the frontdesk inbox: frontdesk.tcss for the app, the others for the screens
that name them, so that Textual parses each one only when its first screen opens."""

from pathlib import Path

FOLDER = Path(__file__).parent


def sheet(name: str) -> Path:
    return FOLDER / f"{name}.tcss"
