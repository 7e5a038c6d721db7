"""The layout processes (workers.py): answers, errors and a worker that dies."""
from __future__ import annotations

import os
import threading

import pytest

import leadguide.layout.part as partpdf
from leadguide.errors import RenderError
from leadguide.layout.workers import PartWorkers, WorkerDied

pytestmark = pytest.mark.skipif(threading.active_count() > 1,
                                reason="forked workers inherit the patched layout only "
                                       "when no thread runs")


def _answer(job):
    if job == "fail":
        raise RenderError("a part that cannot be laid out", "guide/chapters/x.md", 7)
    if job == "die":
        os.kill(os.getpid(), 9)
    return (job, os.getpid())


def test_jobs_are_spread_over_the_workers_and_answered_in_order(monkeypatch):
    monkeypatch.setattr(partpdf, "lay_out_part", _answer)
    with PartWorkers(2) as workers:
        tasks = workers.submit(["a", "b", "c", "d"])
        while not all(task.done for task in tasks):
            workers.wait_any([task for task in tasks if not task.done])
        answers = [task.value() for task in tasks]
    assert [job for job, _ in answers] == ["a", "b", "c", "d"]
    pids = {pid for _, pid in answers}
    assert len(pids) == 2 and os.getpid() not in pids


def test_one_job_without_a_worker_is_laid_out_here(monkeypatch):
    monkeypatch.setattr(partpdf, "lay_out_part", _answer)
    with PartWorkers(1) as workers:
        [task] = workers.submit(["a"])
        assert task.done and task.value() == ("a", os.getpid())


def test_a_workers_error_comes_back_with_its_file_and_line(monkeypatch):
    monkeypatch.setattr(partpdf, "lay_out_part", _answer)
    with PartWorkers(2) as workers:
        tasks = workers.submit(["fail", "a"])
        while not all(task.done for task in tasks):
            workers.wait_any([task for task in tasks if not task.done])
        with pytest.raises(RenderError) as raised:
            tasks[0].value()
        assert (raised.value.message, str(raised.value.path), raised.value.line) == \
            ("a part that cannot be laid out", "guide/chapters/x.md", 7)
        assert tasks[1].value()[0] == "a"


def test_a_worker_that_dies_is_an_error_message_not_a_hang(monkeypatch):
    monkeypatch.setattr(partpdf, "lay_out_part", _answer)
    with PartWorkers(2) as workers:
        tasks = workers.submit(["die", "a"])
        while not all(task.done for task in tasks):
            workers.wait_any([task for task in tasks if not task.done])
        with pytest.raises(WorkerDied, match="exit code -9"):
            tasks[0].value()
        assert tasks[1].value()[0] == "a"
        [again] = workers.submit(["b"])  # a new worker takes the dead one's place
        workers.wait_any([again])
        assert again.value()[0] == "b"


def test_the_jobs_of_higher_priority_are_sent_first(monkeypatch):
    monkeypatch.setattr(partpdf, "lay_out_part", _answer)
    with PartWorkers(2) as workers:
        tasks = workers.submit(["a", "b", "c", "d", "e"], [1, 5, 2, 4, 3])
        assert {worker.task.job for worker in workers._workers} == {"b", "d"}
        assert [task.job for task in workers._queue] == ["e", "c", "a"]
        while not all(task.done for task in tasks):
            workers.wait_any([task for task in tasks if not task.done])
        assert [task.value()[0] for task in tasks] == ["a", "b", "c", "d", "e"]
