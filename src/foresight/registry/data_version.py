"""Data versions as DVC 3 writes them, so a registered model names the exact data it was trained on.

- **A file**: the md5 of its bytes, as DVC 3 records it in ``outs: - md5:`` (DVC 1/2 first turned
  CRLF into LF in files it guessed were text; DVC 3, ``hash: md5``, hashes the bytes as they are).
- **A directory**: DVC's ``.dir`` hash: every file below it as ``{"md5": <file md5>, "relpath":
  <posix path>}``, sorted by ``relpath``, serialised with ``json.dumps(..., sort_keys=True)``,
  md5 of that text, plus the suffix ``.dir``. Which files count is DVC's rule, not git's:
  ``.gitignore`` files and git-ignored files are included; what the ``.dvcignore`` files of the DVC
  repository exclude (from its root down to the directory; a deeper file's patterns win) is left
  out, as are ``.git``/``.hg``/``.dvc`` folders and nested DVC repositories. A ``.dvc`` or a
  ``.dvcignore`` file inside the directory is an error, as in ``dvc add``. Checked against
  ``dvc add`` of DVC 3.67 in ``tests/registry/test_dvc_agreement.py``.
- **A ``.dvc`` file** (or a path beside which ``<path>.dvc`` exists): the md5 it records, checked
  against the data when the data is present. A stale ``.dvc`` file (the data changed since ``dvc
  add``; ``dvc status`` says "modified") is not trusted: the version is the md5 of the data as it is,
  with a warning that DVC cannot restore that data (see :class:`DataVersion`). Without the data
  (``dvc pull`` not run) the recorded md5 is all there is, and is the version.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "train.csv").write_bytes(b"x,y\\n1,0\\n")
>>> data_version(d / "train.csv")
DataVersion(md5='8a063524c2d96725734e5e416d4c92c4', warning='')
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import yaml
from dulwich.ignore import IgnoreFilter

from foresight.errors import InputError

__all__ = ["DataVersion", "data_version", "md5_dir", "md5_file", "read_dvc_file"]

_CHUNK = 1 << 20
#: What DVC ignores in every repository before any ``.dvcignore`` (``dvc/ignore.py``).
_DVC_DEFAULT_IGNORES = (b".hg/", b".git/", b".git", b".dvc/")


@dataclass(frozen=True)
class DataVersion:
    """The md5 to record and, when it is not what DVC has recorded, why (``warning``, else "").

    Why a warning and not an error: the model *was* trained on this data, and its md5 names it
    exactly; refusing the registration would lose that record (and stall an automated retrain)
    over bookkeeping. The warning is kept with the version (the CLI tags it ``foresight.data_warning``)
    so anyone who tries to ``dvc checkout`` it learns that DVC never stored it.
    """

    md5: str
    warning: str = ""


def md5_file(path: Path) -> str:
    """The md5 of a file's bytes (DVC 3's file hash), read in 1 MiB chunks."""
    digest = hashlib.md5(usedforsecurity=False)  # DVC's content address, not a security use
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    except OSError as exc:
        raise InputError(f"{path}: cannot read data file ({exc.strerror})") from None
    return digest.hexdigest()


def _dvc_root(path: Path) -> Path | None:
    """The DVC repository ``path`` lies in (the nearest folder above it holding ``.dvc/``), if any."""
    for folder in path.resolve().parents:
        if (folder / ".dvc").is_dir():
            return folder
    return None


def _dvcignore(folder: Path) -> IgnoreFilter | None:
    """The patterns of ``folder/.dvcignore``, stripped and without comments as DVC reads them."""
    file = folder / ".dvcignore"
    if not file.is_file():
        return None
    lines = [line.strip() for line in file.read_text(encoding="utf-8").splitlines()]
    return IgnoreFilter([line.encode() for line in lines if line and not line.startswith("#")])


class _Ignores:
    """DVC's ignore rules for the paths under ``root``: the default ones, then each ``.dvcignore``
    from the root down to ``top`` (a deeper file's patterns win; in each, the last match)."""

    def __init__(self, root: Path, top: Path) -> None:
        self.root = root
        self.filters: list[tuple[PurePosixPath, IgnoreFilter]] = [(PurePosixPath("."), IgnoreFilter(_DVC_DEFAULT_IGNORES))]
        for folder in reversed(top.relative_to(root).parents):
            found = _dvcignore(root / folder)
            if found is not None:
                self.filters.append((PurePosixPath(folder.as_posix()), found))

    def ignored(self, path: Path, is_dir: bool) -> bool:
        rel = PurePosixPath(path.relative_to(self.root).as_posix())
        for base, patterns in reversed(self.filters):
            if base in rel.parents:
                verdict = patterns.is_ignored(rel.relative_to(base).as_posix() + ("/" if is_dir else ""))
                if verdict is not None:
                    return verdict
        return False


def md5_dir(path: Path) -> str:
    """DVC's ``.dir`` hash of a directory (see the module docstring for the exact scheme)."""
    top = Path(path).resolve()
    root = _dvc_root(top) or top
    ignores = _Ignores(root, top)
    entries = []
    for here, dirs, files in os.walk(top):
        folder = Path(here)
        dirs[:] = sorted(d for d in dirs if not ignores.ignored(folder / d, True) and not (folder / d / ".dvc").is_dir())
        for name in files:
            full = folder / name
            if ignores.ignored(full, False):
                continue
            if name.endswith(".dvc") or name == ".dvcignore":
                raise InputError(f"{full}: a {'.dvcignore' if name == '.dvcignore' else '.dvc'} file inside {path}: "
                                 "'dvc add' refuses the directory; move it out (or give the files one by one)")
            entries.append({"md5": md5_file(full), "relpath": full.relative_to(top).as_posix()})
    entries.sort(key=lambda e: e["relpath"])
    return hashlib.md5(json.dumps(entries, sort_keys=True).encode("utf-8"), usedforsecurity=False).hexdigest() + ".dir"


def _read_out(path: Path) -> tuple[str, Path, bool]:
    """The first ``outs`` entry of a ``.dvc`` file: its md5, the data it names, whether DVC 3 wrote it."""
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
    data = path.parent / str(outs[0].get("path") or path.name[: -len(".dvc")])
    return md5, data, outs[0].get("hash") == "md5"


def read_dvc_file(path: Path) -> str:
    """The md5 recorded in a ``.dvc`` file (its first ``outs`` entry); InputError names what is wrong."""
    return _read_out(path)[0]


def _hash(target: Path) -> str:
    return md5_dir(target) if target.is_dir() else md5_file(target)


def _checked(dvc_file: Path) -> DataVersion:
    """The version a ``.dvc`` file records, checked against its data when the data is there."""
    recorded, data, dvc3 = _read_out(dvc_file)
    if not data.exists():
        return DataVersion(recorded)
    if not dvc3:
        return DataVersion(recorded, f"{dvc_file} was written by DVC < 3 (no 'hash: md5'), whose md5 of text files "
                                     f"differs from DVC 3's: it could not be checked against {data}")
    actual = _hash(data)
    if actual == recorded:
        return DataVersion(recorded)
    return DataVersion(actual, f"{dvc_file} is stale (dvc status: modified): it records {recorded}, the data hashes "
                               f"to {actual}; this data is not in DVC: run 'dvc add {data.name}' to record it")


def data_version(path: str | os.PathLike[str]) -> DataVersion:
    """The DVC-compatible version of a dataset: its ``.dvc`` file's when there is one (checked), else hashed."""
    target = Path(path)
    if target.suffix == ".dvc" and target.is_file():
        return _checked(target)
    sidecar = target.with_name(target.name + ".dvc")
    if sidecar.is_file():
        return _checked(sidecar)
    if target.is_dir():
        return DataVersion(md5_dir(target))
    if target.is_file():
        return DataVersion(md5_file(target))
    raise InputError(f"{target}: no such data file or directory (and no {sidecar.name} beside it)")
