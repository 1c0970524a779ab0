"""The six benchmarks of issue 7. Each `run(ctx)` returns its cases."""
