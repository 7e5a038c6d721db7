"""Running the service: the web app on uvicorn with the embedded worker, or workers alone."""
from __future__ import annotations

import logging
from typing import Callable

import uvicorn

from .app import create_app
from .queue import quiet_huey, run_consumer, start_consumer
from .service import Service, bind_web_only, make_mailer

ALERT_AFTER = 300.0


def uvicorn_config(service: Service, host: str, port: int) -> uvicorn.Config:
    proxies = list(service.settings.trusted_proxies)
    # uvicorn trusts X-Forwarded-For/-Proto only from these peers; none listed: no proxy headers.
    return uvicorn.Config(create_app(service), host=host, port=port, log_level="warning",
                          proxy_headers=bool(proxies), forwarded_allow_ips=proxies or None,
                          server_header=False, access_log=False)


def serve(service: Service, host: str, port: int, workers: int,
          ready: Callable[[str], None] = lambda url: None) -> None:
    """Serve until Ctrl-C or SIGTERM; ``workers`` 0 queues jobs for separate workers."""
    quiet_huey()
    consumer = None
    if workers:
        mailer = make_mailer(service)
        consumer = start_consumer(service.queue, workers, mailer.owner, ALERT_AFTER)
    else:
        bind_web_only(service)
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
    logging.getLogger("huey").setLevel(logging.WARNING)
    mailer = make_mailer(service)
    try:
        run_consumer(service.queue, workers, mailer.owner, ALERT_AFTER)
    finally:
        mailer.close()
        service.close()
