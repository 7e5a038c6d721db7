"""The follow-up emails previewed: ``leadguide email build --step N`` writes step N as a .eml
file, and the service run with ``--dev`` shows each step at ``/dev/emails`` (sequence.py)."""
from __future__ import annotations

import os
import secrets
from html import escape
from pathlib import Path
from typing import Mapping

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from ..email.message import PersonalLinks, guide_key, write_eml
from ..email.recipients import recipient
from ..email.settings import load_email_settings
from ..errors import ConfigError, GuideError, shown_path
from ..guide.config import GuideConfig, load_config
from .sequence import Step, load_sequence, step_message
from .tasks import Links
from .tokens import Tokens


def preview_links(config: GuideConfig, address: str,
                  env: Mapping[str, str] | None = None) -> PersonalLinks:
    """The unsubscribe link as the service would sign it (with LEADGUIDE_SECRET if set, else
    a throwaway secret: the link has the right shape but works nowhere)."""
    env = os.environ if env is None else env
    base = (config.signup or {}).get("base_url") or "https://guide.example.com"
    tokens = Tokens(env.get("LEADGUIDE_SECRET") or secrets.token_urlsafe(32))
    return PersonalLinks(Links(str(base).rstrip("/"), tokens, guide_key(config))
                         .unsubscribe(address))


def find_step(config: GuideConfig, number: int) -> Step:
    steps = load_sequence(config)
    if not 1 <= number <= len(steps):
        raise ConfigError(f"there is no step {number}: 'signup.sequence' has {len(steps)} "
                          f"email(s)", shown_path(config.config_path))
    return steps[number - 1]


def build_step_eml(guide_dir: Path | str, number: int, to: str, name: str = "",
                   out: Path | None = None) -> tuple[Path, int]:
    """Write follow-up step ``number`` (1 = the first after the guide) for one recipient."""
    config = load_config(guide_dir)
    settings, person = load_email_settings(config), recipient(to, name)
    step = find_step(config, number)
    target = out or config.output_dir / f"step-{number}.eml"
    message = step_message(config, settings, step, person, preview_links(config, person.address))
    return target, write_eml(message, target)


# ----- the dev service's pages: /dev/emails -----

PREVIEW_ADDRESS = "reader@example.com"


def dev_routes(config: GuideConfig) -> list[Route]:
    """``signup serve --dev`` only: the follow-up emails as the reader sees them (the HTML
    part), read afresh on each request so an edited email shows at once."""

    async def index(request: Request) -> Response:
        steps = await run_in_threadpool(_steps_or_error, config)
        if isinstance(steps, str):
            return HTMLResponse(_page("The follow-up emails", f"<pre>{escape(steps)}</pre>"))
        items = "".join(f'<li><a href="/dev/emails/{step.number}">Step {step.number}: '
                        f"{escape(step.subject)}</a> ({escape(step.path.name)}, "
                        f"{_delay(step.delay)} after the email before)</li>" for step in steps)
        return HTMLResponse(_page("The follow-up emails", f"<ol>{items}</ol>" if items else
                                  "<p>No <code>signup.sequence</code> in guide.yaml.</p>"))

    async def one(request: Request) -> Response:
        number = int(request.path_params["number"])
        try:
            message = await run_in_threadpool(_message, config, number)
        except GuideError as error:
            return HTMLResponse(_page("Not found", f"<pre>{escape(str(error))}</pre>"), 404)
        return HTMLResponse(message.get_body(("html",)).get_content())

    return [Route("/dev/emails", index, methods=["GET"]),
            Route("/dev/emails/{number:int}", one, methods=["GET"])]


def _steps_or_error(config: GuideConfig) -> tuple[Step, ...] | str:
    try:
        return load_sequence(load_config(config.root))
    except GuideError as error:
        return str(error)


def _message(config: GuideConfig, number: int):
    fresh = load_config(config.root)
    person = recipient(PREVIEW_ADDRESS, "Reader")
    return step_message(fresh, load_email_settings(fresh), find_step(fresh, number), person,
                        preview_links(fresh, PREVIEW_ADDRESS))


def _delay(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def _page(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}'
            f"</title></head><body><main><h1>{title}</h1>{body}</main></body></html>")
