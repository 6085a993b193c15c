"""Foresight's operator: its custom resources reconciled in a cluster (kopf), leader election, its chart.

* :mod:`foresight.operator.decide`: pure; a custom resource in, the objects to apply / prune and
  its status out;
* leader election: :mod:`foresight.control.lease` decides (pure), the Kubernetes adapter writes the Lease;
* :mod:`foresight.operator.handlers`: the kopf handlers, thin over ``decide`` (the only home of ``kopf``,
  with :mod:`foresight.operator.run`, which runs them behind the Lease);
* :mod:`foresight.operator.chart`: renders the Helm chart in ``deploy/helm/foresight`` without Helm.
"""
