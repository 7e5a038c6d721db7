"""Posts from a WordPress export (WXR), an RSS feed or an Atom feed, chosen by title or slug.

One small reader for the three: WXR is RSS 2.0 with WordPress's namespaces. The XML is parsed
with defusedxml, which refuses entity expansion bombs and external entities."""
from __future__ import annotations

import html
import re
from email.utils import parsedate_to_datetime
from urllib.parse import unquote, urlsplit

import defusedxml.ElementTree as SafeXml
from defusedxml import DefusedXmlException

from .article import Article

_NS = {
    "content": "http://purl.org/rss/1.0/modules/content/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "atom": "http://www.w3.org/2005/Atom",
}
_WP = re.compile(r"^\{http://wordpress\.org/export/[^}]+\}")
_DROPPED_SHORTCODE = re.compile(
    r"\[(embed|video|audio|playlist|gallery)\b[^\]]*\].*?\[/\1\]"
    r"|\[(?:embed|video|audio|playlist|gallery|contact-form(?:-7)?|mc4wp_form|wpforms|"
    r"ninja_form|gravityform)\b[^\]]*\]", re.IGNORECASE | re.DOTALL)
_WRAPPING_SHORTCODE = re.compile(r"\[/?(?:caption|wp_caption|et_pb_\w+|vc_\w+|fusion_\w+)"
                                 r"\b[^\]]*\]", re.IGNORECASE)
_BLOCK_TAG = re.compile(r"<(p|div|h[1-6]|ul|ol|table|blockquote|pre|figure)\b", re.IGNORECASE)


class FeedProblem(ValueError):
    """Not a feed leadguide can read, or no post by that name."""


def read_feed(data: bytes, source: str) -> list[Article]:
    """Every post of a WXR export, RSS or Atom feed, in the feed's order (WXR: published
    posts and pages only, no attachments or drafts)."""
    try:
        root = SafeXml.fromstring(data)
    except (SafeXml.ParseError, DefusedXmlException, ValueError) as error:
        raise FeedProblem(f"not a feed or WordPress export leadguide can read ({error})") from None
    if root.tag == "rss":
        channel = root.find("channel")
        items = channel.findall("item") if channel is not None else []
        site = _text(channel, "title") if channel is not None else ""
        names = _display_names(channel)
        return [post for item in items if (post := _rss_post(item, source, site, names))]
    if root.tag == f"{{{_NS['atom']}}}feed":
        site = _text(root, "atom:title")
        return [_atom_post(entry, source, site) for entry in root.findall("atom:entry", _NS)]
    raise FeedProblem(f"not an RSS or Atom feed nor a WordPress export (its root is <{root.tag}>)")


def choose(posts: list[Article], wanted: list[str], source: str) -> list[Article]:
    """The posts named by title or slug, in the order asked (all when none is asked)."""
    if not wanted:
        return posts
    chosen = []
    for name in wanted:
        found = [post for post in posts if _matches(post, name)]
        if not found:
            titles = "; ".join(f"'{post.title}' ({post.slug})" for post in posts[:8])
            more = f" and {len(posts) - 8} more" if len(posts) > 8 else ""
            raise FeedProblem(f"no post titled or named '{name}' (posts: {titles or 'none'}{more})")
        chosen.append(found[0])
    return chosen


def _matches(post: Article, name: str) -> bool:
    wanted = name.strip().casefold()
    return wanted in (post.title.strip().casefold(), post.slug.casefold())


def _display_names(channel) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """WXR's authors: login → display name (posts name their author by login)."""
    names = {}
    for author in (channel if channel is not None else []):
        if _WP.sub("wp:", author.tag) == "wp:author":
            fields = {_WP.sub("wp:", child.tag): _inner(child) for child in author}
            if fields.get("wp:author_login") and fields.get("wp:author_display_name"):
                names[fields["wp:author_login"]] = fields["wp:author_display_name"]
    return names


def _rss_post(item, source: str, site: str,  # type: ignore[no-untyped-def]
              names: dict[str, str]) -> Article | None:
    fields = {_WP.sub("wp:", child.tag): child for child in item}
    kind = _inner(fields.get("wp:post_type"))
    if kind and kind not in ("post", "page"):
        return None  # attachments, menu items, revisions
    status = _inner(fields.get("wp:status"))
    if status and status not in ("publish", "private"):
        return None  # drafts and trash
    link = _text(item, "link")
    creator = _text(item, "dc:creator")
    body = (_inner(fields.get(f"{{{_NS['content']}}}encoded"))
            or _inner(fields.get("description")))
    return Article(
        title=html.unescape(_text(item, "title")), html=_paragraphs(body),
        source=link or source, base=link or None,
        author=names.get(creator, creator) or _text(item, "author"),
        date=_rss_date(_inner(fields.get("wp:post_date")) or _text(item, "pubDate")),
        site_name=site, slug=_inner(fields.get("wp:post_name")) or _slug_of(link))


def _atom_post(entry, source: str, site: str) -> Article:  # type: ignore[no-untyped-def]
    link = next((each.get("href", "") for each in entry.findall("atom:link", _NS)
                 if each.get("rel", "alternate") == "alternate"), "")
    content = entry.find("atom:content", _NS)
    if content is None:
        content = entry.find("atom:summary", _NS)
    body = (content.text or "") if content is not None else ""
    if content is not None and content.get("type") not in ("html", "xhtml"):
        body = f"<p>{html.escape(body)}</p>" if content.get("type") != "xhtml" else body
    author = entry.find("atom:author/atom:name", _NS)
    return Article(
        title=html.unescape(_text(entry, "atom:title")), html=_paragraphs(body),
        source=link or source, base=link or None,
        author=(author.text or "").strip() if author is not None else "",
        date=(_text(entry, "atom:published") or _text(entry, "atom:updated"))[:10],
        site_name=site, slug=_slug_of(link))


def _text(element, path: str) -> str:  # type: ignore[no-untyped-def]
    found = element.find(path, _NS) if element is not None else None
    return (found.text or "").strip() if found is not None else ""


def _inner(element) -> str:  # type: ignore[no-untyped-def]
    return (element.text or "").strip() if element is not None else ""


def _rss_date(value: str) -> str:
    if re.match(r"\d{4}-\d{2}-\d{2}", value):
        return value[:10]  # WordPress's post_date: 2023-09-28 14:00:00
    try:
        return parsedate_to_datetime(value).date().isoformat()
    except (TypeError, ValueError, IndexError):
        return ""


def _slug_of(link: str) -> str:
    path = unquote(urlsplit(link).path).rstrip("/")
    return path.rsplit("/", 1)[-1].removesuffix(".html")


def _paragraphs(body: str) -> str:
    """WordPress's classic editor stores paragraphs as blank lines, not ``<p>`` (wpautop),
    and shortcodes: a caption's content is kept, embeds, galleries and forms are not."""
    body = _WRAPPING_SHORTCODE.sub("", _DROPPED_SHORTCODE.sub("", body))
    if _BLOCK_TAG.search(body):
        return body
    return "".join(f"<p>{part.strip()}</p>" for part in re.split(r"\n\s*\n", body) if part.strip())
