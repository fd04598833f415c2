"""``fhirtrial serve`` as a new user meets it: the database and the base URL said once each, a busy port or a bad
setting refused in one line before anything is announced, a request log that can be turned off, and several
workers on one SQLite file (https://hl7.org/fhir/R4/http.html)."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from fhirtrial.store.migrate import migrate

from ..support.server import ServerProcess, free_port

TOKEN = "serve-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/fhir+json"}
REQUEST_LINE = re.compile(r"^\S+ \S+ (GET|PUT|POST|DELETE|PATCH) (/\S*) (\d{3}) (\d+\.\d) ms$", re.M)


def _serve(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """A serve that is expected to stop by itself (refused): its output, or a failure after 60 s."""
    return subprocess.run([sys.executable, "-m", "fhirtrial.cli.main", "serve", *args], env={**os.environ, **env},
                          cwd=cwd, capture_output=True, text=True, timeout=60)


def _lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]


def test_a_busy_port_is_one_line_before_any_announcement(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = _serve("--port", str(port), "--load-examples", env={}, cwd=tmp_path)
    assert done.returncode == 1
    lines = _lines(done)
    assert len(lines) == 1 and lines[0].startswith(f"error: cannot listen on 127.0.0.1:{port}: "), lines
    assert "in use" in lines[0] and "--port" in lines[0]  # and the examples were not loaded first


@pytest.mark.parametrize("command", [["serve"], ["import", "x.ndjson"], ["map", "x.json"], ["reindex"],
                                     ["export", "--all", "-o", "out"]])
def test_a_bad_setting_stops_every_command_in_one_line(tmp_path: Path, command: list[str]) -> None:
    done = subprocess.run([sys.executable, "-m", "fhirtrial.cli.main", *command],
                          env={**os.environ, "FHIRTRIAL_VALIDATION": "warn"}, cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    assert _lines(done) == ["error: invalid setting: FHIRTRIAL_VALIDATION='warn': Input should be 'error' or "
                            "'warning'"]
    assert not list(tmp_path.iterdir())


def test_database_and_base_url_said_once_and_every_request_logged(database_url: str, repo: object,
                                                                  tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    with ServerProcess(database_url, log, token=TOKEN) as server:
        assert httpx.put(f"{server.base}/ResearchStudy/log1", json={"resourceType": "ResearchStudy", "id": "log1",
                                                                    "status": "active"},
                         headers=HEADERS).status_code == 201
        assert httpx.get(f"{server.base}/ResearchStudy/log1").status_code == 200  # the fast path
        assert httpx.get(f"{server.base}/ResearchStudy", params={"_id": "log1"}).status_code == 200
        assert httpx.get(f"{server.base}/Nothing/1").status_code == 404
    text = log.read_text()
    assert text.count(server.base) == 1, text
    assert f"fhirtrial serving FHIR R4 at {server.base}\n" in text
    assert f"trial finder pages at {server.base.removesuffix('/fhir')}/\n" in text  # the root of the same server
    assert f"database {database_url}\n" in text  # no password in the test URLs; SQLite's is absolute already
    requests = [(m[0], m[1], m[2]) for m in REQUEST_LINE.findall(text)]
    for expected in [("PUT", "/fhir/ResearchStudy/log1", "201"), ("GET", "/fhir/ResearchStudy/log1", "200"),
                     ("GET", "/fhir/ResearchStudy", "200"), ("GET", "/fhir/Nothing/1", "404")]:
        assert expected in requests, text
    assert "_id=log1" not in text  # no query strings: they may carry patients' identifiers


@pytest.mark.parametrize("off", [{"args": ("--no-request-log",)}, {"env": {"FHIRTRIAL_REQUEST_LOG": "false"}}],
                         ids=["flag", "setting"])
def test_the_request_log_can_be_turned_off(database_url: str, repo: object, tmp_path: Path,
                                           off: dict[str, object]) -> None:
    log = tmp_path / "server.log"
    with ServerProcess(database_url, log, token=TOKEN, **off) as server:  # type: ignore[arg-type]
        for _ in range(3):
            assert httpx.get(f"{server.base}/metadata").status_code == 200
    text = log.read_text()
    assert "fhirtrial serving FHIR R4 at" in text and not REQUEST_LINE.search(text), text


def test_several_workers_share_one_sqlite_file(tmp_path: Path) -> None:
    """Allowed, and said: every answer reflects the last commit whichever worker gives it (each worker's read
    cache is emptied by any commit)."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    migrate(url)
    log = tmp_path / "server.log"
    with ServerProcess(url, log, token=TOKEN, workers=3) as server:
        body = {"resourceType": "ResearchStudy", "id": "w", "status": "active"}
        with ThreadPoolExecutor(4) as pool:
            for version in range(1, 16):
                assert httpx.put(f"{server.base}/ResearchStudy/w", json={**body, "title": f"v{version}"},
                                 headers=HEADERS).status_code in (200, 201)
                # new connections, spread over the workers: none may answer from a stale cache
                seen = list(pool.map(lambda _: httpx.get(f"{server.base}/ResearchStudy/w").headers["etag"],
                                     range(8)))
                assert set(seen) == {f'W/"{version}"'}, (version, seen)
    text = log.read_text()
    assert "3 workers on SQLite" in text and "own read cache" in text
    assert text.count("fhirtrial serving FHIR R4 at") == 1


def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    done = _serve("--port", str(free_port()), "--load-examples",
                  env={"FHIRTRIAL_DATABASE_URL": f"postgresql://fhir:s3cret@127.0.0.1:{port}/fhir"}, cwd=tmp_path)
    assert done.returncode == 1
    out = done.stdout + done.stderr
    assert f"error: cannot open the database postgresql://fhir:***@127.0.0.1:{port}/fhir: " in out
    assert "s3cret" not in out and "Traceback" not in out and "serving FHIR R4" not in out
