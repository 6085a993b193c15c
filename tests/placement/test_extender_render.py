"""``foresight render scheduler``: the KubeSchedulerConfiguration with Foresight's extender, validated."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from foresight.cli import app, cli
from foresight.cli.scheduler import configuration_problems, scheduler_configuration

#: the json names of k8s.io/kube-scheduler/config/v1 Extender (types.go)
EXTENDER_FIELDS = {"urlPrefix", "filterVerb", "preemptVerb", "prioritizeVerb", "weight", "bindVerb", "enableHTTPS",
                   "tlsConfig", "httpTimeout", "nodeCacheCapable", "managedResources", "ignorable"}


def render(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["render", "scheduler", *args])
    assert result.exit_code == 0, result.output
    return yaml.safe_load(result.stdout)  # type: ignore[no-any-return]


def test_default_document_names_the_three_verbs() -> None:
    doc = render()
    assert doc["apiVersion"] == "kubescheduler.config.k8s.io/v1" and doc["kind"] == "KubeSchedulerConfiguration"
    [ext] = doc["extenders"]
    assert set(ext) <= EXTENDER_FIELDS
    assert ext == {"urlPrefix": "http://127.0.0.1:8080/scheduler", "filterVerb": "filter",
                   "prioritizeVerb": "prioritize", "bindVerb": "bind", "weight": 10, "enableHTTPS": False,
                   "httpTimeout": "10s", "nodeCacheCapable": True, "ignorable": False,
                   "managedResources": [{"name": "nvidia.com/gpu", "ignoredByScheduler": False}]}
    assert configuration_problems(doc) == []


def test_options_reach_the_document(tmp_path: Path) -> None:
    out = tmp_path / "cfg" / "scheduler.yaml"
    result = CliRunner().invoke(app, ["render", "scheduler", "--url", "https://foresight.kube-system.svc:8443/scheduler/",
                                      "--weight", "40", "--fractions", "--no-node-cache", "--timeout", "2500ms",
                                      "--ca-file", "/etc/foresight/ca.crt",
                                      "--kubeconfig", "/etc/kubernetes/scheduler.conf", "--out", str(out)])
    assert result.exit_code == 0, result.output
    doc = yaml.safe_load(out.read_text())
    [ext] = doc["extenders"]
    assert ext["urlPrefix"] == "https://foresight.kube-system.svc:8443/scheduler" and ext["enableHTTPS"] is True
    assert ext["tlsConfig"] == {"caFile": "/etc/foresight/ca.crt"}
    assert "managedResources" not in ext and ext["nodeCacheCapable"] is False and ext["weight"] == 40
    assert doc["clientConnection"] == {"kubeconfig": "/etc/kubernetes/scheduler.conf"}


@pytest.mark.parametrize("args, message", [
    (["--weight", "0"], "--weight"),
    (["--timeout", "ten"], "--timeout"),
    (["--url", "ftp://host/x"], "not an http(s) URL"),
    (["--ca-file", "/ca.crt"], "--ca-file is for an https"),
])
def test_bad_options_are_one_line_errors(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["render", "scheduler", *args])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def _broken(change: Any) -> list[str]:
    doc = scheduler_configuration("http://127.0.0.1:8080/scheduler", weight=10, timeout="5s", fractions=False,
                                  node_cache=True, kubeconfig=None)
    doc = copy.deepcopy(doc)
    change(doc)
    return configuration_problems(doc)


def test_the_validator_refuses_what_kube_scheduler_refuses() -> None:
    assert any("weight" in p for p in _broken(lambda d: d["extenders"][0].update(weight=0)))
    assert any("only one extender can implement bind" in p
               for p in _broken(lambda d: d["extenders"].append(dict(d["extenders"][0]))))
    assert any("duplicate" in p for p in _broken(lambda d: d["extenders"][0]["managedResources"].append(
        {"name": "nvidia.com/gpu"})))
    assert any("not an extended resource" in p for p in _broken(lambda d: d["extenders"][0].update(
        managedResources=[{"name": "cpu"}])))
    assert any("urlprefix" in p.lower() for p in _broken(lambda d: d["extenders"][0].update(urlprefix="x")))
    assert any("httpTimeout" in p for p in _broken(lambda d: d["extenders"][0].update(httpTimeout=5)))
    assert any("apiVersion" in p for p in _broken(lambda d: d.update(apiVersion="kubescheduler.config.k8s.io/v1beta3")))
