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


def die_with_parent(parent: int, signum: int = signal.SIGKILL) -> bool:
    """Have the kernel send ``signum`` to this process when ``parent`` ends; False where it
    cannot (not Linux). Ends at once if ``parent`` is already gone."""
    try:
        if ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signum) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if os.getppid() != parent:  # it ended before the call: no signal will come
        os._exit(0)
    return True
