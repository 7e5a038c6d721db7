"""The welcome email: the guide PDF to each new subscriber over SMTP, exactly once.

Modules: ``settings`` (guide.yaml's ``email:`` section, SMTP settings from the environment),
``recipients`` (address checks, the subscribers CSV), ``content`` (templates → text and
inlined-CSS HTML), ``message`` (the MIME message and the PDF within the size budget),
``sendlog`` (SQLite), ``send`` (SMTP transport and retries), ``batch`` (one run over the
recipients), ``welcome`` (what the commands call), ``cli`` (the click commands).

How "exactly once" holds, and where it cannot:

* Before each SMTP transaction the recipient is recorded as ``sending`` (committed with
  WAL + ``synchronous=FULL``); right after the server's 250 it becomes ``sent``. A re-run
  skips ``sent`` and a second run on the same log at the same time is refused (a lock file).
* A process killed before the server accepts the message leaves ``sending``: the re-run sends
  it, and the recipient gets it once.
* The remaining window: killed after the server has accepted the message (the end of DATA)
  but before ``sent`` is on disk. SMTP has no way to ask "did you get it?", so the re-run sends
  it again rather than risk losing it. The window is one network round trip plus one fsync;
  both copies carry the same Message-ID (derived from the guide and the address), so mail
  clients and servers that deduplicate by Message-ID drop the second, and it is identifiable.
  The re-run's summary says how many were sent again this way. A connection that drops while
  waiting for that reply has the same ambiguity and is treated the same way.
"""
from .batch import Summary
from .errors import EmailError, RecipientError, SmtpError
from .send import RetryPolicy, SmtpTransport, send
from .settings import EmailSettings, SmtpSettings, load_email_settings, smtp_settings
from .welcome import build_eml, plan_send, run

__all__ = ["EmailError", "EmailSettings", "RecipientError", "RetryPolicy", "SmtpError",
           "SmtpSettings", "SmtpTransport", "Summary", "build_eml", "load_email_settings",
           "plan_send", "run", "send", "smtp_settings"]
