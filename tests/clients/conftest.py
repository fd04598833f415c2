"""Real FHIR clients against a real ``fhirtrial serve`` process (uvicorn) on the database under test (issue 7)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from ..support.server import ServerProcess

TOKEN = "client-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ROOT = Path(__file__).resolve().parents[2]
N_BULK = 57  # Organizations for the paging scenarios (several pages at _count=10)


@pytest.fixture
def server(database_url: str, repo: Any, tmp_path: Path) -> Iterator[str]:
    """``fhirtrial serve`` with the example studies (the seed and 20 synthetic ones) and N_BULK Organizations."""
    from fhirtrial.loading import load_examples

    load_examples(repo, synthetic=20)
    with repo.unit_of_work() as uow:
        for i in range(N_BULK):
            uow.update("Organization", f"bulk-{i:03d}", {"resourceType": "Organization", "id": f"bulk-{i:03d}",
                                                          "name": f"Bulk org {i:03d}", "alias": ["bulk"]})
    with ServerProcess(database_url, tmp_path / "server.log", token=TOKEN) as proc:
        yield proc.base
