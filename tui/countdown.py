"""How a clock's status reads at a glance beside its countdown (storage/sla.py format_span)."""

from __future__ import annotations

# Short status words beside a countdown, so it reads without colour too.
STATUS_LABEL = {"breached": "LATE", "at_risk": "RISK", "ok": "ok", "paused": "wait", "met": "", "missed": ""}
