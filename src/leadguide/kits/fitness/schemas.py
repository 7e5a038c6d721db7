"""The fitness kit's data files: program.yaml, exercises.yaml and nutrition.yaml, validated.

Each validate function reads one file's located mapping and returns frozen dataclasses; every
mapping rejects keys it does not know, with their line.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from ...guide.yamlsource import FieldReader, LocatedDict, LocatedList
from .nutrition import SEX_CONSTANT, EnergyPlan, cap_ceiling_lb, energy_plan
from .sessions import Timing, phase_minutes, short_minutes


@dataclass(frozen=True)
class Prescription:
    sets: str
    reps: str
    rir: str


@dataclass(frozen=True)
class Phase:
    name: str
    weeks: str
    focus: str
    main: Prescription
    accessory: Prescription

    def prescription(self, kind: str) -> Prescription:
        return self.main if kind == "main" else self.accessory


@dataclass(frozen=True)
class ProgramExercise:
    name: str
    kind: str
    home: str
    exercise: str | None
    sets: str | None
    reps: str | None


@dataclass(frozen=True)
class Day:
    id: str
    name: str
    exercises: tuple[ProgramExercise, ...]


@dataclass(frozen=True)
class WeekDay:
    day: str
    plan: str
    note: str


@dataclass(frozen=True)
class Retest:
    """The week-12 retest: a few lifts at the week-1 weight, stopped at ``rir``."""

    day: str = ""
    lifts: tuple[str, ...] = ()
    rir: str = ""


@dataclass(frozen=True)
class Program:
    weeks: int
    sessions_per_week: int
    rest: dict[str, str]
    phases: tuple[Phase, ...]
    days: tuple[Day, ...]
    week: tuple[WeekDay, ...] = ()
    timing: Timing = field(default_factory=Timing)
    retest: Retest = field(default_factory=Retest)

    def minutes(self, phase: Phase) -> tuple[int, int]:
        """How long a session of this phase takes, computed (sessions.phase_minutes)."""
        return phase_minutes(self, phase)

    def short_minutes(self, day: Day) -> int:
        """How long the day's short-on-time version takes (sessions.short_minutes)."""
        return short_minutes(self, day)

    def session_minutes(self) -> tuple[int, int]:
        """The shortest and longest session over every phase."""
        spans = [self.minutes(phase) for phase in self.phases]
        return min(s[0] for s in spans), max(s[1] for s in spans)

    def day(self, day_id: str) -> Day:
        for day in self.days:
            if day.id == day_id:
                return day
        raise LookupError(f"no day '{day_id}' in data/program.yaml "
                          f"(days: {', '.join(d.id for d in self.days)})")


@dataclass(frozen=True)
class Exercise:
    slug: str
    name: str
    purpose: str
    setup: str
    cues: tuple[str, ...]
    easier: str
    harder: str
    avoid: str
    caution: str
    evidence: str
    image_alt: str
    plan: str = ""  # where it goes when no program day lists it (a cool-down, an extra)


@dataclass(frozen=True)
class Exercises:
    items: tuple[Exercise, ...]

    def __iter__(self):
        return iter(self.items)

    def get(self, slug: str) -> Exercise:
        for exercise in self.items:
            if exercise.slug == slug:
                return exercise
        raise LookupError(f"no exercise '{slug}' in data/exercises.yaml")


@dataclass(frozen=True)
class Partner:
    id: str
    label: str
    sex: str
    weight_kg: float
    height_cm: float
    age: int
    deficit_kcal: int
    protein_g_per_kg: float
    protein_basis_kg: float
    plan: EnergyPlan

    @property
    def protein_basis(self) -> str:
        """What the protein is computed from, as the numbers box names it."""
        return "weight" if self.protein_basis_kg == self.weight_kg else "goal weight"


@dataclass(frozen=True)
class Meal:
    meal: str
    food: str
    protein_g: int


@dataclass(frozen=True)
class Nutrition:
    activity_factor: float
    partners: tuple[Partner, ...]
    sample_days: dict[str, tuple[Meal, ...]]
    grocery_list: tuple[tuple[str, tuple[str, ...]], ...]

    def partner(self, partner_id: str) -> Partner:
        for partner in self.partners:
            if partner.id == partner_id:
                return partner
        raise LookupError(f"no partner '{partner_id}' in data/nutrition.yaml")

    @property
    def cap_ceiling_lb(self) -> float:
        """The most the largest safe deficit (500 kcal) takes off in the 12 weeks."""
        return cap_ceiling_lb()

    @property
    def size_ratio(self) -> float:
        """The second partner's daily target over the first's: how much bigger his plate is."""
        first, second = self.partners[0].plan.target_kcal, self.partners[1].plan.target_kcal
        return round(second / first, 1)

    @property
    def protein_rule(self) -> float | None:
        """The one g/kg every partner's protein uses, or None when they differ."""
        rules = {partner.protein_g_per_kg for partner in self.partners}
        return rules.pop() if len(rules) == 1 else None

    def sample_day(self, partner_id: str) -> tuple[Meal, ...]:
        if partner_id not in self.sample_days:
            raise LookupError(f"no sample day for '{partner_id}' in data/nutrition.yaml")
        return self.sample_days[partner_id]


def items(reader: FieldReader, mapping: LocatedDict, key: str, known: set[str],
          where: str = "", optional: bool = False) -> Iterator[LocatedDict]:
    """Each mapping item of a list field, its unknown keys reported."""
    values = reader.get(mapping, key, list, [] if optional else FieldReader._MISSING, where)
    for index, item in enumerate(values or []):
        line = values.line_of(index) if isinstance(values, LocatedList) else mapping.line
        item = reader.mapping(item, f"'{key}' item {index + 1}", line)
        reader.unknown_keys(item, known, f"{key}[{index + 1}]")
        yield item


_PROGRAM = {"weeks", "sessions_per_week", "rest", "phases", "days", "week", "timing", "retest"}
_TIMING = {"work_seconds", "warm_up_minutes", "cool_down_minutes", "change_seconds",
           "short_sets"}
_RETEST = {"day", "lifts", "rir"}
KINDS = ("main", "accessory", "warmup")
_PHASE = {"name", "weeks", "focus", "main", "accessory"}
_RX = {"sets", "reps", "rir"}
_DAY = {"id", "name", "exercises"}
_PROGRAM_EXERCISE = {"name", "kind", "home", "exercise", "sets", "reps"}
_WEEK_DAY = {"day", "plan", "note"}


def validate_program(raw: LocatedDict, reader: FieldReader) -> Program:
    reader.unknown_keys(raw, _PROGRAM)
    phases = tuple(Phase(name=reader.get(p, "name", str), weeks=reader.get(p, "weeks", str),
                         focus=reader.get(p, "focus", str, ""),
                         main=_prescription(reader, p, "main"),
                         accessory=_prescription(reader, p, "accessory"))
                   for p in items(reader, raw, "phases", _PHASE))
    days = tuple(Day(id=reader.get(d, "id", str), name=reader.get(d, "name", str),
                     exercises=tuple(_program_exercise(reader, e) for e in
                                     items(reader, d, "exercises", _PROGRAM_EXERCISE)))
                 for d in items(reader, raw, "days", _DAY))
    rest = reader.mapping(reader.get(raw, "rest", dict, LocatedDict()), "rest", raw.line_of("rest"))
    reader.unknown_keys(rest, {"main", "accessory"}, "rest")
    week = tuple(WeekDay(day=reader.get(w, "day", str), plan=reader.get(w, "plan", str),
                         note=reader.get(w, "note", str, ""))
                 for w in items(reader, raw, "week", _WEEK_DAY, optional=True))
    return Program(weeks=reader.get(raw, "weeks", int, 12),
                   sessions_per_week=reader.get(raw, "sessions_per_week", int, 3),
                   rest={**{kind: reader.get(rest, kind, str, where="rest") for kind in
                            ("main", "accessory")}, "warmup": ""},
                   phases=phases, days=days, week=week, timing=_timing(raw, reader),
                   retest=_retest(raw, reader))


def _timing(raw: LocatedDict, reader: FieldReader) -> Timing:
    section = reader.mapping(reader.get(raw, "timing", dict, LocatedDict()), "timing",
                             raw.line_of("timing"))
    reader.unknown_keys(section, _TIMING, "timing")
    values = {key: reader.get(section, key, int, getattr(Timing, key), "timing")
              for key in _TIMING}
    for key, value in values.items():
        if value is not None and value < 0:
            reader.fail(f"'timing.{key}' must be 0 or more", section.line_of(key))
    return Timing(**{key: value for key, value in values.items() if value is not None})


def _retest(raw: LocatedDict, reader: FieldReader) -> Retest:
    section = reader.mapping(reader.get(raw, "retest", dict, LocatedDict()), "retest",
                             raw.line_of("retest"))
    reader.unknown_keys(section, _RETEST, "retest")
    lifts = tuple(str(lift) for lift in reader.get(section, "lifts", list, [], "retest"))
    return Retest(day=reader.get(section, "day", str, "", "retest"), lifts=lifts,
                  rir=reader.get(section, "rir", str, "", "retest"))


def _prescription(reader: FieldReader, phase: LocatedDict, kind: str) -> Prescription:
    rx = reader.mapping(reader.get(phase, kind, dict, LocatedDict()), kind, phase.line_of(kind))
    reader.unknown_keys(rx, _RX, kind)
    return Prescription(*(reader.get(rx, key, str, where=kind) or "" for key in
                          ("sets", "reps", "rir")))


def _program_exercise(reader: FieldReader, item: LocatedDict) -> ProgramExercise:
    kind = reader.get(item, "kind", str, "main")
    if kind not in KINDS:
        reader.fail(f"'kind' must be main, accessory or warmup, not '{kind}'",
                    item.line_of("kind"))
    return ProgramExercise(name=reader.get(item, "name", str), kind=kind,
                           home=reader.get(item, "home", str),
                           exercise=reader.get(item, "exercise", str, None),
                           sets=reader.get(item, "sets", str, None),
                           reps=reader.get(item, "reps", str, None))


_EXERCISE_TEXT = ("slug", "name", "purpose", "setup", "easier", "harder", "avoid", "image_alt")
_EXERCISE = {*_EXERCISE_TEXT, "cues", "caution", "evidence", "plan"}


def validate_exercises(raw: LocatedDict, reader: FieldReader) -> Exercises:
    reader.unknown_keys(raw, {"exercises"})
    found = []
    for item in items(reader, raw, "exercises", _EXERCISE):
        text = {key: reader.get(item, key, str) or "" for key in _EXERCISE_TEXT}
        cues = reader.get(item, "cues", list, [])
        found.append(Exercise(cues=tuple(str(cue) for cue in cues),
                              caution=reader.get(item, "caution", str, ""),
                              evidence=reader.get(item, "evidence", str, ""),
                              plan=reader.get(item, "plan", str, ""), **text))
    return Exercises(tuple(found))


_NUTRITION = {"activity_factor", "partners", "sample_days", "grocery_list"}
_PARTNER = {"id", "label", "sex", "weight_kg", "height_cm", "age", "deficit_kcal",
            "protein_g_per_kg", "protein_basis_kg"}
_MEAL = {"meal", "food", "protein_g"}


def validate_nutrition(raw: LocatedDict, reader: FieldReader) -> Nutrition:
    reader.unknown_keys(raw, _NUTRITION)
    factor = reader.get(raw, "activity_factor", float, 1.55)
    if not 1.0 <= factor <= 2.5:
        reader.fail(f"'activity_factor' must be between 1.0 (no exercise) and 2.5 (hard "
                    f"training twice a day), not {factor}", raw.line_of("activity_factor"))
        factor = 1.55
    partners = tuple(p for p in (_partner(reader, item, factor)
                                 for item in items(reader, raw, "partners", _PARTNER)) if p)
    days = reader.mapping(reader.get(raw, "sample_days", dict, LocatedDict()), "sample_days")
    sample_days = {pid: tuple(Meal(meal=reader.get(m, "meal", str),
                                   food=reader.get(m, "food", str),
                                   protein_g=reader.get(m, "protein_g", int, 0))
                              for m in items(reader, days, pid, _MEAL, "sample_days"))
                   for pid in days}
    grocery = tuple((reader.get(g, "aisle", str),
                     tuple(str(i) for i in reader.get(g, "items", list, [])))
                    for g in items(reader, raw, "grocery_list", {"aisle", "items"}))
    return Nutrition(activity_factor=factor, partners=partners, sample_days=sample_days,
                     grocery_list=grocery)


def _partner(reader: FieldReader, item: LocatedDict, factor: float) -> Partner | None:
    before = len(reader.errors)
    values = dict(id=reader.get(item, "id", str), label=reader.get(item, "label", str),
                  sex=reader.get(item, "sex", str), weight_kg=reader.get(item, "weight_kg", float),
                  height_cm=reader.get(item, "height_cm", float), age=reader.get(item, "age", int),
                  deficit_kcal=reader.get(item, "deficit_kcal", int),
                  protein_g_per_kg=reader.get(item, "protein_g_per_kg", float),
                  protein_basis_kg=reader.get(item, "protein_basis_kg", float, None))
    if values["sex"] is not None and values["sex"] not in SEX_CONSTANT:
        reader.fail(f"'sex' must be female or male, not '{values['sex']}'", item.line_of("sex"))
    for key in ("weight_kg", "height_cm", "age", "protein_g_per_kg"):
        if values[key] is not None and values[key] <= 0:
            reader.fail(f"'{key}' must be greater than 0", item.line_of(key))
    if len(reader.errors) > before:
        return None
    values["protein_basis_kg"] = values["protein_basis_kg"] or values["weight_kg"]
    plan = energy_plan(values["sex"], values["weight_kg"], values["height_cm"], values["age"],
                       factor, values["deficit_kcal"], values["protein_g_per_kg"],
                       values["protein_basis_kg"])
    if plan.maintenance_kcal <= 0 or plan.target_kcal <= 0:
        reader.fail(f"these numbers give {plan.maintenance_kcal} kcal a day to maintain and "
                    f"{plan.target_kcal} to eat: check weight_kg, height_cm, age and "
                    "deficit_kcal", item.line)
        return None
    if not plan.deficit_in_range:
        low, high = plan.deficit_range_kcal
        reader.fail(f"'deficit_kcal' {values['deficit_kcal']} is outside the safe range {low}–{high} "
                    "for this partner (300–500 kcal or 10–20 % of maintenance, whichever is "
                    "smaller)", item.line_of("deficit_kcal"))
        return None
    return Partner(plan=plan, **values)
