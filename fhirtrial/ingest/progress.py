"""Progress of an import: a rich bar on a terminal, plain periodic lines otherwise, and the closing summary."""
from __future__ import annotations

import sys
import time
from typing import IO, Any

from ..store.bulk import StudyResult
from .pipeline import Summary


def _rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else 0.0


class Progress:
    """Call ``update`` after each batch; ``close`` at the end. ``interval``: seconds between plain lines."""

    def __init__(self, stream: IO[str] | None = None, *, tty: bool | None = None, interval: float = 5.0) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.interval = interval
        self.started = time.perf_counter()
        self._last_line = self.started
        self._bar: Any = None
        self._task: Any = None

    def _start_bar(self, summary: Summary) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn, \
            TimeElapsedColumn, TimeRemainingColumn

        self._bar = RichProgress(TextColumn("[bold]import"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[rates]}"), TextColumn("[red]{task.fields[failed]}"),
                                 TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                                 console=Console(file=self.stream), transient=False)
        self._bar.start()
        self._task = self._bar.add_task("import", total=summary.total, rates="", failed="")

    def update(self, summary: Summary, _results: list[StudyResult] | None = None) -> None:
        elapsed = time.perf_counter() - self.started
        studies, resources = summary.done, summary.resources_done
        rates = f"{_rate(studies, elapsed):,.0f} studies/s {_rate(resources, elapsed):,.0f} resources/s"
        if self.tty:
            if self._bar is None:
                self._start_bar(summary)
            self._bar.update(self._task, completed=studies, total=summary.total, rates=rates,
                             failed=f"{summary.failed} failed" if summary.failed else "")
            return
        now = time.perf_counter()
        if now - self._last_line >= self.interval:
            self._last_line = now
            of = f"/{summary.total}" if summary.total is not None else ""
            eta = ""
            if summary.total and studies:
                left = (summary.total - studies) / max(_rate(studies, elapsed), 1e-9)
                eta = f", ETA {left:,.0f} s"
            print(f"import: {studies}{of} studies, {resources} resources, {rates}, {summary.failed} failed{eta}",
                  file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def final(self, summary: Summary) -> str:
        elapsed = time.perf_counter() - self.started
        s, r = summary.studies, summary.resources
        lines = [f"imported in {elapsed:.1f} s ({_rate(summary.done, elapsed):,.0f} studies/s, "
                 f"{_rate(summary.resources_done, elapsed):,.0f} resources/s)",
                 f"studies:   {s['created']} created, {s['updated']} updated, {s['unchanged']} unchanged, "
                 f"{s['failed']} failed" + (f", {s['superseded']} duplicate copies superseded" if s["superseded"]
                                            else ""),
                 f"resources: {r['created']} created, {r['updated']} updated, {r['unchanged']} unchanged"]
        if summary.warned:
            lines.append(f"warnings:  {summary.warned} resources stored with validation errors reported as warnings "
                         "(FHIRTRIAL_VALIDATION=warning)")
        return "\n".join(lines)
