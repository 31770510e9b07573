"""Load and cost benchmarks, run from the repository root (see bench/README.md)."""
