"""Throughput benchmarks of the bronze load and the extraction against the sandbox: ``python -m benchmarks``."""
