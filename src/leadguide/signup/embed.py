"""``leadguide signup embed``: a plain HTML form for the owner's own website.

It works without JavaScript: with no render token the service shows its own page once more,
filled in, and one press sends it. The optional script fetches a token first (CORS, from the
allowed origins), so with JavaScript one press is enough.
"""
from __future__ import annotations

from html import escape

from .form import HONEYPOT
from .settings import SignupSettings


def snippet(base_url: str, settings: SignupSettings) -> str:
    e = lambda text: escape(text, quote=True)  # noqa: E731
    consent = (f'''  <label><input type="checkbox" name="consent" value="yes" required> {e(settings.consent)}</label>\n'''
               if settings.consent else "")
    return f'''<form class="leadguide-signup" method="post" action="{e(base_url)}/subscribe" accept-charset="utf-8">
  <p>{e(settings.promise)}</p>
  <label>First name (optional) <input type="text" name="first_name" autocomplete="given-name" maxlength="100"></label>
  <label>Email address <input type="email" name="email" autocomplete="email" required maxlength="254"></label>
{consent}  <div style="position:absolute;left:-10000px" aria-hidden="true"><label>Leave this empty <input type="text" name="{HONEYPOT}" tabindex="-1" autocomplete="off"></label></div>
  <input type="hidden" name="t" value="">
  <button type="submit">{e(settings.button)}</button>
  <p><small>{e(settings.privacy)}</small></p>
</form>
<script>
/* Optional: fetches a render token so the form goes through in one press. */
(function (form) {{
  fetch("{e(base_url)}/token", {{mode: "cors", credentials: "omit"}})
    .then(function (r) {{ return r.json(); }})
    .then(function (d) {{ form.elements.t.value = d.token; }});
}})(document.currentScript.previousElementSibling);
</script>
'''
