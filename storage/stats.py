"""Metrics: how fast tickets are answered and resolved, and how often the SLA is kept."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .sla import SEVERITY_LEVELS, TargetState
from .views import TicketView

SEVERITY_KEYS = (*(str(level) for level in SEVERITY_LEVELS), "untriaged")


@dataclass(frozen=True)
class Spread:
    count: int
    median_seconds: float | None
    p90_seconds: float | None

    def as_json(self) -> dict:
        return {"count": self.count, "median_seconds": self.median_seconds, "p90_seconds": self.p90_seconds}


@dataclass(frozen=True)
class Attainment:
    met: int
    missed: int  # includes targets still running but already past due: they can no longer be met

    @property
    def rate(self) -> float | None:
        decided = self.met + self.missed
        return round(self.met / decided, 4) if decided else None

    def as_json(self) -> dict:
        return {"met": self.met, "missed": self.missed, "rate": self.rate}


def spread(seconds: Sequence[float]) -> Spread:
    if not seconds:
        return Spread(0, None, None)
    ordered = sorted(seconds)
    p90 = ordered[0] if len(ordered) == 1 else statistics.quantiles(ordered, n=10, method="inclusive")[8]
    return Spread(len(ordered), round(statistics.median(ordered), 1), round(p90, 1))


def attainment(targets: Iterable[TargetState | None]) -> Attainment:
    outcomes = Counter(target.status for target in targets if target is not None)
    return Attainment(met=outcomes["met"], missed=outcomes["missed"] + outcomes["breached"])


def compute_stats(views: Sequence[TicketView]) -> dict:
    """Automated tickets (auto-replies, bounces, lists) carry no SLA and stay out of the figures."""
    human = [view for view in views if view.automated is None]
    response_times = [
        (view.first_response_at - view.created_at).total_seconds() for view in human if view.first_response_at
    ]
    resolution_times = [(view.resolved_at - view.created_at).total_seconds() for view in human if view.resolved_at]
    by_severity = {key: [v for v in human if _severity_key(v) == key] for key in SEVERITY_KEYS}
    return {
        "tickets": {
            "total": len(views),
            "automated": len(views) - len(human),
            "by_state": dict(Counter(view.state for view in human)),
            "untriaged_open": sum(1 for v in by_severity["untriaged"] if v.state != "resolved"),
        },
        "response_time": spread(response_times).as_json(),
        "resolution_time": spread(resolution_times).as_json(),
        "attainment": {
            key: {
                "tickets": len(group),
                "response": attainment(v.sla.response for v in group).as_json(),
                "resolution": attainment(v.sla.resolution for v in group).as_json(),
            }
            for key, group in by_severity.items()
        },
    }


def _severity_key(view: TicketView) -> str:
    return str(view.severity) if view.severity else "untriaged"
