"""``foresight bench incidents``: alert correlation against real Alertmanager on simulated cascades."""
