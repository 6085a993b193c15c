"""The wire format of edge telemetry: MQTT topics and the JSON payload of device and model metrics.

**Topic** (one per device, so a broker ACL can give each device its own subtree and a consumer can
subscribe to one fleet or to all)::

    foresight/edge/<fleet>/<device>/metrics        subscribe: foresight/edge/+/+/metrics

``<fleet>`` and ``<device>`` are 1-64 characters of ``A-Z a-z 0-9 _ . -`` (no MQTT wildcard, no
``/``, no ``$``).

**Payload** (UTF-8 JSON, at most 256 KiB; QoS 1)::

    {"v": 1, "device": "cam-0042", "boot": 7,
     "samples": [{"seq": 1041, "t": 1765000000.0,
                  "values": {"cpu": 0.41, "temp_c": 51.2, "infer_ms": 12.3, "confidence": 0.93}}]}

* ``v`` - the schema version (1); another version is refused, not guessed at.
* ``device`` - must equal the topic's ``<device>`` (a device publishing under another's name is
  refused: it would corrupt that device's baseline).
* ``boot`` - optional integer (default 0) that the device increments when it restarts and its
  sequence starts again; samples are ordered by ``(boot, seq)``.
* ``samples`` - 1 to 1,000 samples, so a device back from an outage replays its buffered backlog
  in a few messages. ``seq`` is an integer >= 0 that grows by exactly 1 per sample within a boot:
  the consumer puts late and out-of-order samples back in order by it, detects gaps, and drops
  the duplicates that QoS 1 redelivers. ``t`` is the sample's Unix time in seconds, taken on the
  device (the detectors score samples at the time they were measured, not when they arrived).
  ``values`` maps 1-64 metric names (``[a-z_][a-z0-9_]{0,63}``) to finite numbers, or ``null``
  for a value the device could not read (missing: it teaches the detector nothing).

Why JSON: every MQTT tool (``mosquitto_sub``), every edge runtime (MicroPython, C with cJSON,
Node-RED) reads and writes it without generated code, and a sample is ~150 bytes, which a
device sending one every few seconds does not need to shrink. CBOR or protobuf would save
about half of that at the cost of a schema compiler on every device; the version field leaves
room for one later.

:func:`decode` never raises on what arrives: a malformed message comes back as a
:class:`Rejected` with the reason it is counted under.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "MAX_SAMPLES",
    "SCHEMA_VERSION",
    "TOPIC_FILTER",
    "Decoded",
    "Rejected",
    "Sample",
    "decode",
    "encode",
    "parse_topic",
    "topic",
]

SCHEMA_VERSION = 1
MAX_PAYLOAD_BYTES = 256 * 1024
MAX_SAMPLES = 1000
MAX_VALUES = 64
#: Every fleet's metrics (a consumer of one fleet subscribes to ``foresight/edge/<fleet>/+/metrics``).
TOPIC_FILTER = "foresight/edge/+/+/metrics"

_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}\Z")
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,63}\Z")


@dataclass(frozen=True, slots=True)
class Sample:
    """One measurement of a device: its place in the device's sequence, its time and its values."""

    boot: int
    seq: int
    t: float
    values: dict[str, float]


@dataclass(frozen=True, slots=True)
class Decoded:
    """A valid message: which device of which fleet sent which samples."""

    fleet: str
    device: str
    samples: tuple[Sample, ...]


@dataclass(frozen=True, slots=True)
class Rejected:
    """A message that was dropped, and why: ``reason`` is a short counter key, ``detail`` for a log."""

    reason: str
    detail: str
    device: str | None = None


def topic(fleet: str, device: str) -> str:
    """The topic a device publishes its metrics on.

    >>> topic("north", "cam-0042")
    'foresight/edge/north/cam-0042/metrics'
    """
    return f"foresight/edge/{fleet}/{device}/metrics"


def parse_topic(name: str) -> tuple[str, str] | Rejected:
    """``(fleet, device)`` of a metrics topic, or why it is not one.

    >>> parse_topic("foresight/edge/north/cam-0042/metrics")
    ('north', 'cam-0042')
    >>> parse_topic("foresight/edge/north/metrics").reason
    'bad_topic'
    """
    parts = name.split("/")
    if len(parts) != 5 or parts[:2] != ["foresight", "edge"] or parts[4] != "metrics":
        return Rejected("bad_topic", f"topic {name[:200]!r} is not foresight/edge/<fleet>/<device>/metrics")
    fleet, device = parts[2], parts[3]
    if not _ID.match(fleet) or not _ID.match(device):
        return Rejected("bad_topic", f"topic {name[:200]!r}: fleet and device are 1-64 of A-Z a-z 0-9 _ . -")
    return fleet, device


def encode(device: str, samples: list[Sample], boot: int = 0) -> bytes:
    """The payload a device publishes (the simulated fleet's and the tests' encoder).

    >>> encode("d1", [Sample(0, 5, 60.0, {"cpu": 0.5})])
    b'{"v":1,"device":"d1","boot":0,"samples":[{"seq":5,"t":60.0,"values":{"cpu":0.5}}]}'
    """
    body = {
        "v": SCHEMA_VERSION,
        "device": device,
        "boot": boot,
        "samples": [{"seq": s.seq, "t": s.t, "values": s.values} for s in samples],
    }
    return orjson.dumps(body)


def decode(name: str, payload: bytes, now: float, max_future_s: float = 300.0) -> Decoded | Rejected:
    """The samples of a message on topic ``name``, or why it was dropped.

    Samples timed more than ``max_future_s`` after ``now`` are refused (a device with a wrong
    clock would otherwise poison the order of its series); the whole message goes, since its
    other timestamps come from the same clock.

    >>> decode("foresight/edge/f/d1/metrics", b'{"v":1,"device":"d1","samples":[{"seq":0,"t":1,"values":{"x":2}}]}', 10.0)
    Decoded(fleet='f', device='d1', samples=(Sample(boot=0, seq=0, t=1.0, values={'x': 2.0}),))
    >>> decode("foresight/edge/f/d1/metrics", b'{"v":1', 10.0).reason
    'bad_json'
    """
    where = parse_topic(name)
    if isinstance(where, Rejected):
        return where
    fleet, device = where
    if len(payload) > MAX_PAYLOAD_BYTES:
        return Rejected("too_large", f"{len(payload)} bytes > {MAX_PAYLOAD_BYTES}", device)
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        return Rejected("bad_json", f"not UTF-8 JSON: {exc}", device)
    try:
        return Decoded(fleet, device, _samples(body, device, now, max_future_s))
    except _Bad as bad:
        return Rejected(bad.reason, bad.detail, device)


class _Bad(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def _samples(body: Any, device: str, now: float, max_future_s: float) -> tuple[Sample, ...]:
    if not isinstance(body, dict):
        raise _Bad("bad_schema", "the payload is not a JSON object")
    if body.get("v") != SCHEMA_VERSION or isinstance(body.get("v"), bool):
        raise _Bad("bad_version", f"schema version {str(body.get('v'))[:20]!r}; this consumer reads {SCHEMA_VERSION}")
    unknown = set(body) - {"v", "device", "boot", "samples"}
    if unknown:
        raise _Bad("bad_schema", f"unknown field {sorted(unknown)[0][:64]!r}")
    if body.get("device") != device:
        raise _Bad("device_mismatch", f"payload device {str(body.get('device'))[:64]!r} is not the topic's {device!r}")
    boot = _count(body.get("boot", 0), "boot")
    raw = body.get("samples")
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_SAMPLES:
        raise _Bad("bad_schema", f"samples must be a list of 1 to {MAX_SAMPLES} samples")
    out = []
    for item in raw:
        if not isinstance(item, dict) or set(item) != {"seq", "t", "values"}:
            raise _Bad("bad_schema", "a sample has exactly the fields seq, t and values")
        seq = _count(item["seq"], "seq")
        t = item["t"]
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or t < 0:
            raise _Bad("bad_schema", f"sample {seq}: t must be a finite number of Unix seconds >= 0")
        if t > now + max_future_s:
            raise _Bad("future_timestamp", f"sample {seq} is timed {t - now:.0f} s in the future")
        out.append(Sample(boot, seq, float(t), _values(item["values"], seq)))
    return tuple(out)


def _count(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise _Bad("bad_schema", f"{field} must be an integer in [0, 2^63)")
    return value


def _values(raw: Any, seq: int) -> dict[str, float]:
    if not isinstance(raw, dict) or not 1 <= len(raw) <= MAX_VALUES:
        raise _Bad("bad_schema", f"sample {seq}: values must map 1 to {MAX_VALUES} names to numbers")
    values = {}
    for name, value in raw.items():
        if not _NAME.match(name):
            raise _Bad("bad_schema", f"sample {seq}: metric name {name[:64]!r} is not [a-z_][a-z0-9_]{{0,63}}")
        if value is None:
            values[name] = math.nan
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise _Bad("bad_schema", f"sample {seq}: {name} must be a finite number or null")
        else:
            values[name] = float(value)
    return values
