"""Fixtures for the REST tests: the app over an in-process ASGI transport, on the database under test."""
from __future__ import annotations

from typing import Any, AsyncIterator

import httpx
import pytest

from fhirtrial.config import Settings
from fhirtrial.rest.app import create_app

TOKEN = "test-token"
BASE = "http://testserver/fhir"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
JSON_HEADERS = {**AUTH, "Content-Type": "application/fhir+json"}


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, api_token=TOKEN, max_body_bytes=200_000, default_count=10,
                    max_count=50)


@pytest.fixture
async def client(settings: Settings, repo: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, repo)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE + "/") as c:
        yield c


def organization(name: str = "Acme Research", **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Organization", "name": name, **extra}


def study(rid: str | None = None, status: str = "active", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"resourceType": "ResearchStudy", "status": status, "title": "A study", **extra}
    if rid is not None:
        body["id"] = rid
    return body


def assert_outcome(response: httpx.Response, status: int, code: str | None = None, mentions: str | None = None) -> dict:
    """The response is an OperationOutcome with that status, issue code and a message naming ``mentions``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"], body
    if code is not None:
        assert any(i["code"] == code for i in body["issue"]), body
    if mentions is not None:
        text = " ".join(i.get("diagnostics", "") + " ".join(i.get("expression", [])) for i in body["issue"])
        assert mentions in text, body
    assert "Traceback" not in response.text
    return body
