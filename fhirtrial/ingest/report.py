"""The error report of an import: one JSON object per line for every study that was not stored, and every
earlier copy of a duplicated study (https://jsonlines.org/)."""
from __future__ import annotations

from pathlib import Path
from typing import IO

import orjson

from ..store.bulk import StudyResult


class ErrorReport:
    """Opened on the first line written, so a clean run leaves no file unless a path was asked for."""

    def __init__(self, path: Path, *, always: bool = False) -> None:
        self.path = path
        self.lines = 0
        self._fh: IO[bytes] | None = None
        if always:
            self._open()

    def _open(self) -> IO[bytes]:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("wb")
        return self._fh

    def add(self, results: list[StudyResult]) -> None:
        for result in results:
            if result.error is None:
                continue
            line = result.study.report()
            line["error"] = result.error
            self._open().write(orjson.dumps(line) + b"\n")
            self.lines += 1
        if self._fh is not None:
            self._fh.flush()

    @property
    def written(self) -> bool:
        return self._fh is not None

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
