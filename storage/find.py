"""Running a query of the query language (storage/query.py) on the store."""

from __future__ import annotations

from peewee import SQL

from .config import who_are_you
from .models import Ticket
from .query import Query, QueryError, parse_query
from .store import Store
from .views import TicketView, views_where


def find(store: Store, query: Query | str, *, include_resolved: bool = False, limit: int | None = None) -> list[TicketView]:
    """The tickets the query selects, most urgent first. Resolved ones count when a state: term
    names them, or with `include_resolved`; `limit`: at most that many (the newest resolved ones
    after every other). QueryError for a query that can't be read, or owner:me while [me] is unknown."""
    if isinstance(query, str):
        query = parse_query(query)
    config, now = store.config, store.clock.now()
    if (asking := query.unknown_me(config)) is not None:
        raise QueryError(who_are_you(config), asking.source, asking.start)
    sql, params = query.ticket_ids_sql(config, now, store.on_postgres, include_resolved)
    chosen = Ticket.id.in_(SQL(f"({sql})".replace("?", store.db.param), params))
    if limit is None:
        views = views_where(config, now, chosen)
    else:  # every unresolved one may be among the most urgent; of the resolved, the newest come first
        views = views_where(config, now, chosen & (Ticket.state != "resolved"))
        views += views_where(config, now, chosen & (Ticket.state == "resolved"), newest=limit)
    views = [view for view in views if query.holds_on_clock(view, now, config)]
    views.sort(key=lambda view: (view.urgency(), view.id))  # the same order on every backend
    return views if limit is None else views[:limit]
