"""What to do after a claims run: for the end of the terminal output (``lines``) and for each
claim's row and section in the report (``for_claim``).

Where the report is, and for blocked claims the assets that would unblock them, grouped by
asset, with the command that fetches them (``python -m harness prefetch``) and the mirror
folder each one goes into. Only advice that could work: a checkpoint that was never
published gets no download advice, only the reason the claim record gives.
"""

from __future__ import annotations

import os
from pathlib import Path

from harness.statuses import BLOCKED, ERROR, INCONCLUSIVE, MISCITED, NOT_REPRODUCED, REPRODUCED


def _rel(path: Path) -> str:
    try:
        text = os.path.relpath(path)
    except ValueError:
        return str(path)
    return text if not text.startswith(".." + os.sep + "..") else str(path)


def _post(art: dict) -> dict:
    post = (art.get("verdicts") or {}).get("post")
    return post if isinstance(post, dict) else {}


def blocked_assets(artifacts: dict[str, dict]) -> tuple[dict[tuple, list[str]], dict[str, list[str]]]:
    """(asset -> claim ids, reason -> claim ids): what blocked claims miss, and those no fetch can help.

    An asset is ``("model", repo, revision, None)`` or ``("dataset", repo, revision, config)``;
    which of a claim's two assets is missing is read from the POST verdict's ``missing``."""
    fetch: dict[tuple, list[str]] = {}
    never: dict[str, list[str]] = {}
    for cid, art in sorted(artifacts.items()):
        post = _post(art)
        if post.get("status") != BLOCKED and (art.get("verdict") or {}).get("status") != BLOCKED:
            continue
        missing = str(post.get("missing") or post.get("reason") or "")
        measure = (art.get("claim") or {}).get("measure") or {}
        ckpt, ds = measure.get("checkpoint") or {}, measure.get("dataset") or {}
        if "unavailable" in ckpt:       # fetching its dataset would not unblock it either
            never.setdefault(" ".join(str(ckpt["unavailable"]).split()), []).append(cid)
            continue
        found = False
        if ckpt.get("repo") and f"checkpoint {ckpt['repo']}@" in missing:
            fetch.setdefault(("model", ckpt["repo"], str(ckpt.get("revision", "main")), None), []).append(cid)
            found = True
        if ds.get("repo") and f"dataset {ds['repo']} " in missing:
            fetch.setdefault(("dataset", ds["repo"], str(ds.get("revision", "main")), ds.get("config")),
                             []).append(cid)
            found = True
        if not found:
            never.setdefault(missing or "no reason recorded", []).append(cid)
    return fetch, never


def _claims(ids: list[str]) -> str:
    return ids[0] if len(ids) == 1 else f"{len(ids)} claims: {ids[0]}, ..."


def lines(artifacts: dict[str, dict], *, reports_dir: Path, mirror: Path | None, claims_dirs=()) -> list[str]:
    """The next-steps block: the report to open, then the assets blocked claims need."""
    out = []
    index = Path(reports_dir) / "index.html"
    if index.is_file():
        out.append(f"report: open {_rel(index)}  (summary.md beside it; the verdicts in {_rel(Path(reports_dir) / 'verdicts')})")
    matrix = Path(reports_dir) / "matrix.html"
    if matrix.is_file():
        out.append(f"claims x checkpoints: open {_rel(matrix)}  (and the table at the end of summary.md)")
    fetch, never = blocked_assets(artifacts)
    if fetch:
        count = len({c for ids in fetch.values() for c in ids})
        target = _rel(mirror) if mirror else "MIRROR"
        folders = " ".join(_rel(Path(d)) for d in sorted(claims_dirs)) or "claims"
        out.append(f"{count} blocked claim(s) need {len(fetch)} asset(s) that are not here. On a machine with "
                   f"internet access fetch them into the mirror:")
        out.append(f"  python -m harness prefetch --mirror {target} {folders}")
        out.append(f"then run again with --claims-mirror={target}"
                   + (" (where the mirror already is)" if mirror else "") + ". Or put each repo in its mirror folder:")
        for (kind, repo, revision, config), ids in sorted(fetch.items()):
            what = f"{kind} {repo}@{revision}" + (f" (config {config})" if config else "")
            folder = f"{target}/{'models' if kind == 'model' else 'datasets'}/{repo}/"
            out.append(f"  {what} -> {folder}   [{_claims(ids)}]")
    for reason, ids in sorted(never.items()):
        out.append(f"{len(ids)} blocked claim(s) that no download can unblock ({_claims(ids)}): {reason}")
    return out


# ---------------------------------------------------------------------- one claim, for the report
def for_claim(art: dict, row: dict) -> str:
    """The one next step that could move this claim's verdict, for its row and section in the
    report (read from the artifact alone; a reproduced claim says none is needed)."""
    status = row.get("status")
    post = _post(art)
    claim_file = art.get("claim_file") or "the claim's record"
    if status == REPRODUCED:
        return "none needed: the measurement agrees with the printed value"
    if row.get("expect") and row.get("expect") == status:
        return f"none: the claim record expects {status} (expect:), so the gate does not fail on it"
    if status == BLOCKED or (status == MISCITED and post.get("status") == BLOCKED and not _findings(art)):
        return _blocked(art, claim_file)
    if status == MISCITED:
        found = _findings(art)
        step = f"correct the citation in {claim_file}"
        return step + (f" (the audit found: {found[0]})" if found else "")
    if status == INCONCLUSIVE:
        needed = row.get("slice_size_needed")
        if isinstance(needed, int) and needed > 0:
            return (f"measure a larger slice: about n = {needed} would decide (measure.slice.size in {claim_file}, "
                    "or the whole split)")
        return "measure a larger slice (or the whole split): the interval still overlaps the band's edge"
    if status == NOT_REPRODUCED:
        devs = [d for d in (art.get("protocol") or {}).get("deviations") or [] if isinstance(d, dict)]
        named = [str(d.get("what")) for d in devs if d.get("what") and d.get("what") != "protocol_unrecorded"]
        if named:
            return ("rule out the protocol deviations (" + ", ".join(named[:3]) + (", ..." if len(named) > 3 else "")
                    + "): a proxy measurement can miss a value the paper's protocol would reach")
        return ("compare the checkpoint and protocol with the paper's (revision, preprocessing, split); if they "
                "match, the printed value does not hold here")
    if status == ERROR:
        if row.get("traceback"):
            return "fix the error shown in the traceback below, then run this claim again"
        return "fix the error named in the reason, then run this claim again"
    return "see the reason"


def _findings(art: dict) -> list[str]:
    pre = (art.get("verdicts") or {}).get("pre") or {}
    return [str(f) for f in pre.get("findings") or []]


def _blocked(art: dict, claim_file: str) -> str:
    fetch, never = blocked_assets({str(art.get("claim_id", "?")): art})
    if fetch:
        assets = [f"{kind} {repo}@{rev}" + (f" (config {config})" if config else "")
                  for kind, repo, rev, config in sorted(fetch)]
        folders = [f"MIRROR/{'models' if kind == 'model' else 'datasets'}/{repo}/" for kind, repo, _, _ in sorted(fetch)]
        return (f"put {' and '.join(assets)} in the mirror ({', '.join(folders)}; python -m harness prefetch "
                f"--mirror MIRROR on a machine online fetches it), then run with --claims-mirror=MIRROR")
    if never and "unavailable" in (((art.get("claim") or {}).get("measure") or {}).get("checkpoint") or {}):
        return (f"no download can unblock it: {next(iter(never))}; it stays blocked until a checkpoint is "
                f"published (or measure.checkpoint in {claim_file} names a published one, as a proxy)")
    if _post(art).get("step"):   # the one step the measurement named (an unfit checkpoint, a split the claim misnames)
        return str(_post(art)["step"])
    missing = _post(art).get("missing")
    if missing:     # an artifact whose claim record does not say which repo: name what the verdict missed
        return (f"put {missing} in the mirror (python -m harness prefetch --mirror MIRROR on a machine online), "
                "then run with --claims-mirror=MIRROR")
    return "provide what the reason names, then run this claim again"
