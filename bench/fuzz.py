"""Build many mutated copies of tests/sample_guide and report how each build ends.

    .venv/bin/python bench/fuzz.py [COUNT] [SEED]

Each guide is built by `leadguide build` in its own process, with a timeout and an
address-space cap. Reported: tracebacks, errors without ``path:line``, timeouts, peak memory,
and PDFs a failed build changed (every build starts from a known PDF at its output path).
"""
from __future__ import annotations

import concurrent.futures
import hashlib
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tests" / "sample_guide"
TIMEOUT = 90
MEMORY_CAP = 2 * 1024 ** 3
_LOCATED = re.compile(r"^\S.*?:\d+: \S")
_FILE_LEVEL = re.compile(r"^\S+: \S")
_PAGE_TABLE_ROW = re.compile(r"^\S+\s{2,}[\d–-]+\s")  # the rows under a page-promise error

_CHILD = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({cap}, {cap}))
from leadguide.cli import main
code = main(sys.argv[1:])
status = open("/proc/self/status").read().splitlines()  # VmHWM: this process only
print("PEAK_KB", next(l.split()[1] for l in status if l.startswith("VmHWM:")), file=sys.stderr)
sys.exit(code)
"""

WEIRD_VALUES = ["", "~", "0", "-1", "1e400", ".nan", ".inf", "[]", "{}", "[[[[[[]]]]]]",
                '"\\ud800"', '"\\u2028x"', "!!binary aGVsbG8=", "&a [*a]", "*nope", "'", '"',
                "|\n  multi\n  line", "yes", "2026-01-01", "0x10", "99999999999999999999",
                "\"<script>x</script>\"", "javascript:alert(1)", "../../etc/passwd",
                "\"{{ 7*7 }}\"", "\"{% include 'x' %}\"", "LGBLOCK7X", "\"\\0\"", "\t", "- - -"]
WEIRD_TEXT = ["\n" + ">" * 500 + " q\n", "\n" + "<div>" * 400 + "\n", "\n*" * 300,
              "\n{{ 1/0 }}\n", "\n{{ raise_error('x') }}\n", "\n{{ range(10**9)|list }}\n",
              "\n{{ 'x' * 10**9 }}\n", "\n{% include 'guide.html' %}\n", "\n{{ nope }}\n",
              "\n{{ cycler.__init__.__globals__ }}\n", "\n[x](javascript:alert(1))\n",
              '\n<a href="vbscript:x">x</a>\n', '\n<link rel="attachment" href="../guide.yaml">\n',
              "\n![x](../images/none.png)\n", "\n![x](/etc/hosts)\n", "\nLGBLOCK0X\n",
              "\n```\n{{ 1/0 }}\n```\n", "\n|a|\n|-|\n" + "|x|\n" * 200, "\n\x00\n",
              "\n{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}\n",
              "\n{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}\n", "\n\ud7ff\ufffe\n",
              "\n<img src=\"data:image/png;base64,AAAA\">\n", "\n" + "- x\n  " * 200 + "\n",
              "\n{{ guide.root }}\n", "\n{{ chapter.path }}\n", "\n<style>p{color:red}</style>\n"]
WEIRD_CSS = [":is(" * 300 + "p" + ")" * 300 + "{}", "p { color: " + "calc(" * 300 + "1" + ")" * 300
             + "}", "@import url(/etc/passwd);", "p { background: url(https://example.com/x) }",
             "@font-face { font-family: x; src: url(../../etc/passwd) }", "}}}}{{{{", "\ud800",
             "p { width: 1e999px }", "@page { size: 0 0 }", "@page { size: 1000000in }",
             "body { font-size: 0 }", "* { display: none }", "p::before { content: counter(x, "
             + "x" * 10000 + ") }"]


def _lines_with(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)


def mutate(guide: Path, rng: random.Random) -> str:
    """Apply one random mutation to ``guide``; return what it did."""
    yamls = [guide / "guide.yaml", *sorted((guide / "data").glob("*.yaml"))]
    chapters = sorted((guide / "chapters").glob("*.md"))
    kind = rng.choice(["yaml value", "yaml value", "yaml line", "front matter", "markdown",
                       "markdown", "template", "css", "file type", "bytes"])
    if kind == "yaml value":
        path = rng.choice(yamls)
        lines = _lines_with(path)
        index = rng.randrange(len(lines))
        key, sep, _ = lines[index].partition(":")
        value = rng.choice(WEIRD_VALUES)
        lines[index] = f"{key}{sep or ':'} {value}\n"
        path.write_text("".join(lines), encoding="utf-8", errors="surrogatepass")
        return f"{kind} {path.name}:{index + 1} = {value!r}"
    if kind == "yaml line":
        path = rng.choice(yamls)
        lines = _lines_with(path)
        index = rng.randrange(len(lines))
        action = rng.choice(["drop", "dup", "indent", "dedent"])
        if action == "drop":
            del lines[index]
        elif action == "dup":
            lines.insert(index, lines[index])
        elif action == "indent":
            lines[index] = "   " + lines[index]
        else:
            lines[index] = lines[index].lstrip()
        path.write_text("".join(lines), encoding="utf-8")
        return f"{kind} {action} {path.name}:{index + 1}"
    if kind == "front matter":
        path = rng.choice(chapters)
        text = path.read_text(encoding="utf-8")
        key = rng.choice(["title", "pages", "template", "opener", "toc", "summary", "bogus",
                          "templating"])
        value = rng.choice(WEIRD_VALUES)
        path.write_text(text.replace("---\n", f"---\n{key}: {value}\n", 1), encoding="utf-8",
                        errors="surrogatepass")
        return f"{kind} {path.name} {key} = {value!r}"
    if kind == "markdown":
        path = rng.choice(chapters)
        text = rng.choice(WEIRD_TEXT)
        with path.open("a", encoding="utf-8", errors="surrogatepass") as stream:
            stream.write(text)
        return f"{kind} {path.name} += {text[:40]!r}"
    if kind == "template":
        templates = guide / "templates"
        templates.mkdir(exist_ok=True)
        name = rng.choice(["cover.html", "chapter.html", "toc.html", "base.html", "macros.html"])
        body = rng.choice(WEIRD_TEXT + ["{% extends '" + name + "' %}", "{% include '" + name
                                        + "' %}", "{{ self._TemplateReference__context }}",
                                        "{% block body %}{% endblock %}"])
        (templates / name).write_text(body, encoding="utf-8", errors="surrogatepass")
        return f"{kind} {name} = {body[:40]!r}"
    if kind == "css":
        (guide / "styles").mkdir(exist_ok=True)
        css = rng.choice(WEIRD_CSS)
        name = rng.choice(["extra.css", "print.css", "theme.css"])
        (guide / "styles" / name).write_text(css, encoding="utf-8", errors="surrogatepass")
        return f"{kind} {name} = {css[:40]!r}"
    if kind == "file type":
        target = rng.choice([*chapters, *yamls[1:], guide / "images" / "mark.svg",
                             guide / "data" / "extra.yaml"])
        action = rng.choice(["folder", "dangling", "outside", "fifo", "empty", "loop"])
        if target.exists() or target.is_symlink():
            target.unlink()
        if action == "folder":
            target.mkdir()
        elif action == "dangling":
            target.symlink_to(guide / "nowhere")
        elif action == "outside":
            target.symlink_to("/etc/hostname")
        elif action == "fifo":
            os.mkfifo(target)
        elif action == "loop":
            target.symlink_to(target)
        else:
            target.write_bytes(b"")
        return f"{kind} {target.name} -> {action}"
    path = rng.choice([*chapters, *yamls])
    data = bytearray(path.read_bytes())
    action = rng.choice(["latin1", "utf16", "truncate", "flip", "bom"])
    if action == "latin1":
        data = data.replace(b"e", b"\xe9", 3)
    elif action == "utf16":
        data = bytearray(data.decode("utf-8").encode("utf-16"))
    elif action == "truncate":
        data = data[: rng.randrange(len(data))]
    elif action == "flip":
        data[rng.randrange(len(data))] = rng.randrange(256)
    else:
        data = bytearray(b"\xef\xbb\xbf") + data
    path.write_bytes(bytes(data))
    return f"bytes {path.name} {action}"


def run_one(index: int, seed: int, work: Path, reference: bytes) -> dict:
    rng = random.Random(seed * 100_003 + index)
    guide = work / f"g{index}" / "guide"
    shutil.copytree(SAMPLE, guide, symlinks=True)
    what = [mutate(guide, rng) for _ in range(rng.choice([1, 1, 2, 3]))]
    out = guide.parent / "out.pdf"
    out.write_bytes(reference)
    env = {**os.environ, "TMPDIR": str(guide.parent)}
    try:
        done = subprocess.run([sys.executable, "-c", _CHILD.format(cap=MEMORY_CAP), "build",
                               str(guide), "--out", str(out)], capture_output=True, text=True,
                              timeout=TIMEOUT, cwd=guide.parent, env=env)
    except subprocess.TimeoutExpired:
        return {"what": what, "outcome": "timeout"}
    peak = re.search(r"PEAK_KB (\d+)", done.stderr)
    result = {"what": what, "peak_mb": int(peak.group(1)) // 1024 if peak else None,
              "code": done.returncode}
    errors = [line for line in done.stderr.splitlines() if line.strip() and
              not line.startswith(("PEAK_KB", "Building ", "chapter ", "total "))
              and not _PAGE_TABLE_ROW.match(line)]
    if "Traceback" in done.stderr or done.returncode not in (0, 1):
        result.update(outcome="traceback", detail=done.stderr[-600:])
    elif done.returncode == 0:
        result["outcome"] = "built"
    else:
        firsts = [line for line in errors if not line.startswith((" ", "\t", "  "))]
        unlocated = [line for line in firsts if not _LOCATED.match(line)]
        result["outcome"] = "error"
        result["file_level"] = [line for line in unlocated if _FILE_LEVEL.match(line)]
        result["no_path"] = [line for line in unlocated if not _FILE_LEVEL.match(line)]
        if out.read_bytes() != reference:
            result["pdf_changed"] = True
    shutil.rmtree(guide.parent, ignore_errors=True)
    return result


def main(count: int = 300, seed: int = 9) -> None:
    work = Path(tempfile.mkdtemp(prefix="leadguide-fuzz-"))
    reference = hashlib.sha256(b"not a real pdf").hexdigest().encode() * 100
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda i: run_one(i, seed, work, reference), range(count)))
    shutil.rmtree(work, ignore_errors=True)
    outcomes = Counter(r["outcome"] for r in results)
    peaks = [r["peak_mb"] for r in results if r.get("peak_mb")]
    file_level = [line for r in results for line in r.get("file_level", [])]
    no_path = [(r["what"], line) for r in results for line in r.get("no_path", [])]
    changed = sum(1 for r in results if r.get("pdf_changed"))
    print(f"guides built: {count} (seed {seed}, timeout {TIMEOUT} s, cap "
          f"{MEMORY_CAP // 1024 ** 3} GB)")
    print(f"  built fine          {outcomes['built']}")
    print(f"  error messages      {outcomes['error']}")
    print(f"  tracebacks          {outcomes['traceback']}")
    print(f"  timeouts            {outcomes['timeout']}")
    print(f"  error lines without path:line  {len(no_path)} (file-level 'path: message', no "
          f"line to give: {len(file_level)})")
    print(f"  PDFs changed by a failed build {changed}")
    print(f"  peak memory         max {max(peaks, default=0)} MB, median "
          f"{sorted(peaks)[len(peaks) // 2] if peaks else 0} MB")
    for r in results:
        if r["outcome"] in ("traceback", "timeout"):
            print(f"\n{r['outcome']}: {r['what']}\n{r.get('detail', '')}")
    for what, line in no_path[:20]:
        print(f"\nno path:line: {what}\n  {line}")
    for line in sorted(set(file_level))[:15]:
        print(f"  file-level: {line}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
