"""``leadguide preview`` and ``serve``: a browsable site of the guide's chapters and pages, and the live server that rebuilds it on save."""
