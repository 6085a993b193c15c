"""The feature pipeline's cores: a Feast repository from a FeatureSet, streamed events windowed per entity, monitoring.

Pure (no Feast, Redis or NATS import): :mod:`~foresight.features.repo` generates the repository,
:mod:`~foresight.features.events` checks streamed events, :mod:`~foresight.features.windows`
aggregates them idempotently, :mod:`~foresight.features.ingest` runs the ingest over its ports,
:mod:`~foresight.features.monitor` judges freshness, missing values and drift per view.
Adapters: :mod:`foresight.adapters.feast_store` (Feast SDK), :mod:`foresight.adapters.jetstream`
(JetStream source), :mod:`foresight.adapters.feature_gauges` (Prometheus gauges).
"""
