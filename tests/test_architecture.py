"""The layout a newcomer reads: one package per stage, imports only going down the stages.

The layers are declared once, in pyproject.toml's ``[tool.importlinter]``; these tests run it
(and show that it fails on an upward import), and check what import-linter cannot: no private
name crosses a module, every package says what it owns, docs/DEVELOPING.md maps every package.
"""
from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "leadguide"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(source_root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), str(REPO / "pyproject.toml"), "--no-cache"],
                          capture_output=True, text=True, timeout=300,
                          cwd=REPO, env={"PYTHONPATH": str(source_root), "PATH": "/usr/bin:/bin"})


def test_imports_only_go_down_the_stages():
    done = _lint_imports(REPO / "src")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize("module, upward, named", [
    # a lower stage reaching up
    ("guide/config.py", "from ..build import build", "leadguide.guide.config -> leadguide.build"),
    # a cache woven into a stage instead of wrapped around it
    ("html/assemble.py", "from ..cache.chapters import ChapterCache",
     "leadguide.html.assemble -> leadguide.cache.chapters"),
    # a cycle inside a package
    ("pdf/structtree.py", "from .tags import fix_tags", ".structtree -> .tags"),
])
def test_an_upward_import_or_a_cycle_fails_naming_the_import(tmp_path, module, upward, named):
    copy = tmp_path / "src"
    shutil.copytree(PACKAGE, copy / "leadguide", ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / "leadguide" / module
    text = target.read_text(encoding="utf-8")
    first_import = text.index("\nfrom ")
    target.write_text(text[:first_import] + "\n" + upward + text[first_import:], encoding="utf-8")
    done = _lint_imports(copy)
    assert done.returncode != 0
    assert named in done.stdout, done.stdout


def _modules() -> list[tuple[Path, str, bool]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        found.append((path, ".".join(parts[:-1] if is_package else parts), is_package))
    return found


def _imported_from(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_no_private_name_is_used_from_another_module():
    crossings = []
    module_names = {name for _, name, _ in _modules()}
    for path, module, is_package in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported_modules = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                source = _imported_from(node, module, is_package)
                if not source.startswith("leadguide"):
                    continue
                for alias in node.names:
                    if f"{source}.{alias.name}" in module_names:
                        imported_modules.add(alias.asname or alias.name)
                    elif _is_private(alias.name) and source != module:
                        crossings.append(f"{path.relative_to(REPO)}:{node.lineno}: "
                                         f"{alias.name} from {source}")
            elif isinstance(node, ast.Import):
                imported_modules.update(a.asname for a in node.names
                                        if a.name.startswith("leadguide") and a.asname)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in imported_modules and _is_private(node.attr)):
                crossings.append(f"{path.relative_to(REPO)}:{node.lineno}: "
                                 f"{node.value.id}.{node.attr}")
    assert not crossings, "\n".join(crossings)


def _packages() -> list[Path]:
    return sorted(p.parent for p in PACKAGE.glob("*/__init__.py"))


def test_every_package_says_in_one_line_what_it_owns():
    for package in _packages():
        doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text(encoding="utf-8")))
        assert doc and doc.splitlines()[0].strip(), f"{package.name}/__init__.py has no docstring"
        assert len(doc.splitlines()[0]) > 30, f"{package.name}: say what it owns and hands on"


def test_every_module_opens_with_a_docstring():
    bare = [str(path.relative_to(REPO)) for path, _, _ in _modules()
            if not ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))]
    assert not bare, bare


def test_the_developers_map_has_one_row_per_package_and_top_module():
    text = (REPO / "docs" / "DEVELOPING.md").read_text(encoding="utf-8")
    section = text.split("## The map", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([\w./]+)` \|", section, flags=re.MULTILINE)
    expected = {f"{p.name}/" for p in _packages()} | {
        p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py")}
    assert sorted(rows) == sorted(set(rows)), "a row is repeated"
    assert set(rows) == expected


def test_every_library_the_code_imports_is_a_dependency_of_the_package():
    """What `make pdf` installs (pyproject's dependencies, not the test extras) is all the
    code imports: httpx, imported by the signup service's webhooks, was a test dependency
    only, so a plain install could not start `signup serve`."""
    import importlib.metadata
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = {_distribution_name(spec) for spec in project["dependencies"]}
    owners = importlib.metadata.packages_distributions()
    missing = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0
                     and node.module else [])
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top == "leadguide":
                    continue
                found = {_distribution_name(d) for d in owners.get(top, [top])}
                if not found & declared:
                    missing.setdefault(top, path.relative_to(REPO).as_posix())
    assert missing == {}, missing


def _distribution_name(spec: str) -> str:
    return re.split(r"[\s<>=!~;\[]", spec, maxsplit=1)[0].lower().replace("_", "-")
