"""Queue consumers: per-record logic for the SQS-triggered functions."""
