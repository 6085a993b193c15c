"""SARIF 2.1.0 output, checked against the parts of the OASIS schema that code-scanning consumers rely on.

The official schema (sarif-schema-2.1.0.json) is not available offline here, so this test writes the
constraints it needs by hand (required properties, enumerations, the shapes of rules, results and
locations) as a JSON Schema and validates with ``jsonschema``; it is a subset, not the full schema.
"""

from __future__ import annotations

import jsonschema

from foresight.bench.scan_corpus import corpus
from foresight.security import RULES, Level, scan_artifact, to_sarif
from foresight.security.findings import Finding, Location

_MESSAGE = {"type": "object", "required": ["text"], "properties": {"text": {"type": "string", "minLength": 1}}}
_REGION = {"type": "object", "minProperties": 1, "additionalProperties": False, "properties": {
    "startLine": {"type": "integer", "minimum": 1}, "byteOffset": {"type": "integer", "minimum": 0}}}
_LOCATION = {"type": "object", "required": ["physicalLocation"], "properties": {
    "physicalLocation": {"type": "object", "required": ["artifactLocation"], "properties": {
        "artifactLocation": {"type": "object", "required": ["uri"], "properties": {"uri": {"type": "string", "format": "uri-reference"}}},
        "region": _REGION}},
    "properties": {"type": "object"}}}
_RULE = {"type": "object", "required": ["id", "shortDescription", "fullDescription", "help", "defaultConfiguration", "properties"],
         "properties": {
             "id": {"type": "string", "pattern": "^FS[A-Z][0-9]{3}$"}, "name": {"type": "string"},
             "shortDescription": _MESSAGE, "fullDescription": _MESSAGE,
             "help": {"type": "object", "required": ["text"]},
             "defaultConfiguration": {"type": "object", "properties": {"level": {"enum": ["none", "note", "warning", "error"]}}},
             "properties": {"type": "object", "required": ["tags"], "properties": {
                 "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True,
                          "prefixItems": [{"type": "string", "pattern": "^external/cwe/cwe-[0-9]+$"}]}}}}}
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object", "required": ["version", "runs"],
    "properties": {
        "$schema": {"type": "string", "format": "uri"},
        "version": {"const": "2.1.0"},
        "runs": {"type": "array", "minItems": 1, "items": {"type": "object", "required": ["tool"], "properties": {
            "tool": {"type": "object", "required": ["driver"], "properties": {"driver": {
                "type": "object", "required": ["name"], "properties": {
                    "name": {"type": "string"}, "version": {"type": "string"},
                    "rules": {"type": "array", "items": _RULE}}}}},
            "columnKind": {"enum": ["utf16CodeUnits", "unicodeCodePoints"]},
            "results": {"type": "array", "items": {"type": "object", "required": ["message", "ruleId"], "properties": {
                "ruleId": {"type": "string"}, "ruleIndex": {"type": "integer", "minimum": 0},
                "level": {"enum": ["none", "note", "warning", "error"]}, "message": _MESSAGE,
                "locations": {"type": "array", "items": _LOCATION}}}}}}},
    },
}


def test_the_corpus_report_is_valid_sarif() -> None:
    findings = [f for a in corpus() for f in scan_artifact(a.data, f"models/{a.name}")]
    log = to_sarif(findings, RULES, "0.1.0")
    jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(log)
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert len(run["results"]) == len(findings)
    for result in run["results"]:  # ruleIndex points at the rule the result names
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


def test_rules_have_stable_ids_and_their_cwe_first() -> None:
    ids = {rule.id: (rule.name, rule.cwe) for rule in RULES}
    assert ids["FSA001"] == ("pickle-dangerous-global", 502)
    assert ids["FSA009"] == ("onnx-external-data-escape", 22)
    log = to_sarif([], RULES, "0.1.0")
    for rule in log["runs"][0]["tool"]["driver"]["rules"]:
        assert rule["properties"]["tags"][0] == f"external/cwe/cwe-{ids[rule['id']][1]}"


def test_regions_only_for_offsets_in_the_file_itself() -> None:
    top = Finding("FSA001", Level.ERROR, "m", Location("a b/m.pkl", byte_offset=7))
    inner = Finding("FSA001", Level.ERROR, "m", Location("m.pt", byte_offset=7, members=("archive/data.pkl",)))
    line = Finding("FSA001", Level.WARNING, "m", Location("x.yaml", line=3))
    results = to_sarif([top, inner, line], RULES, "0")["runs"][0]["results"]
    first, second, third = (r["locations"][0] for r in results)
    assert first["physicalLocation"] == {"artifactLocation": {"uri": "a%20b/m.pkl"}, "region": {"byteOffset": 7}}
    assert "region" not in second["physicalLocation"] and second["properties"]["members"] == ["archive/data.pkl"]
    assert "archive/data.pkl" in results[1]["message"]["text"]
    assert third["physicalLocation"]["region"] == {"startLine": 3}


def test_the_schema_subset_can_fail() -> None:
    """The hand-written schema rejects what it should (a CWE not first, a bad level, no message)."""
    import copy

    import pytest

    finding = Finding("FSA001", Level.ERROR, "m", Location("m.pkl"))
    good = to_sarif([finding], RULES, "0")
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for damage in (
        lambda log: log["runs"][0]["tool"]["driver"]["rules"][0]["properties"]["tags"].reverse(),
        lambda log: log["runs"][0]["results"][0].update(level="fatal"),
        lambda log: log["runs"][0]["results"][0].pop("message"),
        lambda log: log.update(version="2.0.0"),
    ):
        log = copy.deepcopy(good)
        damage(log)
        with pytest.raises(jsonschema.ValidationError):
            validator.validate(log)
