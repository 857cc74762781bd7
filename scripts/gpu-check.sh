#!/usr/bin/env bash
# One prepared pass on a GPU machine (the device tool's lease): placement, bf16, throughput.
#   scripts/gpu-check.sh OUT_DIR
# Expects: the repo, python3 with torch+transformers (the machine's image), wheels of what the
# image lacks in .whl/ (datasets, jsonschema, ...), the MRPC mirror in .gpu-carry/mirror.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:?usage: $0 OUT_DIR}"; mkdir -p "$out"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
# The harness itself, with its pytest11 entry point, beside the wheels.
python3 -m pip install -q --no-index --no-deps --no-build-isolation --target /tmp/harness-site . || exit 1
export PYTHONPATH=/tmp/harness-site:${PYTHONPATH:-}
export CLAIMS_MIRROR=$(pwd)/.gpu-carry/mirror
{ nvidia-smi -L; python3 -c 'import torch, transformers, datasets; print("torch", torch.__version__, "transformers", transformers.__version__, "datasets", datasets.__version__, torch.cuda.get_device_name(0))'; } 2>&1 | tee "$out/env.txt"

echo "== 1. GPU placement: tiny ALBERT claims on cuda, fp32 and bf16, -n auto (one worker per GPU)"
python3 - "$out" <<'PY' 2>&1 | tee "$out/placement.txt"
import json, os, shutil, subprocess, sys, time
from pathlib import Path
sys.path.insert(0, os.getcwd())
from tests.tiny_albert import build_tiny_albert
from tests.helpers import tiny_claim, write_claims
out = Path(sys.argv[1]); work = Path("/tmp/gpu-claims"); shutil.rmtree(work, ignore_errors=True)
mirror = work / "mirror"; (work / "claims" / "papers").mkdir(parents=True)
build_tiny_albert(mirror / "models" / "tiny" / "albert-mrpc", seed=0, id2label={0: "not_equivalent", 1: "equivalent"})
shutil.copytree(Path(os.environ["CLAIMS_MIRROR"]) / "datasets", mirror / "datasets")
shutil.copy("claims/test_claims.py", work / "claims")
write_claims(work / "claims", "tiny.yaml", [tiny_claim("tiny/f1-whole", size="all"), tiny_claim("tiny/f1-100", size=100)])
for dtype in ("float32", "bfloat16"):
    t = time.time()
    r = subprocess.run([sys.executable, "-m", "pytest", "claims", "-n", "auto", f"--claims-mirror={mirror}",
                        f"--claims-dtype={dtype}", f"--claims-reports=rep-{dtype}", "--claims-no-cache", "-q"],
                       cwd=work, capture_output=True, text=True)
    print(f"--- {dtype}: exit {r.returncode}, {time.time() - t:.1f} s wall"); print(r.stdout[-1500:])
    for p in sorted((work / f"rep-{dtype}" / "verdicts").glob("*.json")):
        a = json.loads(p.read_text()); m = a["measurement"] or {}
        print(p.name, a["verdict"]["status"], m.get("device"), m.get("device_name"), m.get("dtype"),
              "value", m.get("value"), "timings", m.get("timings"), "deviations", [d["what"] for d in a["protocol"]["deviations"]])
a = {p.name: json.loads(p.read_text())["measurement"]["predictions"] for p in (work / "rep-float32" / "verdicts").glob("*.json")}
b = {p.name: json.loads(p.read_text())["measurement"]["predictions"] for p in (work / "rep-bfloat16" / "verdicts").glob("*.json")}
for k in a:
    print(k, "bf16 vs fp32 prediction agreement", sum(x == y for x, y in zip(a[k], b[k])), "/", len(a[k]))
PY

echo "== 2. the harness's pipeline tests on this machine (cuda picked automatically)"
timeout 150 python3 -m pytest tests/test_pipeline.py -q -p no:cacheprovider 2>&1 | tail -15 | tee "$out/pipeline-tests.txt"

echo "== 3. throughput benchmarks"
CLAIMS_BENCH_ROUNDS=10 timeout 280 bash scripts/gpu-benchmark.sh "$out/bench"
