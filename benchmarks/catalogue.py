"""A synthetic catalogue of thousands of parameter-count claims, for the scale benchmark.

    python -m benchmarks.catalogue DEST [CLAIMS] [FILES]

Writes DEST/claims (test_claims.py, the project's paper records and spreads, and FILES claim
files of CLAIMS/FILES claims each) and DEST/pytest.ini. The claims cite model cards (no paper
table to audit) and count 25 ALBERT and BERT architectures (sizes varied the way a model zoo
varies them), so many claims share an architecture, as a real catalogue of checkpoints does.
The reported value is the count in millions to one decimal, so every claim is reproduced.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def architectures() -> list[tuple[str, dict]]:
    """25 (family, config) pairs: ALBERT and BERT at varied depth and width."""
    out = []
    for layers in (2, 4, 6, 12, 24):
        for hidden, heads in ((128, 2), (256, 4), (512, 8)):
            out.append(("albert", {"vocab_size": 30000, "embedding_size": 128, "hidden_size": hidden,
                                   "num_hidden_layers": layers, "num_attention_heads": heads,
                                   "intermediate_size": 4 * hidden}))
    for layers in (2, 4, 6, 8, 12):
        for hidden, heads in ((128, 2), (256, 4)):
            out.append(("bert", {"vocab_size": 30522, "hidden_size": hidden, "num_hidden_layers": layers,
                                 "num_attention_heads": heads, "intermediate_size": 4 * hidden}))
    return out


def counts() -> list[int]:
    """Each architecture's parameter count (pooler included), as the harness counts it."""
    from harness.measure import params

    return [params.count(f, c, include_pooler=True)["total"] for f, c in architectures()]


def write(dest: Path, claims: int = 5000, files: int = 50) -> Path:
    """The catalogue under dest/claims; returns dest."""
    import yaml

    dest = Path(dest)
    folder = dest / "claims"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "claims" / "test_claims.py", folder / "test_claims.py")
    for sub in ("papers", "spreads"):
        shutil.copytree(ROOT / "claims" / sub, folder / sub, dirs_exist_ok=True)
    archs, totals = architectures(), counts()
    per_file = -(-claims // files)
    n = 0
    for f in range(files):
        records = []
        for _ in range(per_file):
            if n == claims:
                break
            k = n % len(archs)
            family, config = archs[k]
            records.append({
                "id": f"zoo/file{f:03d}/model{n:05d}/parameters",
                "citation": {"url": f"https://example.org/zoo/model{n:05d}", "quote": f"{totals[k] / 1e6:.1f}M parameters"},
                "reported": {"value": f"{totals[k] / 1e6:.1f}"},
                "measure": {"architecture": {"family": family, "config": dict(config)}},
            })
            n += 1
        data = {"defaults": {"citation": {"source": "model_card"},
                             "reported": {"metric": "parameter_count", "scale": "millions"},
                             "measure": {"kind": "parameter_count", "include_pooler": True},
                             "tolerance": {"value": 0, "reason": "a count is exact; the printed digits give the band"}},
                "claims": records}
        (folder / f"zoo-{f:03d}.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    (dest / "pytest.ini").write_text("[pytest]\n")
    return dest


if __name__ == "__main__":
    args = sys.argv[1:]
    write(Path(args[0]), *(int(a) for a in args[1:3]))
