"""The run summary: one row per claim, for the terminal table and reports/summary.json."""

from __future__ import annotations

import datetime as _dt


def row(artifact: dict, path: str | None) -> dict:
    v, post, pre = artifact["verdict"], artifact["verdicts"]["post"] or {}, artifact["verdicts"]["pre"] or {}
    stats = artifact.get("statistics") or {}
    band = stats.get("band") or {}
    interval = stats.get("interval") or ([stats["low"], stats["high"]] if "low" in stats else None)
    return {
        "claim": artifact["claim_id"],
        "status": v["status"],
        "post": post.get("status"),
        "pre": pre.get("status"),
        "metric": artifact["claim"]["reported"]["metric"],
        "measured": post.get("score"),
        "interval": interval,
        "reported": band.get("reported", v["claim_citation"]["reported_value"]),
        "band": [band["low"], band["high"]] if band else None,
        "confidence": v.get("confidence"),
        "protocol_match": artifact["protocol"]["match"],
        "reason": v.get("reason", ""),
        "expect": artifact["claim"].get("expect"),
        "artifact": path,
    }


def document(rows: dict, *, started: str, command: list[str], write_errors: dict) -> dict:
    ordered = [rows[k] for k in sorted(rows)]
    counts: dict[str, int] = {}
    for r in ordered:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return {
        "started": started,
        "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        "counts": dict(sorted(counts.items())),
        "write_errors": write_errors,
        "claims": ordered,
    }


def _fmt(x, metric: str) -> str:
    if x is None:
        return "-"
    if metric == "parameter_count":
        return f"{x / 1e6:.2f}M"
    return f"{x:.4f}"


def table(rows: dict) -> list[str]:
    """Plain-text lines: claim, measured [interval], reported band, status."""
    head = ("claim", "measured [95% interval]", "reported band", "status")
    body = []
    for k in sorted(rows):
        r = rows[k]
        m = r["metric"]
        measured = _fmt(r["measured"], m)
        if r["interval"] and r["interval"][0] != r["interval"][1]:
            measured += f" [{_fmt(r['interval'][0], m)}, {_fmt(r['interval'][1], m)}]"
        band = f"[{_fmt(r['band'][0], m)}, {_fmt(r['band'][1], m)}]" if r["band"] else _fmt(r["reported"], m)
        status = r["status"] + (f" (post: {r['post']})" if r["status"] != r["post"] else "")
        body.append((r["claim"], measured, band, status))
    widths = [max(len(str(x[i])) for x in [head, *body]) for i in range(4)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*head), fmt.format(*("-" * w for w in widths))] + [fmt.format(*b) for b in body]
