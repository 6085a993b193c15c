"""Data versions as DVC writes them, so a registered model names the exact data it was trained on.

- **A file**: the md5 of its bytes, as DVC 3 records it in ``outs: - md5:`` (DVC 1/2 first turned
  CRLF into LF in files it guessed were text; DVC 3, ``hash: md5``, hashes the bytes as they are).
- **A directory**: DVC's ``.dir`` hash: every file below it (recursively, ``.dvc`` files and
  ``.git``/``.dvc`` folders left out) as ``{"md5": <file md5>, "relpath": <posix path>}``, sorted
  by ``relpath``, serialised with ``json.dumps(..., sort_keys=True)`` (Python's default
  separators), md5 of that text, plus the suffix ``.dir``. This follows DVC's published scheme;
  it was not checked against a DVC installation here (DVC is not installed).
- **A ``.dvc`` file** (or a path beside which ``<path>.dvc`` exists): the md5 recorded in its
  ``outs``, without reading the data, which may not even be present (``dvc pull`` not run).

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "train.csv").write_bytes(b"x,y\\n1,0\\n")
>>> data_version(d / "train.csv")
'8a063524c2d96725734e5e416d4c92c4'
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import yaml

from foresight.errors import InputError

__all__ = ["data_version", "md5_dir", "md5_file", "read_dvc_file"]

_CHUNK = 1 << 20
_SKIP_DIRS = {".git", ".dvc"}


def md5_file(path: Path) -> str:
    """The md5 of a file's bytes (DVC 3's file hash), read in 1 MiB chunks."""
    digest = hashlib.md5()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    except OSError as exc:
        raise InputError(f"{path}: cannot read data file ({exc.strerror})") from None
    return digest.hexdigest()


def md5_dir(path: Path) -> str:
    """DVC's ``.dir`` hash of a directory (see the module docstring for the exact scheme)."""
    entries = []
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        for name in files:
            if name.endswith(".dvc") or name == ".gitignore":
                continue
            full = Path(root) / name
            entries.append({"md5": md5_file(full), "relpath": full.relative_to(path).as_posix()})
    entries.sort(key=lambda e: e["relpath"])
    return hashlib.md5(json.dumps(entries, sort_keys=True).encode("utf-8")).hexdigest() + ".dir"


def read_dvc_file(path: Path) -> str:
    """The md5 recorded in a ``.dvc`` file (its first ``outs`` entry); InputError names what is wrong."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML ({exc})") from None
    outs = doc.get("outs") if isinstance(doc, dict) else None
    if not isinstance(outs, list) or not outs or not isinstance(outs[0], dict):
        raise InputError(f"{path}: a .dvc file needs 'outs: - md5: ... path: ...'")
    md5 = outs[0].get("md5")
    if not isinstance(md5, str) or not md5:
        raise InputError(f"{path}: outs[0] has no md5 (was it written by 'dvc add'?)")
    return md5


def data_version(path: str | os.PathLike[str]) -> str:
    """The DVC-compatible version of a dataset: from its ``.dvc`` file when there is one, else hashed."""
    target = Path(path)
    if target.suffix == ".dvc" and target.is_file():
        return read_dvc_file(target)
    sidecar = target.with_name(target.name + ".dvc")
    if sidecar.is_file():
        return read_dvc_file(sidecar)
    if target.is_dir():
        return md5_dir(target)
    if target.is_file():
        return md5_file(target)
    raise InputError(f"{target}: no such data file or directory (and no {sidecar.name} beside it)")
