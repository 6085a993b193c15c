"""The abstract values the taint interpreter computes: where data came from, what made it safe where.

A value carries a :class:`Taint` (the set of its untrusted origins, each with the sink categories a
sanitiser already made it safe for), and what is known exactly: a constant (so conditions fold and
dead branches are skipped), the items of a dict or the elements of a list with constant keys (so a
key overwritten by a constant is clean again), a constant prefix (so a redirect to ``"/page/" + x``
stays on the site), and a kind for objects whose use matters (an XML parser, a file).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

__all__ = ["CATEGORIES", "CLEAN", "UNKNOWN", "WEAK_RANDOM", "Label", "Val", "join", "join_taint", "sanitise",
           "tainted_for", "weak_part"]

#: the sink categories a sanitiser can make data safe for
CATEGORIES = frozenset({"sqli", "cmdi", "codeinj", "deserialization", "pathtraver", "xss", "xpathi", "ldapi",
                        "redirect", "trustbound", "xxe"})


#: the origin prefix of values made by a predictable generator (``random``): they are no injection
#: risk (their labels are cleared for every category above) but must not become a secret
WEAK_RANDOM = "weak random value"


class _Unknown:
    """No known constant (distinct from the constant None)."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()


@dataclass(frozen=True)
class Label:
    """One untrusted origin (``what`` and its line) and the categories it was sanitised for on this path."""

    origin: str
    cleared: frozenset[str] = frozenset()


Taint = frozenset[Label]
_NO_TAINT: Taint = frozenset()
_MAX_LABELS = 6


def join_taint(*taints: Taint) -> Taint:
    merged = frozenset().union(*taints)
    if len(merged) <= _MAX_LABELS:
        return merged
    # keep the least sanitised labels: they decide every finding
    return frozenset(sorted(merged, key=lambda label: (len(label.cleared), label.origin))[:_MAX_LABELS])


def tainted_for(taint: Taint, category: str) -> Label | None:
    """The first origin that reaches a ``category`` sink unsanitised, if any (``weakrand``: a weak random value)."""
    if category == "weakrand":
        return next((label for label in sorted(taint, key=lambda x: x.origin) if label.origin.startswith(WEAK_RANDOM)),
                    None)
    return next((label for label in sorted(taint, key=lambda x: x.origin) if category not in label.cleared), None)


def weak_part(taint: Taint) -> Taint:
    """The labels of ``taint`` that come from a weak random generator (they survive conversions: int(r))."""
    return frozenset(label for label in taint if label.origin.startswith(WEAK_RANDOM))


@dataclass(frozen=True)
class Val:
    """An abstract value: its taint outside known parts, and what is known exactly."""

    taint: Taint = _NO_TAINT
    const: object = UNKNOWN
    items: tuple[tuple[object, Val], ...] | None = None
    elems: tuple[Val, ...] | None = None
    kind: str | None = None
    prefix: str = ""

    @property
    def known(self) -> bool:
        return self.const is not UNKNOWN

    def all_taint(self) -> Taint:
        """The taint of the value and of everything it holds."""
        parts = [self.taint]
        if self.items is not None:
            parts.extend(value.all_taint() for _, value in self.items)
        if self.elems is not None:
            parts.extend(value.all_taint() for value in self.elems)
        return join_taint(*parts) if len(parts) > 1 else self.taint

    def item(self, key: object) -> Val | None:
        if self.items is not None:
            for known, value in self.items:
                if known == key and type(known) is type(key):
                    return value
        return None

    def with_item(self, key: object, value: Val) -> Val:
        items = tuple((k, v) for k, v in (self.items or ()) if not (k == key and type(k) is type(key)))
        return replace(self, items=(*items, (key, value)), const=UNKNOWN)

    def shallow(self) -> Val:
        """The value with what it holds folded into its own taint (its exact parts forgotten)."""
        return Val(self.all_taint(), kind=self.kind)


CLEAN = Val()


def _join_items(values: list[Val]) -> tuple[tuple[object, Val], ...] | None:
    if any(v.items is None for v in values):
        return None
    keys: list[object] = []
    for value in values:
        for key, _ in value.items or ():
            if key not in keys:
                keys.append(key)
    merged = []
    for key in keys:
        present = [v.item(key) for v in values]
        merged.append((key, join(*(p if p is not None else CLEAN for p in present))))
    return tuple(merged)


def join(*values: Val) -> Val:
    """What a value is when it may be any of ``values`` (control flow merging)."""
    if len(values) == 1:
        return values[0]
    first = values[0]
    if all(v == first for v in values[1:]):
        return first
    listed = list(values)
    taint = join_taint(*(v.taint for v in listed))
    const = first.const if all(v.known and v.const == first.const and type(v.const) is type(first.const)
                               for v in listed) else UNKNOWN
    items = _join_items(listed)
    elems = None
    if all(v.elems is not None and len(v.elems) == len(first.elems or ()) for v in listed):
        elems = tuple(join(*column) for column in zip(*(v.elems or () for v in listed), strict=True))
    elif any(v.elems is not None for v in listed):
        taint = join_taint(taint, *(v.all_taint() for v in listed if v.elems is not None))
    if items is None and any(v.items is not None for v in listed):
        taint = join_taint(taint, *(v.all_taint() for v in listed if v.items is not None))
    kinds = {v.kind for v in listed}
    prefix = first.prefix
    for v in listed[1:]:
        while prefix and not v.prefix.startswith(prefix):
            prefix = prefix[:-1]
    return Val(taint, const, items, elems, kinds.pop() if len(kinds) == 1 else None, prefix)


def sanitise(value: Val, categories: Iterable[str] | None) -> Val:
    """``value`` made safe for ``categories`` (None: for every category, i.e. clean)."""
    if categories is None:
        weak = weak_part(value.all_taint())
        return Val(weak, const=value.const, kind=value.kind) if value.known else Val(weak, kind=value.kind)
    cats = frozenset(categories)
    taint = frozenset(Label(label.origin, label.cleared | cats) for label in value.all_taint())
    return Val(taint, value.const, kind=value.kind, prefix=value.prefix)
