"""A real ``fhirtrial serve`` (uvicorn) process for tests that go over HTTP, https://hl7.org/fhir/R4/http.html."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """The server on a free port of 127.0.0.1, its log in a file (a pipe nobody reads would stall it)."""

    def __init__(self, database_url: str, log_path: Path, *, token: str, workers: int = 1,
                 env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.base = f"{self.origin}/fhir"
        self.log_path = log_path
        full_env = {**os.environ, "FHIRTRIAL_DATABASE_URL": database_url, "FHIRTRIAL_API_TOKEN": token,
                    **(env or {})}
        full_env.pop("FHIRTRIAL_BASE_URL", None)
        self._log = log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fhirtrial.cli.main", "serve", "--port", str(self.port), "--workers", str(workers),
             *args],
            env=full_env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 90) -> None:  # generous: a loaded 2-core machine starts 3 workers slowly
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{self.base}/metadata", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"server did not start: {self.log_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        """A clean shutdown (SIGTERM), then SIGKILL if it does not go."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()

    def kill(self) -> None:
        """kill -9 of the whole process group (uvicorn's supervisor and its workers)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)
        self._log.close()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
