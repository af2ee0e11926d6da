"""Choosing an owner: the one a typed name means (`frontdesk assign`), and the ones a ticket
suggests for a hand-off, best first, with why. Pure functions of what they are given."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol, TypeVar

from .errors import StoreError
from .safe_text import display_line

SUBJECT_WEIGHT = 3  # an area named in the subject says more about the ticket than one in the body
BODY_WEIGHT = 1


class Named(Protocol):
    name: str
    email: str


Someone = TypeVar("Someone", bound=Named)


class UnknownOwner(StoreError):
    """What was typed names no owner, or several: the message lists the candidates."""


def owners_matching(owners: Sequence[Someone], typed: str) -> list[Someone]:
    """The owners `typed` means, ignoring case: the one whose email or name it is exactly, else
    every one whose email, name or a word of the name begins with it."""
    wanted = typed.strip().casefold()
    if not wanted:
        return []
    exact = [o for o in owners if wanted in (o.email.casefold(), o.name.strip().casefold())]
    if exact:
        return exact
    return [
        o for o in owners
        if any(part.startswith(wanted) for part in (o.email.casefold(), o.name.strip().casefold(), *o.name.casefold().split()))
    ]


def the_owner(owners: Sequence[Someone], typed: str) -> Someone:
    """The one owner `typed` means; UnknownOwner says in one line which ones it could be."""
    found = owners_matching(owners, typed)
    if len(found) == 1:
        return found[0]
    if not owners:
        raise UnknownOwner("no owners configured: add them under [[owners]] in the config")
    if found:
        raise UnknownOwner(f"{typed!r} matches {len(found)} owners: {_listed(found)}; type more of the name or email")
    raise UnknownOwner(f"no owner matches {typed!r}; add them under [[owners]] in the config (known: {_listed(owners)})")


def _listed(owners: Sequence[Named]) -> str:
    by_name = sorted(owners, key=lambda o: (o.name.casefold(), o.email))
    return ", ".join(display_line(f"{o.name} <{o.email}>") for o in by_name)


# --- suggesting an owner for a hand-off ---------------------------------------------------------


@dataclass(frozen=True)
class OwnerChoice:
    """An owner the hand-off may go to, with how many open tickets they carry now."""

    name: str
    email: str
    team: str | None
    areas: tuple[str, ...]
    open_tickets: int


class TicketText(NamedTuple):
    """What owners' areas are matched against: the subject, and what the customer wrote."""

    subject: str
    body: str


@dataclass(frozen=True)
class AreaMatch:
    area: str
    in_subject: bool
    in_body: bool

    @property
    def weight(self) -> int:
        return SUBJECT_WEIGHT * self.in_subject + BODY_WEIGHT * self.in_body

    @property
    def where(self) -> str:
        return "subject" if self.in_subject else "body"


@dataclass(frozen=True)
class RankedOwner:
    owner: OwnerChoice
    matched: tuple[AreaMatch, ...]  # the owner's areas the ticket names, best first

    @property
    def score(self) -> int:
        return sum(match.weight for match in self.matched)

    @property
    def why(self) -> str:
        """The areas named, and where, for the picker: "search, indexing (subject), gitlab (body)"."""
        groups = {}
        for match in self.matched:
            groups.setdefault(match.where, []).append(match.area)
        return ", ".join(f"{', '.join(areas)} ({where})" for where, areas in groups.items())


def names_area(area: str, text: str) -> bool:
    """The area as whole words, in any case, singular or plural: 'search' in 'Regex searches',
    'upgrades' in 'Helm upgrade', 'helm' not in 'helmet'."""
    words = area.strip()
    if not words:
        return False
    pattern = rf"(?<!\w){re.escape(_singular(words))}(?:e?s)?(?!\w)"
    return re.search(pattern, text, re.IGNORECASE) is not None


def _singular(words: str) -> str:
    """'searches' -> 'search', 'upgrades' -> 'upgrade'; 'access' stays."""
    lower = words.lower()
    if lower.endswith("es") and lower[:-2].endswith(("s", "x", "ch", "sh")):
        return words[:-2]
    if lower.endswith("s") and not lower.endswith("ss"):
        return words[:-1]
    return words


def matched_areas(areas: Sequence[str], ticket: TicketText) -> tuple[AreaMatch, ...]:
    found = (AreaMatch(area.strip(), names_area(area, ticket.subject), names_area(area, ticket.body)) for area in areas)
    return tuple(sorted((match for match in found if match.weight), key=lambda match: -match.weight))


def rank_owners(owners: Sequence[OwnerChoice], ticket: TicketText) -> list[RankedOwner]:
    """Best first: how well the owner's areas match the ticket (an area in the subject weighs more
    than one in the body, and each area named adds), then the least loaded, then by name."""
    ranked = [RankedOwner(owner, matched_areas(owner.areas, ticket)) for owner in owners]
    ranked.sort(key=lambda r: (-r.score, r.owner.open_tickets, r.owner.name.casefold()))
    return ranked
