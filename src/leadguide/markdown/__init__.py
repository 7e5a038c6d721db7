"""One chapter's Markdown to HTML: the engine, the source scanner, lists, the code guard and typesetting; hands on an HTML fragment."""
