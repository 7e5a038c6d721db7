"""``leadguide new``: starter guides of each kind, and the starter sentences a guide may still carry."""
