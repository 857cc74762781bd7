"""Verdict artifacts, the run summary and reports; plain JSON, no heavy imports."""
