"""Edge telemetry: device and model metrics from edge nodes over MQTT, scored per device, viewed per fleet.

Pure decision code (no I/O, no clock): :mod:`~foresight.edge.schema` is the wire format,
:mod:`~foresight.edge.order` puts each device's samples back in sequence, :mod:`~foresight.edge.limit`
keeps a flooding device from starving the others, :mod:`~foresight.edge.fleet` scores every device's
metrics with a streaming detector and keeps the fleet view. The MQTT client is
:mod:`foresight.adapters.mqtt`; a simulated fleet is :mod:`foresight.sim.edge_fleet`.
"""
