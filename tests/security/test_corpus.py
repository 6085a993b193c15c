"""The generated corpus: every attack is caught at error level, no benign file gets even a warning."""

from __future__ import annotations

import io
import pickle
import zipfile
from collections.abc import Callable

import pytest

from foresight.bench.scan_corpus import Artifact, corpus
from foresight.security import Level, scan_artifact
from foresight.security.callables import Verdict, judge

ARTIFACTS = corpus()
ATTACKS = [a for a in ARTIFACTS if a.kind != "benign"]
BENIGN = [a for a in ARTIFACTS if a.kind == "benign"]
#: attacks that are a bare pickle stream (the recorder can load them)
BARE = [a for a in ATTACKS if a.data[:1] in (b"\x80", b"c", b"(", b"S")]


def test_the_corpus_has_every_class() -> None:
    kinds = [a.kind for a in ARTIFACTS]
    assert (kinds.count("classic"), kinds.count("evasion")) == (10, 14)
    assert len({a.name for a in ARTIFACTS}) == len(ARTIFACTS)


@pytest.mark.parametrize("artifact", ATTACKS, ids=lambda a: a.name)
def test_every_attack_is_an_error_for_what_it_does(artifact: Artifact) -> None:
    findings = scan_artifact(artifact.data, artifact.name)
    errors = [f for f in findings if f.level is Level.ERROR]
    assert errors, findings
    # caught for the attack itself, never only because the scanner failed to parse the file
    assert any(f.rule_id != "FSA005" for f in errors), findings


@pytest.mark.parametrize("artifact", BENIGN, ids=lambda a: a.name)
def test_no_benign_file_gets_a_warning(artifact: Artifact) -> None:
    findings = scan_artifact(artifact.data, artifact.name)
    assert all(f.level is Level.NOTE for f in findings), findings


@pytest.mark.parametrize("artifact", BARE, ids=lambda a: a.name)
def test_bare_attacks_really_import_something_dangerous(
    artifact: Artifact, recorded: Callable[[bytes], list[tuple[str, str]]]
) -> None:
    """The evasions are real: Python's own unpickler (with globals stubbed out) imports a dangerous global."""
    imports = recorded(artifact.data)
    assert any(judge(module, name) is Verdict.DANGEROUS for module, name in imports), imports


def test_archive_evasions_defeat_pythons_zipfile() -> None:
    """The broken archives are broken for the standard reader, yet their pickle is found."""
    for name in ("bad_crc.pt", "broken_directory.pt"):
        data = next(a.data for a in ARTIFACTS if a.name == name)
        with pytest.raises((zipfile.BadZipFile, OSError)), zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.namelist():
                archive.read(member)


def test_benign_scikit_learn_pickles_load_as_written() -> None:
    """The benign corpus is what the libraries write (loading it is safe: these are our own objects)."""
    forest = next(a for a in BENIGN if a.name == "forest.pkl")
    model = pickle.loads(forest.data)
    assert hasattr(model, "predict")
