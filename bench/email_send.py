"""Benchmark: the welcome email's size, build time per recipient, and sends per second.

Sends to an aiosmtpd server on 127.0.0.1 (started here), through the real send log.
(Not bench/email.py: a script of that name would shadow the standard library's email package.)
Usage: .venv/bin/python bench/email_send.py [GUIDE_DIR] [--count N]
"""
from __future__ import annotations

import argparse
import socket
import statistics
import tempfile
import time
from email.policy import SMTP
from pathlib import Path

from aiosmtpd.controller import Controller

from leadguide.build import build, default_output, is_stale
from leadguide.email.batch import Job, send_batch
from leadguide.email.message import build_message, guide_key, prepare_attachment
from leadguide.email.recipients import recipient
from leadguide.email.send import SmtpTransport
from leadguide.email.sendlog import SendLog
from leadguide.email.settings import SmtpSettings, load_email_settings
from leadguide.guide.config import load_config


class Sink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        return "250 OK"


def the_pdf(config, folder: Path) -> Path:
    pdf = default_output(config)
    if is_stale(pdf, config.root):
        pdf = folder / config.output
        build(config.root, out=pdf, draft=True)
    return pdf


def per_message_build(config, settings, attachment, runs: int = 50) -> float:
    build_message(config, settings, recipient("warm@example.com"), attachment)
    started = time.perf_counter()
    for n in range(runs):
        build_message(config, settings, recipient(f"p{n}@example.com", f"Person {n}"),
                      attachment).as_bytes(policy=SMTP)
    return (time.perf_counter() - started) / runs


def log_round_trip(folder: Path, runs: int = 50) -> float:
    """One mark_sending + one mark(sent): the durable writes around every message."""
    timings = []
    with SendLog(folder / "bench.sqlite", "bench") as log:
        for n in range(runs):
            started = time.perf_counter()
            log.mark_sending(f"p{n}", f"p{n}@example.com", "<id@example.com>")
            log.mark(f"p{n}", "sent")
            timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def send_rate(config, settings, attachment, folder: Path, count: int) -> float:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        job = Job(config, settings, attachment, folder / "send.sqlite")
        people = [recipient(f"p{n}@example.com", f"Person {n}") for n in range(count)]
        started = time.perf_counter()
        with SmtpTransport(SmtpSettings("127.0.0.1", port, "none")) as smtp:
            summary = send_batch(job, people, smtp)
        elapsed = time.perf_counter() - started
        assert summary.sent == count == sink.count, (summary.sent, sink.count)
    finally:
        controller.stop()
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("guide", nargs="?", default="guide")
    parser.add_argument("--count", type=int, default=100)
    args = parser.parse_args()
    config = load_config(args.guide)
    settings = load_email_settings(config)
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        attachment = prepare_attachment(config, settings, the_pdf(config, folder))
        message = build_message(config, settings, recipient("jane@example.com", "Jane"),
                                attachment).as_bytes(policy=SMTP)
        print(f"guide                 {config.root.name} ({guide_key(config)})")
        print(f"PDF                   {len(attachment.data) / 1e6:6.2f} MB raw, "
              f"{attachment.encoded_size / 1e6:.2f} MB encoded "
              f"(budget: warn {settings.budget.warn_bytes / 1e6:g} MB, "
              f"max {settings.budget.max_bytes / 1e6:g} MB)")
        print(f"whole message         {len(message) / 1e6:6.2f} MB")
        build_ms = per_message_build(config, settings, attachment) * 1000
        print(f"build one message     {build_ms:6.1f} ms")
        print(f"send-log writes       {log_round_trip(folder) * 1000:6.1f} ms per message "
              "(median; two fsynced commits)")
        rate = send_rate(config, settings, attachment, folder, args.count)
        print(f"send to localhost     {rate:6.1f} messages/s over one connection "
              f"({args.count} sent)")


if __name__ == "__main__":
    main()
