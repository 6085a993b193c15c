"""Read ZIP members the way a lenient loader does: wrong CRCs, odd names and broken headers are no excuse.

PyTorch's reader (and numpy's for ``.npz``) will load archives that Python's ``zipfile`` refuses
(a bad CRC, a damaged central directory, a member whose local header lies about its size). A scanner
that gives up there lets such an archive through unseen, so this reader takes every member it can find
two ways: from the central directory, and by walking local file headers (``PK\\x03\\x04``) in the parts
of the file no listed member covers. CRCs are never checked. ZIP64 sizes and offsets are followed.
"""

from __future__ import annotations

import bz2
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from foresight.security.findings import MalformedArtifact

__all__ = ["Member", "is_zip", "members"]

_LOCAL = b"PK\x03\x04"
_CENTRAL = b"PK\x01\x02"
_END = b"PK\x05\x06"
_END64_LOCATOR = b"PK\x06\x07"
_MAX_COMMENT = 65535 + 22


@dataclass(frozen=True)
class Member:
    """One member: its name, where its local header is, and its bytes (None when unreadable, with ``problem``)."""

    name: str
    offset: int
    data: bytes | memoryview | None
    problem: str | None = None
    end: int = 0


def is_zip(view: memoryview) -> bool:
    """A local header at the start, or an end-of-central-directory record near the end."""
    if bytes(view[:4]) == _LOCAL:
        return True
    return bytes(view[:2]) == b"PK" and bytes(view[-_MAX_COMMENT:]).rfind(_END) >= 0


def _u(view: memoryview, at: int, width: int) -> int:
    if at + width > len(view):
        raise MalformedArtifact("ZIP record runs past the end", at)
    return int.from_bytes(view[at:at + width], "little")


def _zip64(extra: bytes, sizes: list[int]) -> list[int]:
    """Replace the 0xFFFFFFFF fields of ``sizes`` (uncompressed, compressed, offset) from a ZIP64 extra field."""
    at = 0
    while at + 4 <= len(extra):
        tag, size = int.from_bytes(extra[at:at + 2], "little"), int.from_bytes(extra[at + 2:at + 4], "little")
        body = extra[at + 4:at + 4 + size]
        if tag == 1:
            values = iter(int.from_bytes(body[i:i + 8], "little") for i in range(0, len(body) - 7, 8))
            return [next(values, value) if value == 0xFFFFFFFF else value for value in sizes]
        at += 4 + size
    return sizes


def _central(view: memoryview) -> list[tuple[str, int, int]]:
    """(name, local header offset, compressed size) of each central directory entry; [] if there is none."""
    tail_start = max(0, len(view) - _MAX_COMMENT)
    end = bytes(view[tail_start:]).rfind(_END)
    if end < 0:
        return []
    end += tail_start
    count, start = _u(view, end + 10, 2), _u(view, end + 16, 4)
    if start == 0xFFFFFFFF or count == 0xFFFF:
        locator = end - 20
        if locator >= 0 and bytes(view[locator:locator + 4]) == _END64_LOCATOR:
            record = _u(view, locator + 8, 8)
            count, start = _u(view, record + 32, 8), _u(view, record + 48, 8)
    entries = []
    at = start
    for _ in range(count):
        if bytes(view[at:at + 4]) != _CENTRAL:
            break  # a damaged directory: the local headers are walked anyway
        name_len, extra_len, comment_len = _u(view, at + 28, 2), _u(view, at + 30, 2), _u(view, at + 32, 2)
        name = bytes(view[at + 46:at + 46 + name_len]).decode("utf-8", "replace")
        extra = bytes(view[at + 46 + name_len:at + 46 + name_len + extra_len])
        _, compressed, offset = _zip64(extra, [_u(view, at + 24, 4), _u(view, at + 20, 4), _u(view, at + 42, 4)])
        entries.append((name, offset, compressed))
        at += 46 + name_len + extra_len + comment_len
    return entries


def _inflate(method: int, raw: memoryview, limit: int) -> bytes:
    if method == 8:
        inflater = zlib.decompressobj(-15)
        out = inflater.decompress(raw, limit + 1)
    elif method == 12:
        out = bz2.BZ2Decompressor().decompress(raw, limit + 1)
    else:
        raise MalformedArtifact(f"ZIP compression method {method} is not supported: cannot be inspected")
    if len(out) > limit:
        raise MalformedArtifact(f"ZIP member expands beyond {limit} bytes: not inspected")
    return out


def _member(view: memoryview, offset: int, compressed: int | None, limit: int) -> Member:
    if bytes(view[offset:offset + 4]) != _LOCAL:
        return Member("?", offset, None, "no local header where the central directory points")
    flags, method = _u(view, offset + 6, 2), _u(view, offset + 8, 2)
    name_len, extra_len = _u(view, offset + 26, 2), _u(view, offset + 28, 2)
    name = bytes(view[offset + 30:offset + 30 + name_len]).decode("utf-8", "replace")
    extra = bytes(view[offset + 30 + name_len:offset + 30 + name_len + extra_len])
    start = offset + 30 + name_len + extra_len
    if compressed is None or compressed == 0xFFFFFFFF:
        _, local_size = _zip64(extra, [_u(view, offset + 22, 4), _u(view, offset + 18, 4)])
        compressed = local_size if local_size or method != 0 or not flags & 8 else None
    if flags & 1:
        return Member(name, offset, None, "member is encrypted: cannot be inspected")
    if method == 0:
        if compressed is None:  # size only in a data descriptor: up to the next header
            following = bytes(view[start:]).find(b"PK")
            compressed = following if following >= 0 else len(view) - start
        return Member(name, offset, view[start:start + compressed], end=start + compressed)
    raw = view[start:] if method == 8 else view[start:start + (compressed or len(view) - start)]
    try:
        return Member(name, offset, _inflate(method, raw, limit), end=start + (compressed or 0))
    except (zlib.error, OSError, EOFError, MalformedArtifact) as exc:
        return Member(name, offset, None, f"member does not decompress: {exc}")


def members(view: memoryview, limit: int) -> Iterator[Member]:
    """Every member found through the central directory, then every other local header."""
    seen: set[int] = set()
    covered: list[tuple[int, int]] = []
    try:
        listed = _central(view)
    except MalformedArtifact:
        listed = []
    for _, offset, compressed in listed:
        if offset in seen or offset >= len(view):
            continue
        seen.add(offset)
        member = _member(view, offset, compressed, limit)
        covered.append((offset, max(member.end, offset + 30)))
        yield member
    # then local headers in what no listed member covers (a loader reading headers one after another
    # never looks inside a member's data, so neither does this search: a healthy archive has no gaps)
    position = 0
    for lo, hi in [*sorted(covered), (len(view), len(view))]:
        inside_until = 0
        for at in _find_all(view, _LOCAL, position, lo):
            if at not in seen and at >= inside_until:
                seen.add(at)
                member = _member(view, at, None, limit)
                inside_until = member.end
                yield member
        position = max(position, hi)


def _find_all(view: memoryview, needle: bytes, start: int, stop: int, window: int = 1 << 26) -> Iterator[int]:
    """Offsets of ``needle`` starting in ``[start, stop)``, a window at a time (a checkpoint may not fit twice in memory)."""
    for base in range(start, stop, window):
        chunk = bytes(view[base:min(stop, base + window) + len(needle) - 1])
        at = chunk.find(needle)
        while at >= 0:
            yield base + at
            at = chunk.find(needle, at + 1)
