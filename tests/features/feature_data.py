"""Hand-made offline data for the feature-store tests: few rows, so every expected value can be checked by eye."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

#: Where the profile rows' hours count from: ten days ago on the hour, so materialising up to now includes them all.
BASE = (datetime.now(UTC) - timedelta(days=10)).replace(minute=0, second=0, microsecond=0)

#: (card_id, hours after BASE, credit_limit) of every card_profile row; the other features derive from the limit.
PROFILE_ROWS = [
    (1, 0, 1000.0),
    (1, 10, 1500.0),
    (1, 30, 2000.0),
    (1, 100, 9999.0),
    (2, 5, 500.0),
    (2, 60, 800.0),
    (3, 1, 300.0),
]


def profile_features(limit: float) -> dict[str, float | int]:
    """The five card_profile features of a row with this credit limit."""
    return {
        "credit_limit": limit,
        "age_days": int(limit // 10),
        "chargebacks_90d": int(limit) % 7,
        "avg_ticket": limit / 20.0,
        "country_risk": (limit % 13) / 13.0,
    }


def write_profiles(path: Path) -> None:
    """The card_profile source as Parquet (what a batch job would have written)."""
    rows = [{"card_id": c, "event_timestamp": BASE + timedelta(hours=h), **profile_features(v)} for c, h, v in PROFILE_ROWS]
    pq.write_table(pa.Table.from_pylist(rows), path)


def write_empty_activity(path: Path) -> None:
    """The card_activity source: no offline rows yet (the streamed view is filled online by the ingest)."""
    schema = pa.schema(
        [
            ("card_id", pa.int64()),
            ("event_timestamp", pa.timestamp("us", tz="UTC")),
            ("txn_count", pa.int64()),
            ("amount_sum", pa.float64()),
            ("amount_mean", pa.float64()),
            ("amount_max", pa.float64()),
            ("last_merchant", pa.int64()),
        ]
    )
    pq.write_table(schema.empty_table(), path)
