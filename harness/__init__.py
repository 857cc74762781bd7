"""claims-harness: claims printed in ML papers, turned into executable checks with honest verdicts.

Data flow: claims (records, papers, audit) -> measure (assets, slices, inference, metrics)
-> judge (statistics, protocol, verdict) -> report (artifacts, summaries) -> plugin / cli.
Importing this package imports nothing heavy.
"""

__version__ = "0.1.0"
AGENT_VERSION = f"claims-harness/{__version__}"
