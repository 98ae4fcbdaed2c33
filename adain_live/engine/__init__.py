"""The engine: configuration, the frame pipeline, threaded runners, batch jobs, benchmarks (no Qt)."""
