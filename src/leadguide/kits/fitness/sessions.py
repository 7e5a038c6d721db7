"""How long a session takes, computed from the program: sets × (work + rest), plus warm-up,
changeovers and cool-down, for each phase and for the 30-minute "short on time" version.

A couple sharing one set of equipment rests while the other lifts, so the table's rest is the
partner's set: the sum holds for two people as it does for one. Minutes round out to fives.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

_NUMBER = re.compile(r"\d+")


@dataclass(frozen=True)
class Timing:
    """The assumptions the sums use (program.yaml's ``timing:``)."""

    work_seconds: int = 45        # one set, its reps done
    warm_up_minutes: int = 8      # the first drill and the warm-up sets
    cool_down_minutes: int = 4    # the couch stretch
    change_seconds: int = 60      # moving to the next exercise, setting the weights
    short_sets: int = 2           # the short version: main lifts only, this many sets


def span(text: str) -> tuple[int, int]:
    """'3–4' → (3, 4); '90–150 s' → (90, 150); '2' → (2, 2)."""
    numbers = [int(n) for n in _NUMBER.findall(text or "")]
    if not numbers:
        return 0, 0
    return numbers[0], numbers[-1]


def round_out(low_seconds: float, high_seconds: float) -> tuple[int, int]:
    """Seconds to minutes, the low end down and the high end up to a multiple of five."""
    return 5 * math.floor(low_seconds / 300), 5 * math.ceil(high_seconds / 300)


def day_seconds(day, phase, rest: dict[str, str], timing: Timing) -> tuple[float, float]:
    """(shortest, longest) seconds one day takes in one phase."""
    low = high = 60 * (timing.warm_up_minutes + timing.cool_down_minutes)
    for item in day.exercises:
        if item.kind == "warmup":
            continue
        rx = phase.prescription(item.kind)
        sets = span(item.sets or rx.sets)
        pause = span(rest[item.kind])
        low += sets[0] * (timing.work_seconds + pause[0]) + timing.change_seconds
        high += sets[1] * (timing.work_seconds + pause[1]) + timing.change_seconds
    return low, high


def phase_minutes(program, phase) -> tuple[int, int]:
    """The phase's session length over its days, rounded out to fives."""
    spans = [day_seconds(day, phase, program.rest, program.timing) for day in program.days]
    return round_out(min(s[0] for s in spans), max(s[1] for s in spans))


def short_minutes(program, day) -> int:
    """The short version of a day: warm-up drill, then its main lifts for ``short_sets`` sets
    at the shortest rest; no accessories, no cool-down. Rounded up to a multiple of five."""
    timing = program.timing
    pause = span(program.rest["main"])[0]
    mains = [item for item in day.exercises if item.kind == "main"]
    seconds = 60 * timing.warm_up_minutes + len(mains) * (
        timing.short_sets * (timing.work_seconds + pause) + timing.change_seconds)
    return 5 * math.ceil(seconds / 300)
