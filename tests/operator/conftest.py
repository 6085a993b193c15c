"""Makes ``kube_emulator`` (the kmock-based API emulator with its fix layer) importable by these tests."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
