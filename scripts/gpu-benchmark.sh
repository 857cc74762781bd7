#!/usr/bin/env bash
# Throughput benchmarks in one go, meant for a GPU machine (works on CPU too, slowly):
#
#   CLAIMS_MIRROR=/path/to/mirror scripts/gpu-benchmark.sh [OUT_DIR]
#
# OUT_DIR comes from $1, else $OUT. CLAIMS_MIRROR must hold datasets/nyu-mll/glue (MRPC); with
# models/textattack/albert-base-v2-MRPC it benchmarks the real checkpoint instead of random
# weights of the same shape. No network is used (HF offline flags are set). Python: $PYTHON,
# else .venv/bin/python, else python3 / python, the first that imports torch, transformers,
# pytest_benchmark and sentencepiece (datasets is optional: the parquet files are read directly).
#
# Writes OUT_DIR/bench.json (pytest-benchmark JSON; figures in each benchmark's extra_info),
# OUT_DIR/pytest.log, OUT_DIR/env.txt and OUT_DIR/figures.txt (a table per benchmark: pairs/s,
# tokens/s, ms for 408 pairs, ratio to the naive pipeline, fraction of matmul peak).
# CLAIMS_BENCH_COMPILE=1 adds a second run of the torch.compile variants (bench-compile.json,
# pytest-compile.log), kept apart so that a slow compile cannot cost the main figures.
# Other knobs (CLAIMS_BENCH_BATCH, _ROUNDS, _NAIVE_PAIRS, _CHECK_PAIRS, _DEVICE): see
# benchmarks/conftest.py.
set -uo pipefail
cd "$(dirname "$0")/.."

out="${1:-${OUT:-}}"
if [ -z "$out" ]; then
    echo "usage: $0 OUT_DIR   (or set OUT)" >&2
    exit 2
fi
mkdir -p "$out" && out=$(cd "$out" && pwd)
if [ -z "${CLAIMS_MIRROR:-}" ] || [ ! -d "$CLAIMS_MIRROR/datasets/nyu-mll/glue/mrpc" ]; then
    echo "CLAIMS_MIRROR must point at a mirror holding datasets/nyu-mll/glue/mrpc (got '${CLAIMS_MIRROR:-}')" >&2
    exit 2
fi
export CLAIMS_MIRROR
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1

need='import torch, transformers, pytest_benchmark, sentencepiece'
py="${PYTHON:-}"
if [ -z "$py" ]; then
    for cand in .venv/bin/python python3 python; do
        if command -v "$cand" >/dev/null 2>&1 && "$cand" -c "$need" >/dev/null 2>&1; then
            py="$cand"
            break
        fi
    done
fi
if [ -z "$py" ] || ! "$py" -c "$need" >/dev/null 2>&1; then
    echo "no python here imports torch, transformers, pytest_benchmark and sentencepiece; set PYTHON" >&2
    exit 2
fi
# Benchmarks need a run without xdist. With xdist installed, "-n 0" keeps it loaded but idle
# (harness.plugin implements an xdist hook, so "-p no:xdist" fails where that plugin is installed).
if "$py" -c 'import xdist' >/dev/null 2>&1; then
    noxdist=(-n 0)
else
    noxdist=(-p no:xdist)
fi

{
    date -u +"%Y-%m-%dT%H:%M:%SZ"
    echo "python: $py"
    "$py" -c 'import sys, torch, transformers; print(sys.version.split()[0], "torch", torch.__version__, "transformers", transformers.__version__, "cuda", torch.cuda.is_available() and torch.cuda.get_device_name(0))'
    command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L
    echo "CLAIMS_MIRROR=$CLAIMS_MIRROR"
    env | grep '^CLAIMS_BENCH_' || true
} >"$out/env.txt" 2>&1
cat "$out/env.txt"

compile="${CLAIMS_BENCH_COMPILE:-0}"
start=$(date +%s)
CLAIMS_BENCH_COMPILE=0 "$py" -m pytest benchmarks/ --benchmark-only "${noxdist[@]}" -q \
    --benchmark-json="$out/bench.json" --benchmark-columns=min,median,max,ops,rounds 2>&1 | tee "$out/pytest.log"
rc=${PIPESTATUS[0]}
echo "main run: exit $rc, $(( $(date +%s) - start )) s wall" | tee -a "$out/pytest.log"

rc_compile=0
if [ "$compile" != "0" ] && [ -n "$compile" ]; then
    start=$(date +%s)
    CLAIMS_BENCH_COMPILE=1 "$py" -m pytest benchmarks/ --benchmark-only "${noxdist[@]}" -q -k compiled \
        --benchmark-json="$out/bench-compile.json" --benchmark-columns=min,median,max,ops,rounds 2>&1 \
        | tee "$out/pytest-compile.log"
    rc_compile=${PIPESTATUS[0]}
    echo "compile run: exit $rc_compile, $(( $(date +%s) - start )) s wall" | tee -a "$out/pytest-compile.log"
fi

"$py" - "$out" <<'PY'
"""bench.json (+ bench-compile.json) -> figures.txt."""
import json
import sys
from pathlib import Path

out = Path(sys.argv[1])
rows, notes, head = [], [], None
for name in ("bench.json", "bench-compile.json"):
    path = out / name
    if not path.is_file():
        continue
    data = json.loads(path.read_text())
    for b in data.get("benchmarks", []):
        e = b.get("extra_info", {})
        if head is None and e:
            head = (f"device {e.get('device_name')} ({e.get('device')}), torch {e.get('torch')}, "
                    f"transformers {e.get('transformers')}\nweights: {e.get('weights')}\n"
                    f"tokenizer: {e.get('tokenizer')}\nmax_length {e.get('max_length')}; "
                    f"model {e.get('model_gflop_per_token')} GFLOP per real token (from the config)")
        rows.append((b["name"], e, name))
        for key in ("checked_pairs", "fp32_batched_vs_one_max_abs_logit_diff",
                    "fp32_batched_vs_one_prediction_mismatches", "bf16_vs_fp32_agreement",
                    "bf16_vs_fp32_flips", "bf16_flip_max_fp32_margin", "bf16_vs_fp32_max_abs_logit_diff",
                    "pairs_with_margin_le_max_flip", "bf16_vs_fp32", "naive_pipeline_vs_fast_agreement",
                    "compiled_vs_eager_max_abs_logit_diff", "compiled_vs_eager_prediction_agreement",
                    "compile_and_first_pass_seconds", "accuracy_vs_labels", "tokens_vs_real_albert_tokenizer",
                    "subset"):
            if key in e:
                notes.append(f"{b['name']}: {key} = {e[key]}")

# Load on a shared machine: the matmul rate right after each benchmark over the best of its run.
best, naive = {}, {}
for n, e, src in rows:
    if "matmul_peak_gflops" in e:
        key = (src, e["dtype"])
        best[key] = max(best.get(key, 0.0), e["matmul_peak_gflops"])
for n, e, src in rows:
    if "matmul_latest_gflops" in e:
        e["_load"] = e["matmul_latest_gflops"] / best[(src, e["dtype"])]
    if n.startswith("test_naive_pipeline"):
        naive[src] = e
for n, e, src in rows:
    nv = naive.get(src)
    if "_load" in e and nv is not None and "_load" in nv:
        e["_adj"] = (e["pairs_per_second"] / e["_load"]) / (nv["pairs_per_second"] / nv["_load"])
    else:
        e["_adj"] = e.get("ratio_to_naive_load_adjusted", float("nan"))

lines = [head or "no benchmark data", ""]
fmt = "{:<46} {:>8} {:>6} {:>6} {:>9} {:>10} {:>11} {:>8} {:>7} {:>9} {:>9} {:>10} {:>7} {:>6}"
lines.append(fmt.format("benchmark", "dtype", "batch", "pairs", "pairs/s", "tokens/s", "ms/408 prs",
                        "x naive", "x best", "x n. adj", "GFLOP/s", "peak GF/s", "frac", "load"))
for name, e, src in rows:
    if "pairs_per_second" not in e:
        continue
    lines.append(fmt.format(name[:46], e["dtype"], e["batch_size"], e["pairs"], f"{e['pairs_per_second']:.1f}",
                            f"{e['tokens_per_second']:.0f}", f"{e['ms_for_408_pairs']:.1f}",
                            f"{e['ratio_to_naive']:.2f}", f"{e.get('ratio_to_naive_best', float('nan')):.2f}",
                            f"{e['_adj']:.2f}",
                            f"{e['achieved_gflops']:.0f}", f"{e['matmul_peak_gflops']:.0f}",
                            f"{e['fraction_of_peak']:.3f}", f"{e.get('_load', float('nan')):.2f}"))
lines.append("")
lines.append("times are the median round (pytest-benchmark); ms/408 prs scales a subset's time to 408 pairs;"
             " x naive = pairs/s over the naive pipeline's pairs/s measured in the same run (x best: best round over"
             " best round);"
             " frac = achieved GFLOP/s over the best large matmul's GFLOP/s in the same dtype, same run;"
             " load = that matmul's rate right after the benchmark over the run's best (1 = machine free);"
             " x n. adj = x naive with both rates divided by their load")
bf16 = [e for n, e, src in rows if e.get("dtype") == "bfloat16" and e.get("pairs") == 408 and "ms_for_408_pairs" in e]
if bf16:
    best = min(bf16, key=lambda e: e["ms_for_408_pairs"])
    verdict = "met" if best["ms_for_408_pairs"] <= 50 else "not met"
    lines.append(f"goal 'all 408 MRPC validation pairs in <= 50 ms of model time, bf16': best median "
                 f"{best['ms_for_408_pairs']:.1f} ms (batch {best['batch_size']}, min "
                 f"{best['seconds_min'] * 1000:.1f} ms) on {best['device_name']}: {verdict}")
lines.append("")
lines.extend(notes)
(out / "figures.txt").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
PY

if [ "$rc" -ne 0 ]; then exit "$rc"; fi
exit "$rc_compile"
