"""The opcode walker against Python's own unpickler: same imports, every protocol, never a crash."""

from __future__ import annotations

import collections
import datetime
import io
import pickle
from collections.abc import Callable

import joblib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foresight.bench.scan_corpus import Opcodes
from foresight.security import MalformedArtifact, scan_artifact
from foresight.security.pickle_walk import walk_pickle

Recorded = Callable[[bytes], list[tuple[str, str]]]

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text() | st.binary(),
    lambda inner: st.lists(inner) | st.tuples(inner, inner) | st.dictionaries(st.text(), inner)
    | st.frozensets(st.integers()) | st.builds(collections.OrderedDict, st.dictionaries(st.text(), inner)),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(value=values, protocol=st.integers(0, 5))
def test_same_imports_as_the_unpickler(value: object, protocol: int, recorded: Recorded) -> None:
    data = pickle.dumps(value, protocol=protocol)
    walk = walk_pickle(data)
    assert walk.error is None
    assert walk.end == len(data)
    assert [(i.module, i.name) for i in walk.imports] == recorded(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_fail_closed(data: bytes) -> None:
    """Garbage never raises: the walker records a MalformedArtifact, the scanner returns findings."""
    walk = walk_pickle(data)
    assert walk.error is None or isinstance(walk.error, MalformedArtifact)
    assert isinstance(scan_artifact(data, "random.bin"), list)


@settings(max_examples=200, deadline=None)
@given(prefix=st.sampled_from([b"\x80\x04", b"PK\x03\x04", b"\x93NUMPY\x01\x00", b"\x1f\x8b", b"\x08\x09", b"c"]),
       tail=st.binary(max_size=200))
def test_random_bytes_behind_a_magic_fail_closed(prefix: bytes, tail: bytes) -> None:
    for finding in scan_artifact(prefix + tail, "x"):
        assert finding.rule_id.startswith("FSA")


def test_numpy_and_containers_at_every_protocol(recorded: Recorded) -> None:
    value = {"a": np.arange(6.0).reshape(2, 3), "d": datetime.datetime(2026, 1, 1), "o": collections.Counter("ab"),
             "s": {1, 2}, "b": bytearray(b"xy"), "n": np.float32(1.5)}
    for protocol in range(6):
        data = pickle.dumps(value, protocol=protocol)
        walk = walk_pickle(data)
        assert walk.error is None and walk.end == len(data)
        assert [(i.module, i.name) for i in walk.imports] == recorded(data)
        assert scan_artifact(data, "v.pkl") == []


def test_memo_resolved_stack_global() -> None:
    data = (Opcodes(4).text("os").raw(b"q\x05").text("system").raw(b"r\x09\x00\x00\x00").raw(b"00")
            .raw(b"h\x05j\x09\x00\x00\x00\x93").call("id").done())
    walk = walk_pickle(data)
    assert [(i.module, i.name, i.opcode) for i in walk.imports] == [("os", "system", "STACK_GLOBAL")]


def test_a_computed_name_is_dynamic() -> None:
    data = Opcodes(4).glob("_codecs", "encode").call("bf", "rot13").text("system").raw(b"\x93").call("id").done()
    walk = walk_pickle(data)
    assert walk.dynamic_globals == [data.index(b"\x93")]


def test_extension_codes_are_reported() -> None:
    walk = walk_pickle(b"\x80\x02\x82\x07)R.")
    assert walk.extension_codes == [(2, 7)]
    assert [f.rule_id for f in scan_artifact(b"\x80\x02\x82\x07)R.", "x")] == ["FSA004"]


def test_findings_before_the_damage_are_kept() -> None:
    """pickle.load runs what comes before a broken opcode, so the import is reported with the damage."""
    data = Opcodes(2).glob("os", "system").call("id").done()[:-1] + b"\xff"
    rules = [f.rule_id for f in scan_artifact(data, "x")]
    assert rules == ["FSA001", "FSA005"]


@pytest.mark.parametrize("damage", [b"", b"\x80\x02(", b"\x80\x02h\x01.", b"\x80\x02K\x01\x93.", b"\x80\x09N."])
def test_malformed_pickles_are_errors(damage: bytes) -> None:
    walk = walk_pickle(damage)
    assert isinstance(walk.error, MalformedArtifact)


def test_legacy_torch_pickles_back_to_back() -> None:
    """A legacy torch file holds several pickles in a row, then raw storage bytes: all pickles are judged."""
    first = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
    evil = Opcodes(2).glob("os", "system").call("id").done()
    findings = scan_artifact(first + pickle.dumps(1001, protocol=2) + evil + b"\x01\x00\x00\x00raw floats", "legacy")
    assert [f.rule_id for f in findings] == ["FSA001"]


@pytest.mark.parametrize("compress", [0, 3])
def test_joblib_inline_arrays_are_stepped_over(compress: int) -> None:
    """joblib writes array data (and object arrays as nested pickles) inside its pickle stream."""
    value = {"x": np.arange(1000.0), "u": np.array(["ab", "c"]), "r": np.zeros((3, 0)), "o": np.array([1, None], dtype=object),
             "s": np.zeros(2, dtype=[("a", "<i4"), ("b", "<f8")]), "after": collections.OrderedDict(k=1)}
    buffer = io.BytesIO()
    joblib.dump(value, buffer, compress=compress)
    assert scan_artifact(buffer.getvalue(), "v.joblib") == []


@pytest.mark.parametrize("inner", [b"(S'id'\nios\nsystem\n.", b"cos\nsystem\n(S'id'\ntR.",
                                   Opcodes(4).glob("os", "system").call("id").done()])
@pytest.mark.parametrize("as_text", [False, True])
def test_pickles_nested_in_constants(inner: bytes, as_text: bool) -> None:
    outer = pickle.dumps({"blob": inner.decode("latin-1") if as_text else inner}, protocol=4)
    findings = scan_artifact(outer, "outer.pkl")
    assert [f.rule_id for f in findings] == ["FSA001"]
    assert findings[0].location.members[0].startswith("(bytes at ")


def test_random_large_constants_are_not_copied_or_rescanned() -> None:
    data = pickle.dumps(np.random.default_rng(1).random(200_000), protocol=5)
    walk = walk_pickle(data)
    assert walk.error is None and all(len(blob) < 64 for _, blob in walk.nested)
