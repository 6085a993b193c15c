"""The fixed tune/held split of NAB's series: stable, about even, independent of what else is present."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from foresight.bench.nab import SPLITS, load_corpus, split_of


@given(st.text(min_size=1, max_size=60))
def test_every_name_has_one_half_whatever_else_is_present(name: str) -> None:
    assert split_of(name) in SPLITS
    assert split_of(name) == split_of(str(name))


def test_the_41_series_split_into_near_halves_with_windows_on_both_sides(shared_data: Path) -> None:
    corpus = load_corpus(shared_data / "nab")
    halves = {half: [s for s in corpus if split_of(s.name) == half] for half in SPLITS}
    assert [len(halves[h]) for h in SPLITS] == [19, 22]
    assert [sum(len(s.windows) for s in halves[h]) for h in SPLITS] == [32, 32]
