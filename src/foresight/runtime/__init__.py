"""The composition root: every controller Foresight runs is built here, over a platform's ports.

``foresight demo``, ``foresight serve`` (simulated or live), the operator's policies and the
benchmarks all take their controllers from this package, so what a benchmark measures is what
runs in a cluster. A *platform* is the bundle of port implementations the controllers run over:
the simulator's, or the real cluster's (Prometheus, the Kubernetes ``/scale`` subresource,
Istio, Alertmanager); this package is the one place that knows both.
"""
