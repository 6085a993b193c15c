"""Alert correlation: alerts and a service graph in, incidents with a ranked root cause out (pure)."""
