"""Small clusters whose right answers can be worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from foresight.placement import Cluster, ClusterState, Node, Ties


@pytest.fixture
def ties() -> Ties:
    return Ties(np.random.default_rng(0))


def state_of(*nodes: Node) -> ClusterState:
    return ClusterState(Cluster(list(nodes)))
