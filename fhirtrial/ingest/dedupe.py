"""Duplicate NCT ids in one input: the last copy wins and every earlier copy is reported
(https://clinicaltrials.gov/data-api/api; a study's identity is its nctId).

Two passes over the input, because importing the copies in order would store each one as a new
version and a re-run of the same input would then not be idempotent. Memory: one fixed 12.5 MB
bitmap over the 10^8 possible NCT numbers plus a dict entry (about 200 bytes) per duplicated id,
whatever the size of the input.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from .items import Origin, SourceItem

_SPACE = 10**8  # NCT ids are "NCT" + 8 digits


class _Bitmap:
    __slots__ = ("_bits",)

    def __init__(self) -> None:
        self._bits = bytearray(_SPACE // 8)

    def add(self, n: int) -> bool:
        """Set bit ``n``; True if it was already set."""
        byte, mask = n >> 3, 1 << (n & 7)
        was = bool(self._bits[byte] & mask)
        self._bits[byte] |= mask
        return was

    def __contains__(self, n: int) -> bool:
        return bool(self._bits[n >> 3] & (1 << (n & 7)))


def last_positions(items: Iterable[SourceItem]) -> dict[str, tuple[int, Origin]]:
    """Pass one: for every NCT id that occurs more than once among the records, its last position and origin."""
    seen = _Bitmap()
    last: dict[str, tuple[int, Origin]] = {}
    for position, item in enumerate(items):
        if item.record is None or item.nct_id is None:
            continue  # a broken copy does not displace a good one: only records compete
        number = int(item.nct_id[3:])
        if seen.add(number):
            last[item.nct_id] = (position, item.origin)
    return last


def dedupe_last_wins(source: Callable[[], Iterable[SourceItem]]) -> Iterator[SourceItem]:
    """Yield ``source()``'s items with every earlier copy of a duplicated study replaced by an error item
    whose ``superseded_by`` names the copy that wins. ``source`` must give the same sequence both times."""
    last = last_positions(source())
    for position, item in enumerate(source()):
        winner = last.get(item.nct_id) if item.record is not None and item.nct_id else None
        if winner is None or winner[0] == position:
            yield item
            continue
        yield SourceItem(item.origin, item.nct_id,
                         error=f"duplicate {item.nct_id}: superseded by the later copy at {winner[1]}",
                         superseded_by=winner[1])
