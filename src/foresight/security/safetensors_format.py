"""safetensors: the format is safe by design, if its header agrees with the file (checked here).

Layout: an 8-byte little-endian header length N, N bytes of JSON (``{name: {dtype, shape,
data_offsets: [begin, end]}, "__metadata__": {str: str}}``), then the tensor data; offsets count from
the end of the header. Loaders that trust a lying header allocate or read out of bounds.
"""

from __future__ import annotations

import itertools
import json
import math

__all__ = ["MAX_HEADER", "header_problems", "looks_like_safetensors"]

#: the reference implementation's limit on the header size
MAX_HEADER = 100_000_000
_SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1, "I16": 2, "U16": 2, "F16": 2,
          "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8, "C64": 8, "F4": 0.5, "F6_E2M3": 0.75,
          "F6_E3M2": 0.75}


def looks_like_safetensors(view: memoryview) -> bool:
    """A JSON object right after a plausible length: text whose ninth byte is ``{`` reads as a length
    above 2**61 (its high bytes are printable), far above the 2**40 taken as plausible here."""
    return len(view) >= 10 and bytes(view[8:10]) == b'{"' and 2 <= int.from_bytes(view[:8], "little") < 1 << 40


def header_problems(view: memoryview) -> list[str]:
    """What is wrong with the header, in words; [] for a consistent file."""
    size = int.from_bytes(view[:8], "little")
    if size > MAX_HEADER:
        return [f"header length {size} exceeds {MAX_HEADER} bytes"]
    if 8 + size > len(view):
        return [f"header length {size} runs past the end of the {len(view)}-byte file"]
    try:
        header = json.loads(bytes(view[8:8 + size]))
    except (ValueError, UnicodeDecodeError) as exc:
        return [f"header is not JSON: {exc}"]
    if not isinstance(header, dict):
        return ["header is not a JSON object"]
    data_size = len(view) - 8 - size
    problems = []
    spans = []
    for name, info in header.items():
        if name == "__metadata__":
            if not isinstance(info, dict) or not all(isinstance(v, str) for v in info.values()):
                problems.append("__metadata__ is not a map of strings")
            continue
        if not isinstance(info, dict):
            problems.append(f"tensor {name!r} is not an object")
            continue
        dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if dtype not in _SIZES:
            problems.append(f"tensor {name!r} has unknown dtype {dtype!r}")
            continue
        if not (isinstance(shape, list) and all(isinstance(n, int) and n >= 0 for n in shape)):
            problems.append(f"tensor {name!r} has an invalid shape {shape!r}")
            continue
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(n, int) for n in offsets)
                and 0 <= offsets[0] <= offsets[1] <= data_size):
            problems.append(f"tensor {name!r} has data offsets {offsets!r} outside the {data_size}-byte data")
            continue
        if offsets[1] - offsets[0] != math.ceil(math.prod(shape) * _SIZES[dtype]):
            problems.append(f"tensor {name!r}: {offsets[1] - offsets[0]} bytes for shape {shape} of {dtype}")
        spans.append((offsets[0], offsets[1], name))
    spans.sort()
    for (_, end, first), (begin, _, second) in itertools.pairwise(spans):
        if begin < end:
            problems.append(f"tensors {first!r} and {second!r} overlap")
    return problems
