"""Walk a pickle's opcodes without unpickling it: which globals it imports, what it calls, what it nests.

``pickle.load`` imports whatever ``GLOBAL``/``STACK_GLOBAL``/``INST`` name and calls it on ``REDUCE``,
``NEWOBJ``, ``OBJ``, ``INST`` or ``BUILD`` (``__setstate__``), so a pickle's risk is the set of callables it
can reach. This walker reads every opcode of protocols 0-5 and keeps a small model of the unpickler's
stack and memo, enough to:

* resolve ``STACK_GLOBAL``'s module and name through ``PUT``/``GET``/``MEMOIZE`` (names hidden in the
  memo are the usual trick against scanners that only look at the preceding two strings); a name that
  is not a constant string (built by a call at load time) is reported as *dynamic*;
* find pickles (and other artifacts) nested in the pickle's ``bytes``/``str`` constants;
* step over the raw array data joblib writes *inside* its pickle stream after each
  ``NumpyArrayWrapper`` (its size comes from the wrapper's shape and dtype), and over the pickle
  joblib nests there for object arrays. ``pickletools.genops`` stops at the first such array.

It is a single loop over a ``memoryview`` (no per-opcode generator or object), because models hold
millions of opcodes. Anything the unpickler would refuse (unknown opcode, truncated argument, stack
underflow, a memo key never stored) stops the walk with :class:`MalformedArtifact` recorded in
``PickleWalk.error``, *after* what was found up to there, since ``pickle.load`` runs those opcodes too.
"""

from __future__ import annotations

import codecs
import math
import struct
from dataclasses import dataclass, field

from foresight.collector import paused_collector
from foresight.security.findings import MalformedArtifact

__all__ = ["Import", "PickleWalk", "looks_like_pickle", "walk_pickle"]

#: a bytes or str constant at least this long is checked for a nested artifact
NESTED_MIN = 8
#: how deep joblib object arrays may nest pickles in one stream
_MAX_INLINE_DEPTH = 16


@dataclass(frozen=True)
class Import:
    """A global the pickle imports: ``module`` and ``name`` as ``find_class`` receives them."""

    module: str
    name: str
    offset: int
    opcode: str


@dataclass
class PickleWalk:
    """What one pickle stream holds; ``end`` is the offset after its ``STOP``."""

    imports: list[Import] = field(default_factory=list)
    dynamic_globals: list[int] = field(default_factory=list)
    extension_codes: list[tuple[int, int]] = field(default_factory=list)
    nested: list[tuple[int, bytes | memoryview]] = field(default_factory=list)
    calls: int = 0
    opcodes: int = 0
    protocol: int = 0
    end: int = 0
    error: MalformedArtifact | None = None


class _Mark:
    __slots__ = ()


class _Opaque:
    """A value the walker does not model (a number it need not know, a set, a buffer)."""

    __slots__ = ()


class _Global:
    __slots__ = ("module", "name")

    def __init__(self, module: str, name: str) -> None:
        self.module = module
        self.name = name


class _Made:
    """An object built at load time by calling ``factory`` on ``args``; BUILD sets ``state``."""

    __slots__ = ("args", "factory", "state")

    def __init__(self, factory: object, args: object) -> None:
        self.factory = factory
        self.args = args
        self.state: object = None


_I4 = struct.Struct("<i").unpack_from
_U4 = struct.Struct("<I").unpack_from
_MARK = _Mark()
_OPAQUE = _Opaque()

# first bytes of the constants worth a closer look (:func:`_nested`)
_NESTED_STARTS = frozenset(b"\x80\xc2c(PK\x1f\xfdB\x93\x78")


def _ident(text: str) -> bool:
    return bool(text) and all(part.isidentifier() for part in text.split("."))


def looks_like_pickle(data: bytes | memoryview) -> bool:
    """Cheap content test: a protocol 2-5 header, or a protocol 0/1 global or instance near the start."""
    if len(data) < 2:
        return False
    first = data[0]
    if first == 0x80:
        return data[1] <= 5
    head = bytes(data[:256])
    if first == 0x28:  # MARK, then a protocol 0 INST or GLOBAL somewhere in the arguments
        return any(marker in head for marker in (b"\ni", b"\nc", b"(i", b"(c"))
    return first in (0x63, 0x69) and b"\n" in head  # GLOBAL / INST: "module\nname\n"


def walk_pickle(data: bytes | memoryview, start: int = 0) -> PickleWalk:
    """Walk one pickle stream starting at ``start`` up to and including its ``STOP``."""
    walk = PickleWalk()
    view = memoryview(data).cast("B") if not isinstance(data, memoryview) or data.format != "B" else data
    # The walk allocates a tuple or dict per opcode and frees them all at the end: the cyclic
    # collector would rescan that growing heap again and again (a third of the time on big pickles).
    with paused_collector():
        try:
            walk.end = _walk(view, start, walk, 0)
        except MalformedArtifact as exc:
            walk.error = exc.with_traceback(None)  # its frames would keep the (maybe memory-mapped) data alive
        except (IndexError, ValueError, UnicodeDecodeError, OverflowError, TypeError, KeyError, MemoryError,
                RecursionError, struct.error) as exc:
            walk.error = MalformedArtifact(f"malformed pickle: {type(exc).__name__}: {exc}")
    return walk


def _line(view: memoryview, pos: int, size: int) -> tuple[bytes, int]:
    """The bytes up to the next newline (excluded) and the position after it."""
    end = bytes(view[pos:pos + 65536]).find(b"\n")  # no pickle line argument is longer
    if end < 0:
        raise MalformedArtifact("pickle line argument without a newline", pos)
    return bytes(view[pos:pos + end]), pos + end + 1


def _pop_mark(stack: list[object], marks: list[int], pos: int) -> list[object]:
    if not marks:
        raise MalformedArtifact("opcode needs a MARK and there is none", pos)
    at = marks.pop()
    items = stack[at + 1:]
    del stack[at:]
    return items


def _string_literal(raw: bytes, pos: int) -> bytes:
    """Protocol 0 ``STRING``'s quoted, escaped argument as the bytes it stands for."""
    if len(raw) < 2 or raw[0] != raw[-1] or raw[0] not in b"'\"":
        raise MalformedArtifact("STRING argument is not quoted", pos)
    return codecs.escape_decode(raw[1:-1])[0]  # type: ignore[no-any-return]


def _walk(view: memoryview, pos: int, walk: PickleWalk, depth: int) -> int:
    size = len(view)
    stack: list[object] = []
    marks: list[int] = []
    memo: dict[int, object] = {}
    imports = walk.imports
    nested = walk.nested
    opcodes = 0
    while True:
        if pos >= size:
            raise MalformedArtifact("pickle ends without STOP", pos)
        op = view[pos]
        at = pos
        pos += 1
        opcodes += 1
        # the commonest opcodes first: an if-chain is tested top to bottom
        if op == 0x94:  # MEMOIZE
            if not stack:
                raise MalformedArtifact("MEMOIZE on an empty stack", at)
            memo[len(memo)] = stack[-1]
        elif op == 0x71:  # BINPUT
            if not stack:
                raise MalformedArtifact("PUT on an empty stack", at)
            memo[view[pos]] = stack[-1]
            pos += 1
        elif op == 0x68:  # BINGET
            stack.append(memo[view[pos]])
            pos += 1
        elif op == 0x8C or op == 0x55 or op == 0x43:  # SHORT_BINUNICODE, SHORT_BINSTRING, SHORT_BINBYTES
            n = view[pos]
            chunk = bytes(view[pos + 1:pos + 1 + n])
            if len(chunk) != n:
                raise MalformedArtifact("string runs past the end", at)
            pos += 1 + n
            # Python 2 strings (SHORT_BINSTRING) load as str, as with pickle's default encoding
            value: object = chunk.decode("utf-8", "surrogatepass") if op == 0x8C else chunk.decode("latin-1") if op == 0x55 else chunk
            if n >= NESTED_MIN and chunk[0] in _NESTED_STARTS:
                if _nested(chunk):
                    nested.append((at, chunk))
                elif chunk[:2] == b"\xc2\x80":
                    _latin1(value, at, nested)
            stack.append(value)
        elif op == 0x4B:  # BININT1
            stack.append(view[pos])
            pos += 1
        elif op == 0x28:  # MARK
            marks.append(len(stack))
            stack.append(_MARK)
        elif op == 0x47:  # BINFLOAT
            pos += 8
            stack.append(_OPAQUE)
        elif op == 0x87:  # TUPLE3
            third = stack.pop()
            second = stack.pop()
            stack[-1] = (stack[-1], second, third)
        elif op == 0x86:  # TUPLE2
            second = stack.pop()
            stack[-1] = (stack[-1], second)
        elif op == 0x85:  # TUPLE1
            stack[-1] = (stack[-1],)
        elif op == 0x29:  # EMPTY_TUPLE
            stack.append(())
        elif op == 0x4A:  # BININT
            stack.append(_I4(view, pos)[0])
            pos += 4
        elif op == 0x4D:  # BININT2
            stack.append(view[pos] | view[pos + 1] << 8)
            pos += 2
        elif op == 0x65:  # APPENDS (list contents never matter to the walk: they are not kept)
            _pop_mark(stack, marks, at)
            if not stack:
                raise MalformedArtifact("APPENDS without a list", at)
        elif op == 0x75:  # SETITEMS
            items = _pop_mark(stack, marks, at)
            if len(items) % 2 or not stack:
                raise MalformedArtifact("SETITEMS needs key/value pairs on a dict", at)
            target = stack[-1]
            if type(target) is dict:
                for i in range(0, len(items), 2):
                    if type(items[i]) in (str, int):
                        target[items[i]] = items[i + 1]
        elif op == 0x61:  # APPEND
            stack.pop()
            if not stack:
                raise MalformedArtifact("APPEND without a list", at)
        elif op == 0x73:  # SETITEM
            val = stack.pop()
            key = stack.pop()
            target = stack[-1]
            if type(target) is dict and type(key) in (str, int):
                target[key] = val
        elif op == 0x74:  # TUPLE
            stack.append(tuple(_pop_mark(stack, marks, at)))
        elif op == 0x52:  # REDUCE
            args = stack.pop()
            factory = stack.pop()
            walk.calls += 1
            stack.append(_Made(factory, args))
        elif op == 0x81:  # NEWOBJ
            args = stack.pop()
            cls = stack.pop()
            walk.calls += 1
            stack.append(_Made(cls, args))
        elif op == 0x62:  # BUILD
            state = stack.pop()
            target = stack[-1]
            walk.calls += 1
            if type(target) is _Made:
                target.state = state
                factory = target.factory
                if type(factory) is _Global and factory.name == "NumpyArrayWrapper" and factory.module.startswith("joblib"):
                    pos = _skip_joblib_array(view, pos, state, walk, depth)
        elif op == 0x7D:  # EMPTY_DICT
            stack.append({})
        elif op == 0x5D:  # EMPTY_LIST
            stack.append([])
        elif op == 0x4E:  # NONE
            stack.append(None)
        elif op == 0x88:  # NEWTRUE
            stack.append(True)
        elif op == 0x89:  # NEWFALSE
            stack.append(False)
        elif op == 0x51:  # BINPERSID
            stack[-1] = _OPAQUE
        elif op == 0x6A:  # LONG_BINGET
            stack.append(memo[_U4(view, pos)[0]])
            pos += 4
        elif op == 0x72:  # LONG_BINPUT
            if not stack:
                raise MalformedArtifact("PUT on an empty stack", at)
            memo[_U4(view, pos)[0]] = stack[-1]
            pos += 4
        elif op in (0x58, 0x54, 0x42, 0x8D, 0x8E, 0x96):  # BINUNICODE, BINSTRING, BINBYTES, 8-byte forms, BYTEARRAY8
            width = 4 if op in (0x58, 0x54, 0x42) else 8
            n = int.from_bytes(view[pos:pos + width], "little", signed=op == 0x54)
            pos += width
            if n < 0 or pos + n > size:
                raise MalformedArtifact("string runs past the end", at)
            chunk_view = view[pos:pos + n]
            pos += n
            if op in (0x58, 0x8D):
                value = str(chunk_view, "utf-8", "surrogatepass")
            elif op == 0x54 and n <= 4096:
                value = str(chunk_view, "latin-1")
            else:
                value = bytes(chunk_view) if n <= 4096 else _OPAQUE
            if n >= NESTED_MIN and _nested(chunk_view):
                nested.append((at, chunk_view))
            elif n >= NESTED_MIN and type(value) is str and value[:1] == "\x80":
                _latin1(value, at, nested)
            stack.append(value)
        elif op == 0x93:  # STACK_GLOBAL
            name = stack.pop()
            module = stack.pop()
            if type(module) is str and type(name) is str:
                imports.append(Import(module, name, at, "STACK_GLOBAL"))
                stack.append(_Global(module, name))
            else:
                walk.dynamic_globals.append(at)
                stack.append(_Global("?", "?"))
        elif op == 0x63 or op == 0x69:  # GLOBAL, INST
            raw_module, pos = _line(view, pos, size)
            raw_name, pos = _line(view, pos, size)
            module, name = raw_module.decode("utf-8"), raw_name.decode("utf-8")
            if not (_ident(module) and _ident(name)):
                raise MalformedArtifact(f"global {module!r} {name!r} is not a dotted name", at)
            imports.append(Import(module, name, at, "GLOBAL" if op == 0x63 else "INST"))
            if op == 0x63:
                stack.append(_Global(module, name))
            else:
                args = _pop_mark(stack, marks, at)
                walk.calls += 1
                stack.append(_Made(_Global(module, name), tuple(args)))
        elif op == 0x92:  # NEWOBJ_EX
            stack.pop()
            args = stack.pop()
            cls = stack.pop()
            walk.calls += 1
            stack.append(_Made(cls, args))
        elif op == 0x6F:  # OBJ
            items = _pop_mark(stack, marks, at)
            if not items:
                raise MalformedArtifact("OBJ without a class", at)
            walk.calls += 1
            stack.append(_Made(items[0], tuple(items[1:])))
        elif op == 0x6C:  # LIST
            _pop_mark(stack, marks, at)
            stack.append([])
        elif op == 0x64:  # DICT
            items = _pop_mark(stack, marks, at)
            if len(items) % 2:
                raise MalformedArtifact("DICT needs key/value pairs", at)
            stack.append({items[i]: items[i + 1] for i in range(0, len(items), 2) if type(items[i]) in (str, int)})
        elif op == 0x95:  # FRAME: framing only groups opcodes, it changes nothing for the walk
            pos += 8
        elif op == 0x80:  # PROTO
            walk.protocol = view[pos]
            if walk.protocol > 5:
                raise MalformedArtifact(f"unsupported pickle protocol {walk.protocol}", at)
            pos += 1
        elif op == 0x2E:  # STOP
            if not stack or stack[-1] is _MARK:
                raise MalformedArtifact("STOP with no value on the stack", at)
            walk.opcodes += opcodes
            return pos
        elif op == 0x67 or op == 0x70:  # GET, PUT (protocol 0: decimal index on a line)
            raw, pos = _line(view, pos, size)
            index = int(raw)
            if op == 0x67:
                stack.append(memo[index])
            elif not stack:
                raise MalformedArtifact("PUT on an empty stack", at)
            else:
                memo[index] = stack[-1]
        elif op == 0x30:  # POP
            if stack.pop() is _MARK:
                marks.pop()
        elif op == 0x31:  # POP_MARK
            _pop_mark(stack, marks, at)
        elif op == 0x32:  # DUP
            stack.append(stack[-1])
        elif op == 0x49 or op == 0x4C or op == 0x46:  # INT, LONG, FLOAT (protocol 0 text)
            raw, pos = _line(view, pos, size)
            text = raw.rstrip(b"L")
            if op == 0x46:
                float(text)
                stack.append(_OPAQUE)
            elif text in (b"00", b"01"):
                stack.append(text == b"01")
            else:
                stack.append(int(text))
        elif op == 0x53:  # STRING
            raw, pos = _line(view, pos, size)
            chunk = _string_literal(raw, at)
            if len(chunk) >= NESTED_MIN and _nested(chunk):
                nested.append((at, chunk))
            stack.append(chunk.decode("latin-1"))
        elif op == 0x56:  # UNICODE
            raw, pos = _line(view, pos, size)
            value = raw.decode("raw-unicode-escape")
            stack.append(value)
        elif op == 0x8A or op == 0x8B:  # LONG1, LONG4
            width = 1 if op == 0x8A else 4
            n = int.from_bytes(view[pos:pos + width], "little", signed=op == 0x8B)
            pos += width
            if n < 0 or pos + n > size:
                raise MalformedArtifact("LONG runs past the end", at)
            stack.append(int.from_bytes(view[pos:pos + n], "little", signed=True) if n <= 64 else _OPAQUE)
            pos += n
        elif op == 0x50:  # PERSID
            _, pos = _line(view, pos, size)
            stack.append(_OPAQUE)
        elif op in (0x82, 0x83, 0x84):  # EXT1, EXT2, EXT4: a global through the copyreg extension registry
            width = {0x82: 1, 0x83: 2, 0x84: 4}[op]
            walk.extension_codes.append((at, int.from_bytes(view[pos:pos + width], "little")))
            pos += width
            stack.append(_Global("?", "?"))
        elif op == 0x8F:  # EMPTY_SET
            stack.append(_OPAQUE)
        elif op == 0x90:  # ADDITEMS
            _pop_mark(stack, marks, at)
            if not stack:
                raise MalformedArtifact("ADDITEMS without a set", at)
        elif op == 0x91:  # FROZENSET
            _pop_mark(stack, marks, at)
            stack.append(_OPAQUE)
        elif op == 0x97:  # NEXT_BUFFER
            stack.append(_OPAQUE)
        elif op == 0x98:  # READONLY_BUFFER
            stack[-1] = stack[-1]
        else:
            raise MalformedArtifact(f"unknown pickle opcode 0x{op:02x}", at)
        if pos > size:
            raise MalformedArtifact("pickle argument runs past the end", at)


#: how nested artifacts start: pickles of protocol 2-5, zip, gzip, xz, bz2, .npy, zlib at any level
_ARTIFACT_PREFIXES = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05", b"PK\x03\x04", b"\x1f\x8b", b"\xfd7zXZ",
                      b"BZh", b"\x93NUMPY", b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda")


def _latin1(text: str, at: int, nested: list[tuple[int, bytes | memoryview]]) -> None:
    """A pickle kept as text (``data.decode("latin-1")``), loaded after ``text.encode("latin-1")``."""
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError:
        return
    if _nested(raw):
        nested.append((at, raw))


def _nested(chunk: bytes | memoryview) -> bool:
    """Whether a bytes or str constant starts like an artifact (a protocol 0/1 pickle: a global first)."""
    head = bytes(chunk[:8])
    return head.startswith(_ARTIFACT_PREFIXES) or head[:1] in (b"c", b"(") and looks_like_pickle(chunk)


def _dtype_size(dtype: object) -> int | None:
    """Item size of a pickled ``numpy.dtype``: its state's element size, else the digits of its code;
    0 for object dtypes (their data is a nested pickle); None when the walker cannot tell."""
    if type(dtype) is not _Made or type(dtype.args) is not tuple or not dtype.args or type(dtype.args[0]) is not str:
        return None
    code = dtype.args[0]
    if code.startswith("O"):
        return 0
    state = dtype.state
    if type(state) is tuple and len(state) > 5 and type(state[5]) is int and state[5] > 0:
        return state[5]
    digits = code.lstrip("<>|=biufcmMSUVa")
    return int(digits) if digits.isdigit() and int(digits) > 0 else None


def _skip_joblib_array(view: memoryview, pos: int, state: object, walk: PickleWalk, depth: int) -> int:
    """Step over the array joblib writes right after a ``NumpyArrayWrapper`` BUILD (see module doc)."""
    if type(state) is not dict:
        raise MalformedArtifact("joblib array wrapper without a state dict", pos)
    shape = state.get("shape")
    if type(shape) is not tuple or not all(type(n) is int and n >= 0 for n in shape):
        raise MalformedArtifact("joblib array wrapper without a shape", pos)
    itemsize = _dtype_size(state.get("dtype"))
    if itemsize is None:
        raise MalformedArtifact("joblib array of a dtype whose size the scanner cannot tell", pos)
    if itemsize == 0:  # object array: joblib nests a whole pickle here
        if depth >= _MAX_INLINE_DEPTH:
            raise MalformedArtifact("joblib object arrays nested too deep", pos)
        return _walk(view, pos, walk, depth + 1)
    if state.get("numpy_array_alignment_bytes") is not None:
        if pos >= len(view):
            raise MalformedArtifact("joblib array padding runs past the end", pos)
        pos += 1 + view[pos]
    end = pos + math.prod(shape) * itemsize
    if end > len(view):
        raise MalformedArtifact("joblib array data runs past the end", pos)
    return end
