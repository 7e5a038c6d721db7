"""What ``leadguide email send`` takes from the signup service when the guide has one: the
suppression list every send honours, and signed unsubscribe and download links."""
from __future__ import annotations

import os
from typing import Callable, Mapping

from ..email.message import PersonalLinks, guide_key
from ..email.recipients import Recipient
from ..guide.config import GuideConfig
from .errors import SignupError
from .reading import Edition
from .readroutes import cta_links
from .settings import load_signup_settings
from .store import Store
from .tasks import Links
from .tokens import Tokens, address_id


def email_send_hooks(config: GuideConfig, env: Mapping[str, str] | None = None
                     ) -> tuple[Callable[[str], bool] | None,
                                Callable[[Recipient], PersonalLinks] | None]:
    if config.signup is None:
        return None, None
    env = os.environ if env is None else env
    settings = load_signup_settings(config)
    store = Store(settings.database)

    def suppressed(address: str) -> bool:
        return store.is_suppressed(address_id(address))

    secret = env.get("LEADGUIDE_SECRET")
    if not secret or not settings.base_url:
        raise SignupError("this guide has a signup service: set LEADGUIDE_SECRET (the "
                          "service's) and signup.base_url, so each email's unsubscribe link "
                          "is signed rather than carrying the plain address")
    links = Links(settings.base_url, Tokens(secret), guide_key(config),
                  Edition(config.output_path).exists,  # the service's /read, when it has one
                  cta_links(config, settings.database, settings.base_url, secret))
    return suppressed, links.personal
