"""Benchmarks: figures and ratios against baselines, measured side by side."""
