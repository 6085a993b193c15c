"""bench rca: the Nezha and PetShop layouts, an unseen system in the Nezha layout, bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from foresight.bench.rca import bench_rca, detect_layout
from foresight.bench.rca_data import load_nezha, service_of_pod
from foresight.cli import cli
from foresight.errors import InputError

HEADER = ("Time,TimeStamp,PodName,CpuUsageRate(%),MemoryUsageRate(%),PodClientLatencyP90(s),"
          "PodServerLatencyP90(s),PodSuccessRate(%),NodeCpuUsageRate(%)")
PODS = {"gate-7f9c8d6b5-abcde": "gate", "orders-6d5f4c3b2-fghij": "orders", "stock-5c4b3a291-klmno": "stock"}
START = datetime(2030, 1, 2, 10, 0, tzinfo=UTC).timestamp()
FAULT_AT = START + 3600


def _write_system(root: Path, broken_cell: str | None = None) -> None:
    """A small system nobody tuned on: gate -> orders -> stock; stock gets slow for 3 minutes an hour in."""
    metric = root / "rca_data" / "2030-01-02" / "metric"
    metric.mkdir(parents=True)
    rng = np.random.default_rng(7)
    for pod, service in PODS.items():
        lines = [HEADER]
        for minute in range(240):
            t = START + 60 * minute
            during = FAULT_AT <= t <= FAULT_AT + 180
            latency = 0.01 * (1 + 0.05 * rng.standard_normal())
            if during and service in ("stock", "orders", "gate"):
                latency *= {"stock": 20, "orders": 8, "gate": 4}[service]
            stamp = datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S") + ".123 +0000 UTC m=+1.0"
            cpu = "NaN" if minute == 5 else f"{10 + rng.standard_normal():.3f}"
            lines.append(f"{stamp},{t + 2e8:.0f},{pod},{cpu},{50 + 0.1 * rng.standard_normal():.3f},"
                         f"{latency:.5f},{latency:.5f},100,{30 + rng.standard_normal():.3f}")
        if broken_cell and service == "orders":
            lines[10] = lines[10].replace(",100,", f",{broken_cell},")
        (metric / f"{pod}_metric.csv").write_text("\n".join(lines) + "\n")
    (metric / "dependency.csv").write_text(
        "Source,Target,Weight\ngate,orders,1\norders,stock,1\ngate,10.0.0.1,1\norders,10.0.0.2,1\nstock,10.0.0.2,1\n")
    fault_time = datetime.fromtimestamp(FAULT_AT, UTC).strftime("%Y-%m-%d %H:%M:%S")
    (root / "rca_data" / "2030-01-02" / "injected-faults.json").write_text(json.dumps(
        {"11": [{"inject_time": fault_time, "inject_pod": "stock-5c4b3a291-klmno", "inject_type": "cpu_hog"}]}))


def test_service_is_the_pod_without_its_two_hash_parts() -> None:
    assert service_of_pod("cartservice-579f59597d-wc2lz") == "cartservice"
    assert service_of_pod("ts-order-service-6d5f4c3b2-fghij") == "ts-order-service"
    assert service_of_pod("single") == "single"


def test_an_unseen_system_in_the_nezha_layout_runs_unchanged(tmp_path: Path) -> None:
    _write_system(tmp_path)
    day = load_nezha(tmp_path)[0]
    assert {p.service for p in day.pods} == set(PODS.values())
    assert ("gate", "orders") in day.graph.edges and day.graph.nodes_of("stock") == frozenset({"10.0.0.2"})
    assert day.faults[0].at_s == FAULT_AT  # from the Time string, not the offset TimeStamp column
    figures = bench_rca(tmp_path)
    assert figures["faults"] == 1 and figures["top1"] == 1.0 and figures["strict"]["top1"] == 1.0
    assert figures["by_type"]["cpu_hog"]["top1"] == 1.0
    assert figures["held_out"]["parts"] == ["2030-01-02"] and figures["chosen_on"]["parts"] == []
    assert figures["specificity_windows"] >= 2 and figures["specificity"] == 1.0


@pytest.mark.parametrize(("damage", "message"), [
    (lambda root: (root / "rca_data" / "2030-01-02" / "metric" / "dependency.csv").unlink(), "no dependency.csv"),
    (lambda root: (root / "rca_data" / "2030-01-02" / "other-faults.json").write_text("[]"), "found 2"),
    (lambda root: (root / "rca_data" / "2030-01-02" / "injected-faults.json").write_text("[1"), "not a readable JSON"),
    (lambda root: (root / "rca_data" / "2030-01-02" / "injected-faults.json").write_text('{"1": [{"x": 1}]}'),
     "needs inject_time"),
])
def test_broken_nezha_files_are_precise_errors(tmp_path: Path, damage, message: str) -> None:
    _write_system(tmp_path)
    damage(tmp_path)
    with pytest.raises(InputError, match=message.replace("*", r"\*")):
        bench_rca(tmp_path)


def test_a_day_without_a_fault_list_counts_for_specificity_only(tmp_path: Path) -> None:
    _write_system(tmp_path)
    (tmp_path / "rca_data" / "2030-01-02" / "injected-faults.json").unlink()
    figures = bench_rca(tmp_path)
    assert figures["faults"] == 0 and figures["top1"] is None and figures["specificity_windows"] >= 2


def test_a_cell_that_is_no_number_names_file_line_and_column(tmp_path: Path) -> None:
    _write_system(tmp_path, broken_cell="fast")
    with pytest.raises(InputError, match=r"orders-6d5f4c3b2-fghij_metric.csv:11 \(PodSuccessRate\(%\)\): 'fast'"):
        load_nezha(tmp_path)


def test_unknown_layout_and_missing_folder_are_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="neither the Nezha layout"):
        detect_layout(tmp_path)
    with pytest.raises(InputError, match="no such folder"):
        detect_layout(tmp_path / "absent")


def test_cli_prints_the_figures_as_json_and_a_bad_folder_as_one_line(tmp_path: Path) -> None:
    _write_system(tmp_path)
    result = CliRunner().invoke(cli, ["bench", "rca", "--data", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    for key in ("faults", "top1", "top3", "top5", "specificity", "seconds_per_incident", "by_type",
                "chosen_on", "held_out", "strict", "detected", "without_topology"):
        assert key in figures
    bad = CliRunner().invoke(cli, ["bench", "rca", "--data", str(tmp_path / "absent")])
    assert bad.exit_code == 2 and "no such folder" in bad.output and "Traceback" not in bad.output


def test_published_data_both_systems_reported_apart(shared_data: Path) -> None:
    nezha = bench_rca(shared_data / "rca" / "nezha-onlineboutique")
    assert nezha["faults"] == 56 and nezha["chosen_on"]["parts"] == ["2022-08-22"]
    assert nezha["held_out"]["parts"] == ["2022-08-23"] and nezha["held_out"]["faults"] == 32
    assert set(nezha["by_type"]) == {"cpu_consumed", "cpu_contention", "exception", "network_delay", "return"}
    petshop = bench_rca(shared_data / "rca" / "petshop")
    assert petshop["faults"] == 68 and petshop["held_out"]["parts"] == ["test"]
    assert set(petshop["by_type"]) == {"latency", "availability"}
    assert "temporal_traffic1 <- high_traffic" in petshop["note"]


def test_renaming_every_service_and_pod_changes_nothing(shared_data: Path, tmp_path: Path) -> None:
    """The method reads names, never knows them: Online Boutique renamed is another system to it."""
    source = shared_data / "rca" / "nezha-onlineboutique" / "rca_data" / "2022-08-23"
    services = sorted({service_of_pod(p.name[: -len("_metric.csv")]) for p in (source / "metric").glob("*_metric.csv")}
                      | {"loadgenerator"}, key=len, reverse=True)
    alias = {name: f"svc{i}-x" for i, name in enumerate(services)}  # a dash inside the name, like ts-order-service

    def rename(text: str) -> str:
        for old in alias:  # longest first: productcatalogservice before catalog-like prefixes
            text = text.replace(old, f"\0{services.index(old)}\0")
        for old, new in alias.items():
            text = text.replace(f"\0{services.index(old)}\0", new)
        return text

    target = tmp_path / "rca_data" / "2030-05-06"
    (target / "metric").mkdir(parents=True)
    for path in (source / "metric").iterdir():
        (target / "metric" / rename(path.name)).write_text(rename(path.read_text()))
    (target / "root_cause_faults_2030.json").write_text(rename((source / "2022-08-23-fault_list.json").read_text()))
    renamed = bench_rca(tmp_path)
    original = bench_rca(shared_data / "rca" / "nezha-onlineboutique")["by_part"]["2022-08-23"]
    assert renamed["faults"] == original["faults"] == 32
    for key in ("top1", "top3", "top5", "detected"):
        assert renamed[key] == original[key]
    assert renamed["chosen_on"]["parts"] == [] and renamed["held_out"]["parts"] == ["2030-05-06"]


NODES = ("Site", "Search", "Table", "Search_client")


def _write_petshop_scenario(root: Path, name: str, normal: bool = True) -> None:
    """Site -> Search -> Table (plus an X-Ray client node): Search gets slow in the issue."""
    folder = root / "dataset" / name
    cols = [(n, m, st) for m, st in (("latency", "Average"), ("latency", "p99"), ("availability", "Average"))
            for n in NODES]
    header = ["microservice," + ",".join(c[0] for c in cols), "metric," + ",".join(c[1] for c in cols),
              "statistic," + ",".join(c[2] for c in cols), "unix_timestamp" + "," * len(cols)]
    rng = np.random.default_rng(3)

    def rows(count: int, slow_from: int | None) -> list[str]:
        out = []
        for r in range(count):
            cells = []
            for node, metric, _ in cols:
                if metric == "availability":
                    cells.append("100.0")
                    continue
                base = {"Site": 0.1, "Search": 0.01, "Table": 0.005, "Search_client": 0.012}[node]
                value = base * (1 + 0.03 * rng.standard_normal())
                if slow_from is not None and r >= slow_from and node != "Table":
                    value += 0.5
                cells.append("" if (r == 1 and node == "Table") else f"{value:.5f}")
            out.append(f"{1.7e9 + 300 * r:.1f}," + ",".join(cells))
        return out

    graph = [",Site,Search,Table,Search_client", "Site,0.0,1.0,0.0,0.0", "Search,0.0,0.0,1.0,0.0",
             "Table,0.0,0.0,0.0,0.0", "Search_client,0.0,1.0,0.0,0.0"]
    folder.mkdir(parents=True)
    (folder / "graph.csv").write_text("\n".join(graph) + "\n")
    if normal:
        (folder / "noissue").mkdir()
        (folder / "noissue" / "metrics.csv").write_text("\n".join(header + rows(80, None)) + "\n")
    for split in ("train", "test"):
        issue = folder / split / "issue_0"
        issue.mkdir(parents=True)
        (issue / "metrics.csv").write_text("\n".join(header + rows(5, 2)) + "\n")
        (issue / "target.json").write_text(json.dumps({"target": {"node": "Site", "metric": "latency"},
                                                       "root_cause": {"node": "Search", "metric": None}}))


def test_petshop_layout_a_borrowed_normal_period_and_an_x_ray_client_node(tmp_path: Path) -> None:
    _write_petshop_scenario(tmp_path, "high_traffic")
    _write_petshop_scenario(tmp_path, "temporal_traffic1", normal=False)
    assert detect_layout(tmp_path) == "petshop"
    figures = bench_rca(tmp_path)
    assert figures["faults"] == 4 and figures["top1"] == 1.0  # Search, not the Search_client view of it
    assert figures["chosen_on"]["parts"] == ["normal", "train"] and figures["held_out"]["parts"] == ["test"]
    assert figures["specificity"] == 1.0 and figures["specificity_windows"] > 0
    assert "temporal_traffic1 <- high_traffic" in figures["note"]
    assert set(figures["by_scenario"]) == {"high_traffic", "temporal_traffic1"}


def test_petshop_without_a_target_or_a_normal_period_is_a_precise_error(tmp_path: Path) -> None:
    _write_petshop_scenario(tmp_path, "low_traffic")
    (tmp_path / "dataset" / "low_traffic" / "test" / "issue_0" / "target.json").write_text("{}")
    with pytest.raises(InputError, match=r"issue_0/target.json: no target.metric and root_cause.node"):
        bench_rca(tmp_path)
    (tmp_path / "dataset" / "low_traffic" / "noissue" / "metrics.csv").unlink()
    with pytest.raises(InputError, match="no scenario has noissue/metrics.csv"):
        bench_rca(tmp_path)
