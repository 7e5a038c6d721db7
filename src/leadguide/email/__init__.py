"""The welcome email: the guide PDF to each new subscriber over SMTP, exactly once.

Modules: ``settings`` (guide.yaml's ``email:`` section, SMTP settings from the environment),
``recipients`` (address checks, the subscribers CSV), ``content`` (templates → text and
inlined-CSS HTML), ``message`` (the MIME message and the PDF within the size budget),
``sendlog`` (SQLite), ``send`` (SMTP transport and retries), ``batch`` (one run over the
recipients), ``welcome`` (what the commands call), ``cli`` (the click commands).

How "once" holds, and where it cannot (README.md says the same for users):

* Before each SMTP transaction the recipient is recorded as ``sending`` (committed, WAL +
  ``synchronous=FULL``); right before the final ``.`` of DATA, ``data_end`` is set; after the
  server's 250 the state becomes ``sent``. A re-run skips ``sent``; a second run on the same log
  at the same time is refused (a lock file). The log lives in the guide folder.
* Cut off before the final dot (``data_end`` unset): the server cannot have the message; the
  re-run sends it and the recipient gets it once.
* Cut off after it (``data_end`` set, not ``sent``), or the connection dropped waiting for the
  reply: SMTP cannot tell whether the server kept it, so it is sent again rather than lost,
  announced (``resending``) before it goes out, with the same Message-ID.
"""
from .batch import Summary
from .errors import EmailError, RecipientError, SmtpError
from .send import RetryPolicy, SmtpTransport, send
from .settings import EmailSettings, SmtpSettings, load_email_settings, smtp_settings
from .welcome import build_eml, plan_send, run

__all__ = ["EmailError", "EmailSettings", "RecipientError", "RetryPolicy", "SmtpError",
           "SmtpSettings", "SmtpTransport", "Summary", "build_eml", "load_email_settings",
           "plan_send", "run", "send", "smtp_settings"]
