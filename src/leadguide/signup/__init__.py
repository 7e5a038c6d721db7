"""The signup service: a form, the guide in the inbox at once, one-click unsubscribe.

Modules: ``settings`` (guide.yaml's ``signup:`` section, secrets from the environment),
``tokens`` (signed links), ``form`` (checking one submission), ``ratelimit``, ``store`` (the
SQLite database: subscribers, consent ledger, suppressions, downloads), ``ledger`` (one
record per email, shared by all workers: exactly-once), ``queue`` (Huey), ``tasks`` (what a
delivery job does), ``service`` (the parts opened together), ``pages`` and ``app``
(Starlette), ``runner`` (uvicorn and the workers), ``embed``, ``imports`` (bounce exports),
``report`` (stats, export), ``hooks`` (what ``email send`` takes from here), ``cli``.
"""
