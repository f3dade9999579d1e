"""Ray workers for daily batches."""
