"""The kit registry and the ``Kit`` record: what a kind of guide adds (schemas, macros, styles).

Kits themselves live in ``leadguide.kits``; this module loads one by name when a guide asks
for it, so reading a guide never imports a kit's insides.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from .yamlsource import FieldReader, LocatedDict

Validator = Callable[[LocatedDict, FieldReader], Any]

# name → the package holding its KIT
KITS: dict[str, str] = {"fitness": "leadguide.kits.fitness"}


@dataclass(frozen=True)
class Kit:
    """What a kit adds to a guide. ``folder`` holds ``templates/`` and ``styles/``."""

    name: str
    folder: Path
    schemas: Mapping[str, Validator] = field(default_factory=dict)  # data file stem → validate
    macros: tuple[str, ...] = ()       # template names, e.g. kits/fitness.html
    stylesheets: tuple[str, ...] = ()  # file names in styles/, loaded after print.css

    @property
    def templates_dir(self) -> Path:
        return self.folder / "templates"

    @property
    def styles_dir(self) -> Path:
        return self.folder / "styles"


def get_kit(name: str) -> Kit:
    """The registered kit called ``name`` (KeyError if there is none)."""
    return importlib.import_module(KITS[name]).KIT
