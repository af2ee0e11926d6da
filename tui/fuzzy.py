"""Fuzzy matching for the pickers: every typed word must appear in order, letters may be skipped.

"bex" finds "Bob Example", "k8 helm" finds an owner with "k8s" and "helm" among their areas. The
score only orders the matches: letters at the start of a word and runs of adjacent letters count
most, so "he" ranks "helm" above "the storage".
"""

from __future__ import annotations

from collections.abc import Sequence

_MATCH = 1
_WORD_START = 6  # the first letter of a word, as in initials
_ADJACENT = 8  # right after the previous matched letter: "helm" beats "h e l m"
_NONE = -(10**9)


def fuzzy_score(query: str, text: str) -> int | None:
    """How well `query` matches `text` (higher is better), or None when it does not match.

    Case-insensitive; each whitespace-separated word of the query must match on its own, so word
    order does not matter. An empty query matches everything with score 0.
    """
    haystack = text.casefold()
    total = 0
    for word in query.casefold().split():
        score = _word_score(word, haystack)
        if score is None:
            return None
        total += score
    return total


def _word_score(word: str, text: str) -> int | None:
    """The best alignment of `word` as a subsequence of `text` (a small dynamic programme)."""
    starts = [index == 0 or not text[index - 1].isalnum() for index in range(len(text))]
    # best[j]: the best score with the letters so far matched and the last one at text[j].
    best = [_NONE] * len(text)
    for position, letter in enumerate(word):
        row = [_NONE] * len(text)
        before = 0 if position == 0 else _NONE  # the best score ending strictly left of j - 1
        for j, char in enumerate(text):
            if char == letter:
                gain = _MATCH + (_WORD_START if starts[j] else 0)
                adjacent = best[j - 1] + _ADJACENT if position and j and best[j - 1] > _NONE else _NONE
                previous = max(before, adjacent)
                if previous > _NONE:
                    row[j] = previous + gain
            if position and j:
                before = max(before, best[j - 1])
        best = row
    score = max(best, default=_NONE)
    return score if score > _NONE else None


def fuzzy_fields_score(query: str, fields: Sequence[str]) -> int | None:
    """Like fuzzy_score over several fields (name, team, email…), each query word matching inside
    one field: "bill" finds the billing area, not b-i-l-l picked across a whole record."""
    total = 0
    for word in query.split():
        scores = [score for field in fields if (score := fuzzy_score(word, field)) is not None]
        if not scores:
            return None
        total += max(scores)
    return total
