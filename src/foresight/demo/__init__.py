"""``foresight demo``: the real controllers against the simulated cluster, summarised and reported."""
