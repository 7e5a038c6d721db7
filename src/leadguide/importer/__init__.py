"""Bringing content in: web pages, saved HTML, WordPress exports and feeds, Word files and
Markdown folders become chapters. The only stage that touches the network, and only for the
sources named."""
