"""Every study record in the inputs of ``fhirtrial import``: API v2 study files, list responses, NDJSON,
directories and the bulk-download zip, streamed one study at a time (https://clinicaltrials.gov/data-api/api)."""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath

import orjson

from .items import Origin, SourceError, SourceItem, failed, study_item
from .jsonstream import JsonSyntaxError, read_document
from .zipstream import ZipStreamError, iter_members

STUDY_SUFFIXES = (".json", ".ndjson", ".jsonl", ".zip")
NDJSON_SUFFIXES = (".ndjson", ".jsonl")
_SNIFF_LINE = 1 << 20
_BOM = b"\xef\xbb\xbf"


class _Unreadable(Exception):
    """The file (not one study in it) cannot be read; held back until we know whether anything can be."""


def iter_records(paths: Iterable[Path | str]) -> Iterator[SourceItem]:
    """Yield one SourceItem per study found in ``paths``, in a deterministic order.

    Problems with a whole file become error items, except that when nothing at all could be read
    the run ends in SourceError (exit code 2) naming every problem instead.
    """
    held: list[SourceItem] = []
    seen_any = False
    count_paths = 0
    for path in paths:
        count_paths += 1
        for file, problem in _expand(Path(path)):
            reader = _file_items(file) if problem is None else None
            try:
                if reader is None:
                    raise _Unreadable(problem)
                for item in reader:
                    if held:
                        yield from held
                        held.clear()
                    seen_any = True
                    yield item
            except (_Unreadable, OSError, UnicodeDecodeError) as exc:
                item = failed(Origin(str(file)), _reason(exc), name=file.name)
                if seen_any:
                    yield item
                else:
                    held.append(item)
    if not seen_any:
        if not count_paths:
            raise SourceError("no input given")
        reasons = "; ".join(f"{i.origin}: {i.error}" for i in held) or "the input holds no studies"
        raise SourceError(f"nothing could be read: {reasons}")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file or directory"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text: {exc.reason} at byte {exc.start}"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)


def _expand(path: Path) -> Iterator[tuple[Path, str | None]]:
    """Files to read under ``path``: sorted, recursive, hidden entries and symlinked directories skipped."""
    if not path.is_dir():
        yield path, None if path.exists() or path.is_symlink() else "no such file or directory"
        return
    found = False
    for root, dirs, files in os.walk(path, onerror=None):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and name.lower().endswith(STUDY_SUFFIXES):
                found = True
                yield Path(root, name), None
    if not found:
        yield path, "the directory holds no .json, .ndjson, .jsonl or .zip files"


def _file_items(path: Path) -> Iterator[SourceItem]:
    with path.open("rb") as fh:
        head = fh.read(4)
    if not head.strip():
        with path.open("rb") as fh:
            if not fh.read(_SNIFF_LINE).strip():
                raise _Unreadable("the file is empty")
    suffix = path.suffix.lower()
    if head.startswith(b"PK"):
        yield from _zip_items(path)
    elif suffix == ".zip":
        raise _Unreadable("not a zip archive")
    elif suffix in NDJSON_SUFFIXES or _looks_like_ndjson(path):
        yield from _ndjson_items(path)
    else:
        yield from _document_items(path)


def _looks_like_ndjson(path: Path) -> bool:
    """A complete JSON object on the first line followed by more text; a pretty-printed file starts with '{' alone."""
    with path.open("rb") as fh:
        first = fh.readline(_SNIFF_LINE)
        if not first.endswith(b"\n"):
            return False
        try:
            value = orjson.loads(first.removeprefix(_BOM))
        except orjson.JSONDecodeError:
            return False
        return isinstance(value, dict) and bool(fh.read(4096).strip())


def _ndjson_items(path: Path) -> Iterator[SourceItem]:
    with path.open("rb") as fh:
        for number, line in enumerate(fh, 1):
            if number == 1:
                line = line.removeprefix(_BOM)
            if not line.strip():
                continue
            origin = Origin(str(path), line=number)
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                yield failed(origin, f"invalid JSON: {exc}", raw=line)
                continue
            yield study_item(value, origin)


def _document_items(path: Path) -> Iterator[SourceItem]:
    name = str(path)
    next_index = 0
    with path.open("r", encoding="utf-8-sig") as fh:
        try:
            for index, value in read_document(fh):
                next_index = (index or 0) + 1
                yield study_item(value, Origin(name, index=index))
        except JsonSyntaxError as exc:
            if next_index:
                # Parsing cannot resynchronise inside one JSON text, so the rest of this file is lost.
                yield failed(Origin(name, index=next_index),
                             f"invalid JSON: {exc}; the rest of the file was not read")
            else:
                yield failed(Origin(name), f"invalid JSON: {exc}", raw=_head(path), name=path.name)


def _head(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(1 << 16)


def _zip_items(path: Path) -> Iterator[SourceItem]:
    name = str(path)
    with path.open("rb") as fh:
        try:
            members = iter_members(fh)
            first = next(members, None)
        except ZipStreamError as exc:
            raise _Unreadable(f"corrupt zip: {exc}") from None
        if first is None:
            raise _Unreadable("the zip archive has no members")
        studies = 0
        for member in _chain(first, members):
            if member.name.endswith("/") or not _is_study_member(member.name):
                continue
            studies += 1
            origin = Origin(name, member=member.name or None)
            if member.data is None:
                yield failed(origin, member.error or "unreadable member", name=member.name)
                continue
            yield from _member_items(member.data, origin, member.name)
        if not studies:  # garbage after a zip signature parses as members with nonsense names
            raise _Unreadable("corrupt zip: the archive holds no study .json members")


def _chain(first: object, rest: Iterator) -> Iterator:  # type: ignore[type-arg]
    yield first
    yield from rest


def _is_study_member(name: str) -> bool:
    if not name:
        return True  # damage with no readable name still has to be reported
    parts = PurePosixPath(name).parts
    # macOS archivers add __MACOSX/._name resource forks next to every file.
    return name.lower().endswith(".json") and not any(p.startswith((".", "__MACOSX")) for p in parts)


def _member_items(data: bytes, origin: Origin, name: str) -> Iterator[SourceItem]:
    try:
        value = orjson.loads(data.removeprefix(_BOM))
    except orjson.JSONDecodeError as exc:
        yield failed(origin, f"invalid JSON: {exc}", raw=data, name=name)
        return
    studies = value.get("studies") if isinstance(value, dict) else None
    if isinstance(studies, list):
        for index, study in enumerate(studies):
            yield study_item(study, Origin(origin.path, member=origin.member, index=index))
        return
    yield study_item(value, origin)
