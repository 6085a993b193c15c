"""Partition hashing and assignment: stable, canonical, balanced, agreed by every worker."""

from __future__ import annotations

import hashlib
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from foresight.scaleout.partition import assign, labels_of, owned_by, partition_of, series_id

labels = st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=8), max_size=5)
workers = st.lists(st.text(alphabet="abcdefgh0123456789-", min_size=1, max_size=6), min_size=1, max_size=6, unique=True)


@given(labels, st.randoms())
def test_a_series_id_ignores_label_order(lab: dict[str, str], rnd) -> None:
    items = list(lab.items())
    rnd.shuffle(items)
    assert series_id(dict(items)) == series_id(lab)


@given(labels, labels)
def test_different_label_sets_have_different_ids(a: dict[str, str], b: dict[str, str]) -> None:
    assert (series_id(a) == series_id(b)) == (a == b)


@given(st.text(), st.integers(1, 4096))
def test_the_partition_is_a_fixed_hash_in_range(sid: str, partitions: int) -> None:
    expected = int.from_bytes(hashlib.blake2b(sid.encode(), digest_size=8).digest(), "big") % partitions
    assert partition_of(sid, partitions) == expected  # not Python's salted hash(): the same in every process


def test_the_partition_of_a_known_series_never_changes() -> None:
    assert partition_of('__name__="up",job="api"', 16) == 0xF & int.from_bytes(
        hashlib.blake2b(b'__name__="up",job="api"', digest_size=8).digest(), "big")


@given(st.integers(1, 64), workers, st.randoms())
def test_assignment_is_total_balanced_and_independent_of_listing_order(partitions: int, live: list[str], rnd) -> None:
    owners = assign(partitions, live)
    shuffled = list(live)
    rnd.shuffle(shuffled)
    assert assign(partitions, shuffled) == owners
    assert set(owners) == set(range(partitions)) and set(owners.values()) <= set(live)
    counts = Counter(owners.values())
    shares = [counts.get(w, 0) for w in live]
    assert max(shares) - min(shares) <= 1
    assert frozenset().union(*(owned_by(partitions, live, w) for w in live)) == frozenset(range(partitions))


@given(st.integers(4, 64), workers)
def test_a_worker_leaving_moves_a_bounded_share(partitions: int, live: list[str]) -> None:
    if len(live) < 2:
        return
    before, after = assign(partitions, live), assign(partitions, live[1:])
    moved = sum(before[p] != after[p] for p in range(partitions))
    held = sum(1 for w in before.values() if w == live[0])
    assert held <= moved <= partitions  # its partitions move, and the rest is not reshuffled wholesale
    assert moved <= held + partitions // (len(live) - 1) + len(live)


def test_no_worker_no_assignment() -> None:
    assert assign(8, []) == {}


prom_labels = st.dictionaries(st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,8}", fullmatch=True), st.text(max_size=10),
                              max_size=5)


@given(prom_labels)
def test_a_series_id_gives_its_labels_back(lab: dict[str, str]) -> None:
    assert labels_of(series_id(lab)) == lab
