"""One row model and one formatter for every place a verdict is shown.

The terminal table, pytest's failure messages, JUnit properties, summary.json, summary.md and
index.html all read ``row(artifact)`` and print through ``fmt``, so a value printed as "89.3"
in a paper shows as "89.30 %" everywhere, and "12M" as "11.68M", never as 0.893 or 1.168e+07.
Rows are built defensively: artifacts from older harness versions lack optional parts.
"""

from __future__ import annotations

import datetime as _dt
import math

from harness import metrics, units
from harness.statuses import ALL, INCONCLUSIVE

# Printed scale -> natural scale, as floats (the exact table is harness.metrics.SCALES).
SCALES = {name: float(value) for name, value in metrics.SCALES.items()}
UNIT_SUFFIX = units.SUFFIX


# ---------------------------------------------------------------------- reading helpers
def _get(d, *keys, default=None):
    for k in keys:
        if not isinstance(d, dict) or d.get(k) is None:
            return default
        d = d[k]
    return d


def num(x) -> float | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    return float(x) if math.isfinite(x) else None


def pair(x) -> list[float] | None:
    if isinstance(x, (list, tuple)) and len(x) == 2 and all(num(v) is not None for v in x):
        return [float(x[0]), float(x[1])]
    return None


def display_scale(metric: str | None, scale: str | None) -> str:
    """The paper's printed units for a claim (its record's ``reported.scale``), guessed when absent."""
    if scale in SCALES:
        return scale
    try:
        return metrics.by_name(metric).scale
    except KeyError:
        return "units"


def bounded(metric: str | None) -> bool:
    """A score on a fixed range (accuracy, F1, a correlation), plotted on one axis with the others."""
    try:
        return metrics.by_name(metric).bounded
    except KeyError:
        return False


# ---------------------------------------------------------------------- formatting
def fmt(x, scale: str, places: int | None = None) -> str:
    """A natural-scale value in the paper's printed units: '89.30 %', '11.68M', '0.8971'
    (``places``: decimals in printed units, a row's ``decimals``; harness.units)."""
    return units.number(num(x), scale, places)


def show(r: dict, x) -> str:
    """A value of row ``r`` at the precision its band needs."""
    return units.number(num(x), r["scale"], r.get("decimals"))


def printed(r: dict) -> str:
    """The reported value as the paper or card printed it, with its unit (shortened to the
    row's precision when it carries more digits than matter; the JSON keeps them all)."""
    if r.get("reported_printed") not in (None, ""):
        return units.as_printed(r["reported_printed"], r["scale"], r.get("decimals"))
    return show(r, r.get("reported"))


def interval_text(iv, scale: str, places: int | None = None) -> str:
    iv = pair(iv)
    return units.interval(iv, scale, places) if iv else "-"


def measured_text(r: dict, *, with_n: bool = False) -> str:
    if r.get("measured") is None:
        return "-"
    text = show(r, r["measured"])
    iv = r.get("interval")
    if iv and iv[0] != iv[1]:
        text += " " + interval_text(iv, r["scale"], r.get("decimals"))
        if num(r.get("level")) is not None:
            text += f" at {r['level']:.1%}"      # the interval's actual level (a spent one on a growing slice)
    if with_n and r.get("n"):
        whole = r.get("population") == r["n"]
        text += f"; n = {r['n']}" + (" (whole split)" if whole else f" of {r['population']}" if r.get("population")
                                     else "")
    return text


def reported_text(r: dict) -> str:
    text = printed(r)
    if r.get("band"):
        text += f"; band {interval_text(r['band'], r['scale'], r.get('decimals'))}"
    return text


def status_notes(r: dict) -> list[str]:
    """What qualifies a status: the POST verdict where it differs, the declared expectation and
    whether it was met, and for an inconclusive claim the slice size that would decide."""
    out = []
    if r.get("post") and r["post"] != r["status"]:
        out.append(f"post: {r['post']}")
    if r.get("expect"):
        out.append("expected" if r["expect"] == r["status"] else f"expected {r['expect']}: NOT met")
    if r["status"] == INCONCLUSIVE and r.get("slice_size_needed") is not None:
        out.append(f"slice size that would decide: {r['slice_size_needed']}")
    return out


def status_text(r: dict) -> str:
    """'not_reproduced (expected)', 'miscited (post: blocked; expected)', 'reproduced (expected
    not_reproduced: NOT met)'."""
    extra = status_notes(r)
    return r["status"] + (f" ({'; '.join(extra)})" if extra else "")


def numbers_text(r: dict) -> str:
    """The figures of a verdict in printed units, for pytest messages."""
    if r.get("measured") is None:
        return ""
    places = r.get("decimals")
    parts = [f"measured {show(r, r['measured'])}"]
    if r.get("interval") and r["interval"][0] != r["interval"][1]:    # a point (exact) has no level to state
        parts.append(f"{_level(r)} interval {interval_text(r['interval'], r['scale'], places)}")
    parts.append(f"reported {printed(r)}")
    if r.get("band"):
        parts.append(f"band {interval_text(r['band'], r['scale'], places)}"
                     + (f" (tolerance {show(r, r['tolerance'])})" if r.get("tolerance") is not None else ""))
    if r.get("n"):
        parts.append(f"n = {r['n']}" + (f" of {r['population']}" if r.get("population") else ""))
    return ", ".join(parts)


def _level(r: dict) -> str:
    level = r.get("level")
    return f"{level * 100:.1f}%" if num(level) is not None else "level-unknown"


# ---------------------------------------------------------------------- the row
def _citation(cc: dict) -> str:
    if not isinstance(cc, dict):
        return ""
    if cc.get("source") == "paper" or cc.get("paper_arxiv_id"):
        parts = [f"arXiv:{cc['paper_arxiv_id']}" if cc.get("paper_arxiv_id") else None, cc.get("section"),
                 f"row {cc['row']}" if cc.get("row") else None,
                 f"column {cc['column']}" if cc.get("column") else None,
                 f"p{cc['pdf_page']}" if cc.get("pdf_page") is not None else None]
        return ", ".join(str(p) for p in parts if p)
    return str(cc.get("url") or cc.get("section") or cc.get("source") or "")


def row(art: dict, path: str | None) -> dict:
    """One display row from a verdict artifact (tolerant of missing optional parts)."""
    verdict = art.get("verdict") or {}
    verdicts = art.get("verdicts") or {}
    post, pre = verdicts.get("post") or {}, verdicts.get("pre") or {}
    stats = art.get("statistics") or {}
    measurement = art.get("measurement") or {}
    cc = verdict.get("claim_citation") or post.get("claim_citation") or pre.get("claim_citation") or {}
    claim = art.get("claim") or {}
    metric = _get(claim, "reported", "metric") or cc.get("reported_metric")
    printed_scale = _get(claim, "reported", "scale") or cc.get("reported_scale")
    band = stats.get("band") if isinstance(stats.get("band"), dict) else {}
    reported = num(band.get("reported"))
    if reported is None and num(cc.get("reported_value")) is not None:
        reported = cc["reported_value"] * SCALES.get(printed_scale, 1.0)
    interval = pair(stats.get("interval"))
    measured = num(post.get("score"))
    if measured is None and measurement:
        measured = num(measurement.get("value"))
    population = _get(stats, "finite_population", "population") or _get(measurement, "slice", "split_size")
    findings = pre.get("findings") or []
    protocol = art.get("protocol") or {}
    value = _get(claim, "reported", "value")
    scale = display_scale(metric, printed_scale)
    band_pair = [num(band.get("low")), num(band.get("high"))] if pair([band.get("low"), band.get("high")]) else None
    return {
        "claim": str(art.get("claim_id", "?")),
        "status": str(verdict.get("status", "?")),
        "post": post.get("status"),
        "pre": pre.get("status"),
        "pre_finding": (str(findings[0]) + (f" (+{len(findings) - 1} more)" if len(findings) > 1 else "")
                        if findings else (pre.get("reason") or "")),
        "metric": metric,
        "scale": scale,
        "decimals": _decimals(scale, band_pair, value, (measured, *(interval or ()))),
        "reported_printed": None if value is None else str(value),
        "measured": measured,
        "interval": interval,
        "level": num(stats.get("level")),
        "n": measurement.get("n"),
        "population": population,
        "reported": reported,
        "band": band_pair,
        "tolerance": num(band.get("tolerance")),
        "confidence": num(verdict.get("confidence")),
        "protocol_match": protocol.get("match", verdict.get("protocol_match")),
        "reason": str(verdict.get("reason", "")),
        "traceback": post.get("traceback") if isinstance(post.get("traceback"), str) else None,
        "expect": claim.get("expect"),
        "slice_size_needed": stats.get("slice_size_needed"),
        "citation": _citation(cc),
        "artifact": path,
        # a claims x checkpoints run (harness.claims.checkpoints): the record's own id and the
        # checkpoint this case was moved to, where it was
        "base_claim": str(claim.get("id") or art.get("claim_id", "?")),
        "checkpoint_override": next((str(d.get("here")) for d in protocol.get("deviations") or []
                                     if isinstance(d, dict) and d.get("what") == "checkpoint_override"), None),
    }


def _decimals(scale: str, band, reported, values) -> int:
    """Decimals that matter for this row's band (harness.units.decimals)."""
    low, high = band if band else (None, None)
    return units.decimals(scale, low=low, high=high, reported=reported, values=[v for v in values if v is not None])


def from_summary(r: dict) -> dict:
    """A row for a claim that summary.json lists but whose artifact is not on disk."""
    metric = r.get("metric")
    out = {k: r.get(k) for k in ("claim", "status", "post", "pre", "metric", "reported_printed", "level", "n",
                                 "population", "tolerance", "protocol_match", "expect", "slice_size_needed",
                                 "traceback", "base_claim", "checkpoint_override")}
    out.update({
        "claim": str(r.get("claim", "?")), "status": str(r.get("status", "?")), "pre_finding": "",
        "scale": display_scale(metric, r.get("scale")), "measured": num(r.get("measured")),
        "interval": pair(r.get("interval")), "reported": num(r.get("reported")), "band": pair(r.get("band")),
        "confidence": num(r.get("confidence")), "reason": str(r.get("reason", "")), "citation": "",
        "artifact": None})
    if not isinstance(r.get("decimals"), int) or isinstance(r.get("decimals"), bool):
        out["decimals"] = _decimals(out["scale"], out["band"], out["reported_printed"],
                                    (out["measured"], *(out["interval"] or ())))
    else:
        out["decimals"] = min(max(r["decimals"], 0), units.MAX_DECIMALS)
    return out


def counts(rows) -> dict[str, int]:
    """Claims per status, in the order reports list statuses (unknown ones last); rows marked
    ``stale`` (an earlier run's artifact still on disk) are not this run's and are not counted."""
    out: dict[str, int] = {}
    for r in rows:
        if not r.get("stale"):
            out[r["status"]] = out.get(r["status"], 0) + 1
    order = {s: i for i, s in enumerate(ALL)}
    return dict(sorted(out.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))


def document(rows: dict, *, started: str, command: list[str], write_errors: dict) -> dict:
    ordered = [rows[k] for k in sorted(rows)]
    return {
        "started": started,
        "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        "counts": counts(ordered),
        "write_errors": write_errors,
        "claims": ordered,
    }


def table(rows: dict) -> list[str]:
    """Plain-text lines: claim, measured [interval], reported (band), status with '(expected)'."""
    head = ("claim", "measured [interval] at its level", "reported; band", "status")
    body = [(rows[k]["claim"], measured_text(rows[k]), reported_text(rows[k]), status_text(rows[k]))
            for k in sorted(rows)]
    widths = [max(len(str(x[i])) for x in [head, *body]) for i in range(4)]
    fmt_line = "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt_line.format(*head).rstrip(), fmt_line.format(*("-" * w for w in widths))] + \
        [fmt_line.format(*b).rstrip() for b in body]
