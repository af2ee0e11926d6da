"""Make untrusted text safe to show in a terminal: see storage/safe_text.py, where it lives so that
the store can use it too (for the text of hand-off notifications)."""

from frontdesk.storage.safe_text import display_line, display_safe

__all__ = ["display_safe", "display_line"]
