"""WeasyPrint's native libraries (Pango, HarfBuzz, fontconfig, GObject), loaded on Linux
without running a compiler.

WeasyPrint 70 (``weasyprint/text/ffi.py``) tries several names per library, Windows and macOS
ones first (``libgobject-2.0-0``, ``gobject-2.0-0``, ``gobject-2.0``, then the soname
``libgobject-2.0.so.0``). cffi's ``dlopen`` hands every name it cannot open to
``ctypes.util.find_library``, which on Linux runs ``ldconfig -p``, then ``gcc`` and ``ld`` on
a temporary file: 22 lookups and 16 compiler runs, about 0.3 s of every process start, and
empty temporary files left behind when the process is killed. Every list holds the soname,
which ``dlopen`` opens directly, so while that one module runs, ``find_library`` answers
"not found" at once. WeasyPrint has no setting for this (``WEASYPRINT_DLL_DIRECTORIES`` is
for Windows only). Should no name open that way, the module runs again with the real lookup.
"""
from __future__ import annotations

import ctypes.util
import importlib.abc
import importlib.machinery
import sys
from types import ModuleType

MODULE = "weasyprint.text.ffi"


class _WithoutLookup(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader):
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        found = ctypes.util.find_library
        ctypes.util.find_library = lambda name: None
        try:
            self.loader.exec_module(module)
            return
        except OSError:
            pass  # a library only the full lookup finds
        finally:
            ctypes.util.find_library = found
        self.loader.exec_module(module)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path, target=None) -> importlib.machinery.ModuleSpec | None:
        if fullname != MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _WithoutLookup(spec.loader)
        return spec


def load_libraries_directly() -> None:
    """Install the finder (Linux only; idempotent; before WeasyPrint is first imported)."""
    if sys.platform.startswith("linux") and MODULE not in sys.modules and \
            not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
