"""Running the service: the web app on uvicorn with the embedded worker, or workers alone."""
from __future__ import annotations

import logging
from typing import Callable

import uvicorn

from . import logs
from .app import create_app
from .connections import (BACKLOG, ConnectionLimits, connection_cap, limited_protocol,
                          raise_file_limit)
from .queue import quiet_huey, run_consumer, start_consumer
from .service import Service, bind_web_only, make_mailer


def uvicorn_config(service: Service, host: str, port: int) -> uvicorn.Config:
    settings = service.settings
    limits = ConnectionLimits(connection_cap(settings.max_connections, raise_file_limit()),
                              settings.header_timeout_seconds, settings.body_timeout_seconds)
    # log_config=None: uvicorn's records go to the one rate-limited handler (logs.install).
    # proxy_headers=False: the app reads X-Forwarded-For itself (identity.client_ip).
    return uvicorn.Config(create_app(service), host=host, port=port, log_level="warning",
                          http=limited_protocol(limits), proxy_headers=False,
                          server_header=False, access_log=False, log_config=None,
                          timeout_keep_alive=5, backlog=BACKLOG)


def serve(service: Service, host: str, port: int, workers: int,
          ready: Callable[[str], None] = lambda url: None) -> None:
    """Serve until Ctrl-C or SIGTERM; ``workers`` 0 queues jobs for separate workers."""
    logs.install()
    quiet_huey()
    consumer = None
    if workers:
        mailer = make_mailer(service)
        consumer = start_consumer(service.queue, workers)
    else:
        bind_web_only(service)
    service.reconcile()
    server = uvicorn.Server(uvicorn_config(service, host, port))
    original = server.startup

    async def startup(sockets=None) -> None:
        await original(sockets)
        bound = server.servers[0].sockets[0].getsockname() if server.servers else (host, port)
        ready(f"http://{host}:{bound[1]}/")
    server.startup = startup
    try:
        server.run()
    finally:
        if consumer is not None:
            consumer.stop(graceful=True)
            mailer.close()
        service.close()


def work(service: Service, workers: int) -> None:
    """``leadguide signup worker``: deliver queued emails until stopped."""
    logs.install()
    logging.getLogger("huey").setLevel(logging.WARNING)
    mailer = make_mailer(service)
    try:
        run_consumer(service.queue, workers)
    finally:
        mailer.close()
        service.close()
