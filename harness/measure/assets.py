"""Where a claim's model and dataset come from: the local mirror, then the HF cache, then the hub.

The mirror is a folder laid out as ``hf download --local-dir`` writes repos:
``<mirror>/models/<org>/<name>/`` and ``<mirror>/datasets/<org>/<name>/``. The hub is asked
only when downloads are allowed; otherwise the Hugging Face offline flags are set before
any HF library is imported (``harness.measure.offline``) and nothing waits on a network.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from harness.errors import AssetUnavailable

# A checkpoint's weights, preferred first: safetensors (one file or sharded), the pickle only as a
# fallback. The one list the mirror check, prefetch and the model loader read.
SAFETENSORS_FILES = ("model.safetensors", "model.safetensors.index.json")
PICKLE_WEIGHTS = "pytorch_model.bin"
WEIGHT_FILES = (*SAFETENSORS_FILES, PICKLE_WEIGHTS)
# Files a sequence-classification checkpoint needs (shards of a sharded checkpoint included).
MODEL_PATTERNS = ["config.json", "*.safetensors", "*.safetensors.index.json", PICKLE_WEIGHTS,
                  "spiece.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                  "vocab.txt", "vocab.json", "merges.txt"]


@dataclass(frozen=True)
class Asset:
    """A resolved local folder and how we know what it is."""

    repo: str
    revision: str
    path: str
    source: str            # "mirror", "hf-cache" or "hub"
    revision_seen: str | None  # commit recorded next to the files, where there is one

    def to_dict(self) -> dict:
        return {"repo": self.repo, "revision": self.revision, "source": self.source,
                "revision_seen": self.revision_seen, "path": self.path}


def _mirror_revision(folder: Path) -> str | None:
    """The commit that ``hf download --local-dir`` recorded for the repo's files, if any."""
    meta_dir = folder / ".cache" / "huggingface" / "download"
    for meta in sorted(meta_dir.rglob("*.metadata")) if meta_dir.is_dir() else []:
        first = meta.read_text(encoding="utf-8").splitlines()[:1]
        if first and len(first[0].strip()) == 40:
            return first[0].strip()
    return None


def _from_mirror(kind: str, repo: str, revision: str, mirror: Path | None, tried: list[str],
                 config: str | None = None) -> Asset | None:
    if mirror is None:
        tried.append("no mirror given (--claims-mirror or CLAIMS_MIRROR)")
        return None
    base = Path(os.path.normpath(Path(mirror) / kind))
    folder = Path(os.path.normpath(base / repo))   # lexical: a mirror may link its repos elsewhere
    if base not in folder.parents or folder.parent == base:
        tried.append(f"mirror: {repo!r} is not a repo id inside {base} (refused)")
        return None
    marker = "config.json" if kind == "models" else "README.md"
    if not (folder / marker).is_file():
        tried.append(f"mirror {folder} (no {marker})")
        return None
    if config is not None and not _has_config(folder, config, tried, "mirror"):
        return None
    seen = _mirror_revision(folder)
    if seen and len(revision) == 40 and seen != revision:
        tried.append(f"mirror {folder} holds revision {seen}, the claim pins {revision}")
        return None
    return Asset(repo, revision, str(folder), "mirror", seen)


def _has_config(folder: Path, config: str, tried: list[str], where: str) -> bool:
    """A dataset folder serves a config only if it has that config's folder (GLUE: one per task)."""
    if (Path(folder) / config).is_dir():
        return True
    held = sorted(p.name for p in Path(folder).iterdir() if p.is_dir() and not p.name.startswith("."))
    tried.append(f"{where} {folder} (no config folder {config!r}; it holds: {', '.join(held) or 'none'})")
    return False


def _from_hub(repo_type: str, repo: str, revision: str, patterns, allow_download: bool, tried: list[str],
              config: str | None = None) -> Asset | None:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        path = snapshot_download(repo, repo_type=repo_type, revision=revision, local_files_only=True,
                                 allow_patterns=patterns)
        if config is None or _has_config(Path(path), config, tried, "HF cache"):
            return Asset(repo, revision, path, "hf-cache", Path(path).name)
    except (LocalEntryNotFoundError, FileNotFoundError, OSError, ValueError) as exc:
        tried.append(f"HF cache ({type(exc).__name__})")
    if not allow_download:
        return None
    try:
        path = snapshot_download(repo, repo_type=repo_type, revision=revision, allow_patterns=patterns)
        if config is not None and not _has_config(Path(path), config, tried, "hub"):
            return None
        return Asset(repo, revision, path, "hub", Path(path).name)
    except (HfHubHTTPError, LocalEntryNotFoundError, OSError, ValueError) as exc:
        tried.append(f"hub ({type(exc).__name__}: {str(exc).splitlines()[0][:160]})")
        return None


def resolve_model(repo: str, revision: str, *, mirror: Path | None, allow_download: bool) -> Asset:
    tried: list[str] = []
    asset = _from_mirror("models", repo, revision, mirror, tried) or _from_hub(
        "model", repo, revision, MODEL_PATTERNS, allow_download, tried)
    if asset is None:
        raise AssetUnavailable(f"checkpoint {repo}@{revision}", tried, _hint(allow_download))
    return asset


def resolve_dataset(repo: str, config: str, revision: str, *, mirror: Path | None, allow_download: bool) -> Asset:
    tried: list[str] = []
    patterns = ["README.md", f"{config}/*"]
    asset = _from_mirror("datasets", repo, revision, mirror, tried, config) or _from_hub(
        "dataset", repo, revision, patterns, allow_download, tried, config)
    if asset is None:
        raise AssetUnavailable(f"dataset {repo} (config {config}) @{revision}", tried, _hint(allow_download))
    return asset


def _hint(allow_download: bool) -> str:
    """The step that can fetch a published asset (a checkpoint never published gets no hint: see kinds.split_measurement)."""
    if allow_download:
        return ("The hub could not provide it either: check the repo id and revision in the claim, "
                "or fill a mirror where the hub can be reached (`python -m harness prefetch --mirror DIR`)")
    return ("Downloads are off: run `python -m harness prefetch --mirror DIR` where the hub can be reached, "
            "then pass --claims-mirror=DIR (or allow --claims-download here)")
