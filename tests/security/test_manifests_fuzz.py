"""Random YAML-ish text and random objects never make the manifest scanner raise; every finding names a known rule."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from foresight.bench.manifest_corpus import cases
from foresight.security import RULES, scan_manifest_objects, scan_manifests

_KNOWN = {rule.id for rule in RULES}
_TEXTS = [case.text for case in cases()]
_TOKENS = ["apiVersion: v1\n", "kind: Pod\n", "kind: Deployment\n", "kind: List\n", "items:\n", "spec:\n", "template:\n",
           "containers:\n", "- name: c\n", "  image: x\n", "securityContext:\n", "privileged: true\n", "---\n", "&a ", "*a",
           "<<: *a\n", "[", "]", "{", "}", ": ", "- ", "  ", "\n", "'", '"', "#", "!!binary ", "!custom ", "? ", "2001-13-45",
           "0x1F", "~", "{{ .Values.x }}", "\t", "hostPath: {path: /}\n", "env: [{name: TOKEN, value: 1}]\n", "\x00", "\ufeff"]
_KEYS = st.sampled_from(["apiVersion", "kind", "metadata", "spec", "template", "containers", "securityContext",
                         "privileged", "capabilities", "add", "drop", "env", "name", "value", "volumes", "hostPath",
                         "path", "items", "rules", "verbs", "resources", "roleRef", "podSelector", "namespace",
                         "runAsUser", "seccompProfile", "type", "ports", "hostPort", "image", "trainer"])
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=8),
                     st.sampled_from(["Pod", "Deployment", "List", "Role", "Secret", "TrainJob", "*", "ALL", "/", "0"]))
_VALUES = st.recursive(_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                          st.dictionaries(_KEYS, inner, max_size=5)), max_leaves=30)


def _check(findings: list[Any]) -> None:
    assert all(f.rule_id in _KNOWN for f in findings)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_TOKENS), max_size=60).map("".join))
def test_yaml_ish_text_never_raises(text: str) -> None:
    _check(scan_manifests(text, "fuzz.yaml"))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_damaged_corpus_manifests_never_raise(data: st.DataObject) -> None:
    text = data.draw(st.sampled_from(_TEXTS))
    cut = data.draw(st.integers(0, len(text)))
    insert = data.draw(st.sampled_from(_TOKENS))
    _check(scan_manifests(text[:cut] + insert + text[cut:], "damaged.yaml"))


@settings(max_examples=300, deadline=None)
@given(st.lists(_VALUES, max_size=4))
def test_random_objects_never_raise(objects: list[Any]) -> None:
    _check(scan_manifest_objects(objects, "objects"))
