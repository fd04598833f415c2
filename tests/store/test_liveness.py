"""store.liveness: whether the process that left work behind still runs."""
from __future__ import annotations

import os
import subprocess
import sys

from fhirtrial.store.liveness import pid_alive


def test_a_running_process_is_alive_and_a_finished_one_is_not() -> None:
    assert pid_alive(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # reaped: its pid names no process now
    assert not pid_alive(child.pid)


def test_an_unreaped_child_is_not_running() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, not yet reaped: a zombie
        assert not pid_alive(child.pid)
    finally:
        child.wait()
