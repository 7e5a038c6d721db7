"""What the workers' sweep does besides queueing lost emails again: plan the follow-up steps
now due (sequence.py) and put them on the queue, and deliver the outbound webhooks
(webhooks.py). One process at a time runs them (the sweep's lock)."""
from __future__ import annotations

import os
from typing import Callable

from .sequence import Step, plan_due
from .service import Service
from .webhooks import FIRST_DELAY, collect, deliver_due, load_webhooks


def periodic_work(service: Service, steps: tuple[Step, ...]) -> tuple[Callable[[], object], ...]:
    def plan() -> int:
        due = plan_due(service.ledger.store, service.guide, steps)
        service.record(due)
        return len(due)

    hooks = load_webhooks(service.config)
    if hooks is None:
        return (plan,)

    def webhooks() -> dict[str, int]:
        collect(service.ledger.store, service.guide, hooks)
        return deliver_due(service.ledger.store, hooks, first_delay=_first_delay())

    return plan, webhooks


def _first_delay() -> float:
    """webhooks.FIRST_DELAY, or LEADGUIDE_WEBHOOK_RETRY_SECONDS (the tests' shorter wait)."""
    try:
        return max(0.1, float(os.environ.get("LEADGUIDE_WEBHOOK_RETRY_SECONDS", FIRST_DELAY)))
    except ValueError:
        return FIRST_DELAY
