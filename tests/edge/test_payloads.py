"""Payload validation: every valid message decodes to its samples; anything else is one counted reason, never an exception."""

from __future__ import annotations

import math

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foresight.edge.schema import MAX_SAMPLES, Decoded, Rejected, Sample, decode, encode, parse_topic, topic

TOPIC = topic("north", "cam-1")
NOW = 1_765_000_000.0


def _body(**change: object) -> bytes:
    body: dict[str, object] = {"v": 1, "device": "cam-1", "boot": 2,
                               "samples": [{"seq": 7, "t": NOW - 5, "values": {"cpu": 0.5, "temp_c": None}}]}
    body.update(change)
    return orjson.dumps(body)


def test_a_valid_message_decodes_to_its_samples_and_null_is_missing() -> None:
    decoded = decode(TOPIC, _body(), NOW)
    assert isinstance(decoded, Decoded)
    assert (decoded.fleet, decoded.device) == ("north", "cam-1")
    (sample,) = decoded.samples
    assert (sample.boot, sample.seq, sample.t, sample.values["cpu"]) == (2, 7, NOW - 5, 0.5)
    assert math.isnan(sample.values["temp_c"])


def test_encode_then_decode_is_the_identity() -> None:
    samples = [Sample(3, seq, NOW - 100 + seq, {"infer_ms": 12.5 + seq}) for seq in range(50)]
    decoded = decode(TOPIC, encode("cam-1", samples, boot=3), NOW)
    assert isinstance(decoded, Decoded) and list(decoded.samples) == samples


@pytest.mark.parametrize(("name", "payload", "reason"), [
    ("foresight/edge/north/metrics", _body(), "bad_topic"),
    ("foresight/edge/north/cam+1/metrics", _body(), "bad_topic"),
    ("foresight/edge/north/cam-1/status", _body(), "bad_topic"),
    (TOPIC, b"\xff\xfe not json", "bad_json"),
    (TOPIC, b"[1, 2]", "bad_schema"),
    (TOPIC, _body(v=2), "bad_version"),
    (TOPIC, _body(v=True), "bad_version"),
    (TOPIC, _body(device="cam-2"), "device_mismatch"),
    (TOPIC, _body(extra=1), "bad_schema"),
    (TOPIC, _body(boot=-1), "bad_schema"),
    (TOPIC, _body(samples=[]), "bad_schema"),
    (TOPIC, _body(samples=[{"seq": 1, "t": NOW, "values": {}}]), "bad_schema"),
    (TOPIC, _body(samples=[{"seq": 1.5, "t": NOW, "values": {"cpu": 1}}]), "bad_schema"),
    (TOPIC, _body(samples=[{"seq": 1, "t": "now", "values": {"cpu": 1}}]), "bad_schema"),
    (TOPIC, _body(samples=[{"seq": 1, "t": NOW, "values": {"CPU": 1}}]), "bad_schema"),
    (TOPIC, _body(samples=[{"seq": 1, "t": NOW, "values": {"cpu": "1"}}]), "bad_schema"),
    (TOPIC, _body(samples=[{"seq": 1, "t": NOW, "values": {"cpu": True}}]), "bad_schema"),
    (TOPIC, _body(samples=[{"seq": 1, "t": NOW + 3600, "values": {"cpu": 1}}]), "future_timestamp"),
    (TOPIC, _body(samples=[{"seq": k, "t": NOW, "values": {"cpu": 1}} for k in range(MAX_SAMPLES + 1)]), "bad_schema"),
    (TOPIC, b" " * (256 * 1024 + 1), "too_large"),
])
def test_each_kind_of_bad_message_is_rejected_with_its_reason(name: str, payload: bytes, reason: str) -> None:
    rejected = decode(name, payload, NOW)
    assert isinstance(rejected, Rejected) and rejected.reason == reason, rejected


@settings(max_examples=500, deadline=None)
@given(payload=st.binary(max_size=2000), name=st.text(max_size=80))
def test_random_bytes_on_any_topic_never_raise(payload: bytes, name: str) -> None:
    assert isinstance(decode(name, payload, NOW), (Decoded, Rejected))
    assert isinstance(decode(TOPIC, payload, NOW), (Decoded, Rejected))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=500, deadline=None)
@given(samples=st.lists(st.dictionaries(st.sampled_from(["seq", "t", "values", "x"]), JSON), max_size=4),
       v=JSON, boot=JSON)
def test_random_json_shaped_like_a_payload_never_raises(samples: list[dict[str, object]], v: object,
                                                        boot: object) -> None:
    try:
        payload = orjson.dumps({"v": v, "device": "cam-1", "boot": boot, "samples": samples})
    except orjson.JSONEncodeError:  # integers beyond 64 bits: not JSON orjson writes
        return
    assert isinstance(decode(TOPIC, payload, NOW), (Decoded, Rejected))


def test_topics_round_trip() -> None:
    assert parse_topic(topic("f.1", "d_2")) == ("f.1", "d_2")
