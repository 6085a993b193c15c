"""The dashboard's GPU panel in a real headless Chromium: pools read from a cluster (kmock) by the extender."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kube_emulator import Cluster

from foresight.api.server import start_in_thread

from .conftest import build

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _node(name: str, gpus: int, product: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"nvidia.com/gpu.product": product, **labels}},
            "status": {"allocatable": {"cpu": "32", "memory": "128Gi", "nvidia.com/gpu": str(gpus)}}}


def _pod(name: str, node: str, gpus: int = 0, milli: int | None = None, model: str | None = None) -> dict[str, Any]:
    limits = {"nvidia.com/gpu": str(gpus)} if gpus else {}
    annotations = {"foresight.ai/gpu-milli": str(milli)} if milli else {}
    labels = {"app.kubernetes.io/name": model} if model else {}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "annotations": annotations, "labels": labels},
            "spec": {"nodeName": node, "containers": [{"name": "c", "resources": {"limits": limits,
                                                                                  "requests": {"cpu": "1"}}}]},
            "status": {"phase": "Running"}}


@pytest.mark.integration
def test_the_gpu_panel_shows_allocation_and_fragmentation_per_pool(tmp_path: Path, require_service: Any) -> None:
    require_service(CHROMIUM.exists(), f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    kube = Cluster()
    kube.put("v1/nodes", None, _node("t4-a", 4, "Tesla-T4"))
    kube.put("v1/nodes", None, _node("h100-a", 8, "NVIDIA-H100-80GB-HBM3", **{"karpenter.sh/nodepool": "h100-spot",
                                                                             "karpenter.sh/capacity-type": "spot"}))
    kube.put("v1/pods", "default", _pod("big", "h100-a", gpus=4, model="llm"))
    kube.put("v1/pods", "default", _pod("s1", "t4-a", milli=700, model="sdxl"))
    kube.put("v1/pods", "default", _pod("s2", "t4-a", milli=700, model="sdxl"))
    service = build(tmp_path, simulate={"warmup_s": 0.0},
                    scheduler={"enabled": True, "gpu_usd_per_hour": {"NVIDIA-H100-80GB-HBM3": 10.0},
                               "default_gpu_usd_per_hour": 1.0, "spot_price_ratio": 0.3},
                    cluster={"kubeconfig": str(kube.write_kubeconfig(tmp_path / "kubeconfig"))})
    server = start_in_thread(service)
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 1600})
            page.goto(server.url + "/")
            page.wait_for_function("document.querySelectorAll('#gpu-pools tbody tr').length == 2", timeout=20_000)
            rows = [r.locator("td").all_inner_texts() for r in page.locator("#gpu-pools tbody tr").all()]
            assert rows[0][:4] == ["h100-spot", "NVIDIA-H100-80GB-HBM3", "1 (1 spot)", "8"]
            assert rows[0][4].startswith("4.00 (50.0%)")
            # T4: two 0.7 shares on two devices. Against the running mix (2/3 the 0.7 shape, 1/3 the 4-GPU one) the
            # 0.3 left on each device is lost to the first, and all 2.6 free GPUs to the second (2 whole are too few):
            # 2/3 x 0.6 + 1/3 x 2.6 = 1.27 of 2.6 free
            assert rows[1][:7] == ["Tesla-T4", "Tesla-T4", "1", "4", "1.40 (35.0%)", "2", "2"]
            assert rows[1][7] == "1.27 (48.7%)"
            costs = [r.locator("td").all_inner_texts() for r in page.locator("#gpu-models tbody tr").all()]
            # 4 H100 on spot at 30% of $10; 2 x 0.7 T4 at the default $1
            assert costs == [["default/llm", "1", "4.00", "4.00", "12.00"], ["default/sdxl", "2", "1.40", "0.00", "1.40"]]
            bars = page.evaluate("document.getElementById('chart-gpus').data.map(t => [t.name, t.y])")
            assert bars[0] == ["allocated", [4, 1.4]] and bars[2][0] == "free, fragmented"
            assert bars[2][1][1] == pytest.approx(0.6 * 2 / 3 + 2.6 / 3)
            ticks = page.evaluate("Array.from(document.querySelectorAll('#chart-gpus .xtick text'), t => t.textContent)")
            assert ticks == ["h100-spot · NVIDIA-H100-80GB-HBM3", "Tesla-T4"]  # pool names, without the time axis' suffix
            page.locator("#panel-gpus").screenshot(path=str(tmp_path / "gpus.png"))
            browser.close()
    finally:
        server.stop()
        kube.close()
