"""What the metrics process does with Redis beyond the shared engine."""
