"""Fragmentation against a task mix, worked out by hand; the deduplicated batch path agrees with row by row."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from foresight.placement import Cluster, Node, TaskMix, frag_amount
from foresight.placement.frag import DEDUPE_FROM

CLUSTER = Cluster([Node("t4", 16000, 1000, 2, "T4"), Node("v", 16000, 1000, 4, "V100"), Node("c", 16000, 1000)])


def test_each_case_of_the_definition() -> None:
    # half-GPU shape (any type), 2-GPU shape limited to V100, CPU-only shape; equal weights
    mix = TaskMix.build(CLUSTER, {(4000, 500, 1, ""): 1, (4000, 1000, 2, "V100"): 1, (2000, 0, 0, ""): 1})
    cpu = np.array([16000, 16000, 3000, 16000])
    dev = np.array([[300, 1000, 0, 0], [1000, 1000, 0, 0], [1000, 1000, 0, 0], [1000, 1000, 1000, 200]])
    kind = np.array([0, 0, 0, 1])
    w = 1 / 3
    expected = [
        w * 300 + w * 1300 + w * 1300,     # half fits (300 too small), 2-GPU: wrong type, CPU shape: all
        w * 0 + w * 2000 + w * 2000,       # half fits everywhere, 2-GPU wrong type
        3 * w * 2000,                      # 3000 CPU left: neither GPU shape fits, so all of it
        w * 200 + w * 200 + w * 3200,      # V100 node: 2-GPU fits, the 200 is too small for both
    ]
    assert np.allclose(frag_amount(cpu, dev, kind, mix), expected)


def test_the_cpu_bound_counts_only_the_devices_the_cpu_left_can_feed() -> None:
    mix = TaskMix.build(CLUSTER, {(4000, 500, 1, ""): 1, (4000, 1000, 2, "V100"): 1})
    dev = np.array([[1000, 1000, 1000, 600], [1000, 1000, 1000, 1000], [1000, 1000, 1000, 1000]])
    cpu = np.array([8000, 4000, 16000])  # instances of either shape: 2, 1, 4
    kind = np.array([1, 1, 1])
    expected = [
        0.5 * (3600 - 2000) + 0.5 * (3600 - 3000),   # half: the two largest devices; 2-GPU: all three whole
        0.5 * (4000 - 1000) + 0.5 * (4000 - 2000),   # one instance each: one device, one pair
        0.0,                                         # CPU does not bind: as FGD's
    ]
    assert np.allclose(frag_amount(cpu, dev, kind, mix, cpu_bound=True), expected)
    assert np.allclose(frag_amount(cpu, dev, kind, mix), [0.5 * 0 + 0.5 * 600, 0.0, 0.0])


def test_cpu_only_node_has_no_fragmentation() -> None:
    mix = TaskMix.build(CLUSTER, {(1000, 500, 1, ""): 1})
    assert frag_amount(np.array([16000]), np.zeros((1, 4), dtype=np.int64), np.array([-1]), mix).tolist() == [0.0]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 16000), st.lists(st.sampled_from([0, 100, 250, 500, 750, 1000]),
                                                            min_size=4, max_size=4), st.integers(0, 1)),
                min_size=DEDUPE_FROM, max_size=DEDUPE_FROM * 3))
def test_batch_equals_row_by_row(rows: list[tuple[int, list[int], int]]) -> None:
    mix = TaskMix.build(CLUSTER, {(4000, 500, 1, ""): 3, (8000, 1000, 1, "T4"): 2, (2000, 0, 0, ""): 1,
                                  (1000, 250, 1, ""): 2, (12000, 1000, 4, "V100"): 1})
    cpu = np.array([r[0] for r in rows])
    dev = np.array([r[1] for r in rows])
    kind = np.array([r[2] for r in rows])
    plain = frag_amount(cpu, dev, kind, mix)
    for bound in (False, True):
        batch = frag_amount(cpu, dev, kind, mix, cpu_bound=bound)
        single = [frag_amount(cpu[i:i + 1], dev[i:i + 1], kind[i:i + 1], mix, bound)[0] for i in range(len(rows))]
        assert np.allclose(batch, single)
        # the CPU bound only ever takes usable GPU away
        assert (batch >= plain - 1e-9).all() and (batch <= dev.sum(axis=1) + 1e-9).all()
