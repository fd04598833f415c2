"""@medplum/core's MedplumClient in Node, pointed at our base URL with a bearer token (tests/node/medplum_client.mjs):
read, search, every page, create, update, If-Match, delete, transaction."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from .conftest import N_BULK, ROOT, TOKEN

pytestmark = pytest.mark.skipif(shutil.which("node") is None or not (ROOT / "node_modules/@medplum/core").exists(),
                                reason="needs Node.js and npm install")


def test_medplum_client_scenarios(server: str) -> None:
    done = subprocess.run(["node", str(ROOT / "tests/node/medplum_client.mjs"), server, TOKEN, str(N_BULK)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert done.returncode == 0, json.dumps(report, indent=1)
    assert set(report) == {"read", "search", "searchResources", "pages", "create", "update", "update-if-match",
                           "delete", "transaction"}
