"""Fixtures for the trial finder's browser tests: a real ``fhirtrial serve`` (uvicorn) holding the served examples
and a hostile study, and Debian's Chromium driven by Playwright (``executable_path``; no browser download)."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from fhirtrial.store.sql import open_repository

from ..support.server import ServerProcess
from ..support.shared_data import load_seed_and_real_studies

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
TOKEN = "web-token"
# The flags this machine's Chromium needs (closed network, root, no GPU): see the project's CI notes.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
HOSTILE_TITLE = '<script>window.__pwned = "title"</script><img src=x onerror="window.__pwned=\'img\'"> & <b>bold</b>'
HOSTILE_CRITERION = '</li><script>window.__pwned = "criterion"</script><a href="javascript:alert(1)">x</a>'


def hostile_study() -> list[tuple[str, dict[str, Any]]]:
    """A study whose title, summary, condition and criteria hold markup and scripts (stored over the API)."""
    group = {"resourceType": "Group", "id": "XSS-eligibility", "type": "person", "actual": False,
             "characteristic": [
                 {"code": {"text": HOSTILE_CRITERION}, "valueBoolean": True, "exclude": False},
                 {"code": {"text": '<iframe src="javascript:alert(2)"></iframe>'}, "valueBoolean": True,
                  "exclude": True}]}
    study = {"resourceType": "ResearchStudy", "id": "XSS-1", "status": "active", "title": HOSTILE_TITLE,
             "description": "<script>window.__pwned = 'summary'</script>\n\n* <svg onload=\"window.__pwned=1\">",
             "condition": [{"text": "<script>window.__pwned='condition'</script>hostile syndrome"}],
             "enrollment": [{"reference": "Group/XSS-eligibility"}],
             "meta": {"source": "javascript:alert(3)"}}
    return [("Group", group), ("ResearchStudy", study)]


def _require_tools() -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium); .ci/run installs it")
    if not AXE.exists():
        pytest.skip("axe-core is not installed (npm ci)")


@pytest.fixture(scope="package")
def web_db(_database_template: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database of these tests' own: the template copied (SQLite) or the throwaway PostgreSQL emptied."""
    if isinstance(_database_template, Path):
        target = tmp_path_factory.mktemp("web") / "web.db"
        shutil.copyfile(_database_template, target)
        return f"sqlite:///{target}"
    _database_template()
    return str(_database_template.engine.url.render_as_string(hide_password=False))


@pytest.fixture(scope="package")
def site(web_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """``fhirtrial serve`` on the seed and the real records plus the hostile study."""
    _require_tools()
    repo = open_repository(web_db)
    try:
        # the seed study and the real records of ../shared/data/ctgov (skips, saying why, when absent): the
        # journeys look for real studies (two sites in Birmingham, NCT02210780's page)
        load_seed_and_real_studies(repo, "http://localhost/fhir")
    finally:
        repo.close()
    log = tmp_path_factory.mktemp("web-log") / "server.log"
    with ServerProcess(web_db, log, token=TOKEN) as server:
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/fhir+json"}
        for rtype, body in hostile_study():
            r = httpx.put(f"{server.base}/{rtype}/{body['id']}", json=body, headers=headers, timeout=30)
            assert r.status_code in (200, 201), r.text
        yield server


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    _require_tools()
    from playwright.sync_api import sync_playwright

    # Playwright starts Chromium on a new, empty profile directory of its own (--user-data-dir) and removes it.
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield b
        b.close()


def _context(browser: Any, viewport: dict[str, int]) -> Iterator[Any]:
    # bypass_csp: only so the test can inject axe-core; the pages' own policy is checked by its own test.
    context = browser.new_context(viewport=viewport, bypass_csp=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("dialog", lambda d: (errors.append(f"dialog: {d.message}"), d.dismiss()))
    pg.errors = errors  # type: ignore[attr-defined]
    yield pg
    context.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    yield from _context(browser, DESKTOP)


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    yield from _context(browser, PHONE)


def shot(pg: Any, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def axe_violations(pg: Any) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations of the page as it is now."""
    if not pg.evaluate("() => typeof window.axe !== 'undefined'"):
        pg.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = pg.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"] if v["impact"] in ("serious", "critical")]
