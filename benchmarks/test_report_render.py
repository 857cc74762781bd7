"""Report rendering at catalogue scale: ``render`` of a reports folder of 5,000 verdicts.

Only rendering (summary.md, index.html and the pages) is timed here; the catalogue's
collection, run, gate and merge are benchmarks/catalogue.py's. The folder is synthetic
(benchmarks/report_folder.py: artifacts checked against the schema, a summary.json and a
history of earlier runs, written the way a run writes them) and built once per session.

Figures in extra_info (nothing here asserts a time; the issue's targets are named beside them):
``index_html_bytes`` (target: at most 2 MB), ``largest_page_bytes``, ``pages``,
``summary_json_bytes`` and ``summary_json_per_example_arrays`` (target: 0: idx and predictions
stay in the verdict artifacts), ``seconds`` per render and ``seconds_per_1000_claims`` at 1,000
and at 5,000 claims with their ratio (linear growth: about 1), ``history_runs`` kept.

    pytest benchmarks/test_report_render.py --benchmark-only -n 0 --claims-mirror=../shared/mirror
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import pytest

from benchmarks import report_folder
from harness.report.render import render

CLAIMS = 5000
SMALL = 1000
HISTORY_RUNS = 10


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[int, Path]:
    base = tmp_path_factory.mktemp("report-render")
    return {n: report_folder.write(base / f"claims-{n}", n, HISTORY_RUNS) for n in (SMALL, CLAIMS)}


def _per_example_arrays(summary: dict) -> int:
    """Lists in summary.json's claim rows longer than a pair (an interval or a band)."""
    return sum(1 for row in summary["claims"] for v in row.values() if isinstance(v, list) and len(v) > 2)


def _median_render(folder: Path, rounds: int = 3) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        render(folder)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@pytest.mark.benchmark(group="report rendering, 5,000 claims (seconds per render)")
def test_render_5000_claims(benchmark, folders):
    folder = folders[CLAIMS]
    out = benchmark.pedantic(render, args=(folder,), rounds=3, iterations=1, warmup_rounds=1)
    pages = {name: path.stat().st_size for name, path in out.items() if name.endswith(".html")}
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    big = benchmark.stats.stats.median
    small = _median_render(folders[SMALL])
    benchmark.extra_info.update({
        "claims": CLAIMS,
        "history_runs": HISTORY_RUNS,
        "pages": len(pages),
        "index_html_bytes": pages["index.html"],
        "largest_page_bytes": max(pages.values()),
        "summary_md_bytes": out["summary.md"].stat().st_size,
        "summary_json_bytes": (folder / "summary.json").stat().st_size,
        "summary_json_per_example_arrays": _per_example_arrays(summary),
        "seconds": round(big, 3),
        f"seconds_at_{SMALL}": round(small, 3),
        "seconds_per_1000_claims": round(big / CLAIMS * 1000, 3),
        f"seconds_per_1000_claims_at_{SMALL}": round(small / SMALL * 1000, 3),
        "growth_ratio_per_claim": round((big / CLAIMS) / (small / SMALL), 2),
        "targets": {"index_html_bytes": "<= 2,000,000", "summary_json_per_example_arrays": "0",
                    "seconds": "seconds, not a minute", "growth_ratio_per_claim": "about 1 (linear)"},
    })
    # what the figures are about, checked so the benchmark cannot time an empty page
    assert len(pages) == -(-CLAIMS // 100) and summary["claims"] and len(summary["claims"]) == CLAIMS
