"""Containers and formats: lenient ZIP, compression, npy, safetensors, ONNX, Keras; limits; non-artifacts."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import pickle
import struct
import zipfile

import cramjam
import numpy as np
import pytest

from foresight.bench.scan_corpus import Opcodes
from foresight.security import Level, ScanLimits, scan_artifact
from foresight.security.callables import Verdict, judge
from foresight.security.onnx_format import escapes

EVIL = Opcodes(2).glob("os", "system").call("id").done()


def rules(data: bytes, limits: ScanLimits | None = None) -> list[str]:
    return [f.rule_id for f in scan_artifact(data, "a", limits or ScanLimits())]


@pytest.mark.parametrize(("module", "name", "verdict"), [
    ("os", "system", Verdict.DANGEROUS), ("nt", "system", Verdict.DANGEROUS), ("subprocess", "run", Verdict.DANGEROUS),
    ("builtins", "eval", Verdict.DANGEROUS), ("__builtin__", "exec", Verdict.DANGEROUS),
    ("builtins", "getattr", Verdict.DANGEROUS), ("builtins", "open", Verdict.DANGEROUS),
    ("posixpath", "os.system", Verdict.DANGEROUS), ("pickle", "loads", Verdict.DANGEROUS),
    ("marshal", "loads", Verdict.DANGEROUS), ("types", "CodeType", Verdict.DANGEROUS), ("torch", "load", Verdict.DANGEROUS),
    ("numpy.testing._private.utils", "runstring", Verdict.DANGEROUS), ("collections", "OrderedDict.__init__.__globals__", Verdict.DANGEROUS),
    ("builtins", "set", Verdict.SAFE), ("numpy", "dtype", Verdict.SAFE), ("numpy._core.multiarray", "_reconstruct", Verdict.SAFE),
    ("sklearn.tree._tree", "Tree", Verdict.SAFE), ("torch._utils", "_rebuild_tensor_v2", Verdict.SAFE), ("torch", "bfloat16", Verdict.SAFE),
    ("xgboost.sklearn", "XGBClassifier", Verdict.SAFE), ("lightgbm.basic", "Booster", Verdict.SAFE),
    ("scipy.sparse._csr", "csr_matrix", Verdict.SAFE), ("numpy.matrixlib.defmatrix", "matrix", Verdict.SAFE),
    ("numpy.core._internal", "_reconstruct", Verdict.SAFE), ("__builtin__", "xrange", Verdict.SAFE),
    ("numpy.core.memmap", "memmap", Verdict.DANGEROUS),
    ("mypackage.layers", "Custom", Verdict.UNKNOWN), ("functools", "partial", Verdict.UNKNOWN),
    ("sklearn.utils", "some_function", Verdict.UNKNOWN),
])
def test_globals_are_judged(module: str, name: str, verdict: Verdict) -> None:
    assert judge(module, name) is verdict


def test_zip_members_are_found_by_content_whatever_their_name() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("weights/chunk_0.bin", EVIL)
        archive.writestr("README", b"just text")
    findings = scan_artifact(buffer.getvalue(), "m.zip")
    assert [(f.rule_id, f.location.members) for f in findings] == [("FSA001", ("weights/chunk_0.bin",))]


def test_zip_with_data_descriptor_and_no_directory() -> None:
    """A stream-written archive cut before its central directory still shows its members."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a/data.pkl", EVIL)
    data = buffer.getvalue()
    assert rules(data[: data.find(b"PK\x01\x02")]) == ["FSA001"]


def test_an_unreadable_member_fails_closed() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.pkl", b"x" * 1000)
    data = bytearray(buffer.getvalue())
    start = data.find(b"data.pkl") + len("data.pkl")
    data[start:start + 4] = b"\xff\xff\xff\xff"  # corrupt the deflate stream
    assert "FSA005" in rules(bytes(data))


def _lz4(data: bytes) -> bytes:  # the frame format joblib's 'lz4' compressor writes
    return bytes(cramjam.lz4.compress(data))


@pytest.mark.parametrize("wrap", [gzip.compress, bz2.compress, _lz4])
def test_compressed_pickles(wrap) -> None:  # type: ignore[no-untyped-def]
    assert rules(wrap(EVIL)) == ["FSA001"]
    assert "FSA005" in rules(wrap(EVIL)[:-3])  # a truncated stream fails closed


@pytest.mark.parametrize("wrap", [gzip.compress, bz2.compress, lzma.compress])
def test_a_second_stream_behind_a_harmless_one(wrap) -> None:  # type: ignore[no-untyped-def]
    assert rules(wrap(pickle.dumps([1, 2])) + wrap(EVIL)) == ["FSA001"]


def test_expansion_beyond_the_limit_is_reported() -> None:
    assert rules(gzip.compress(bytes(10_000)), ScanLimits(max_expanded_bytes=1000)) == ["FSA006"]


def test_nesting_beyond_the_limit_is_reported() -> None:
    data = EVIL
    for _ in range(5):
        data = gzip.compress(data)
    assert rules(data, ScanLimits(max_depth=3)) == ["FSA006"]
    assert rules(data) == ["FSA001"]


def test_truncated_npy_fails_closed() -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.arange(100.0))
    assert rules(buffer.getvalue()[:-8]) == ["FSA005"]


def test_safetensors_header_checks() -> None:
    def file(header: object, data: bytes, length: int | None = None) -> bytes:
        raw = json.dumps(header).encode()
        return struct.pack("<Q", len(raw) if length is None else length) + raw + data

    good = {"w": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}}
    assert rules(file(good, bytes(4))) == []
    assert rules(file({"w": {"dtype": "F16", "shape": [3], "data_offsets": [0, 4]}}, bytes(4))) == ["FSA010"]
    assert rules(file({**good, "v": {"dtype": "U8", "shape": [2], "data_offsets": [2, 4]}}, bytes(4))) == ["FSA010"]
    assert rules(file({"w": {"dtype": "Q9", "shape": [2], "data_offsets": [0, 4]}}, bytes(4))) == ["FSA010"]
    assert rules(file(good, bytes(4), length=10**12)) == ["FSA010"]


@pytest.mark.parametrize(("location", "escaping"), [
    ("weights.bin", False), ("sub/dir/w.bin", False), ("../w.bin", True), ("/etc/passwd", True),
    ("a\\..\\..\\w", True), ("C:w.bin", True), ("http://x/w", True), ("", True),
])
def test_onnx_locations(location: str, escaping: bool) -> None:
    assert escapes(location) is escaping


def test_keras_h5_with_a_user_block_and_a_foreign_module() -> None:
    config = json.dumps({"class_name": "Functional", "config": {"layers": [
        {"module": "evil_pkg.layers", "class_name": "Backdoor", "config": {}}]}}).encode()
    data = bytes(512) + b"\x89HDF\r\n\x1a\n" + bytes(64) + config
    findings = scan_artifact(data, "m.h5")
    assert [(f.rule_id, f.level) for f in findings] == [("FSA008", Level.WARNING)]


def test_broken_keras_config_fails_closed() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.json", b'{"class_name": "Sequential", ')
    assert rules(buffer.getvalue()) == ["FSA005"]


@pytest.mark.parametrize("text", [b"", b"class Model:\n    pass\n", b"# readme\n", b"{not json", b"\x00" * 100,
                                  b"import os\nos.system('x')\n", b"cat\nfile.txt here\n", b"config\nvalues\nmore text"])
def test_files_that_are_no_artifact_are_quiet(text: bytes) -> None:
    assert rules(text) == []


def test_python2_npy_header_with_long_integers() -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((2, 2), dtype="<i8"))
    data = buffer.getvalue()
    length = int.from_bytes(data[8:10], "little")
    header = data[10:10 + length].decode("latin-1").replace("(2, 2)", "(2L, 2L)")[:length].ljust(length)
    assert rules(data[:10] + header.encode("latin-1") + data[10 + length:]) == []


def test_python2_joblib_strings_are_text() -> None:
    """Python 2 pickles keep dict keys as BINSTRING: the joblib wrapper's state is still read."""
    import joblib

    buffer = io.BytesIO()
    joblib.dump({"x": np.arange(4.0)}, buffer, protocol=2)
    data = buffer.getvalue().replace(b"X\x05\x00\x00\x00shape", b"T\x05\x00\x00\x00shape")  # as Python 2 wrote it
    assert b"T\x05\x00\x00\x00shape" in data
    assert rules(data) == []


def test_text_with_a_brace_is_no_safetensors() -> None:
    assert rules(b"prefix=${pcfiledir}/../..\nName: numpy\n") == []
