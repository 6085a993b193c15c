"""``foresight edge``: watch an edge fleet over MQTT; ``foresight bench edge``: the fleet benchmark."""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from foresight.adapters.mqtt import MqttPublisher, MqttSubscriber
from foresight.api.edge import create_edge_app, start_edge_server
from foresight.bench.edge import bench_edge
from foresight.bench.edge_model import TRACE, edge_model_figures
from foresight.cli.app import app, bench_app
from foresight.cli.progress import progress_bar
from foresight.edge.fleet import EdgeConfig, FleetMonitor
from foresight.edge.schema import TOPIC_FILTER, Rejected, parse_topic, topic
from foresight.errors import InputError
from foresight.sim.edge_fleet import EdgeFleet
from foresight.units import parse_duration


def _broker(text: str) -> tuple[str, int]:
    """``host:port`` (port 1883 when left out).

    >>> _broker("127.0.0.1"), _broker("mqtt.local:8883")
    (('127.0.0.1', 1883), ('mqtt.local', 8883))
    """
    host, _, port = text.rpartition(":") if ":" in text else (text, "", "1883")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError(f"--broker {text!r}: write host:port, e.g. 127.0.0.1:1883")
    return host, int(port)


@app.command("edge")
def edge(
    broker: Annotated[str, typer.Option("--broker", help="MQTT broker host:port.")] = "127.0.0.1:1883",
    fleet: Annotated[str | None, typer.Option(
        "--fleet", help="Watch this fleet only (foresight/edge/<fleet>/+/metrics); default: every fleet.")] = None,
    client_id: Annotated[str, typer.Option(
        "--client-id", help="MQTT client id of the persistent session: restart with the same id to get what was "
                            "missed meanwhile.")] = "foresight-edge",
    period: Annotated[float, typer.Option("--period", min=0.1, max=3600, help="Seconds between two views.")] = 5.0,
    duration: Annotated[str | None, typer.Option(
        "--duration", help="Stop after this long (e.g. 90s, 10m); default: until Ctrl-C.")] = None,
    simulate: Annotated[int, typer.Option(
        "--simulate", min=0, max=100_000, help="Also run a simulated fleet of this many devices (one sample a "
                                               "second each, for --duration or an hour; a fifth go offline for a "
                                               "minute and replay it; a tenth get an anomaly).")] = 0,
    port: Annotated[int | None, typer.Option(
        "--port", min=0, max=65535, help="Also serve the view as JSON on this port (GET /api/v1/edge, "
                                         "/api/v1/edge/devices/<device>; 0: any free port).")] = None,
    host: Annotated[str, typer.Option("--host", help="Address the --port server listens on.")] = "127.0.0.1",
    as_json: Annotated[bool, typer.Option("--json", help="Print only the last view, as JSON.")] = False,
) -> None:
    """Score every edge device's metrics as they arrive over MQTT (QoS 1) and show the fleet view.

    Each period: devices online and offline per fleet, devices with an open anomaly alarm, and
    messages dropped by reason (malformed, rate limited, duplicates). Samples are ordered by each
    device's sequence number, so a backlog replayed after an outage is scored at the times it was
    measured. Topic and payload: see ``foresight.edge.schema``.
    """
    mqtt_host, mqtt_port = _broker(broker)
    seconds = parse_duration(duration) if duration is not None else None
    until = time.time() + seconds if seconds is not None else float("inf")
    if fleet is not None and isinstance(parse_topic(topic(fleet, "device")), Rejected):
        raise InputError(f"--fleet {fleet!r}: write 1-64 of A-Z a-z 0-9 _ . -")
    sim_name = fleet or "sim"
    subscriber = MqttSubscriber(mqtt_host, mqtt_port, client_id=client_id,
                                topic_filter=f"foresight/edge/{fleet}/+/metrics" if fleet else TOPIC_FILTER)
    monitor = FleetMonitor(EdgeConfig(offline_after_s=max(3 * period, 10.0)))
    subscriber.connect()
    publisher, simulated = None, None
    if simulate:
        simulated = EdgeFleet(simulate, ticks=int(seconds or 3600) + 1, fleet=sim_name, interval_s=1.0, t0=time.time(),
                              outage_start=30, outage_ticks=60, seed=uuid.uuid4().int % 2**31)
        publisher = MqttPublisher(mqtt_host, mqtt_port)
        publisher.connect()
    console = Console()
    lock = threading.Lock()
    server = start_edge_server(create_edge_app(monitor, lock), host, port) if port is not None else None
    if server is not None and not as_json:
        console.print(f"edge view served on {server.url}/api/v1/edge")
    tick, next_view = 0, time.time() + period
    try:
        while time.time() < until:
            if (simulated is not None and publisher is not None and tick < simulated.ticks
                    and simulated.time(tick) <= time.time()):
                for p in simulated.tick(tick):
                    publisher.publish(p.topic, p.payload)
                tick += 1
            with lock:
                monitor.step(subscriber.drain(), time.time())
            if time.time() >= next_view:
                next_view += period
                if not as_json:
                    _show(console, monitor.view(time.time(), limit=15))
            time.sleep(0.05)
    except KeyboardInterrupt:
        pass
    finally:
        if server is not None:
            server.stop()
        if publisher is not None:
            publisher.close()
        subscriber.close()
    view = monitor.view(time.time(), limit=50)
    if as_json:
        typer.echo(json.dumps(view))
    else:
        _show(console, view)


def _show(console: Console, view: dict[str, Any]) -> None:
    fleets = Table(title=f"edge fleets: {view['samples_scored']} samples scored, {view['alarms_fired']} alarms",
                   caption="dropped: " + (", ".join(f"{k} {v}" for k, v in view["dropped"].items()) or "none"))
    for column in ("fleet", "devices", "online", "offline", "anomalous", "alarms open"):
        fleets.add_column(column, justify="left" if column == "fleet" else "right")
    for name, f in view["fleets"].items():
        fleets.add_row(name, *(str(f[k]) for k in ("devices", "online", "offline", "anomalous", "firing")))
    console.print(fleets)
    if view["devices"]:
        devices = Table(title="devices that need a look")
        for column in ("device", "fleet", "online", "alarms on", "last seen s", "lag s", "waiting", "rate limited",
                       "rejected"):
            devices.add_column(column)
        for d in view["devices"]:
            devices.add_row(d["device"], d["fleet"], "yes" if d["online"] else "NO", ", ".join(d["firing"]) or "-",
                            f"{d['last_seen_s']:.1f}", _fmt(d["lag_s"]), str(d["waiting"]), str(d["rate_limited"]),
                            str(d["rejected"]))
        console.print(devices)


def _fmt(value: Any) -> str:
    return "–" if value is None else f"{value:.3g}" if isinstance(value, float) else str(value)


@bench_app.command("edge")
def bench_edge_command(
    devices: Annotated[int, typer.Option("--devices", min=1, max=100_000, help="Simulated devices.")] = 1000,
    ticks: Annotated[int, typer.Option(
        "--ticks", min=110, max=10_000, help="Samples per device (10 s of device time each).")] = 130,
    rate: Annotated[float, typer.Option(
        "--rate", min=10, max=1_000_000, help="Messages a second offered to the broker (the machine's Mosquitto drops QoS 1 messages for a consumer more than 1,000 behind: max_queued_messages).")] = 1000.0,
    seed: Annotated[int, typer.Option("--seed", min=0, max=2**31 - 1, help="Seed (0 was used for tuning).")] = 1,
    broker: Annotated[str, typer.Option("--broker", help="MQTT broker host:port.")] = "127.0.0.1:1883",
    model: Annotated[bool, typer.Option(
        "--model/--no-model", help="Also the edge model: the LSTM forecaster as ONNX, quantised to int8 (needs the "
        "torch and onnx extras), judged on held-out NASA-HTTP data under --data-dir.")] = True,
    data_dir: Annotated[Path, typer.Option("--data-dir", help="Folder holding traces/ (the edge model's data).")
                        ] = Path("..") / "shared" / "data",
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """A simulated fleet through a real MQTT broker: 10-minute outages replayed, anomalies injected.

    Reports samples lost (of the replayed backlog too), alarms caused by the replay, recall and
    precision of the injected anomalies, throughput and end-to-end latency (publish -> scored),
    and what the rate limit did to one device flooding the broker. The detector was tuned on seed
    0; the default seed 1 is held out. With --model, the int8 edge model's size ratio and held-out
    accuracy delta (quantised_size_ratio, quantised_accuracy_delta) and the registry gate's verdict.
    """
    host, port = _broker(broker)
    trace = data_dir / TRACE.path
    if model and not trace.is_file():  # said before the fleet runs for minutes, not after
        raise InputError(f"--data-dir {data_dir}: the edge model's trace {TRACE.path} is not there (--no-model skips it)")
    with progress_bar(f"bench edge ({devices} devices)") as progress:
        figures = bench_edge(devices, ticks=ticks, rate=rate, seed=seed, host=host, port=port, progress=progress)
    if model:
        with progress_bar("bench edge (edge model)") as progress:
            figures |= edge_model_figures(data_dir, progress)
    if as_json:
        typer.echo(json.dumps(figures))
        return
    table = Table(title=f"bench edge: {figures['devices']} devices through MQTT at {host}:{port}",
                  caption=f"detector {figures['detector']}; seed {seed}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in figures.items():
        if key not in ("detector", "seed"):
            table.add_row(key, _fmt(value))
    Console(width=120).print(table)
