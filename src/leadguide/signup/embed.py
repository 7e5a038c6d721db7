"""``leadguide signup embed``: a styled form for the owner's own website.

Its styles are scoped to one class (``.leadguide-signup``, every rule under it, ``all:
revert`` first) so they neither leak into the host page nor take the host page's. With
JavaScript, the script fetches a render token, posts the form itself (``fetch``, JSON answer)
and shows the thank-you in place. Without it, the form posts normally: the service shows its
own page once (no render token), and after the press sends the person back to ``return_url``
with ``?signup=ok`` (only an http(s) address on the allowed origins' or the website's hosts,
``signup.return_hosts``: never an open redirect).
"""
from __future__ import annotations

from html import escape

from .consent import safe_return
from .form import HONEYPOT
from .settings import SignupSettings

SCOPE = "leadguide-signup"

STYLE = """<style>
.leadguide-signup, .leadguide-signup * { all: revert; box-sizing: border-box; }
.leadguide-signup { display: block; max-width: 480px; margin: 1.5em 0; padding: 24px;
  border: 1px solid #d4d8de; border-radius: 8px; background: #fff; color: TEXT;
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; }
.leadguide-signup .lg-promise { margin: 0 0 12px; font-weight: 600; }
.leadguide-signup label { display: block; margin: 12px 0 4px; font-weight: 600; }
.leadguide-signup .lg-check { display: flex; gap: 8px; align-items: flex-start; font-weight: 400; }
.leadguide-signup input[type=email], .leadguide-signup input[type=text] { display: block;
  width: 100%; padding: 10px; font: inherit; color: TEXT; background: #fff;
  border: 2px solid #767f8c; border-radius: 6px; }
.leadguide-signup button { margin-top: 16px; padding: 12px 22px; font: inherit;
  font-weight: 700; color: ONPRIMARY; background: PRIMARY; border: 0; border-radius: 6px;
  cursor: pointer; }
.leadguide-signup input:focus, .leadguide-signup button:focus { outline: 3px solid ACCENT;
  outline-offset: 2px; }
.leadguide-signup .lg-small { margin: 12px 0 0; font-size: 14px; color: #4a5361; }
.leadguide-signup .lg-trap { position: absolute; left: -10000px; width: 1px; height: 1px;
  overflow: hidden; }
.leadguide-signup .lg-done { margin: 0; font-weight: 600; }
.leadguide-signup .lg-error { margin: 12px 0 0; padding: 8px 12px; background: #fdecea;
  border-left: 4px solid #b3261e; }
</style>
"""

SCRIPT = """<script>
/* Optional: one press is enough, and the thank-you shows in place. */
(function (form) {
  var base = form.getAttribute("action").replace(/\\/subscribe$/, "");
  var status = form.querySelector("[role=status]");
  function fresh() {
    return fetch(base + "/token", {mode: "cors", credentials: "omit"})
      .then(function (r) { return r.json(); })
      .then(function (d) { form.elements.t.value = d.token; });
  }
  fresh();
  form.addEventListener("submit", function (event) {
    if (!window.fetch || !window.FormData) { return; }
    event.preventDefault();
    var button = form.querySelector("button");
    button.disabled = true;
    fetch(form.getAttribute("action"), {method: "POST", mode: "cors", credentials: "omit",
          headers: {"Accept": "application/json"},
          body: new URLSearchParams(new FormData(form))})
      .then(function (r) { return r.json(); })
      .then(function (d) {
        button.disabled = false;
        if (d.ok) {
          var done = document.createElement("p");
          done.className = "lg-done";
          done.textContent = d.heading + ". " + d.text;
          form.replaceChildren(done, status);
          status.textContent = d.heading;
          done.setAttribute("tabindex", "-1");
          done.focus();
          return;
        }
        if (d.token) { form.elements.t.value = d.token; }
        status.className = "lg-error";
        status.textContent = d.error;
      })
      .catch(function () { button.disabled = false; form.submit(); });
  });
})(document.currentScript.previousElementSibling);
</script>
"""


def snippet(base_url: str, settings: SignupSettings, colors: dict[str, str] | None = None,
            return_url: str | None = None) -> str:
    """The HTML to paste into a page: scoped styles, the form, the optional script."""
    e = lambda text: escape(text, quote=True)  # noqa: E731
    consent = (f'''  <label class="lg-check"><input type="checkbox" name="consent" value="yes" required> <span>{e(settings.consent)}</span></label>\n'''
               if settings.consent else "")
    marketing = (f'''  <label class="lg-check"><input type="checkbox" name="marketing" value="yes"> <span>{e(settings.marketing_consent)}</span></label>\n'''
                 if settings.marketing_consent else "")
    back = (f'''  <input type="hidden" name="return_url" value="{e(return_url)}">\n'''
            if return_url else "")
    return f'''{style(colors or {})}<form class="{SCOPE}" method="post" action="{e(base_url)}/subscribe" accept-charset="utf-8">
  <p class="lg-promise">{e(settings.promise)}</p>
  <label>First name (optional) <input type="text" name="first_name" autocomplete="given-name" maxlength="100"></label>
  <label>Email address <input type="email" name="email" autocomplete="email" required maxlength="254"></label>
{consent}{marketing}  <div class="lg-trap" aria-hidden="true"><label>Leave this empty <input type="text" name="{HONEYPOT}" tabindex="-1" autocomplete="off"></label></div>
  <input type="hidden" name="t" value="">
{back}  <button type="submit">{e(settings.button)}</button>
  <p class="lg-small" role="status" aria-live="polite"></p>
  <p class="lg-small">{e(settings.privacy)}</p>
</form>
{SCRIPT}'''


def style(colors: dict[str, str]) -> str:
    """The scoped styles in the guide's colours (only #hex values reach the CSS)."""
    def color(role: str, fallback: str) -> str:
        value = colors.get(role, "")
        return value if _is_hex(value) else fallback
    return (STYLE.replace("ONPRIMARY", color("on-primary", "#ffffff"))
            .replace("PRIMARY", color("primary", "#1b2a41"))
            .replace("ACCENT", color("accent", "#e8603c"))
            .replace("TEXT", color("text", "#1f2933")))


def _is_hex(value: str) -> bool:
    return (len(value) in (4, 7) and value.startswith("#")
            and all(ch in "0123456789abcdefABCDEF" for ch in value[1:]))


def checked_return_url(url: str, settings: SignupSettings) -> str | None:
    """``url`` if the service will send people back to it, else None."""
    return safe_return(url, settings.return_hosts)
