"""A partition's checkpoint: its detector state and the stream sequence that state has learned up to.

A worker that takes a partition over restores the checkpoint and replays the stream from
``seq + 1``: the detectors are deterministic, so the replayed samples get the scores they got
before (and their alerts the same keys), and every sample is scored exactly once in effect.

Each of the state's arrays is zstd-compressed straight from its memory (no copy of the state on
the way: a partition's rows are usually a view of the worker's state) and the compressed blobs
travel in a msgpack map: most of a young detector's symbol tables are zeros, and a checkpoint is
written every few seconds.

>>> from foresight.detect import make_detector
>>> d = make_detector("ewma")
>>> cp = Checkpoint(partition=3, seq=41, ids=("a",), state=d.init(1))
>>> back = decode_checkpoint(encode_checkpoint(cp), d)
>>> back.partition, back.seq, back.ids
(3, 41, ('a',))
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any, TypeVar

import cramjam
import msgpack
import numpy as np

from foresight.detect.protocol import ArrayState, Detector
from foresight.errors import InputError

__all__ = ["Checkpoint", "concat_states", "decode_checkpoint", "encode_checkpoint", "take_rows"]

VERSION = 2
S = TypeVar("S", bound=ArrayState)


@dataclass(frozen=True)
class Checkpoint:
    """Detector state of a partition's series (row ``i`` is ``ids[i]``) after stream sequence ``seq``."""

    partition: int
    seq: int
    ids: tuple[str, ...]
    state: ArrayState


def _flatten(state: ArrayState, prefix: str = "") -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for f in dataclasses.fields(state):
        value = getattr(state, f.name)
        if isinstance(value, ArrayState):
            out.update(_flatten(value, f"{prefix}{f.name}."))
        else:
            array = np.ascontiguousarray(value)  # a view when it is one already (rows of a C-ordered array)
            out[prefix + f.name] = [array.dtype.str, list(array.shape), bytes(cramjam.zstd.compress(array, level=1))]
    return out


def _rebuild(cls: type[S], arrays: dict[str, list[Any]], prefix: str = "") -> S:
    kinds = typing.get_type_hints(cls)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        kind = kinds[f.name]
        if isinstance(kind, type) and issubclass(kind, ArrayState):
            fields[f.name] = _rebuild(kind, arrays, f"{prefix}{f.name}.")
            continue
        try:
            dtype, shape, data = arrays[prefix + f.name]
        except KeyError:
            raise InputError(f"checkpoint lacks {prefix + f.name!r}: written by another detector version") from None
        try:
            raw = bytes(cramjam.zstd.decompress(data))
            fields[f.name] = np.frombuffer(raw, dtype=np.dtype(dtype)).reshape(shape).copy()
        except (ValueError, TypeError, cramjam.DecompressionError) as exc:
            raise InputError(f"checkpoint: array {prefix + f.name!r} unreadable ({exc})") from exc
    return cls(**fields)


def encode_checkpoint(cp: Checkpoint) -> bytes:
    return msgpack.packb({"v": VERSION, "p": cp.partition, "s": cp.seq, "i": list(cp.ids), "a": _flatten(cp.state)})


def decode_checkpoint(data: bytes, detector: Detector[Any]) -> Checkpoint:
    """The checkpoint in ``data``, its state rebuilt as ``detector``'s (another detector's is refused)."""
    try:
        body = msgpack.unpackb(data, raw=False)
    except (ValueError, msgpack.UnpackException) as exc:
        raise InputError(f"checkpoint: unreadable ({exc})") from exc
    if not isinstance(body, dict) or body.get("v") != VERSION:
        raise InputError(f"checkpoint: not a version-{VERSION} checkpoint")
    state = _rebuild(type(detector.init(0)), body["a"])
    ids = tuple(body["i"])
    return Checkpoint(int(body["p"]), int(body["s"]), ids, state)


def concat_states(a: S, b: S) -> S:
    """``a``'s series followed by ``b``'s (a partition meeting new series grows its state)."""
    return type(a)(**{
        f.name: concat_states(getattr(a, f.name), getattr(b, f.name))
        if isinstance(getattr(a, f.name), ArrayState)
        else np.concatenate([getattr(a, f.name), getattr(b, f.name)])
        for f in dataclasses.fields(a)
    })


def take_rows(state: S, rows: np.ndarray | slice) -> S:
    """The series ``rows`` of ``state``: copied for an index array, views for a slice."""
    return type(state)(**{
        f.name: take_rows(getattr(state, f.name), rows)
        if isinstance(getattr(state, f.name), ArrayState)
        else getattr(state, f.name)[rows]
        for f in dataclasses.fields(state)
    })
