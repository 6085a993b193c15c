"""Scaling policies: the reactive Kubernetes HPA baseline (:mod:`foresight.autoscale.hpa`) and the
predictive policies benchmarked against it."""

from foresight.autoscale.hpa import HpaBehavior, HpaPolicy, HpaSpec, HpaState

__all__ = ["HpaBehavior", "HpaPolicy", "HpaSpec", "HpaState"]
