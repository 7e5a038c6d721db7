"""The guide as one HTML document: sandboxed templates and macros, chapters, references and links; hands on ``GuideHtml``."""
