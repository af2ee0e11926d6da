"""Reply snippets: built-in ones seeded on first open, and the placeholder filling that refuses to
send a placeholder to a customer literally."""

from __future__ import annotations

import string
from collections.abc import Mapping

BUILT_IN_SNIPPETS: dict[str, tuple[str, str]] = {
    "ack": (
        "Acknowledge: received, looking into it",
        "Hi {first_name},\n\n"
        "Thanks for getting in touch. Your request is logged as ticket #{ticket_id} and I'm looking into it now. "
        "I'll come back to you as soon as I know more.\n\n"
        "Best,\n{rep_name}",
    ),
    "handoff": (
        "Hand-off: introduce the support owner",
        "Hi {first_name},\n\n"
        "Thanks for the details. I've brought in {owner_name} ({owner_team}), who will see this through "
        "and follow up with you directly.\n\n"
        "Best,\n{rep_name}",
    ),
    "logs": (
        "Ask for diagnostics",
        "Hi {first_name},\n\n"
        "So we can get to the bottom of this quickly, could you send us:\n\n"
        "- the version you are running, and whether it is self-hosted or managed\n"
        "- the exact error message or a screenshot\n"
        "- logs from around the time it happened\n\n"
        "Thanks,\n{rep_name}",
    ),
    "resolved": (
        "Resolved: confirm and close",
        "Hi {first_name},\n\n"
        "Glad that's working again. I'm marking ticket #{ticket_id} as resolved; just reply to this email "
        "if anything comes back and it will reopen.\n\n"
        "Best,\n{rep_name}",
    ),
}


class SnippetError(ValueError):
    pass


def placeholders(body: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(body) if name}
    except ValueError as error:  # an unmatched brace
        raise SnippetError(f"the snippet is malformed: {error}") from None


def fill(body: str, values: Mapping[str, str | None]) -> str:
    """Fill every placeholder or refuse: a customer must never see '{first_name}'."""
    missing = sorted(name for name in placeholders(body) if not values.get(name))
    if missing:
        raise SnippetError("the snippet needs " + ", ".join(missing) + ", which this ticket does not have")
    return body.format_map(values)
