"""What the workers' sweep does besides queueing lost emails again: plan the follow-up steps
now due (sequence.py) and put them on the queue, and deliver the outbound webhooks
(webhooks.py). One process at a time runs them (the sweep's lock)."""
from __future__ import annotations

from typing import Callable

from .sequence import Step, plan_due
from .service import Service


def periodic_work(service: Service, steps: tuple[Step, ...]) -> tuple[Callable[[], object], ...]:
    def plan() -> int:
        due = plan_due(service.ledger.store, service.guide, steps)
        service.record(due)
        return len(due)

    return (plan,)
