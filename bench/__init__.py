"""`make bench`: benchmarks that print each figure beside a raw ceiling measured in the same run."""
