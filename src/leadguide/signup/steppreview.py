"""The follow-up emails previewed: ``leadguide email build --step N`` writes step N as a .eml
file, and the service run with ``--dev`` shows each step at ``/dev/emails`` (sequence.py)."""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Mapping

from ..email.message import PersonalLinks, guide_key, write_eml
from ..email.recipients import recipient
from ..email.settings import load_email_settings
from ..errors import ConfigError, shown_path
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
