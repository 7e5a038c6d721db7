"""The web edition: the guide's chapters as static, responsive HTML pages beside the PDF."""
