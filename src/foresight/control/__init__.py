"""The reconcile loop: read the current state, ask a pure policy, apply within safety limits, audit."""
