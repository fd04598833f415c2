"""Whether a process of this host still runs, for work a dead process left behind (an ``$export`` job's claim, a
killed import's shard files), https://man7.org/linux/man-pages/man5/proc.5.html."""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["pid_alive"]


def pid_alive(pid: int) -> bool:
    """True while process ``pid`` runs (a zombie does not); True when it cannot be told (another user's process,
    or a platform where signal 0 is no probe): callers then leave its work alone."""
    if Path("/proc/self/stat").exists():
        try:
            # "pid (comm) S ...": a zombie (Z) or dead (X) process is not running anything
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
        except (OSError, IndexError):
            return False
    if os.name == "nt":  # signal 0 is not a probe there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
