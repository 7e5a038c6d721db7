"""The service's web pages, in the guide's brand: its theme colours and fonts, its words."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..guide.config import GuideConfig
from ..html.assemble import guide_view, make_environment, render_page
from ..html.values import plain
from .form import HONEYPOT
from .landing import Landing, brand_fonts
from .settings import SignupSettings


@dataclass(frozen=True)
class Brand:
    """The theme's colour roles (AA contrast already checked by the theme) and font families."""

    primary: str
    on_primary: str
    accent: str
    surface: str
    text: str
    muted: str
    heading_font: str
    body_font: str


def brand(config: GuideConfig) -> Brand:
    colors, fonts = config.theme.colors, config.theme.fonts
    return Brand(colors["primary"], colors["on-primary"], colors["accent"], colors["surface"],
                 colors["text"], colors["muted"], _family(fonts.get("heading")),
                 _family(fonts.get("body")))


def _family(font) -> str:
    # The screen may lack the guide's font files: the family name first, then fallbacks.
    # Only letters, digits, spaces and hyphens: the name goes into the page's <style> as is.
    return f'"{re.sub(r"[^A-Za-z0-9 -]", "", font.family)}", ' if font else ""


def words(settings: SignupSettings) -> dict[str, Any]:
    """What the pages and emails may show of the settings (no paths, no limits)."""
    return {"heading": settings.heading, "promise": settings.promise,
            "privacy": settings.privacy, "button": settings.button, "consent": settings.consent,
            "thanks_heading": settings.thanks_heading, "thanks_text": settings.thanks_text,
            "double_opt_in": settings.double_opt_in, "confirm_subject": settings.confirm_subject,
            "confirm_hours": settings.confirm_hours, "consent_mode": settings.consent_mode,
            "marketing": settings.marketing_consent}


class Pages:
    """Renders templates/signup/*.html (a guide may override them in its own templates/)."""

    def __init__(self, config: GuideConfig, settings: SignupSettings):
        # The build's sandboxed, metered environment: a guide's own templates are untrusted.
        self.env = make_environment(config)
        self.fonts = brand_fonts(config)
        landing = settings.landing or Landing(config.title, config.subtitle, (), config.author,
                                              None, None)
        self.base = {"guide": guide_view(config), "signup": plain(words(settings)),
                     "brand": plain(brand(config)), "honeypot": HONEYPOT,
                     "landing": plain(landing), "faces": plain(self.fonts.faces)}

    def render(self, name: str, **context: Any) -> str:
        return render_page(self.env, f"signup/{name}", {**self.base, **plain(context)})

    def form(self, token: str, action: str, values: dict[str, str] | None = None,
             error: str | None = None, field: str | None = None, again: bool = False) -> str:
        return self.render("form.html", token=token, action=action, values=values or {},
                           error=error, field=field, again=again)

    def landing(self, token: str, cover_height: int | None = None) -> str:
        """The landing page: cover, headline, what is inside, the form, the footer's links."""
        return self.render("landing.html", token=token, action="/subscribe", values={},
                           error=None, field=None, again=False, cover_height=cover_height)

    def resend(self, token: str, sent: bool = False, values: dict[str, str] | None = None,
               error: str | None = None) -> str:
        """"Didn't get it?": an address, one button; after it, the same answer for all."""
        return self.render("resend.html", token=token, sent=sent, values=values or {},
                           error=error)

    def note(self, heading: str, text: str, button: str | None = None,
             action: str | None = None, hidden: dict[str, str] | None = None,
             link: tuple[str, str] | None = None) -> str:
        """A short page: a heading, a line, and perhaps one button (a POST) or one link."""
        return self.render("note.html", heading=heading, text=text, button=button,
                           action=action, hidden=hidden or {}, link=link)
