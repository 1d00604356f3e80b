"""What is computed from a recording after detection: per-site statistics, signal quality, alignment, display decimation."""
