"""Claim records, paper records, the citation audit and the import of foreign verdicts."""
