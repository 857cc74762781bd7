"""Throughput benchmarks (pytest-benchmark); run on their own: pytest benchmarks/ --benchmark-only -p no:xdist."""
