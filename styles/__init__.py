"""Styles shipped with the frontdesk inbox."""
