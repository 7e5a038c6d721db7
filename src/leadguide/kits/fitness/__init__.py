"""The fitness kit: training programs, exercise libraries, nutrition numbers and their trackers."""
from __future__ import annotations

from pathlib import Path

from ...guide.kit import Kit
from .schemas import validate_exercises, validate_nutrition, validate_program

KIT = Kit(
    name="fitness",
    folder=Path(__file__).resolve().parent,
    schemas={"program": validate_program, "exercises": validate_exercises,
             "nutrition": validate_nutrition},
    macros=("kits/fitness.html",),
    stylesheets=("fitness.css",),
)
