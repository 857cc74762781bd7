"""Fixtures for the throughput benchmarks (pytest-benchmark): data, model, tokenizer, baselines.

These benchmarks run only when asked for: ``pytest benchmarks/`` (or a path or node id inside
it) or ``pytest --benchmark-only``. A plain ``pytest`` (whose testpaths include benchmarks/)
deselects them, and under xdist they are skipped: pytest-benchmark needs its own run
(``-n 0``; ``-p no:xdist`` too where harness.plugin is not installed, see below).

Environment:
  --claims-mirror DIR or CLAIMS_MIRROR
                           mirror root with datasets/nyu-mll/glue (required: a usage error names it);
                           with models/textattack/albert-base-v2-MRPC/config.json the real
                           checkpoint and its tokenizer are used instead of random weights
  CLAIMS_BENCH_DEVICE      cpu, cuda, cuda:1 (default: cuda if available, else cpu)
  CLAIMS_BENCH_BATCH       fast-path batch size (default: 128 on CUDA, 16 on CPU)
  CLAIMS_BENCH_ROUNDS      timed rounds of the fast path (default: 10 on CUDA, 3 on CPU)
  CLAIMS_BENCH_DEAL        1 (CPU default): the pairs are dealt into as many parts as there are
                           rounds, by length rank, and each round runs one part, so the rounds
                           together pass over the pairs once (a CPU pass over 408 pairs takes
                           half a minute); 0 (CUDA default): every round runs all of them
  CLAIMS_BENCH_NAIVE_PAIRS pairs in the naive baseline's fixed subset (default: all 408 on
                           CUDA, 32 on CPU; evenly spaced over the validation split), timed in
                           3 rounds on CUDA, 4 dealt rounds on CPU
  CLAIMS_BENCH_CHECK_PAIRS pairs run one at a time for the correctness check (default: all
                           408 on CUDA, 64 on CPU, where one fp32 pass over 408 takes a minute)
  CLAIMS_BENCH_FORCE_BF16=1 run the bf16 benchmarks on a CPU without native bf16 matmul
                           (they are skipped there: emulated bf16 is 10-100x slower than fp32)
  CLAIMS_BENCH_PAIRS       smoke runs only: an evenly spaced subset of the validation pairs
                           (default: all 408; rates are still scaled to 408 pairs)
  CLAIMS_BENCH_COMPILE=1   also run the torch.compile variants (about 30 s of compiling each)
  CLAIMS_BENCH_VOCAB       pieces of the sentencepiece model trained on MRPC (default: the first
                           of 8000, 5000, 3000, 2000 whose validation token count is within
                           10% of the real albert-base-v2 tokenizer's 28.9k)
"""

from __future__ import annotations

import copy
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest


HERE = Path(__file__).resolve().parent
GLUE = Path("datasets") / "nyu-mll" / "glue"
REAL_CHECKPOINT = Path("models") / "textattack" / "albert-base-v2-MRPC"
MAX_LENGTH = 128
SEED = 0
#: albert-base-v2 with the textattack MRPC classifier head (see the ALBERT reference notes).
ALBERT_BASE_V2 = dict(
    vocab_size=30000, embedding_size=128, hidden_size=768, num_hidden_layers=12,
    num_hidden_groups=1, num_attention_heads=12, intermediate_size=3072, inner_group_num=1,
    hidden_act="gelu_new", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
    classifier_dropout_prob=0.1, max_position_embeddings=512, type_vocab_size=2,
    layer_norm_eps=1e-12, pad_token_id=0, bos_token_id=2, eos_token_id=3,
)
SPECIAL_IDS = {"<pad>": 0, "<unk>": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4}
#: Real tokens over the 408 MRPC validation pairs with the albert-base-v2 tokenizer (prior art).
REAL_TOKENIZER_TOKENS = 28_900


# ---------------------------------------------------------------------- when to run
def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder)
        return True
    except ValueError:
        return False


def _asked_for(config) -> bool:
    """True for --benchmark-only, or when a command-line path or node id lies in benchmarks/."""
    if config.getoption("benchmark_only", default=False):
        return True
    source = getattr(config, "args_source", None)
    if source is not None and source.name == "TESTPATHS":
        return False
    cwd = Path(str(config.invocation_params.dir))
    return any(_inside(cwd / str(arg).split("::")[0], HERE) for arg in config.args)


def _under_xdist(config) -> bool:
    return hasattr(config, "workerinput") or bool(getattr(config.option, "numprocesses", None))


def pytest_collection_modifyitems(config, items):
    mine = [item for item in items if _inside(Path(str(item.path)), HERE)]
    if not mine:
        return
    if not _asked_for(config):
        keep = [item for item in items if item not in mine]
        config.hook.pytest_deselected(items=mine)
        items[:] = keep
        return
    if _under_xdist(config):
        skip = pytest.mark.skip(reason="throughput benchmarks need their own run without xdist "
                                       "(pytest benchmarks/ --benchmark-only -n 0)")
        for item in mine:
            item.add_marker(skip)
        return
    _mirror_root(config)   # asked for and runnable: a missing mirror is a usage error, never an all-skip


# ---------------------------------------------------------------------- pytest-benchmark's table
def per_pair(benchmark, pairs) -> None:
    """Turn pytest-benchmark's round times into time per pair, so its table compares like with like.

    Benchmarks time different amounts of work (the naive baseline a 32-pair subset on CPU, the
    fast path all 408 pairs, dealt rounds a part each); per pair, the table's ops column is
    pairs/s and its ranking and ratios are throughput ratios. ``pairs``: pairs per round, one
    number for every round or a list (round by round). Called after ``_timing`` read the
    whole-round figures.
    """
    stats = getattr(getattr(benchmark, "stats", None), "stats", None)
    counts = list(pairs) if isinstance(pairs, (list, tuple)) else None
    if stats is None or not getattr(stats, "data", None):
        return
    counts = counts if counts is not None else [pairs] * len(stats.data)
    if len(counts) != len(stats.data) or min(counts) < 1:
        return
    stats.data[:] = [d / n for d, n in zip(stats.data, counts)]
    for name in [k for k in vars(stats) if k != "data"]:
        delattr(stats, name)   # cached figures computed from the round times
    shown = counts[0] if len(set(counts)) == 1 else "/".join(map(str, counts))
    benchmark.extra_info["stats_unit"] = f"seconds per pair (round time / {shown} pairs); ops = pairs/s"


def deal(rows: np.ndarray, lengths: np.ndarray, parts: int) -> list[np.ndarray]:
    """``rows`` dealt into ``parts`` parts like cards, longest first: part k holds the k-th,
    (k+parts)-th, ... longest, so every part has nearly the same lengths and the same work per
    pair; each part in ``rows``' order. Rounds that run one part each are alike, and together
    they pass over ``rows`` once."""
    rows = np.asarray(rows)
    order = rows[np.argsort(-np.asarray(lengths)[rows], kind="stable")]
    position = {int(r): i for i, r in enumerate(rows)}
    return [np.array(sorted(order[k::parts], key=lambda r: position[int(r)]), dtype=rows.dtype)
            for k in range(parts) if len(order[k::parts])]


def replay(benchmark, seconds: list[float]) -> None:
    """A row of pytest-benchmark's table for rounds timed elsewhere in this session.

    For two things measured alternately round by round (a claim process, then the plain script):
    one benchmark times the pair and records the other's seconds; the other's own row shows them,
    with their spread, beside it in the same group."""
    benchmark.pedantic(lambda: None, rounds=len(seconds), iterations=1, warmup_rounds=0)
    stats = getattr(getattr(benchmark, "stats", None), "stats", None)
    if stats is None or not seconds:
        return
    stats.data[:] = [float(s) for s in seconds]
    for name in [k for k in vars(stats) if k != "data"]:
        delattr(stats, name)   # cached figures computed from the round times


# ---------------------------------------------------------------------- settings
def _env_int(name: str, default: int | None) -> int | None:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


@dataclass
class Settings:
    device: str
    rounds: int
    warmup_rounds: int
    naive_rounds: int
    batch_size: int
    deal: bool                  # rounds run dealt parts of the pairs (see ``deal``), not all of them
    naive_pairs: int | None     # None: all pairs
    check_pairs: int | None     # None: all pairs
    compile: bool
    force_bf16: bool

    @property
    def cuda(self) -> bool:
        return self.device.startswith("cuda")


def _offline() -> None:
    """No network (as harness.plugin does without --claims-download); before transformers loads."""
    if os.environ.get("CLAIMS_DOWNLOAD", "") in ("", "0"):
        for flag in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
            os.environ.setdefault(flag, "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def settings() -> Settings:
    _offline()
    import torch

    from harness.measure.inference import DEFAULT_BATCH

    device = os.environ.get("CLAIMS_BENCH_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        pytest.skip(f"CLAIMS_BENCH_DEVICE={device} but CUDA is not available here")
    cuda = device.startswith("cuda")
    return Settings(
        device=device,
        rounds=_env_int("CLAIMS_BENCH_ROUNDS", 10 if cuda else 3),
        warmup_rounds=2 if cuda else 0,
        naive_rounds=3 if cuda else 4,
        batch_size=_env_int("CLAIMS_BENCH_BATCH", DEFAULT_BATCH["cuda" if cuda else "cpu"]),
        deal=bool(_env_int("CLAIMS_BENCH_DEAL", 0 if cuda else 1)),
        naive_pairs=_env_int("CLAIMS_BENCH_NAIVE_PAIRS", None if cuda else 32),
        check_pairs=_env_int("CLAIMS_BENCH_CHECK_PAIRS", None if cuda else 64),
        compile=os.environ.get("CLAIMS_BENCH_COMPILE", "") not in ("", "0"),
        force_bf16=os.environ.get("CLAIMS_BENCH_FORCE_BF16", "") not in ("", "0"),
    )


# ---------------------------------------------------------------------- data
@dataclass
class Mrpc:
    sentence1: list[str]
    sentence2: list[str]
    labels: np.ndarray
    train_pairs: list[tuple[str, str]]
    loader: str
    validation_sentences: list[str]     # all 408 pairs' sentences, also in a smoke subset

    def __len__(self) -> int:
        return len(self.sentence1)


def _mirror_root(config) -> Path:
    """--claims-mirror, else $CLAIMS_MIRROR; a usage error naming what is missing otherwise."""
    option = config.getoption("claims_mirror", default=None)
    value = option or os.environ.get("CLAIMS_MIRROR")
    source = "--claims-mirror" if option else "CLAIMS_MIRROR"
    if not value:
        raise pytest.UsageError("the throughput benchmarks need the GLUE MRPC mirror: pass --claims-mirror DIR "
                                f"or set CLAIMS_MIRROR (DIR/{GLUE}/mrpc must exist), e.g. "
                                "pytest --benchmark-only --claims-mirror=../shared/mirror")
    root = Path(value).expanduser().resolve()
    if not (root / GLUE / "mrpc").is_dir():
        raise pytest.UsageError(f"{source}={value}: {root / GLUE / 'mrpc'} does not exist "
                                "(the throughput benchmarks need the GLUE MRPC validation split there)")
    return root


def _load_split(path: Path, split: str) -> tuple[dict[str, list], str]:
    try:
        import datasets
    except ImportError:
        import pyarrow.parquet as pq

        files = sorted((path / "mrpc").glob(f"{split}-*.parquet"))
        if not files:
            raise RuntimeError(f"no {split} parquet under {path / 'mrpc'}")
        rows: dict[str, list] = {}
        for f in files:
            for k, v in pq.read_table(f).to_pydict().items():
                rows.setdefault(k, []).extend(v)
        return rows, "pyarrow (datasets is not installed)"
    ds = datasets.load_dataset(str(path), "mrpc", split=split)
    return {c: list(ds[c]) for c in ("sentence1", "sentence2", "label")}, f"datasets {datasets.__version__}"


@pytest.fixture(scope="session")
def mirror(pytestconfig) -> Path:
    _offline()
    return _mirror_root(pytestconfig)


@pytest.fixture(scope="session")
def mrpc(mirror) -> Mrpc:
    path = mirror / GLUE
    val, loader = _load_split(path, "validation")
    train, _ = _load_split(path, "train")
    data = Mrpc(list(val["sentence1"]), list(val["sentence2"]), np.array(val["label"]),
                list(zip(train["sentence1"], train["sentence2"])), loader,
                list(val["sentence1"]) + list(val["sentence2"]))
    assert len(data) == 408, f"MRPC validation has {len(data)} pairs, expected 408"
    smoke = _env_int("CLAIMS_BENCH_PAIRS", None)
    if smoke is not None and smoke < len(data):
        rows = naive_subset(len(data), smoke)
        data = Mrpc([data.sentence1[i] for i in rows], [data.sentence2[i] for i in rows], data.labels[rows],
                    data.train_pairs, data.loader + f"; smoke subset of {len(rows)} pairs",
                    data.validation_sentences)
    return data


# ---------------------------------------------------------------------- tokenizer and model
def _train_spiece(sentences: list[str], vocab_size: int) -> bytes:
    """A unigram sentencepiece model with albert-base-v2's special ids and lower-casing."""
    import io

    import sentencepiece as spm

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences), model_writer=buf, model_type="unigram",
        vocab_size=vocab_size, hard_vocab_limit=False, character_coverage=1.0,
        pad_id=0, unk_id=1, bos_id=-1, eos_id=-1, pad_piece="<pad>", unk_piece="<unk>",
        control_symbols=["[CLS]", "[SEP]"], user_defined_symbols=["[MASK]"],
        num_threads=min(8, os.cpu_count() or 1), shuffle_input_sentence=False,
        input_sentence_size=0, normalization_rule_name="nmt_nfkc_cf", minloglevel=2,
    )
    return buf.getvalue()


#: Vocabulary sizes tried in turn; the first whose token count over the 408 validation pairs is
#: within 10% of the real tokenizer's is kept. The count depends on the sentencepiece version:
#: 8000 pieces give 27.4k tokens with sentencepiece 0.2.3 but 22.2k with 0.2.2 (3000: 27.8k).
VOCAB_LADDER = (8000, 5000, 3000, 2000)


def _spiece_like_albert(sentences: list[str], validation: list[str]) -> tuple[bytes, str]:
    """A sentencepiece model whose validation token counts resemble albert-base-v2's."""
    import sentencepiece as spm

    pinned = _env_int("CLAIMS_BENCH_VOCAB", None)
    ladder = (pinned,) if pinned else VOCAB_LADDER
    pairs = list(zip(validation[:len(validation) // 2], validation[len(validation) // 2:]))
    best, tried = None, []
    for size in ladder:
        proto = _train_spiece(sentences, size)
        sp = spm.SentencePieceProcessor(model_proto=proto)
        tokens = sum(min(MAX_LENGTH, len(sp.encode(a)) + len(sp.encode(b)) + 3) for a, b in pairs)
        ratio = tokens / REAL_TOKENIZER_TOKENS
        tried.append(f"{size}: {tokens}")
        if best is None or abs(ratio - 1) < abs(best[1] - 1):
            best = (proto, ratio)
        if abs(ratio - 1) <= 0.10 or ratio > 1:
            break
    return best[0], f"{', '.join(tried)} (sentencepiece {spm.__version__}; real tokenizer {REAL_TOKENIZER_TOKENS})"


def _agreement(tokenizer, sp, sentences: list[str]) -> tuple[float, float]:
    """(share of sentences with sentencepiece's exact ids, HF tokens / sentencepiece tokens)."""
    ours = tokenizer(sentences, add_special_tokens=False)["input_ids"]
    ref = [sp.encode(s) for s in sentences]
    same = sum(list(a) == list(b) for a, b in zip(ours, ref)) / len(sentences)
    return same, sum(map(len, ours)) / max(1, sum(map(len, ref)))


def _albert_tokenizer(folder: Path, proto: bytes, check: list[str]):
    """AlbertTokenizer for our spiece.model, checked against sentencepiece itself.

    from_pretrained converts spiece.model to a tokenizers Unigram model; should that conversion
    not reproduce sentencepiece's segmentation (token counts drifted by ~20% on another
    transformers 5.x), build the tokenizer from the pieces and scores directly.
    """
    import sentencepiece as spm
    from transformers import AlbertTokenizer

    sp = spm.SentencePieceProcessor(model_proto=proto)
    tokenizer = AlbertTokenizer.from_pretrained(str(folder))
    same, ratio = _agreement(tokenizer, sp, check)
    how = "AlbertTokenizer.from_pretrained(spiece.model)"
    if same < 0.95 or abs(ratio - 1) > 0.01:
        vocab = [(sp.id_to_piece(i), float(sp.get_score(i))) for i in range(sp.get_piece_size())]
        rebuilt = AlbertTokenizer(vocab=vocab, do_lower_case=True)
        same2, ratio2 = _agreement(rebuilt, sp, check)
        how = (f"from_pretrained matched sentencepiece on {same:.1%} of sentences (tokens x{ratio:.3f}); "
               f"rebuilt from pieces and scores: {same2:.1%} (tokens x{ratio2:.3f})")
        if same2 >= same:
            tokenizer, same, ratio = rebuilt, same2, ratio2
    tokenizer.model_max_length = MAX_LENGTH
    return tokenizer, f"{how}; matches sentencepiece on {same:.1%} of validation sentences, tokens x{ratio:.3f}"


def _check_special_ids(tokenizer) -> None:
    for piece, want in SPECIAL_IDS.items():
        got = tokenizer.convert_tokens_to_ids(piece)
        if got != want:
            raise RuntimeError(f"tokenizer maps {piece!r} to {got}, expected {want} (as albert-base-v2)")


@dataclass
class Subject:
    """The model under test (fp32, eval, on the device), its tokenizer and how they were made."""
    model: Any
    tokenizer: Any
    pad_id: int
    weights: str
    weights_detail: str
    tokenizer_note: str
    parameters: int
    setup_seconds: float
    _bf16: Any = None
    _harness: Any = None

    @property
    def config(self):
        return self.model.config

    @property
    def harness_model(self):
        """The model as the harness loads it (harness.measure.models.load): its activations fused
        (FUSED_ACTIVATIONS). ``model`` stays transformers' own, for the naive pipeline."""
        from harness.measure.models import fuse_activations

        if self._harness is None:
            self._harness = copy.deepcopy(self.model).eval()
            fuse_activations(self._harness)
        return self._harness

    def bf16(self):
        import torch

        if self._bf16 is None:
            self._bf16 = copy.deepcopy(self.harness_model).to(torch.bfloat16).eval()
        return self._bf16


def _center_bias(model, tokenizer, pairs, device: str) -> None:
    """Shift the classifier bias so random weights predict both classes (MRPC train pairs only)."""
    import torch

    from harness.measure import inference

    enc = inference.encode(tokenizer, [[a for a, _ in pairs], [b for _, b in pairs]], MAX_LENGTH)
    logits = inference.run(model, enc, device=device, pad_id=SPECIAL_IDS["<pad>"]).logits
    diff = float(np.median(logits[:, 1] - logits[:, 0]))
    with torch.no_grad():
        model.classifier.bias += torch.tensor([diff / 2, -diff / 2], dtype=model.classifier.bias.dtype,
                                              device=model.classifier.bias.device)


@pytest.fixture(scope="session")
def subject(settings, mirror, mrpc, tmp_path_factory) -> Subject:
    import torch
    from transformers import (AlbertConfig, AlbertForSequenceClassification, AlbertTokenizer,
                              AutoModelForSequenceClassification, AutoTokenizer)

    start = time.perf_counter()
    real = mirror / REAL_CHECKPOINT
    if (real / "config.json").is_file():
        tokenizer = AutoTokenizer.from_pretrained(str(real))
        model = AutoModelForSequenceClassification.from_pretrained(str(real), dtype=torch.float32)
        model.eval().to(settings.device)
        weights = "textattack/albert-base-v2-MRPC (real checkpoint, from CLAIMS_MIRROR)"
        detail = str(real)
        tok_note = "the checkpoint's own spiece.model"
    else:
        sentences = [s for pair in mrpc.train_pairs for s in pair] + mrpc.validation_sentences
        proto, tried = _spiece_like_albert(sentences, mrpc.validation_sentences)
        folder = tmp_path_factory.mktemp("albert-tokenizer")
        (folder / "spiece.model").write_bytes(proto)
        tokenizer, how = _albert_tokenizer(folder, proto, mrpc.validation_sentences)
        _check_special_ids(tokenizer)
        tok_note = (f"sentencepiece unigram trained here on the {len(sentences)} MRPC train+validation "
                    f"sentences, {len(tokenizer)} pieces, lower-cased (the real albert-base-v2 tokenizer "
                    f"is not available offline); vocabulary sizes tried, with validation tokens: {tried}; "
                    f"{how}")
        config = AlbertConfig(**ALBERT_BASE_V2, num_labels=2,
                              id2label={0: "not_equivalent", 1: "equivalent"},
                              label2id={"not_equivalent": 0, "equivalent": 1})
        torch.manual_seed(SEED)
        model = AlbertForSequenceClassification(config).eval().to(settings.device)
        _center_bias(model, tokenizer, mrpc.train_pairs[:32], settings.device)
        weights = "random, albert-base-v2 shape"
        detail = (f"AlbertForSequenceClassification(AlbertConfig(albert-base-v2 sizes)), torch seed {SEED}, "
                  f"classifier bias centred on 32 MRPC train pairs; the real checkpoint is not in the mirror")
    params = sum(p.numel() for p in model.parameters())
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    return Subject(model, tokenizer, int(pad_id), weights, detail, tok_note, int(params),
                   round(time.perf_counter() - start, 2))


@pytest.fixture(scope="session")
def encoded(subject, mrpc):
    from harness.measure import inference

    return inference.encode(subject.tokenizer, [mrpc.sentence1, mrpc.sentence2], MAX_LENGTH)


# ---------------------------------------------------------------------- matmul peak
def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def measure_matmul_peak(device: str, dtype, n: int | None = None, reps: int = 5, warm: int = 3) -> dict:
    """Best rate of a large square torch.matmul on this device and dtype (GFLOP/s)."""
    import torch

    from harness.measure.flops import matmul_flops

    cuda = device.startswith("cuda")
    n = n or (8192 if cuda else 2048)
    gen = torch.Generator(device="cpu").manual_seed(SEED)
    a = torch.randn(n, n, generator=gen).to(device=device, dtype=dtype)
    b = torch.randn(n, n, generator=gen).to(device=device, dtype=dtype)
    calls = 10 if cuda else 1
    for _ in range(warm):
        torch.matmul(a, b)
    _sync(device)
    best = float("inf")
    with torch.inference_mode():
        for _ in range(reps):
            start = time.perf_counter()
            for _ in range(calls):
                torch.matmul(a, b)
            _sync(device)
            best = min(best, (time.perf_counter() - start) / calls)
    return {"gflops": matmul_flops(n) / best / 1e9, "n": n, "seconds": best}


class MatmulPeak:
    """dtype name -> {"gflops", "n", "seconds", "measurements", "latest_gflops"}: best rate in this run.

    Measured again at every call (right after each benchmark's timed rounds; about a second),
    so that on a shared machine a busy moment does not set the peak too low, and the latest
    rate over the best tells how busy the machine was just then.
    """

    def __init__(self, settings: Settings, bf16_support: tuple[bool, str]):
        self.settings, self.bf16_support = settings, bf16_support
        self._best: dict[str, dict] = {}

    def __call__(self, dtype_name: str) -> dict:
        import torch

        # Emulated bf16 on a CPU (only when forced) runs at ~1 GFLOP/s: a small product will do.
        n = 512 if dtype_name == "bfloat16" and self.bf16_support[1] else None
        now = measure_matmul_peak(self.settings.device, getattr(torch, dtype_name), n=n)
        seen = self._best.get(dtype_name)
        count = (seen["measurements"] if seen else 0) + 1
        if seen is None or now["gflops"] > seen["gflops"]:
            seen = now
        self._best[dtype_name] = dict(seen, measurements=count, latest_gflops=now["gflops"])
        return self._best[dtype_name]

    def best(self, dtype_name: str) -> float | None:
        seen = self._best.get(dtype_name)
        return seen["gflops"] if seen else None


@pytest.fixture(scope="session")
def matmul_peak(settings, bf16_support) -> MatmulPeak:
    return MatmulPeak(settings, bf16_support)


@pytest.fixture(scope="session")
def bf16_support(settings) -> tuple[bool, str]:
    """(run bf16?, why not): on CPU, only where a bf16 matmul is at least as fast as fp32."""
    if settings.cuda:
        return True, ""
    import torch

    fp32 = measure_matmul_peak(settings.device, torch.float32, n=512, reps=2, warm=1)["gflops"]
    bf16 = measure_matmul_peak(settings.device, torch.bfloat16, n=512, reps=2, warm=1)["gflops"]
    if bf16 >= fp32:
        return True, ""
    capability = torch.backends.cpu.get_cpu_capability()
    return settings.force_bf16, (f"this CPU ({capability}) has no native bf16 matmul: a 512x512 bf16 matmul ran at "
                   f"{bf16:.1f} GFLOP/s against {fp32:.1f} in fp32, so a bf16 pass over 408 pairs would "
                   f"take many minutes; CLAIMS_BENCH_FORCE_BF16=1 runs it anyway")


# ---------------------------------------------------------------------- naive baseline
def naive_subset(n_total: int, n: int | None) -> np.ndarray:
    """A fixed, evenly spaced subset (all pairs when n is None or too large)."""
    if n is None or n >= n_total:
        return np.arange(n_total)
    return np.unique(np.linspace(0, n_total - 1, n).round().astype(int))


def make_pipeline(subject: Subject, device: str):
    from transformers import pipeline

    return pipeline("text-classification", model=subject.model, tokenizer=subject.tokenizer, device=device)


def run_naive(clf, mrpc: Mrpc, rows: np.ndarray, label2id: dict) -> np.ndarray:
    """One call per pair, as a first attempt would be written; returns the predicted class ids."""
    preds = np.empty(len(rows), dtype=np.int64)
    for j, i in enumerate(rows):
        out = clf({"text": mrpc.sentence1[i], "text_pair": mrpc.sentence2[i]},
                  truncation=True, max_length=MAX_LENGTH, return_token_type_ids=True)
        label = out[0]["label"] if isinstance(out, list) else out["label"]
        preds[j] = label2id[label]
    return preds


@dataclass
class NaiveRate:
    """Pairs per second of the naive pipeline, measured once per session and shared."""
    settings: Settings
    subject: Subject
    mrpc: Mrpc
    matmul_peak: Any = None
    pairs_per_second: float | None = None
    source: str = ""
    pairs: int = 0
    fp32_matmul_latest: float | None = None

    best_pairs_per_second: float | None = None

    def record(self, pairs_per_second: float, pairs: int, source: str, best: float | None = None) -> None:
        self.pairs_per_second, self.pairs, self.source = float(pairs_per_second), int(pairs), source
        self.best_pairs_per_second = float(best if best is not None else pairs_per_second)
        if self.matmul_peak is not None:
            self.fp32_matmul_latest = self.matmul_peak("float32")["latest_gflops"]

    @property
    def load_factor(self) -> float:
        """fp32 matmul rate right after the naive rounds over the run's best (1.0: machine as free as it got)."""
        best = self.matmul_peak.best("float32") if self.matmul_peak is not None else None
        if not best or not self.fp32_matmul_latest:
            return 1.0
        return self.fp32_matmul_latest / best

    def rate(self) -> float:
        if self.pairs_per_second is None:
            rows = naive_subset(len(self.mrpc), self.settings.naive_pairs)
            clf = make_pipeline(self.subject, self.settings.device)
            label2id = label_ids(self.subject.config)
            run_naive(clf, self.mrpc, rows[:2], label2id)
            _sync(self.settings.device)
            start = time.perf_counter()
            run_naive(clf, self.mrpc, rows, label2id)
            _sync(self.settings.device)
            self.record(len(rows) / (time.perf_counter() - start), len(rows), "naive_rate fixture (1 round)")
        return self.pairs_per_second


def label_ids(config) -> dict:
    ids = {str(v): int(k) for k, v in config.id2label.items()}
    ids.update({f"LABEL_{k}": int(k) for k in config.id2label})
    return ids


@pytest.fixture(scope="session")
def naive_rate(settings, subject, mrpc, matmul_peak) -> NaiveRate:
    return NaiveRate(settings, subject, mrpc, matmul_peak)


@pytest.fixture(scope="session")
def results() -> dict:
    """Logits (and outputs) kept between benchmarks of one session, by name."""
    return {}
