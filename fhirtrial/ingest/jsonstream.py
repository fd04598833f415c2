"""Incremental reading of one JSON document, so an API v2 list response streams study by study (https://clinicaltrials.gov/data-api/api)."""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, TextIO

_DECODER = json.JSONDecoder()
_NON_WS = re.compile(r"[^ \t\n\r]")


class JsonSyntaxError(ValueError):
    """The document stops being valid JSON; ``offset`` is the character position in the file."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} (at character {offset})")
        self.offset = offset


class JsonCursor:
    """A sliding window over a text stream; holds at most about twice the largest value plus one chunk."""

    def __init__(self, fh: TextIO, chunk: int = 1 << 20) -> None:
        self._fh, self._chunk = fh, chunk
        self._buf, self._pos, self._eof = "", 0, False
        self._dropped = 0  # characters already discarded from the front of the window

    def offset(self) -> int:
        return self._dropped + self._pos

    def _fill(self) -> bool:
        if self._eof:
            return False
        # Reading at least as much as is pending doubles the window, so re-parsing a big value stays linear.
        data = self._fh.read(max(self._chunk, len(self._buf) - self._pos))
        self._dropped += self._pos
        self._buf, self._pos = self._buf[self._pos:] + data, 0
        self._eof = not data
        return bool(data)

    def peek(self) -> str | None:
        """The next non-blank character, not consumed; None at the end of the stream."""
        while True:
            found = _NON_WS.search(self._buf, self._pos)
            if found:
                self._pos = found.start()
                return self._buf[self._pos]
            self._pos = len(self._buf)
            if not self._fill():
                return None

    def take(self, char: str) -> None:
        got = self.peek()
        if got != char:
            raise JsonSyntaxError(f"expected {char!r}, found {got or 'end of file'!r}", self.offset())
        self._pos += 1

    def value(self) -> Any:
        if self.peek() is None:
            raise JsonSyntaxError("unexpected end of file", self.offset())
        while True:
            try:
                obj, end = _DECODER.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                # An error may only mean the value goes on past the window: read more before believing it.
                if self._fill():
                    continue
                raise JsonSyntaxError(exc.msg, self._dropped + exc.pos) from None
            # A number ending exactly at the window's edge may have more digits still unread.
            if end == len(self._buf) and self._fill():
                continue
            self._pos = end
            return obj


def _array(cur: JsonCursor) -> Iterator[tuple[int, Any]]:
    cur.take("[")
    if cur.peek() == "]":
        cur.take("]")
        return
    index = 0
    while True:
        yield index, cur.value()
        index += 1
        if cur.peek() == ",":
            cur.take(",")
            continue
        cur.take("]")
        return


def read_document(fh: TextIO, chunk: int = 1 << 20) -> Iterator[tuple[int | None, Any]]:
    """Yield ``(i, study)`` for each element of a list response's ``studies`` (or of a bare array),
    else one ``(None, value)`` for the whole document. Raises JsonSyntaxError where the text breaks."""
    cur = JsonCursor(fh, chunk)
    first = cur.peek()
    if first is None:
        raise JsonSyntaxError("the file is empty", 0)
    if first == "[":
        yield from _array(cur)
        _expect_end(cur)
        return
    if first != "{":
        whole = cur.value()
        _expect_end(cur)
        yield None, whole
        return
    cur.take("{")
    fields: dict[str, Any] = {}
    is_list = False
    if cur.peek() == "}":
        cur.take("}")
    else:
        while True:
            key = cur.value()
            if not isinstance(key, str):
                raise JsonSyntaxError("object keys must be strings", cur.offset())
            cur.take(":")
            if key == "studies" and cur.peek() == "[":
                is_list = True
                yield from _array(cur)
            else:
                # Other members of a list response (totalCount, nextPageToken) are small; a study's are the study.
                fields[key] = cur.value()
            if cur.peek() == ",":
                cur.take(",")
                continue
            cur.take("}")
            break
    _expect_end(cur)
    if not is_list:
        yield None, fields


def _expect_end(cur: JsonCursor) -> None:
    if cur.peek() is not None:
        raise JsonSyntaxError("unexpected data after the JSON value", cur.offset())
