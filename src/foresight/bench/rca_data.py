"""Labelled root-cause data on disk: the Nezha layout and the PetShop layout, read into plain arrays.

Nezha layout (``DIR/rca_data/<date>/``): one ``metric/<pod>_metric.csv`` per pod (a ``Time`` string
column, numeric metric columns), ``metric/dependency.csv`` (``Source,Target,Weight``: service ->
service calls, and service -> node placement where the target is an IP address), and one fault list
found by the glob ``*fault*.json`` (``{hour: [{inject_time, inject_pod, inject_type}, ...]}``).
Nothing in it is specific to one system: dates, pods, services and metric columns are discovered.
Times come from the ``Time`` string (its first 19 characters, UTC), never the ``TimeStamp`` column,
which one published day offsets by 200,000,000 s. A service is a pod name without its last two
``-hash`` parts (a Deployment's ReplicaSet and pod suffixes).

PetShop layout (``DIR/dataset/<scenario>/``): ``graph.csv`` (an adjacency matrix, row calls
column), ``noissue/metrics.csv`` and ``{train,test}/issue_<n>/{metrics.csv,target.json}``; a
metrics file has three header rows (component, metric, statistic), a ``unix_timestamp`` row and then
one row per 5-minute step. Empty cells are missing samples (NaN).
"""

from __future__ import annotations

import csv
import ipaddress
import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from foresight.correlate.graph import ServiceGraph
from foresight.errors import InputError

__all__ = [
    "Fault",
    "NezhaDay",
    "PetShopIssue",
    "PetShopScenario",
    "PodSeries",
    "Table",
    "load_nezha",
    "load_petshop",
    "service_of_pod",
]

_POD_FILE = re.compile(r"^(?P<pod>.+)_metric\.csv$")
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class Table:
    """A numeric table: ``values[row, column]`` at ``times[row]`` (epoch seconds), NaN where missing."""

    times: np.ndarray
    columns: tuple[str, ...]
    values: np.ndarray


@dataclass(frozen=True)
class PodSeries:
    pod: str
    service: str
    table: Table


@dataclass(frozen=True)
class Fault:
    """One injected fault: when, where (pod and its service) and what kind."""

    at_s: float
    pod: str
    service: str
    kind: str


@dataclass(frozen=True)
class NezhaDay:
    date: str
    pods: tuple[PodSeries, ...]
    graph: ServiceGraph
    faults: tuple[Fault, ...]
    #: per call edge latency as the caller measures it (``source_50.csv``), when present
    edges: Table | None = None
    #: (caller, callee) of each column of ``edges``
    edge_ends: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class PetShopIssue:
    name: str
    split: str
    target_metric: str
    root_cause: str
    table: Table
    columns: tuple[tuple[str, str, str], ...]


@dataclass(frozen=True)
class PetShopScenario:
    name: str
    graph: ServiceGraph
    #: the normal-period file; ``normal_from`` names the scenario it was read from when this one has none
    normal: Table
    normal_columns: tuple[tuple[str, str, str], ...]
    normal_from: str
    issues: tuple[PetShopIssue, ...]


def service_of_pod(pod: str, known: frozenset[str] = frozenset()) -> str:
    """The longest ``known`` service the pod's name starts with, else the name without its last two ``-hash`` parts.

    >>> service_of_pod("cartservice-579f59597d-wc2lz"), service_of_pod("ts-order-service-0", frozenset({"ts-order-service"}))
    ('cartservice', 'ts-order-service')
    """
    matches = [s for s in known if pod == s or pod.startswith(s + "-")]
    if matches:
        return max(matches, key=len)
    parts = pod.split("-")
    return "-".join(parts[:-2]) if len(parts) > 2 else pod


def _number(cell: str, where: str) -> float:
    text = cell.strip()
    if text == "" or text.lower() in ("nan", "null", "none"):
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise InputError(f"{where}: {cell!r} is not a number") from None


def _epoch(text: str, where: str) -> float:
    try:
        return datetime.strptime(text.strip()[:19], _TIME_FORMAT).replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise InputError(f"{where}: time {text!r} is not 'YYYY-MM-DD HH:MM:SS...'") from None


def _read_rows(path: Path) -> list[list[str]]:
    try:
        with path.open(newline="") as handle:
            return [row for row in csv.reader(handle) if row]
    except OSError as err:
        raise InputError(f"{path}: cannot read ({err.strerror})") from None
    except (csv.Error, UnicodeDecodeError) as err:
        raise InputError(f"{path}: not a CSV file ({err})") from None


def _read_pod_table(path: Path, time_column: str = "Time") -> Table:
    """A metric file: the ``Time`` string column as the clock, every other numeric column kept."""
    rows = _read_rows(path)
    if len(rows) < 2:
        raise InputError(f"{path}: no data rows")
    header = rows[0]
    if time_column not in header:
        raise InputError(f"{path}: no {time_column!r} column in the header {header[:4]}...")
    time_at = header.index(time_column)
    skip = {time_column, "TimeStamp", "timestamp", "PodName"}
    keep = [i for i, name in enumerate(header) if name not in skip]
    times = np.empty(len(rows) - 1)
    values = np.full((len(rows) - 1, len(keep)), math.nan)
    for r, row in enumerate(rows[1:]):
        where = f"{path}:{r + 2}"
        if len(row) != len(header):
            raise InputError(f"{where}: {len(row)} cells, the header has {len(header)}")
        times[r] = _epoch(row[time_at], where)
        for c, i in enumerate(keep):
            values[r, c] = _number(row[i], f"{where} ({header[i]})")
    order = np.argsort(times, kind="stable")
    return Table(times[order], tuple(header[i] for i in keep), values[order])


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _read_dependency(path: Path, pods: tuple[str, ...]) -> tuple[ServiceGraph, frozenset[str]]:
    """Service calls and pod placement from ``dependency.csv`` (a target that is an IP address is a node).

    Pods are matched to the services this file names (a StatefulSet's ``db-0`` has no hash parts).
    """
    rows = _read_rows(path)
    if not rows or [c.strip() for c in rows[0][:2]] != ["Source", "Target"]:
        raise InputError(f"{path}: expected a 'Source,Target[,Weight]' header")
    edges: list[tuple[str, str]] = []
    node_of: dict[str, str] = {}
    for n, row in enumerate(rows[1:], start=2):
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            raise InputError(f"{path}:{n}: a row needs a source and a target")
        source, target = row[0].strip(), row[1].strip()
        if _is_address(target):
            node_of.setdefault(source, target)
        else:
            edges.append((source, target))
    known = frozenset(name for edge in edges for name in edge) | frozenset(node_of)
    service = {pod: service_of_pod(pod, known) for pod in pods}
    placement = {pod: (service[pod], node_of[service[pod]]) for pod in pods if service[pod] in node_of}
    return ServiceGraph.of(edges, placement), known


def _read_faults(path: Path, known: frozenset[str]) -> tuple[Fault, ...]:
    """``{hour: [fault, ...]}`` (Nezha's) or a plain list of faults."""
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: not a readable JSON fault list ({err})") from None
    if isinstance(data, list):
        data = {"all": data}
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected {{hour: [faults]}} or [faults], got {type(data).__name__}")
    faults = []
    for hour, entries in data.items():
        if not isinstance(entries, list):
            raise InputError(f"{path}: hour {hour!r} holds {type(entries).__name__}, not a list of faults")
        for entry in entries:
            if not isinstance(entry, dict) or not {"inject_time", "inject_pod", "inject_type"} <= entry.keys():
                raise InputError(f"{path}: hour {hour!r}: a fault needs inject_time, inject_pod, inject_type: {entry!r}")
            pod = str(entry["inject_pod"])
            at = _epoch(str(entry["inject_time"]), f"{path} ({hour})")
            faults.append(Fault(at, pod, service_of_pod(pod, known), str(entry["inject_type"])))
    return tuple(sorted(faults, key=lambda f: f.at_s))


def _read_edges(path: Path, services: frozenset[str]) -> tuple[Table | None, tuple[tuple[str, str], ...]]:
    """``caller_callee`` latency columns; a column whose name splits into no two known services is skipped."""
    if not path.is_file():
        return None, ()
    table = _read_pod_table(path, time_column="time")
    keep, ends = [], []
    for c, name in enumerate(table.columns):
        parts = name.split("_")
        for cut in range(1, len(parts)):
            caller, callee = "_".join(parts[:cut]), "_".join(parts[cut:])
            if caller in services and callee in services:
                keep.append(c)
                ends.append((caller, callee))
                break
    return Table(table.times, tuple(table.columns[c] for c in keep), table.values[:, keep]), tuple(ends)


def load_nezha(root: Path) -> tuple[NezhaDay, ...]:
    """Every date folder under ``root/rca_data``, in date order; one without a fault list has no faults
    (its fault-free windows still count for specificity)."""
    base = root / "rca_data"
    if not base.is_dir():
        raise InputError(f"{root}: no rca_data/ folder (the Nezha layout is DIR/rca_data/<date>/metric/*.csv)")
    days = []
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        metric = folder / "metric"
        pod_files = sorted(p for p in metric.glob("*_metric.csv")) if metric.is_dir() else []
        fault_files = sorted(folder.glob("*fault*.json"))
        if not pod_files:
            raise InputError(f"{folder}: no metric/<pod>_metric.csv files")
        if len(fault_files) > 1:
            raise InputError(f"{folder}: expected one *fault*.json fault list, found {len(fault_files)}: "
                             f"{', '.join(p.name for p in fault_files)}")
        if not (metric / "dependency.csv").is_file():
            raise InputError(f"{metric}: no dependency.csv (the topology)")
        named = [(match["pod"], path) for path in pod_files if (match := _POD_FILE.match(path.name))]
        graph, known = _read_dependency(metric / "dependency.csv", tuple(pod for pod, _ in named))
        pods = tuple(PodSeries(pod, service_of_pod(pod, known), _read_pod_table(path)) for pod, path in named)
        edges, ends = _read_edges(metric / "source_50.csv", graph.services)
        faults = _read_faults(fault_files[0], known) if fault_files else ()
        days.append(NezhaDay(folder.name, pods, graph, faults, edges, ends))
    if not days:
        raise InputError(f"{base}: no date folders")
    return tuple(days)


def _read_petshop_metrics(path: Path) -> tuple[Table, tuple[tuple[str, str, str], ...]]:
    """A PetShop metrics file: three header rows (component, metric, statistic), a label row, data rows."""
    rows = _read_rows(path)
    if len(rows) < 5 or rows[0][0] != "microservice" or rows[1][0] != "metric" or rows[2][0] != "statistic":
        raise InputError(f"{path}: expected header rows 'microservice', 'metric', 'statistic' and data rows")
    width = len(rows[0])
    columns = tuple(zip(rows[0][1:], rows[1][1:], rows[2][1:], strict=False))
    data = [row for row in rows[3:] if row[0] != "unix_timestamp"]
    times = np.empty(len(data))
    values = np.full((len(data), width - 1), math.nan)
    for r, row in enumerate(data):
        where = f"{path}:{r + 5}"
        if len(row) != width:
            raise InputError(f"{where}: {len(row)} cells, the header has {width}")
        times[r] = _number(row[0], where)
        if math.isnan(times[r]):
            raise InputError(f"{where}: no timestamp")
        values[r] = [_number(cell, where) for cell in row[1:]]
    return Table(times, tuple("/".join(c) for c in columns), values), columns


def _read_adjacency(path: Path) -> ServiceGraph:
    rows = _read_rows(path)
    if len(rows) < 2:
        raise InputError(f"{path}: empty adjacency matrix")
    names = rows[0][1:]
    edges = []
    for row in rows[1:]:
        if len(row) != len(names) + 1:
            raise InputError(f"{path}: row {row[0]!r} has {len(row) - 1} cells for {len(names)} columns")
        edges += [(row[0], names[j]) for j, cell in enumerate(row[1:]) if _number(cell, f"{path} ({row[0]})") > 0]
    return ServiceGraph.of(edges)


def _read_issue(folder: Path, split: str) -> PetShopIssue:
    try:
        target = json.loads((folder / "target.json").read_text())
        metric, cause = str(target["target"]["metric"]), str(target["root_cause"]["node"])
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as err:
        raise InputError(f"{folder / 'target.json'}: no target.metric and root_cause.node ({err})") from None
    table, columns = _read_petshop_metrics(folder / "metrics.csv")
    return PetShopIssue(folder.name, split, metric, cause, table, columns)


def load_petshop(root: Path) -> tuple[PetShopScenario, ...]:
    """Every scenario under ``root/dataset``; one without a normal-period file borrows the first that has one.

    Upstream's stored snapshot lacks the normal files of the two temporal scenarios: their issues are
    then scored against another scenario's normal period of the same system (named in ``normal_from``).
    """
    base = root / "dataset"
    folders = sorted(p for p in base.iterdir() if (p / "graph.csv").is_file()) if base.is_dir() else []
    if not folders:
        raise InputError(f"{root}: no dataset/<scenario>/graph.csv (the PetShop layout)")
    normals = {f.name: _read_petshop_metrics(f / "noissue" / "metrics.csv") for f in folders
               if (f / "noissue" / "metrics.csv").is_file()}
    if not normals:
        raise InputError(f"{base}: no scenario has noissue/metrics.csv, so there is no normal period to compare with")
    fallback = "high_traffic" if "high_traffic" in normals else min(normals)
    scenarios = []
    for folder in folders:
        issues = [_read_issue(issue, split) for split in ("train", "test") if (folder / split).is_dir()
                  for issue in sorted((folder / split).iterdir(), key=lambda p: _issue_order(p.name))
                  if issue.is_dir() and not issue.name.startswith(".")]
        source = folder.name if folder.name in normals else fallback
        normal, columns = normals[source]
        scenarios.append(PetShopScenario(folder.name, _read_adjacency(folder / "graph.csv"), normal, columns,
                                         source, tuple(issues)))
    return tuple(scenarios)


def _issue_order(name: str) -> tuple[int, str]:
    digits = re.sub(r"\D", "", name)
    return (int(digits) if digits else -1, name)
