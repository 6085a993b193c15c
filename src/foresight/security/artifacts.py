"""Scan a model artifact's bytes: route by content (never by file name), recurse into containers.

What a file is comes from its first bytes: NumPy ``.npy``, ZIP (PyTorch, ``.npz``, ``.keras``; read
leniently, :mod:`~foresight.security.zip_reader`), gzip/bz2/xz/lzma/zlib/lz4 streams (joblib's
compressors), tar (legacy PyTorch), HDF5, safetensors, ONNX, JSON (Keras configs) and pickles of any
protocol, which are also tried on whatever else is left (a protocol 0 pickle has no magic bytes).
Members, decompressed streams and byte strings inside pickles go through the same routing, so a
pickle in a gzip in a ZIP in a pickle is found.

Everything fails closed: what does not parse is an error finding (:data:`~foresight.security.
artifact_rules.MALFORMED`), never a silent pass and never an exception.
"""

from __future__ import annotations

import ast
import bz2
import io
import json
import lzma
import re
import tarfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cramjam
import numpy as np

from foresight.security import artifact_rules as R
from foresight.security.callables import Verdict, judge
from foresight.security.findings import (
    Finding,
    Location,
    MalformedArtifact,
    Rule,
)
from foresight.security.keras_format import (
    findings_in_config,
    findings_in_hdf5,
    hdf5_at,
)
from foresight.security.onnx_format import escapes, external_locations, looks_like_onnx
from foresight.security.pickle_walk import PickleWalk, looks_like_pickle, walk_pickle
from foresight.security.safetensors_format import (
    header_problems,
    looks_like_safetensors,
)
from foresight.security.zip_reader import is_zip, members

__all__ = ["ScanLimits", "scan_artifact"]


@dataclass(frozen=True)
class ScanLimits:
    """How far the scanner follows an artifact; past a limit it reports FSA006 instead of reading on."""

    #: containers inside containers (ZIP in pickle in gzip ...)
    max_depth: int = 8
    #: bytes one compressed stream or member may expand to
    max_expanded_bytes: int = 2 << 30


def scan_artifact(data: bytes | bytearray | memoryview, path: str, limits: ScanLimits = ScanLimits()) -> list[Finding]:
    """Every finding in one artifact's bytes; ``path`` is only where findings say they are."""
    view = memoryview(data).cast("B")
    findings: list[Finding] = []
    _Scan(limits, findings).route(view, Location(path), 0, "")
    return findings


_GZIP, _BZ2, _XZ, _LZ4 = b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x04\x22\x4d\x18"
_NPY = b"\x93NUMPY"
#: numpy.load refuses headers over 10 000 bytes unless allow_pickle; past this the header is not parsed at all
_MAX_NPY_HEADER = 1_000_000


class _Scan:
    def __init__(self, limits: ScanLimits, findings: list[Finding]) -> None:
        self.limits = limits
        self.findings = findings

    def add(self, rule: Rule, message: str, where: Location) -> None:
        self.findings.append(Finding(rule.id, rule.level, message, where))

    def route(self, view: memoryview, where: Location, depth: int, name: str) -> None:
        """Find what ``view`` is by its first bytes and scan it as that."""
        if depth > self.limits.max_depth:
            self.add(R.BOMB, f"containers nest deeper than {self.limits.max_depth} levels: not inspected", where)
            return
        head = bytes(view[:16])
        try:
            if head.startswith(_NPY):
                self.npy(view, where, depth)
            elif head.startswith(b"\x80") and len(head) > 1 and head[1] <= 5:
                self.pickle(view, where, depth)
            elif head.startswith(b"PK") and is_zip(view):
                self.zip(view, where, depth)
            elif head.startswith((_GZIP, _XZ, _LZ4)) or head.startswith(_BZ2) and head[4:10] == b"1AY&SY":
                self.stream(view, where, depth, head)
            elif len(view) > 262 and bytes(view[257:262]) == b"ustar":
                self.tar(view, where, depth)
            elif hdf5_at(view):
                for kind, what, offset in findings_in_hdf5(view):
                    self.add(R.KERAS_LAMBDA if kind == "lambda" else R.CUSTOM_MODULE, what, where.at(byte_offset=offset))
            elif head[:1] not in (b"{", b"[") and looks_like_safetensors(view):
                for problem in header_problems(view):
                    self.add(R.SAFETENSORS_HEADER, problem, where)
            elif looks_like_onnx(view):
                self.onnx(view, where)
            elif not self.weak_formats(view, where, depth, head, name):
                self.pickle(view, where, depth, sure=False)
        except MalformedArtifact as exc:
            self.add(R.MALFORMED, str(exc), where if exc.offset is None else where.at(byte_offset=exc.offset))

    # -- formats with weak or no magic: tried, and silent when they turn out to be something else
    def weak_formats(self, view: memoryview, where: Location, depth: int, head: bytes, name: str) -> bool:
        if head[:1] == b"\x78" and len(head) > 1 and (head[0] << 8 | head[1]) % 31 == 0:
            inflater = zlib.decompressobj()
            try:
                inflated = inflater.decompress(view, self.limits.max_expanded_bytes + 1)
            except zlib.error:
                inflated = None
            if inflated is not None:
                if not inflater.eof and len(inflated) <= self.limits.max_expanded_bytes:
                    self.add(R.MALFORMED, "zlib stream ends before its end marker (truncated); what it holds is scanned", where)
                self.expanded(inflated, where.inside("(zlib)"), depth)
                return True
        if head[:1] == b"\x5d" and head[1:3] == b"\x00\x00":  # lzma "alone", joblib's 'lzma' compressor
            try:
                expanded = lzma.LZMADecompressor(lzma.FORMAT_ALONE).decompress(view, self.limits.max_expanded_bytes + 1)
            except lzma.LZMAError:
                expanded = None
            if expanded is not None:
                self.expanded(expanded, where.inside("(lzma)"), depth)
                return True
        text = head.lstrip()[:1]
        if text in (b"{", b"["):
            try:
                config = json.loads(bytes(view))
            except (ValueError, UnicodeDecodeError) as exc:
                if name.endswith(".json"):  # a config the loader will read: unreadable is not safe
                    raise MalformedArtifact(f"JSON does not parse: {exc}") from exc
                return False
            for kind, what in findings_in_config(config):
                self.add(R.KERAS_LAMBDA if kind == "lambda" else R.CUSTOM_MODULE, what, where)
            return True
        return False

    def expanded(self, data: bytes, where: Location, depth: int) -> None:
        if len(data) > self.limits.max_expanded_bytes:
            self.add(R.BOMB, f"expands beyond {self.limits.max_expanded_bytes} bytes: not inspected past that", where)
            data = data[: self.limits.max_expanded_bytes]
        self.route(memoryview(data), where, depth + 1, "")

    def stream(self, view: memoryview, where: Location, depth: int, head: bytes) -> None:
        limit = self.limits.max_expanded_bytes + 1
        try:
            if head.startswith(_GZIP):
                kind, (data, complete) = "gzip", _expand(lambda: zlib.decompressobj(31), view, _GZIP, limit)
            elif head.startswith(_XZ):
                kind, (data, complete) = "xz", _expand(lzma.LZMADecompressor, view, _XZ, limit)
            elif head.startswith(_LZ4):
                kind, data, complete = "lz4", bytes(cramjam.lz4.decompress(bytes(view))), True
            else:
                kind, (data, complete) = "bz2", _expand(bz2.BZ2Decompressor, view, _BZ2, limit)
        except (zlib.error, lzma.LZMAError, OSError, EOFError, cramjam.DecompressionError) as exc:
            raise MalformedArtifact(f"compressed stream does not decompress: {exc}") from exc
        if not complete:
            self.add(R.MALFORMED, f"{kind} stream ends before its end marker (truncated); what it holds is scanned", where)
        self.expanded(data, where.inside(f"({kind})"), depth)

    def zip(self, view: memoryview, where: Location, depth: int) -> None:
        for member in members(view, self.limits.max_expanded_bytes):
            inner = where.inside(member.name)
            if member.data is None:
                rule = R.BOMB if "expands beyond" in (member.problem or "") else R.MALFORMED
                self.add(rule, member.problem or "unreadable member", inner)
            elif not member.name.endswith("/") or len(member.data):
                self.route(memoryview(member.data).cast("B"), inner, depth + 1, member.name)

    def tar(self, view: memoryview, where: Location, depth: int) -> None:
        try:
            with tarfile.open(fileobj=io.BytesIO(bytes(view)), mode="r:") as archive:
                for info in archive:
                    if info.isfile():
                        handle = archive.extractfile(info)
                        data = handle.read() if handle is not None else b""
                        self.route(memoryview(data), where.inside(info.name), depth + 1, info.name)
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise MalformedArtifact(f"tar archive does not read: {exc}") from exc

    def npy(self, view: memoryview, where: Location, depth: int) -> None:
        major = view[6] if len(view) > 8 else 0
        if major not in (1, 2, 3):
            raise MalformedArtifact(f".npy format version {major} is unknown")
        width = 2 if major == 1 else 4
        length = int.from_bytes(view[8:8 + width], "little")
        if length > _MAX_NPY_HEADER:
            raise MalformedArtifact(f".npy header of {length} bytes: more than {_MAX_NPY_HEADER} is not parsed")
        start = 8 + width + length
        if start > len(view):
            raise MalformedArtifact(".npy header runs past the end")
        text = bytes(view[8 + width:start]).decode("latin-1" if major < 3 else "utf-8")
        if major == 1:  # Python 2 wrote long integers in shapes as "2L", which numpy still reads
            text = re.sub(r"\b(\d+)L\b", r"\1", text)
        try:
            header = ast.literal_eval(text)
            dtype = np.lib.format.descr_to_dtype(header["descr"])
            shape = tuple(int(n) for n in header["shape"])
        except (ValueError, SyntaxError, KeyError, TypeError, MemoryError, RecursionError) as exc:
            raise MalformedArtifact(f".npy header does not parse: {exc}") from exc
        if dtype.hasobject:
            self.add(R.OBJECT_ARRAY, f"object array of shape {shape}: its data is a pickle", where)
            self.pickle(view[start:], where.inside("(object array pickle)"), depth)
        elif len(view) - start < int(np.prod(shape, dtype=np.float64)) * dtype.itemsize:
            raise MalformedArtifact(f".npy data is shorter than shape {shape} of {dtype} needs")

    def onnx(self, view: memoryview, where: Location) -> None:
        for offset, location in external_locations(view):
            if escapes(location):
                self.add(R.ONNX_PATH, f"external data location {location!r} leaves the model's folder",
                         where.at(byte_offset=offset))

    def pickle(self, view: memoryview, where: Location, depth: int, sure: bool = True) -> None:
        """One or more pickles back to back (legacy PyTorch files hold five), then whatever follows."""
        walk = walk_pickle(view)
        if not sure and walk.error is not None and not (walk.imports and walk.calls) and not walk.dynamic_globals:
            return  # not a pickle (text, raw tensor data): a loader would neither import nor call anything
        self.judge(walk, where, depth)
        pos = walk.end
        while walk.error is None and pos < len(view) - 1 and looks_like_pickle(view[pos:pos + 256]):
            walk = walk_pickle(view, pos)
            self.judge(walk, where, depth)
            pos = walk.end

    def judge(self, walk: PickleWalk, where: Location, depth: int) -> None:
        verdicts: dict[tuple[str, str], Verdict] = {}
        for item in walk.imports:
            key = (item.module, item.name)
            if key not in verdicts:
                verdicts[key] = judge(item.module, item.name)
                verdict = verdicts[key]
                if verdict is not Verdict.SAFE:
                    rule = R.DANGEROUS_GLOBAL if verdict is Verdict.DANGEROUS else R.UNKNOWN_GLOBAL
                    self.add(rule, f"{item.opcode} imports {item.module}.{item.name}", where.at(byte_offset=item.offset))
        for offset in walk.dynamic_globals:
            self.add(R.DYNAMIC_GLOBAL, "STACK_GLOBAL with a module or name computed at load time", where.at(byte_offset=offset))
        for offset, code in walk.extension_codes:
            self.add(R.EXTENSION_CODE, f"extension code {code}", where.at(byte_offset=offset))
        for offset, blob in walk.nested:
            self.route(memoryview(blob), where.inside(f"(bytes at {offset})"), depth + 1, "")
        if walk.error is not None:
            self.add(R.MALFORMED, f"pickle: {walk.error}", where.at(byte_offset=walk.error.offset))


def _expand(make: Callable[[], Any], view: memoryview, magic: bytes, limit: int) -> tuple[bytes, bool]:
    """Every stream of a multi-stream file (``gzip.open``, ``bz2.open`` and ``lzma.open`` read them
    all, so a second stream can hide behind a harmless first one), and whether the last one ended."""
    out = bytearray()
    rest: bytes | memoryview = view
    while True:
        decompressor = make()
        out += decompressor.decompress(rest, limit - len(out))
        if len(out) >= limit:
            return bytes(out), True
        if not decompressor.eof:
            return bytes(out), False
        rest = decompressor.unused_data
        if not rest.startswith(magic):
            return bytes(out), True
