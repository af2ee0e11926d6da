"""Finding tickets by their text: what the search bar (Store.search) and the query language's free
words (storage/query.py) share, so that both answer alike on SQLite (FTS5) and PostgreSQL (tsvector)."""

from __future__ import annotations

import re

SEARCH_WORD = re.compile(r"\w[\w@.+-]*", re.UNICODE)
_INDEXED_PART = re.compile(r"[^\W_]+")  # what both indexes keep of a word: runs of letters and digits


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
    parts = [found for word in words if (found := _INDEXED_PART.findall(word.lower()))]
    if not parts:  # only punctuation: nothing the indexes keep, the substring alone decides
        return in_ticket, [like] * 4
    if postgres:
        # The same words FTS5 sees (the schema strips punctuation); unlike FTS5, accents are not folded.
        if phrase:
            match = " <-> ".join(part for word in parts for part in word)
        else:  # a phrase per word, its last part a prefix
            match = " & ".join(f"({' <-> '.join(word)}:*)" for word in parts)
        in_messages = "SELECT ticket_id FROM message WHERE search @@ to_tsquery('simple', ?)"
        in_notes = "SELECT e.ticket_id FROM event e WHERE e.kind IN ('note', 'owner') AND e.search @@ to_tsquery('simple', ?)"
    else:
        phrases = [" ".join(word) for word in parts]  # FTS5 splits "pre-upgrade" the same way
        match = f'"{" ".join(phrases)}"' if phrase else " ".join(f'"{each}"*' for each in phrases)
        in_messages = "SELECT m.ticket_id FROM message_fts JOIN message m ON m.id = message_fts.rowid WHERE message_fts MATCH ?"
        in_notes = "SELECT e.ticket_id FROM note_fts JOIN event e ON e.id = note_fts.rowid WHERE note_fts MATCH ?"
    in_notes += f" AND {not_undone('e', postgres)}"
    return f"{in_messages} UNION {in_notes} UNION {in_ticket}", [match, match, like, like, like, like]
