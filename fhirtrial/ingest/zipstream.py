"""Sequential reading of a zip archive's members from their local headers, in constant memory
(https://pkware.cachefly.net/webdocs/casestudies/APPNOTE.TXT; the registry's bulk download: https://clinicaltrials.gov/data-api/api).

zipfile.ZipFile loads the whole central directory first (about 0.5 KB per member: ~300 MB for the
full registry); walking the local headers instead keeps memory flat and still reads every member of
an archive whose download was cut off before the central directory.
"""
from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

LOCAL = b"PK\x03\x04"
_ENDS = (b"PK\x01\x02", b"PK\x05\x06", b"PK\x06\x06")  # central directory: no more members
_DESCRIPTOR = b"PK\x07\x08"
_HEADER = struct.Struct("<4sHHHHHIIIHH")
_CHUNK = 1 << 16
MAX_MEMBER = 256 << 20  # a study is a few MB at most; anything far bigger is not one


class ZipStreamError(ValueError):
    """The archive breaks at ``offset``; reading resumes at the next local header if there is one."""


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    data: bytes | None  # None when the member could not be read
    error: str | None = None


class _Reader:
    """A byte stream with push-back, because a deflate stream may end before the bytes read for it."""

    def __init__(self, fh: BinaryIO) -> None:
        self._fh, self._back, self.offset = fh, b"", 0

    def read(self, n: int) -> bytes:
        if self._back:
            head, self._back = self._back[:n], self._back[n:]
            if len(head) < n:
                head += self._fh.read(n - len(head))
        else:
            head = self._fh.read(n)
        self.offset += len(head)
        return head

    def unread(self, data: bytes) -> None:
        self._back = data + self._back
        self.offset -= len(data)

    def skip_to_next_member(self) -> bool:
        """Scan forward to the next local header signature; False at end of file."""
        tail = b""
        while True:
            block = self.read(_CHUNK)
            if not block:
                return False
            window = tail + block
            at = window.find(LOCAL, 1 if not tail else 0)
            if at >= 0:
                self.unread(window[at:])
                return True
            tail = window[-3:]


def _zip64_sizes(extra: bytes, usize: int, csize: int) -> tuple[int, int, bool]:
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, pos)
        if tag == 0x0001:
            field, at = extra[pos + 4: pos + 4 + size], 0
            if usize == 0xFFFFFFFF and at + 8 <= len(field):
                usize, at = struct.unpack_from("<Q", field, at)[0], at + 8
            if csize == 0xFFFFFFFF and at + 8 <= len(field):
                csize = struct.unpack_from("<Q", field, at)[0]
            return usize, csize, True
        pos += 4 + size
    return usize, csize, False


def _inflate_until_end(reader: _Reader) -> bytes:
    """Inflate a member whose size is only given after its data (general purpose flag bit 3)."""
    inflater, parts, total = zlib.decompressobj(-15), [], 0
    while not inflater.eof:
        block = reader.read(_CHUNK)
        if not block:
            raise ZipStreamError("the archive ends inside a member")
        parts.append(inflater.decompress(block))
        total += len(parts[-1])
        if total > MAX_MEMBER:
            raise ZipStreamError("member is larger than a study can be")
    reader.unread(inflater.unused_data)
    return b"".join(parts)


def iter_members(fh: BinaryIO) -> Iterator[Member]:
    """Yield every member in archive order, one at a time. Raises ZipStreamError if the stream is not a zip
    at all; later damage becomes an errored Member and reading resumes at the next header."""
    reader = _Reader(fh)
    first = True
    while True:
        start = reader.offset
        raw = reader.read(_HEADER.size)
        if not raw and not first:
            yield Member("", None, "the archive has no central directory: it was probably cut off")
            return
        sig = raw[:4]
        if sig in _ENDS:
            return
        if sig != LOCAL or len(raw) < _HEADER.size:
            if first:
                raise ZipStreamError("not a zip archive (no local file header at the start)")
            yield Member("", None, f"corrupt archive at byte {start}: no member header")
            if not reader.skip_to_next_member():
                return
            continue
        first = False
        try:
            member = _read_member(reader, raw)
        except ZipStreamError as exc:
            yield Member(getattr(exc, "member_name", ""), None, f"{exc} (member at byte {start})")
            if not reader.skip_to_next_member():
                return
            continue
        yield member


def _read_member(reader: _Reader, raw: bytes) -> Member:
    (_, _, flags, method, _, _, crc, csize, usize, name_len, extra_len) = _HEADER.unpack(raw)
    name_raw = reader.read(name_len)
    name = name_raw.decode("utf-8" if flags & 0x800 else "cp437", "replace")
    extra = reader.read(extra_len)
    usize, csize, zip64 = _zip64_sizes(extra, usize, csize)
    described = bool(flags & 0x08)

    def fail(message: str) -> ZipStreamError:
        error = ZipStreamError(message)
        error.member_name = name  # type: ignore[attr-defined]
        return error

    if described and method == 8:
        try:
            data = _inflate_until_end(reader)
        except zlib.error as exc:
            raise fail(f"corrupt compressed data: {exc}") from None
        sig = reader.read(4)
        if sig != _DESCRIPTOR:
            reader.unread(sig)
        crc, _, _ = struct.unpack("<IQQ" if zip64 else "<III", reader.read(20 if zip64 else 12))
    elif described:
        raise fail(f"cannot stream a member stored with compression method {method} and sizes after its data")
    else:
        if csize > MAX_MEMBER or usize > MAX_MEMBER:
            raise fail("member is larger than a study can be")
        payload = reader.read(csize)
        if len(payload) < csize:
            raise fail("the archive ends inside a member")
        if flags & 0x01:
            return Member(name, None, "member is encrypted")
        if method == 0:
            data = payload
        elif method == 8:
            try:
                data = zlib.decompress(payload, -15)
            except zlib.error as exc:
                return Member(name, None, f"corrupt compressed data: {exc}")
        else:
            return Member(name, None, f"unsupported compression method {method}")
    if zlib.crc32(data) != crc:
        return Member(name, None, "CRC check failed: the member is corrupt")
    return Member(name, data)
