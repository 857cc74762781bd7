"""Measurement: assets, slices, devices, inference, metrics. Heavy imports stay inside functions."""
