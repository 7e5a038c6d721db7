"""The welcome email's words: Jinja2 templates to a text part and an inlined-CSS HTML part."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import css_inline
import jinja2

from ..guide.assets import template_dirs
from ..guide.config import GuideConfig
from ..html.assemble import guide_view, make_environment, render_page
from ..html.values import plain
from .display import greeting_name
from .recipients import Recipient
from .settings import ATTACH, EmailSettings

TEXT_TEMPLATE = "email/welcome.txt"
HTML_TEMPLATE = "email/welcome.html"
# Media queries stay in a <style> block (clients that support them use them); never fetch.
_INLINER = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)
# Compiling the templates costs more than rendering them, and a batch renders thousands.
# (Jinja2 still reloads a template whose file changed.)
_ENVIRONMENTS: dict[tuple[Path, ...], jinja2.Environment] = {}


@dataclass(frozen=True)
class WelcomeContent:
    text: str
    html: str


def render_welcome(config: GuideConfig, settings: EmailSettings, person: Recipient,
                   attached: bool, links: Any = None) -> WelcomeContent:
    """Both parts of one recipient's welcome email, from the guide's or the built-in templates.
    ``links`` (message.PersonalLinks) replaces guide.yaml's unsubscribe and download links."""
    env = _environment(config)
    context = _context(config, settings, person, attached, links)
    text = render_page(env, TEXT_TEMPLATE, context).strip() + "\n"
    html = _INLINER.inline(render_page(env, HTML_TEMPLATE, context))
    return WelcomeContent(text, html)


def _environment(config: GuideConfig) -> jinja2.Environment:
    key = tuple(template_dirs(config.root, config.kit))
    if key not in _ENVIRONMENTS:
        _ENVIRONMENTS[key] = make_environment(config)
    return _ENVIRONMENTS[key]


def _context(config: GuideConfig, settings: EmailSettings, person: Recipient,
             attached: bool, links: Any = None) -> dict[str, Any]:
    """Plain read-only data only (the sandbox refuses paths and live objects)."""
    email = {"subject": settings.subject, "sender": str(settings.sender),
             "reply_to": str(settings.reply_to), "postal_address": settings.postal_address,
             "attachment_name": settings.attachment_name, "attach": settings.attach,
             "delivery": settings.delivery,
             "download_url": settings.download_url, "unsubscribe_url": settings.unsubscribe_url,
             "unsubscribe_mailto": settings.unsubscribe_mailto, "text": dict(settings.text)}
    guide, cta, colors = _same_for_all(config)
    return {
        "guide": guide, "email": plain(email),
        "recipient": plain({"address": person.address, "name": person.name}),
        "first_name": greeting_name(person.name),
        "attached": attached,
        # email.delivery: attach shows no link, unless the PDF was too large to attach.
        "too_large": not attached and settings.attach,
        "download_url": None if attached and settings.delivery == ATTACH else (
            (links and links.download) or settings.download_url),
        "read_url": links.read if links else None,
        "unsubscribe_link": links.unsubscribe if links else settings.unsubscribe_link(),
        "cta": cta, "colors": colors,
    }


_VIEWS: dict[int, tuple[GuideConfig, tuple]] = {}


def _same_for_all(config: GuideConfig) -> tuple:
    """The guide's read-only views, made once per config (a batch renders thousands)."""
    held = _VIEWS.get(id(config))
    if held is None or held[0] is not config:
        if len(_VIEWS) > 16:
            _VIEWS.clear()
        held = _VIEWS[id(config)] = (config, (guide_view(config), plain(config.cta),
                                              plain(config.theme.colors)))
    return held[1]
