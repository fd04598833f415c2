"""iter_records over every input shape of ``fhirtrial import``, from real API v2 records."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from fhirtrial.ingest import Origin, SourceError, SourceItem, iter_records
from fhirtrial.errors import FhirError

from .conftest import nct


def _ids(items: list[SourceItem]) -> list[str | None]:
    return [i.nct_id for i in items if i.ok]


def test_single_study_file(real_files: list[Path], real_records: list[dict[str, Any]]) -> None:
    items = list(iter_records([real_files[0]]))
    assert len(items) == 1 and items[0].ok
    assert items[0].record == real_records[0]
    assert items[0].origin == Origin(str(real_files[0]))


def test_largest_real_study_parses_identically(real_files: list[Path], real_records: list[dict[str, Any]]) -> None:
    big = max(range(len(real_files)), key=lambda i: real_files[i].stat().st_size)
    (item,) = iter_records([real_files[big]])
    assert item.record == real_records[big]


def test_list_response_streams_each_study(tmp_path: Path, real_records: list[dict[str, Any]]) -> None:
    page = tmp_path / "page.json"
    page.write_text(json.dumps({"totalCount": 13, "studies": real_records, "nextPageToken": "abc"}, indent=2))
    items = list(iter_records([page]))
    assert _ids(items) == [nct(r) for r in real_records]
    assert [i.origin.index for i in items] == list(range(len(real_records)))
    assert str(items[2].origin) == f"{page}#studies[2]"


def test_list_response_read_through_a_small_window(tmp_path: Path, real_records: list[dict[str, Any]]) -> None:
    # A tiny chunk forces every value to straddle window edges: the incremental reader must still be exact.
    from fhirtrial.ingest.jsonstream import read_document

    page = tmp_path / "page.json"
    page.write_text(json.dumps({"studies": real_records[:4], "totalCount": 1234567}))
    with page.open() as fh:
        values = [v for _, v in read_document(fh, chunk=7)]
    assert values == real_records[:4]


def test_list_response_with_one_broken_study(tmp_path: Path, real_records: list[dict[str, Any]]) -> None:
    studies: list[Any] = list(real_records[:3])
    studies.insert(1, {"protocolSection": {"identificationModule": {"briefTitle": "no id"}}})
    studies.insert(3, "not even an object")
    page = tmp_path / "page.json"
    page.write_text(json.dumps({"studies": studies}))
    items = list(iter_records([page]))
    assert _ids(items) == [nct(r) for r in real_records[:3]]
    bad = [i for i in items if not i.ok]
    assert [b.origin.index for b in bad] == [1, 3]
    assert "nctId" in (bad[0].error or "")


def test_list_response_syntax_error_keeps_studies_before_it(tmp_path: Path, real_records: list[dict[str, Any]]) -> None:
    text = json.dumps({"studies": real_records[:3]})
    cut = text.index(nct(real_records[2])) + 20
    page = tmp_path / "page.json"
    page.write_text(text[:cut] + "}}]}")
    items = list(iter_records([page]))
    assert _ids(items) == [nct(r) for r in real_records[:2]]
    assert not items[-1].ok and items[-1].origin.index == 2 and "rest of the file" in (items[-1].error or "")


def test_ndjson(tmp_path: Path, real_records: list[dict[str, Any]]) -> None:
    path = tmp_path / "studies.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in real_records) + "\n")
    items = list(iter_records([path]))
    assert _ids(items) == [nct(r) for r in real_records]
    assert items[4].origin.line == 5


def test_ndjson_detected_without_its_suffix(tmp_path: Path, real_records: list[dict[str, Any]]) -> None:
    path = tmp_path / "studies.json"
    path.write_text("".join(json.dumps(r) + "\n" for r in real_records[:3]))
    assert _ids(list(iter_records([path]))) == [nct(r) for r in real_records[:3]]


def test_truncated_line_in_the_middle_of_ndjson(tmp_path: Path, real_records: list[dict[str, Any]]) -> None:
    lines = [json.dumps(r) for r in real_records[:5]]
    broken = lines[2][: len(lines[2]) // 2]
    path = tmp_path / "studies.ndjson"
    path.write_text("\n".join(lines[:2] + [broken] + lines[3:]) + "\n")
    items = list(iter_records([path]))
    assert _ids(items) == [nct(r) for i, r in enumerate(real_records[:5]) if i != 2]
    (bad,) = [i for i in items if not i.ok]
    assert bad.origin.line == 3 and bad.nct_id == nct(real_records[2]) and "invalid JSON" in (bad.error or "")


def test_nested_directory_sorted_and_filtered(tmp_path: Path, real_files: list[Path]) -> None:
    for n, f in enumerate(real_files):
        target = tmp_path / f"part{n % 3}" / ("deep" if n % 2 else "") / f.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(f.read_bytes())
    (tmp_path / "README.txt").write_text("not a study")
    (tmp_path / ".hidden.json").write_text("{}")
    items = list(iter_records([tmp_path]))
    assert all(i.ok for i in items) and sorted(_ids(items)) == sorted(f.stem for f in real_files)
    assert list(iter_records([tmp_path])) == items  # deterministic order


def _zip(path: Path, members: dict[str, bytes], **kw: Any) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, **kw) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize("folder", ["", "ctg-studies/NCT0000xxxx/"])
def test_bulk_zip_flat_and_in_folders(tmp_path: Path, real_files: list[Path], folder: str) -> None:
    members = {f"{folder}{f.name}": f.read_bytes() for f in real_files}
    members["__MACOSX/._NCT00000000.json"] = b"\x00\x05junk"
    members[f"{folder}README.txt"] = b"read me"
    archive = _zip(tmp_path / "bulk.zip", members)
    items = list(iter_records([archive]))
    assert all(i.ok for i in items) and _ids(items) == [f.stem for f in real_files]
    assert items[0].origin.member == f"{folder}{real_files[0].name}"


def test_zip_written_to_a_pipe_uses_data_descriptors(tmp_path: Path, real_files: list[Path]) -> None:
    class Unseekable:
        def __init__(self, fh: Any) -> None:
            self.fh = fh

        def write(self, b: bytes) -> int:
            return self.fh.write(b)

        def flush(self) -> None:
            self.fh.flush()

        def seekable(self) -> bool:
            return False

        def tell(self) -> int:
            raise OSError("unseekable")

    path = tmp_path / "piped.zip"
    with path.open("wb") as raw, zipfile.ZipFile(Unseekable(raw), "w", zipfile.ZIP_DEFLATED) as zf:  # type: ignore[arg-type]
        for f in real_files[:4]:
            zf.writestr(f.name, f.read_bytes())
    items = list(iter_records([path]))
    assert _ids(items) == [f.stem for f in real_files[:4]]


def test_corrupt_zip_alone_is_a_source_error(tmp_path: Path) -> None:
    path = tmp_path / "bulk.zip"
    path.write_bytes(b"this is not a zip archive at all")
    with pytest.raises(SourceError) as err:
        list(iter_records([path]))
    assert isinstance(err.value, FhirError) and err.value.exit_code == 2 and "zip" in str(err.value)


def test_damaged_member_and_cut_off_zip(tmp_path: Path, real_files: list[Path]) -> None:
    archive = _zip(tmp_path / "bulk.zip", {f.name: f.read_bytes() for f in real_files[:6]})
    data = bytearray(archive.read_bytes())
    second = data.index(b"PK\x03\x04", 4)
    data[second + 60: second + 70] = b"\xff" * 10  # garble the compressed bytes of member 2
    cut = data.index(b"PK\x01\x02")  # the download stopped before the central directory
    archive.write_bytes(bytes(data[:cut]))
    items = list(iter_records([archive]))
    names = [f.stem for f in real_files[:6]]
    assert _ids(items) == names[:1] + names[2:]
    errors = [i for i in items if not i.ok]
    assert errors[0].nct_id == names[1] and errors[0].origin.member == real_files[1].name
    assert "cut off" in (errors[-1].error or "")


def test_file_that_is_not_a_study(tmp_path: Path, real_files: list[Path]) -> None:
    other = tmp_path / "patient.json"
    other.write_text(json.dumps({"resourceType": "Patient", "id": "x"}))
    items = list(iter_records([real_files[0], other]))
    assert items[0].ok
    assert not items[1].ok and items[1].origin.path == str(other) and "not a ClinicalTrials.gov" in (items[1].error or "")


def test_empty_input_is_a_source_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text("  \n")
    for paths in ([empty], [tmp_path / "emptydir"], []):
        if paths and paths[0].name == "emptydir":
            paths[0].mkdir()
        with pytest.raises(SourceError):
            list(iter_records(paths))
    page = tmp_path / "page.json"
    page.write_text('{"studies": []}')
    with pytest.raises(SourceError, match="no studies"):
        list(iter_records([page]))


def test_unreadable_path(tmp_path: Path, real_files: list[Path]) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(SourceError, match="no such file"):
        list(iter_records([missing]))
    # Beside a readable input the same problem is one failed item, reported in order.
    items = list(iter_records([missing, real_files[0]]))
    assert [i.ok for i in items] == [False, True] and items[0].origin.path == str(missing)


def test_permission_denied(tmp_path: Path, real_files: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    locked = tmp_path / "locked.json"
    locked.write_bytes(real_files[0].read_bytes())
    real_open = Path.open

    def guarded(self: Path, *args: Any, **kw: Any) -> Any:
        if self == locked:  # chmod 0 does not stop root, so refuse the open itself
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kw)

    monkeypatch.setattr(Path, "open", guarded)
    with pytest.raises(SourceError, match="permission denied"):
        list(iter_records([locked]))


def test_item_holds_record_or_error() -> None:
    with pytest.raises(ValueError):
        SourceItem(Origin("x"), None)
    item = SourceItem(Origin("a.zip", member="NCT1.json"), "NCT00000001", error="boom")
    assert item.report() == {"nctId": "NCT00000001", "origin": "a.zip!NCT1.json", "error": "boom"}
