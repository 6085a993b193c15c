"""The Kubernetes API emulator the tests share: one copy, in :mod:`foresight.bench.kube_emulator` (the
parity benchmark runs on it too); imported here so tests keep writing ``from kube_emulator import Cluster``."""

from foresight.bench.kube_emulator import RESOURCES, Cluster, FixedEmulator

__all__ = ["RESOURCES", "Cluster", "FixedEmulator"]
