"""Finding tickets by their text: what the search bar (Store.search) and the query language's free
words (storage/query.py) share, so that both answer alike on SQLite (FTS5) and PostgreSQL (tsvector)."""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable

SEARCH_WORD = re.compile(r"\w[\w@.+-]*", re.UNICODE)
_INDEXED_PART = re.compile(r"[^\W_]+")  # what both indexes keep of a word: runs of letters and digits
# PostgreSQL refuses a tsvector holding a longer word, or over 1 MB (2**20 - 1 bytes) of words and positions.
_WORD_BYTES = 2046
_VECTOR_BYTES = 1_040_000
_POSITIONS_KEPT = 256  # per word; PostgreSQL keeps no more
_LAST_POSITION = 16383  # later words count as here, once
_COUNT = struct.Struct(">i")
_ONE_POSITION = struct.Struct(">xHH")  # the word's closing NUL, 1, its position


def search_vector(text: str) -> bytes:
    """The words of `text` as the search finds them (lower-cased runs of letters and digits),
    numbered for phrases: the message index on PostgreSQL, in tsvector's binary form, which COPY
    takes as it is. Built here, not by to_tsvector in the server, which cost half of storing a sync
    there; binary, the server has no text to parse. A word too long to index is left out, and so
    is whatever comes after 1 MB of words."""
    lowered = text.lower()
    words = _INDEXED_PART.findall(lowered)
    numbered: Iterable[tuple[int, str]] = enumerate(words, 1)
    if words and (4 * len(lowered) + 5 * len(words) > _VECTOR_BYTES or 4 * max(map(len, words)) > _WORD_BYTES):
        numbered = _within_limits(numbered)
    positions: dict[str, list[int]] = {}
    for position, word in numbered:
        kept = positions.get(word)
        if kept is None:
            positions[word] = [position]
        elif len(kept) < _POSITIONS_KEPT:
            kept.append(position)
    # Where the text form would be cut by the server, the binary form must be cut here: positions
    # rise, and the ones past 16383 are one at 16383.
    past_last = len(words) > _LAST_POSITION
    parts = [_COUNT.pack(len(positions))]  # the server sorts the words
    for word, kept in positions.items():
        parts.append(word.encode())
        if past_last and kept[-1] > _LAST_POSITION:
            kept = [position for position in kept if position < _LAST_POSITION] + [_LAST_POSITION]
        if len(kept) == 1:
            parts.append(_ONE_POSITION.pack(1, kept[0]))
        else:
            parts.append(struct.pack(f">xH{len(kept)}H", len(kept), *kept))
    return b"".join(parts)


def _within_limits(numbered: Iterable[tuple[int, str]]) -> list[tuple[int, str]]:
    """What a tsvector can hold, counted as PostgreSQL stores it: each word, aligned to 2 bytes,
    then the count of its positions and 2 bytes each."""
    kept, seen, size = [], {}, 0
    for position, word in numbered:
        times = seen.get(word, 0)
        if times == 0:
            length = len(word.encode())
            if length > _WORD_BYTES:
                continue
            size += length + 5
        elif times < _POSITIONS_KEPT:
            size += 2
        else:
            continue
        if size > _VECTOR_BYTES:
            break
        seen[word] = times + 1
        kept.append((position, word))
    return kept


def not_undone(event: str, postgres: bool) -> str:
    """SQL holding when the event aliased `event` (a note, a hand-off) was not undone since."""
    undid = "u.data::json ->> 'undid' = {e}.id::text" if postgres else "json_extract(u.data, '$.undid') = {e}.id"
    return (
        f"NOT EXISTS (SELECT 1 FROM event u WHERE u.ticket_id = {event}.ticket_id AND u.kind = 'undo' "
        f"AND {undid.format(e=event)})"
    )


def escape_like(text: str) -> str:
    """The text as a LIKE ... ESCAPE '\\' pattern matching just itself: its wildcards taken literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def like_pattern(text: str) -> str:
    """`%text%` for LIKE ... ESCAPE '\\': the text anywhere."""
    return f"%{escape_like(text)}%"


def _indexed_parts(word: str) -> list[str]:
    """The runs of letters and digits an index keeps of a searched word (quote-free: the PostgreSQL
    query is written from them)."""
    return [part for part in _INDEXED_PART.findall(word.lower()) if len(part.encode()) <= _WORD_BYTES]


def tickets_with_text(text: str, postgres: bool, phrase: bool = False) -> tuple[str, list]:
    """SQL selecting the ids of tickets whose messages, requester, customer or subject, or one of
    whose notes (internal, or given with a hand-off, and not undone), hold every word of `text`;
    `?` marks its parameters, returned with it. The words are prefixes; with `phrase` they must
    appear whole and in this order. The requester, customer and subject match the words as one
    substring (case-insensitive for ASCII)."""
    words = SEARCH_WORD.findall(text)
    like_op = "ILIKE" if postgres else "LIKE"
    like = like_pattern(text.strip() if phrase else " ".join(words))
    in_ticket = (
        f"SELECT t.id FROM ticket t LEFT JOIN customer c ON c.id = t.customer_id "
        f"WHERE t.requester_email {like_op} ? ESCAPE '\\' OR t.requester_name {like_op} ? ESCAPE '\\' "
        f"OR c.name {like_op} ? ESCAPE '\\' OR t.subject {like_op} ? ESCAPE '\\'"
    )
    parts = [found for word in words if (found := _indexed_parts(word))]
    if not parts:  # only punctuation: nothing the indexes keep, the substring alone decides
        return in_ticket, [like] * 4
    if postgres:
        # The same words FTS5 sees, as search_vector keeps them; unlike FTS5, accents are not folded.
        quoted = [[f"'{part}'" for part in word] for word in parts]
        if phrase:
            match = " <-> ".join(part for word in quoted for part in word)
        else:  # a phrase per word, its last part a prefix
            match = " & ".join(f"({' <-> '.join(word)}:*)" for word in quoted)
        in_messages = "SELECT ticket_id FROM message WHERE search @@ ?::tsquery"
        in_notes = "SELECT e.ticket_id FROM event e WHERE e.kind IN ('note', 'owner') AND e.search @@ ?::tsquery"
    else:
        phrases = [" ".join(word) for word in parts]  # FTS5 splits "pre-upgrade" the same way
        match = f'"{" ".join(phrases)}"' if phrase else " ".join(f'"{each}"*' for each in phrases)
        in_messages = "SELECT m.ticket_id FROM message_fts JOIN message m ON m.id = message_fts.rowid WHERE message_fts MATCH ?"
        in_notes = "SELECT e.ticket_id FROM note_fts JOIN event e ON e.id = note_fts.rowid WHERE note_fts MATCH ?"
    in_notes += f" AND {not_undone('e', postgres)}"
    return f"{in_messages} UNION {in_notes} UNION {in_ticket}", [match, match, like, like, like, like]
