"""Load benchmarks: run by hand (see bench/README.md), never as tests."""
