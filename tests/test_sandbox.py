"""Templates are untrusted code: escapes are refused, and runaway work ends in a message.

ESCAPES is the list of sandbox-escape attempts; each one is tried in a chapter, in a guide's
own page template and in the email templates' environment (with the raw config in the
context, as the email side once passed it). An attempt "gets through" when the rendered text
holds the secret file, the secret environment variable, a Python internal (class, module,
function) or when its shell command ran.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from leadguide.build import build, read_sources
from leadguide.errors import GuideError, TemplateError
from leadguide.guide.chapters import Chapter
from leadguide.guide.config import load_config
from leadguide.html.assemble import make_environment, render_page, template_context
from leadguide.html.chapter import render_chapter
from leadguide.html.meter import MAX_TEXT
from leadguide.html.sandbox import make_sandbox
from leadguide.html.values import plain

SECRET_FILE_TEXT = "CANARY-FILE-7f3a"
SECRET_ENV_TEXT = "CANARY-ENV-91b2"

ESCAPES = [
    # the issue's own three
    '{{ cycler.__init__.__globals__.os.popen("touch PWNED").read() }}',
    '{{ lipsum.__globals__["os"].environ["LG_CANARY_SECRET"] }}',
    '{{ guide.root.parent.joinpath("secret.txt").read_text() }}',
    # classic MRO / subclasses walks
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''.__class__.__base__.__subclasses__() }}",
    "{{ ''['__class__']['__mro__'][1]['__subclasses__']() }}",
    "{{ ()|attr('__class__')|attr('__base__')|attr('__subclasses__') }}",
    "{{ (()|attr('__class__')).mro() }}",
    "{{ [].__class__.__mro__ }}",
    "{{ {}.__class__.__init__.__globals__ }}",
    "{{ 1 .__class__.__subclasses__() }}",
    "{{ (1).real.__class__ }}",
    # functions' globals and code
    "{{ raise_error.__globals__ }}",
    "{{ raise_error.__globals__['os'].popen('touch PWNED').read() }}",
    "{{ raise_error|attr('__globals__') }}",
    "{{ raise_error.__code__.co_consts }}",
    "{{ range.__globals__ }}",
    "{{ range.__self__ }}",
    "{{ dict.__init__.__globals__ }}",
    "{{ dict.mro() }}",
    "{{ dict.__subclasses__() }}",
    "{{ namespace.__init__.__globals__['os'].environ }}",
    "{{ namespace.__class__ }}",
    "{{ joiner.__init__.__globals__.os.popen('touch PWNED').read() }}",
    "{{ cycler.__init__.__globals__.__builtins__.open('../secret.txt').read() }}",
    "{{ cycler().__class__.__init__.__globals__ }}",
    "{{ lipsum(1) }}{{ lipsum.__globals__ }}",
    # format-string attacks
    "{{ '{0.__class__}'.format('') }}",
    "{{ '{0.__class__.__mro__[1].__subclasses__}'.format('') }}",
    "{{ '{0.__globals__}'.format(raise_error) }}",
    "{{ '{0.__globals__[os].environ}'.format(raise_error) }}",
    "{{ '{0[__class__]}'.format({}) }}",
    "{{ '{x.__class__}'.format_map({'x': ''}) }}",
    "{{ ('{0.__init__.__globals__}'|safe).format(cycler) }}",
    "{{ ''.format.__self__.__class__ }}",
    "{{ ('%s'|format(raise_error.__globals__)) }}",
    "{{ '%s' % raise_error.__globals__ }}",
    # filters that reach attributes
    "{{ [raise_error]|map(attribute='__globals__')|list }}",
    "{{ [cycler]|map(attribute='__init__.__globals__')|list }}",
    "{{ ['']|map(attribute='__class__')|first }}",
    "{{ [raise_error]|selectattr('__globals__')|list }}",
    "{{ [raise_error]|sort(attribute='__globals__') }}",
    "{{ [raise_error]|groupby('__globals__') }}",
    "{{ [raise_error]|sum(attribute='__globals__') }}",
    "{{ [{'a': raise_error}]|map(attribute='a.__globals__')|list }}",
    "{{ raise_error|attr('__call__')|attr('__globals__') }}",
    # the template's own machinery
    "{{ self._TemplateReference__context }}",
    "{{ self._TemplateReference__context.environment }}",
    "{{ self.__init__.__globals__ }}",
    "{% for x in [1] %}{{ loop.__class__.__init__.__globals__ }}{% endfor %}",
    "{% for x in [1] %}{{ loop._iterator }}{% endfor %}",
    "{% set ns = namespace() %}{{ ns._Namespace__attrs }}",
    "{% set ns = namespace(a=1) %}{% set ns.__class__ = 1 %}{{ ns }}",
    "{% macro m() %}{{ caller.__globals__ }}{% endmacro %}{% call m() %}x{% endcall %}",
    "{% macro m() %}{{ caller._func.__globals__ }}{% endmacro %}{% call m() %}x{% endcall %}",
    "{% macro m() %}x{% endmacro %}{{ m.__globals__ }}{{ m._func.__globals__ }}",
    "{% macro m() %}x{% endmacro %}{{ m._environment }}",
    "{{ config }}{{ config.__class__ }}",
    "{{ environment }}",
    "{{ context }}",
    # guide, data and chapter objects
    "{{ guide.root }}",
    "{{ guide.config_path.read_text() }}",
    "{{ guide.chapters_dir.parent.parent.joinpath('secret.txt').read_text() }}",
    "{{ guide['root'].parent }}",
    "{{ guide.theme.__class__.__init__.__globals__ }}",
    "{{ guide.__dataclass_fields__ }}",
    "{{ chapter.path.read_text() }}",
    "{{ chapter.path.parent.parent.parent.joinpath('secret.txt').read_text() }}",
    "{{ chapter.__class__ }}",
    "{{ data.nutrition.__class__.__init__.__globals__ }}",
    "{{ data.program.day.__func__.__globals__ }}",
    "{{ data.program.day.__globals__ }}",
    "{{ data.exercises.get.__self__.__class__ }}",
    "{{ data.items.__self__ }}",
    # mutation of shared objects, and getting at builtins
    "{{ data.update({'x': 1}) }}{{ data.x }}",
    "{{ guide.keywords.append('x') }}",
    "{{ data.clear() }}",
    "{{ data.pop('program') }}",
    "{{ guide.cover.update({}) }}",
    "{{ [].append.__self__.__class__ }}",
    "{{ ''.join.__self__ }}{{ ''.join.__class__ }}",
    "{% set x = ''.__class__ %}{{ x }}",
    "{% with f = raise_error.__globals__ %}{{ f }}{% endwith %}",
    "{% import 'macros.html' as m %}{{ m.__dict__ }}{{ m._TemplateModule__attrs }}",
    "{% from 'macros.html' import figure %}{{ figure.__globals__ }}",
    "{% include '../../secret.txt' %}",
    "{% include '/etc/passwd' %}",
    "{% include 'secret-link.html' %}",
    "{% extends '../secret.txt' %}",
    "{{ self.__class__ }}",
]


@pytest.fixture
def attack_guide(sample_guide: Path, tmp_path: Path, monkeypatch) -> Path:
    (tmp_path / "secret.txt").write_text(SECRET_FILE_TEXT)
    monkeypatch.setenv("LG_CANARY_SECRET", SECRET_ENV_TEXT)
    monkeypatch.chdir(sample_guide)
    templates = sample_guide / "templates"
    (templates / "email").mkdir(parents=True)
    (templates / "secret-link.html").symlink_to(tmp_path / "secret.txt")
    return sample_guide


def _got_through(text: str, guide: Path) -> bool:
    leaks = (SECRET_FILE_TEXT, SECRET_ENV_TEXT, "<class", "<module", "<function",
             "<built-in", "<bound method", "__builtins__", "<code object", "PosixPath",
             "<frame", "Environment object", "<Context")
    return any(leak in text for leak in leaks) or (guide / "PWNED").exists() or \
        Path("PWNED").exists()


def _in_chapter(guide: Path, attempt: str) -> str:
    config = load_config(guide)
    chapters, data = read_sources(config)
    chapter = Chapter(**{**vars(chapters[0]), "body": attempt, "body_line": 5})
    return render_chapter(chapter, make_environment(config),
                          template_context(config, data)).html


def _in_page_template(guide: Path, attempt: str) -> str:
    (guide / "templates" / "attack.html").write_text(attempt)
    config = load_config(guide)
    chapters, data = read_sources(config)
    return render_page(make_environment(config), "attack.html",
                       {**template_context(config, data), "chapter": chapters[0]})


def _in_email_template(guide: Path, attempt: str) -> str:
    (guide / "templates" / "email" / "attack.txt").write_text(attempt)
    config = load_config(guide)
    # The raw config on purpose: even it must not let a template out.
    return render_page(make_environment(config), "email/attack.txt",
                       {"guide": config, "cta": config.cta, "data": {}})


PLACES = {"chapter": _in_chapter, "page template": _in_page_template,
          "email template": _in_email_template}


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("attempt", ESCAPES)
def test_escape_attempt_gets_nowhere(attack_guide, attempt, place):
    try:
        text = PLACES[place](attack_guide, attempt)
    except GuideError as error:
        text = str(error)
        assert error.path is not None, text
    assert not _got_through(text, attack_guide), text


def test_there_are_at_least_sixty_escape_attempts():
    assert len(set(ESCAPES)) >= 60


def test_an_escape_in_a_chapter_stops_a_real_build_at_its_line(attack_guide):
    chapter = attack_guide / "chapters" / "02-training.md"
    text = chapter.read_text()
    lines = text.splitlines()
    lines.insert(len(lines) - 1, '{{ guide.root.parent.joinpath("secret.txt").read_text() }}')
    chapter.write_text("\n".join(lines) + "\n")
    with pytest.raises(TemplateError) as error:
        build(attack_guide, out=attack_guide / "x.pdf")
    assert error.value.path.name == "02-training.md"
    assert error.value.line == len(lines) - 1
    assert "root" in error.value.message
    assert not (attack_guide / "x.pdf").exists()


# ------------------------------------------------------------ bounded work


RUNAWAYS = [
    "{{ range(10**9)|list }}",
    "{% for i in range(10**9) %}{% endfor %}",
    "{{ 'x' * 10**9 }}",
    "{{ 'x' * 1000000 * 1000 }}",
    "{{ ['x'] * 10**9 }}",
    "{{ [['x'] * 100000] * 100000 }}",
    "{{ 10 ** (10 ** 8) }}",
    "{% set ns = namespace(n=3) %}{% for i in range(40) %}{% set ns.n = ns.n * ns.n %}"
    "{% endfor %}{{ ns.n }}",
    "{% set ns = namespace(s='xx') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
    "{% endfor %}{{ ns.s|length }}",
    "{% set ns = namespace(s='xx') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}"
    "{% endfor %}",
    "{% set x = 'x' * 1000000 %}{{ (x ~ x ~ x ~ x ~ x ~ x ~ x ~ x ~ x ~ x) }}",
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "{% set l = range(100000)|list %}{% for a in l %}{% for b in l %}{% endfor %}{% endfor %}",
    "{{ 'x'.ljust(10**9) }}",
    "{{ 'x'.center(10**9) }}",
    "{{ 'x'|center(10**9) }}",
    "{{ '\t'.expandtabs(10**9) }}",
    "{{ ('x' * 1000).replace('', 'y' * 100000) }}",
    "{{ ('x' * 1000000).replace('x', 'yyyyyyyyyy') }}",
    "{{ ('{:>999999}' * 2000).format(*range(2000)) }}",
    "{{ '{:>1000000000}'.format(1) }}",
    "{{ ('%999999s' * 3) % ('a', 'b', 'c') }}",
    "{{ '%*s' % (10**9, 'x') }}",
    "{{ '%.1000000000f' % 1.0 }}",
    "{{ ('%999999s' * 2000)|format(*range(2000)) }}",
    "{{ ('x' * 1000)|indent(10**7) }}",
    "{{ ('x\\n' * 100000)|indent(1000) }}",
    "{{ ('x ' * 100000)|wordwrap(1, wrapstring='y' * 10000) }}",
    "{{ [1]|batch(10**9, 'x')|list }}",
    "{{ [1]|slice(10**9)|list }}",
    "{% set x = 'x' * 1000000 %}{{ ([x] * 1000)|join }}",
    "{% set x = 'x' * 1000000 %}{{ ''.join([x] * 1000) }}",
    "{% set x = 'x' * 1000000 %}{{ [x] * 1000 }}",
    "{% set x = 'x' * 1000000 %}{{ 'aaaa'.translate({97: x}) * 1 }}",
    "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    "{% macro f(n) %}{% if n < 40 %}{{ f(n + 1) }}{{ f(n + 1) }}{% endif %}{% endmacro %}"
    "{{ f(0) }}",
    "{% for i in range(100000) recursive %}{% if i < 1 %}{{ loop(range(100000)) }}"
    "{% endif %}{% endfor %}",
    "{% for i in [1] recursive %}{{ loop([1]) }}{% endfor %}",
    "{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}",
    "{% for i in range(3000) %}{% set x = 'y' * 100000 %}{% endfor %}",
    "{{ lipsum(10**6) }}",
    "{{ 1/0 }}",
    "{{ raise_error('stop here') }}",
    "{{ (range(100000)|list|map('string')|join(',' * 100000)) }}",
]


_RUNAWAY_SCRIPT = """
import json, resource, sys, time
from pathlib import Path
resource.setrlimit(resource.RLIMIT_AS, (1500 * 2**20, 1500 * 2**20))
from test_sandbox import RUNAWAYS, _in_chapter
from leadguide.errors import GuideError
for attempt in RUNAWAYS:
    started = time.monotonic()
    try:
        _in_chapter(Path(sys.argv[1]), attempt)
        outcome = "RENDERED"
    except GuideError as error:
        outcome = str(error)
    # VmHWM belongs to this process's own memory map; ru_maxrss would also count the
    # pytest process it was forked from (Linux carries the parent's peak across exec).
    status = Path("/proc/self/status").read_text()
    peak = int(next(l.split()[1] for l in status.splitlines() if l.startswith("VmHWM:"))) // 1024
    print(json.dumps([attempt, outcome, time.monotonic() - started, peak]), flush=True)
"""


@pytest.fixture(scope="module")
def runaway_results(tmp_path_factory) -> dict[str, tuple[str, float, int]]:
    """Every runaway template tried in one child process capped at 1.5 GB of address space
    (a process that cannot allocate cannot grow to a gigabyte unseen)."""
    from conftest import copy_sample
    guide = copy_sample(tmp_path_factory.mktemp("runaway"))
    done = subprocess.run([sys.executable, "-c", _RUNAWAY_SCRIPT, str(guide)],
                          capture_output=True, text=True, timeout=600, cwd=guide,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parent)})
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    results = {}
    for line in done.stdout.splitlines():
        attempt, outcome, seconds, peak = json.loads(line)
        results[attempt] = (outcome, seconds, peak)
    return results


@pytest.mark.parametrize("attempt", RUNAWAYS)
def test_runaway_template_ends_in_a_message(runaway_results, attempt):
    outcome, seconds, peak_mb = runaway_results[attempt]
    assert outcome.startswith("guide/chapters/01-intro.md:5: "), outcome
    assert seconds < 15, f"{seconds:.1f} s"
    assert peak_mb < 400, f"peak memory {peak_mb} MB"


def test_the_default_guide_stays_well_inside_the_limits():
    # The limits must never trouble a real guide: the default one is the yardstick.
    config = load_config(Path(__file__).parents[1] / "guide")
    chapters, data = read_sources(config)
    from leadguide.html.assemble import assemble
    html = assemble(config, chapters, data).html
    assert 10 * len(html) < 8_000_000 and len(html) < MAX_TEXT


def test_plain_refuses_paths_and_freezes_values():
    view = plain({"a": [1, {"b": "c"}]})
    assert view["a"][1]["b"] == "c"
    with pytest.raises(TypeError):
        view["x"] = 1  # type: ignore[index]
    with pytest.raises(TypeError):
        plain({"root": Path("/")})


def test_a_string_template_renders_with_the_project_filters():
    env = make_sandbox()
    assert env.from_string("{{ 1234567|thousands }}").render() == "1,234,567"
