"""A child process that ends with its parent, however the parent ends (Linux).

``prctl(PR_SET_PDEATHSIG)`` has the kernel send the child a signal when the thread that forked
it ends, so it needs no thread of its own watching for the parent (a thread in a process
that forks in turn makes every later fork unsafe: multiprocessing then falls back to a
forkserver, a fresh interpreter per child).
"""
from __future__ import annotations

import ctypes
import os
import signal

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int | None, signum: int = signal.SIGKILL) -> bool:
    """Have the kernel send ``signum`` to this process when its parent ends; False where it
    cannot (not Linux). ``parent`` is the pid it was forked from: if that one has already
    ended, this process ends at once. None when that cannot be told (a child of a
    forkserver, whose parent is the forkserver)."""
    try:
        if ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signum) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if parent is not None and os.getppid() != parent:  # it ended before: no signal will come
        os._exit(0)
    return True
