"""Duplicate NCT ids in one input: the last copy wins, earlier copies are reported."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from fhirtrial.ingest import dedupe_last_wins, iter_records

from .conftest import nct


def test_last_copy_wins_and_earlier_ones_are_reported(tmp_path: Path, real_records: list[dict[str, Any]]) -> None:
    a, b = real_records[1], real_records[2]
    newer = copy.deepcopy(a)
    newer["protocolSection"]["identificationModule"]["briefTitle"] = "Newest title"
    path = tmp_path / "dups.ndjson"
    path.write_text("\n".join(json.dumps(r) for r in (a, b, a, newer, "oops")) + "\n")
    items = list(dedupe_last_wins(lambda: iter_records([path])))
    assert len(items) == 5  # nothing is dropped silently
    kept = [i for i in items if i.ok]
    assert [i.nct_id for i in kept] == [nct(b), nct(a)]
    assert kept[1].record is not None
    assert kept[1].record["protocolSection"]["identificationModule"]["briefTitle"] == "Newest title"
    superseded = [i for i in items if i.superseded_by is not None]
    assert [i.origin.line for i in superseded] == [1, 3]
    assert all(i.superseded_by is not None and i.superseded_by.line == 4 for i in superseded)
    assert "superseded" in (superseded[0].error or "") and superseded[0].report()["supersededBy"].endswith(":4")
    assert items[-1].error and items[-1].superseded_by is None  # a broken item is passed through as it is


def test_duplicates_across_files_and_none(tmp_path: Path, real_files: list[Path]) -> None:
    copy_dir = tmp_path / "z"
    copy_dir.mkdir()
    (copy_dir / real_files[0].name).write_bytes(real_files[0].read_bytes())
    items = list(dedupe_last_wins(lambda: iter_records([real_files[0], real_files[1], copy_dir])))
    assert [i.ok for i in items] == [False, True, True]
    assert items[0].superseded_by is not None and items[0].superseded_by.path.startswith(str(copy_dir))
    clean = list(dedupe_last_wins(lambda: iter_records(real_files)))
    assert all(i.ok for i in clean)
