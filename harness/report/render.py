"""Human-readable reports of a reports folder: ``summary.md`` and a self-contained ``index.html``.

Reads ``verdicts/*.json`` (the artifacts), and where present ``summary.json``, ``manifest.json``
and ``gate.json``. The HTML has no scripts, no external files and no network references: the
plot (measured value with its interval against the reported band, one row per measured claim)
is an inline base64 PNG drawn with matplotlib's Agg canvas, imported only when rendering.

Usage: ``render(Path("reports"))`` or ``python -m harness.report.render reports``.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import shlex
import sys
from pathlib import Path

from harness.report.artifacts import write_atomic

STATUS_ORDER = ("reproduced", "not_reproduced", "miscited", "inconclusive", "blocked", "error")
STATUS_COLOURS = {
    "reproduced": "#2e7d32",      # green
    "not_reproduced": "#c62828",  # red
    "miscited": "#ef6c00",        # orange
    "inconclusive": "#757575",    # grey
    "blocked": "#546e7a",         # blue-grey
    "error": "#7f0000",           # dark red
}
PRE_COLOURS = {"citation_verified": "#2e7d32", "citation_mismatch": "#ef6c00", "citation_unchecked": "#757575"}
UNKNOWN_COLOUR = "#37474f"
# Printed scale -> natural scale (as harness.claims.records.SCALES).
SCALES = {"percent": 0.01, "fraction": 1.0, "millions": 1e6, "units": 1.0}
PROPORTION_METRICS = {"accuracy", "f1", "matthews_corrcoef", "mcc", "precision", "recall", "exact_match"}
OUTPUTS = ("summary.md", "index.html")


# ---------------------------------------------------------------------- reading
def _read_json(path: Path):
    """(data, None) or (None, why) for an optional JSON file; (None, None) when absent."""
    if not path.is_file():
        return None, None
    try:
        return json.loads(path.read_text(encoding="utf-8")), None
    except (OSError, ValueError) as exc:
        return None, f"{path.name}: unreadable ({type(exc).__name__}: {exc})"


def _get(d, *keys, default=None):
    for k in keys:
        if not isinstance(d, dict) or d.get(k) is None:
            return default
        d = d[k]
    return d


def _num(x) -> float | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    return float(x) if math.isfinite(x) else None


def _pair(x) -> list[float] | None:
    if isinstance(x, (list, tuple)) and len(x) == 2 and all(_num(v) is not None for v in x):
        return [float(x[0]), float(x[1])]
    return None


def _display_scale(metric: str | None, scale: str | None) -> str:
    if scale in SCALES:
        return scale
    if metric == "parameter_count":
        return "millions"
    if metric in PROPORTION_METRICS:
        return "fraction"
    return "units"


def _short(text, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


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


def _meaningful(x) -> bool:
    return x is not None and str(x).strip() not in ("", "-", "unknown")


def _deviation(d) -> str:
    if not isinstance(d, dict):
        return _short(d, 110)
    text = str(d.get("what", "?"))
    here, source, note = d.get("here"), d.get("source"), d.get("note")
    if _meaningful(here):
        text += f": {here}" + (f" (source: {source})" if _meaningful(source) else "")
    elif _meaningful(note):
        text += f": {note}"
    elif _meaningful(source):
        text += f" (source: {source})"
    return _short(text, 110)


def row_from_artifact(art: dict, artifact_path: str | None) -> dict:
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
    reported = _num(band.get("reported"))
    if reported is None and _num(cc.get("reported_value")) is not None:
        reported = cc["reported_value"] * SCALES.get(printed_scale, 1.0)
    interval = _pair(stats.get("interval")) or _pair([stats.get("low"), stats.get("high")])
    measured = _num(post.get("score"))
    if measured is None and measurement:
        measured = _num(measurement.get("value"))
    population = _get(stats, "finite_population", "population") or _get(measurement, "slice", "split_size")
    findings = pre.get("findings") or []
    protocol = art.get("protocol") or {}
    return {
        "claim": str(art.get("claim_id", "?")),
        "status": str(verdict.get("status", "?")),
        "post": post.get("status"),
        "pre": pre.get("status"),
        "pre_finding": (str(findings[0]) + (f" (+{len(findings) - 1} more)" if len(findings) > 1 else "")
                        if findings else (pre.get("reason") or "")),
        "metric": metric,
        "scale": _display_scale(metric, printed_scale),
        "measured": measured,
        "interval": interval,
        "n": measurement.get("n"),
        "population": population,
        "reported": reported,
        "band": [_num(band.get("low")), _num(band.get("high"))] if _pair([band.get("low"), band.get("high")]) else None,
        "confidence": _num(verdict.get("confidence")),
        "protocol_match": protocol.get("match", verdict.get("protocol_match")),
        "deviations": [_deviation(d) for d in protocol.get("deviations") or []],
        "reason": str(verdict.get("reason", "")),
        "expect": claim.get("expect"),
        "citation": _citation(cc),
        "artifact": artifact_path,
        "notes": [],
    }


def _row_from_summary(r: dict) -> dict:
    """A row for a claim that summary.json lists but whose artifact is not on disk."""
    metric = r.get("metric")
    return {
        "claim": str(r.get("claim", "?")), "status": str(r.get("status", "?")), "post": r.get("post"),
        "pre": r.get("pre"), "pre_finding": "", "metric": metric, "scale": _display_scale(metric, None),
        "measured": _num(r.get("measured")), "interval": _pair(r.get("interval")), "n": None, "population": None,
        "reported": _num(r.get("reported")) if r.get("band") else None, "band": _pair(r.get("band")),
        "confidence": _num(r.get("confidence")), "protocol_match": r.get("protocol_match"), "deviations": [],
        "reason": str(r.get("reason", "")), "expect": r.get("expect"), "citation": "", "artifact": None,
        "notes": [],
    }


def load(reports_dir: Path) -> dict:
    """Everything the renderers need from a reports folder."""
    reports_dir = Path(reports_dir)
    problems: list[str] = []
    summary, why = _read_json(reports_dir / "summary.json")
    problems += [why] if why else []
    manifest, why = _read_json(reports_dir / "manifest.json")
    problems += [why] if why else []
    gate, why = _read_json(reports_dir / "gate.json")
    problems += [why] if why else []
    summary = summary if isinstance(summary, dict) else None
    listed = {str(r.get("claim")): r for r in (summary or {}).get("claims") or [] if isinstance(r, dict)}
    write_errors = (summary or {}).get("write_errors") or {}

    rows: list[dict] = []
    seen: set[str] = set()
    folder = reports_dir / "verdicts"
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        art, why = _read_json(path)
        if why or not isinstance(art, dict) or "claim_id" not in art:
            problems.append(why or f"{path.name}: not a verdict artifact")
            continue
        try:
            row = row_from_artifact(art, f"verdicts/{path.name}")
        except Exception as exc:  # a malformed artifact must not hide the others
            problems.append(f"{path.name}: could not be read as a verdict ({type(exc).__name__}: {exc})")
            continue
        if summary is not None and row["claim"] not in listed:
            row["notes"].append("not in this run's summary.json (an artifact from an earlier run)")
            row["stale"] = True
        seen.add(row["claim"])
        rows.append(row)
    for cid in sorted(set(listed) - seen):
        row = _row_from_summary(listed[cid])
        row["notes"].append("artifact not written: " + str(write_errors.get(cid, "missing from verdicts/")))
        rows.append(row)
    rows.sort(key=lambda r: r["claim"])
    return {"rows": rows, "summary": summary, "manifest": manifest if isinstance(manifest, dict) else None,
            "gate": gate, "problems": problems, "write_errors": write_errors}


def counts(rows: list[dict]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in rows:
        if not r.get("stale"):
            out[r["status"]] = out.get(r["status"], 0) + 1
    order = {s: i for i, s in enumerate(STATUS_ORDER)}
    return dict(sorted(out.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))


# ---------------------------------------------------------------------- formatting
def fmt(x, scale: str) -> str:
    if x is None:
        return "-"
    if scale == "millions":
        return f"{x / 1e6:,.2f}M"
    if scale == "percent":
        return f"{x * 100:.2f}%"
    if scale == "fraction":
        return f"{x:.4f}"
    return f"{x:.6g}"


def measured_text(r: dict) -> str:
    if r["measured"] is None:
        return "-"
    text = fmt(r["measured"], r["scale"])
    iv = r["interval"]
    if iv and iv[0] != iv[1]:
        text += f" [{fmt(iv[0], r['scale'])}, {fmt(iv[1], r['scale'])}]"
    if r.get("n"):
        whole = r.get("population") == r["n"]
        text += f"; n = {r['n']}" + (" (whole split)" if whole else f" of {r['population']}" if r.get("population")
                                     else "")
    return text


def reported_text(r: dict) -> str:
    text = fmt(r["reported"], r["scale"])
    if r["band"]:
        text += f"; band [{fmt(r['band'][0], r['scale'])}, {fmt(r['band'][1], r['scale'])}]"
    return text


def status_extra(r: dict) -> list[str]:
    out = []
    if r.get("post") and r["post"] != r["status"]:
        out.append(f"post: {r['post']}")
    if r.get("expect"):
        out.append(f"expected: {r['expect']}" + (" (as declared)" if r["expect"] == r["status"] else " (NOT met)"))
    return out


MANIFEST_FIRST = ("command", "started", "finished", "device", "git_commit", "git_dirty", "harness", "python",
                  "packages", "platform", "hostname")


def _manifest_items(manifest: dict) -> list[tuple[str, str]]:
    keys = [k for k in MANIFEST_FIRST if k in manifest] + [k for k in manifest if k not in MANIFEST_FIRST]
    items = []
    for k in keys:
        v = manifest[k]
        if isinstance(v, dict):
            items += [(f"{k}.{kk}", "-" if vv is None else str(vv)) for kk, vv in v.items()]
        elif k == "command" and isinstance(v, list):
            items.append((k, shlex.join(str(c) for c in v)))
        else:
            items.append((k, "-" if v is None else str(v)))
    return items


def _run_line(data: dict) -> str:
    m, s = data["manifest"] or {}, data["summary"] or {}
    started = m.get("started") or s.get("started")
    finished = m.get("finished") or s.get("finished")
    command = m.get("command") or s.get("command")
    parts = []
    if started:
        parts.append(f"started {started}")
    if finished:
        parts.append(f"finished {finished}")
    if m.get("device"):
        parts.append(f"device {m['device']}")
    if command:
        parts.append("command: " + shlex.join(str(c) for c in command))
    return "; ".join(parts)


# ---------------------------------------------------------------------- plot
def _plot_rows(rows: list[dict]):
    """(score rows, relative rows, notes): which panel each measured claim goes to."""
    scores, relative, notes = [], [], []
    for r in rows:
        if r["measured"] is None:
            continue
        if r["scale"] in ("percent", "fraction") or r["metric"] in PROPORTION_METRICS:
            scores.append(r)
        elif r["reported"]:
            relative.append(r)
        else:
            notes.append(f"{r['claim']}: no reported value to compare with, not plotted")
    return scores, relative, notes


def plot_png(rows: list[dict]) -> tuple[bytes | None, str | None]:
    """The measured-vs-reported plot as PNG bytes, or (None, why not)."""
    scores, relative, notes = _plot_rows(rows)
    if not scores and not relative:
        return None, "no claim has a measurement to plot" + (f" ({'; '.join(notes)})" if notes else "")
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch
    except ImportError as exc:
        return None, f"plot unavailable: matplotlib is not installed ({exc})"

    panels = []
    if relative:
        panels.append(("relative", relative,
                       "Counts and other magnitudes: measured \u2212 reported, in % of the reported value"))
    if scores:
        panels.append(("score", scores, "Scores (accuracy, F1, ...): measured with 95% interval, in %"))
    per_row = min(0.5, 60.0 / (len(scores) + len(relative)))  # stays well inside Agg's size limit
    heights = [per_row * len(p[1]) + 1.0 for p in panels]
    fig = Figure(figsize=(12, sum(heights) + 1.0), dpi=150)
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(panels), 1, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
    seen_status: list[str] = []
    for ax, (kind, prow, title) in zip(axes, panels):
        _panel(ax, kind, prow, seen_status)
        ax.set_title(title, loc="left", fontsize=11, fontweight="bold")
    handles = [Patch(facecolor="#cfd8dc", edgecolor="#78909c", label="reported band (rounding + tolerance)"),
               Line2D([], [], color="black", lw=2, marker="|", markersize=14, linestyle="none",
                      label="reported value")]
    order = {s: i for i, s in enumerate(STATUS_ORDER)}
    seen_status.sort(key=lambda s: (order.get(s, len(order)), s))
    handles += [Line2D([], [], color=STATUS_COLOURS.get(s, UNKNOWN_COLOUR), marker="o", lw=3, label=s)
                for s in seen_status]
    fig.legend(handles=handles, loc="upper center", ncol=min(len(handles), 6), frameon=False, fontsize=10,
               bbox_to_anchor=(0.5, 1.0))
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.6 / (sum(heights) + 1.0)), h_pad=2.0)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", pad_inches=0.2, metadata={"Software": None})
    return buf.getvalue(), ("; ".join(notes) or None)


def _panel(ax, kind: str, rows: list[dict], seen_status: list[str]) -> None:
    def tr(x, r):
        if kind == "score":
            return x * 100.0
        return (x - r["reported"]) / abs(r["reported"]) * 100.0

    n = len(rows)
    for i, r in enumerate(rows):
        y = n - 1 - i
        colour = STATUS_COLOURS.get(r["status"], UNKNOWN_COLOUR)
        if r["status"] not in seen_status:
            seen_status.append(r["status"])
        if r["band"]:
            lo, hi = tr(r["band"][0], r), tr(r["band"][1], r)
            ax.barh(y, hi - lo, left=lo, height=0.62, color="#cfd8dc", edgecolor="#78909c", linewidth=0.8, zorder=1)
        if r["reported"] is not None:
            x = tr(r["reported"], r)
            ax.plot([x, x], [y - 0.36, y + 0.36], color="black", lw=2, zorder=2)
        m = tr(r["measured"], r)
        iv = r["interval"]
        if iv and iv[0] != iv[1]:
            ax.plot([tr(iv[0], r), tr(iv[1], r)], [y, y], color=colour, lw=3.5, solid_capstyle="butt", zorder=3)
            for end in iv:
                ax.plot([tr(end, r)] * 2, [y - 0.16, y + 0.16], color=colour, lw=2, zorder=3)
        ax.plot([m], [y], marker="o", markersize=8, color=colour, markeredgecolor="white", zorder=4)
        ax.annotate(_plot_label(r, kind), xy=(1.01, y), xycoords=("axes fraction", "data"), va="center",
                    ha="left", fontsize=9, color=colour)
    ax.set_yticks(range(n))
    ax.set_yticklabels([r["claim"] for r in reversed(rows)], fontsize=9)
    ax.set_ylim(-0.7, n - 0.3)
    ax.grid(axis="x", color="#e0e0e0", linewidth=0.8, zorder=0)
    ax.set_axisbelow(True)
    if kind == "relative":
        ax.axvline(0, color="#424242", lw=0.8, zorder=0)
        ax.set_xlabel("(measured \u2212 reported) / reported, %", fontsize=10)
    else:
        ax.set_xlabel("score, % (band and interval as judged; x axis fits the data)", fontsize=10)
    ax.tick_params(axis="x", labelsize=9)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _plot_label(r: dict, kind: str) -> str:
    if kind == "relative":
        rel = (r["measured"] - r["reported"]) / abs(r["reported"]) * 100.0
        return f"{rel:+.1f}%  ({fmt(r['measured'], r['scale'])} vs {fmt(r['reported'], r['scale'])})"
    text = f"{r['measured'] * 100:.1f}"
    if r["interval"] and r["interval"][0] != r["interval"][1]:
        text += f" [{r['interval'][0] * 100:.1f}, {r['interval'][1] * 100:.1f}]"
    if r["reported"] is not None:
        text += f" vs {r['reported'] * 100:.1f}"
    return text


# ---------------------------------------------------------------------- markdown
def _md(text) -> str:
    return (" ".join(str(text).split()).replace("\\", "\\\\").replace("|", "\\|")
            .replace("<", "&lt;").replace(">", "&gt;"))


def _md_value(v, indent: str = "") -> list[str]:
    if isinstance(v, dict):
        out = []
        for k, vv in v.items():
            if isinstance(vv, (dict, list)) and vv:
                out.append(f"{indent}- {_md(k)}:")
                out += _md_value(vv, indent + "  ")
            else:
                out.append(f"{indent}- {_md(k)}: {_md(_scalar(vv))}")
        return out
    if isinstance(v, list):
        if not v:
            return [f"{indent}- none"]
        out = []
        for x in v:
            if isinstance(x, dict):
                out.append(f"{indent}- " + "; ".join(f"{_md(k)}: {_md(_scalar(vv))}" for k, vv in x.items()))
            else:
                out.append(f"{indent}- {_md(_scalar(x))}")
        return out
    return [f"{indent}{_md(_scalar(v))}"]


def _scalar(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False, sort_keys=True)
    return str(v)


def _gate_sections(gate: dict) -> list[tuple[str, object]]:
    first = ("failures", "changes", "held_back_by_fdr", "notes")
    keys = [k for k in first if k in gate] + sorted(k for k in gate if k not in first and k not in
                                                     ("exit_code", "passed"))
    return [(k, gate[k]) for k in keys]


ACRONYMS = {"fdr": "FDR", "id": "ID", "url": "URL", "pre": "PRE", "post": "POST", "ci": "CI"}


def _title(key) -> str:
    words = [ACRONYMS.get(w.lower(), w) for w in str(key).replace("_", " ").split()]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _gate_passed(gate: dict) -> bool | None:
    if isinstance(gate.get("passed"), bool):
        return gate["passed"]
    if isinstance(gate.get("exit_code"), int):
        return gate["exit_code"] == 0
    return None


def markdown(data: dict) -> str:
    rows = data["rows"]
    out = ["# Claims report", ""]
    run = _run_line(data)
    if run:
        out += [_md(run), ""]
    c = counts(rows)
    total = sum(c.values())
    out.append(f"**{total} claim{'s' if total != 1 else ''}**: " +
               (", ".join(f"{v} {k}" for k, v in c.items()) or "none"))
    stale = sum(1 for r in rows if r.get("stale"))
    if stale:
        out.append(f"(plus {stale} older artifact(s) in verdicts/ that this run's summary.json does not list)")
    out.append("")
    gate = data["gate"]
    if isinstance(gate, dict):
        passed = _gate_passed(gate)
        head = "PASS" if passed else "FAIL" if passed is False else "?"
        out += [f"## Gate: {head}" + (f" (exit {gate['exit_code']})" if "exit_code" in gate else ""), ""]
        for k, v in _gate_sections(gate):
            out.append(f"**{_md(_title(k))}**")
            out += _md_value(v) + [""]
    elif gate is not None:
        out += ["## Gate", ""] + _md_value(gate) + [""]
    out += ["## Claims", "",
            "| claim | status | measured [95% interval] | reported; band | PRE (citation audit) | protocol "
            "| confidence | reason |",
            "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        claim = "`" + r["claim"].replace("`", "'") + "`"
        status = "**" + _md(r["status"]) + "**" + "".join(f"<br>{_md(x)}" for x in status_extra(r))
        pre = _md(r["pre"] or "-") + (f": {_md(_short(r['pre_finding'], 160))}" if r["pre_finding"] else "")
        proto = _md(r["protocol_match"] or "-") + "".join(f"<br>{_md(d)}" for d in r["deviations"])
        conf = "-" if r["confidence"] is None else f"{r['confidence']:.2f}"
        reason = _md(r["reason"]) + "".join(f" ({_md(n)})" for n in r["notes"])
        out.append(f"| {claim} | {status} | {_md(measured_text(r))} | {_md(reported_text(r))} | {pre} | {proto} "
                   f"| {conf} | {reason} |")
    if not rows:
        out.append("| (no verdicts) | | | | | | | |")
    out.append("")
    out.append("The plot of measured values against reported bands is in index.html.")
    out.append("")
    if data["write_errors"]:
        out += ["## Artifacts not written", ""] + _md_value(data["write_errors"]) + [""]
    if data["problems"]:
        out += ["## Problems reading this folder", ""] + _md_value(data["problems"]) + [""]
    out += ["## Run manifest", ""]
    if data["manifest"]:
        out += [f"- {_md(k)}: {_md(v)}" for k, v in _manifest_items(data["manifest"])]
    else:
        out.append("no manifest.json in this folder")
    out.append("")
    return "\n".join(out)


# ---------------------------------------------------------------------- HTML
def _e(text) -> str:
    return html.escape(str(text), quote=True)


CSS = """
body { font-family: -apple-system, "Segoe UI", "DejaVu Sans", Arial, sans-serif; color: #212121;
       margin: 24px 32px; font-size: 14px; line-height: 1.4; }
h1 { margin: 0 0 4px 0; font-size: 24px; }
h2 { margin: 28px 0 10px 0; font-size: 18px; border-bottom: 1px solid #e0e0e0; padding-bottom: 4px; }
.meta { color: #616161; margin: 0 0 14px 0; overflow-wrap: anywhere; }
code { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: 12px; }
.counts { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
.badge { color: #fff; border-radius: 4px; padding: 4px 10px; font-weight: 600; font-size: 14px; }
.total { font-weight: 600; font-size: 15px; margin-right: 6px; }
.gate { border-radius: 6px; padding: 10px 14px; margin-top: 16px; border: 1px solid #e0e0e0; }
.gate h2 { border: none; margin: 0 0 6px 0; }
.gate .verdict { color: #fff; border-radius: 4px; padding: 2px 10px; }
.gate h3 { font-size: 14px; margin: 10px 0 4px 0; }
.gate ul { margin: 2px 0; padding-left: 22px; }
img.plot { width: 100%; max-width: 1200px; height: auto; border: 1px solid #eeeeee; }
table { border-collapse: collapse; }
table.claims { width: 100%; table-layout: fixed; font-size: 13px; }
table.claims th { background: #eceff1; text-align: left; padding: 6px; position: sticky; top: 0; }
table.claims td { padding: 6px; vertical-align: top; border-top: 1px solid #e0e0e0;
                  overflow-wrap: anywhere; }
table.claims tr.stale td { opacity: 0.6; }
td.claim { border-left: 6px solid transparent; }
td.claim a { color: #0d47a1; text-decoration: none; font-family: "DejaVu Sans Mono", Consolas, monospace;
             font-size: 12px; }
.cite, .sub, .note { color: #616161; font-size: 12px; }
.note { font-style: italic; }
.st { display: inline-block; white-space: nowrap; color: #fff; border-radius: 3px; padding: 1px 6px; font-weight: 600;
      font-size: 12px; }
.pre { font-weight: 600; }
.devs { margin: 2px 0 0 0; padding-left: 16px; color: #616161; font-size: 12px; }
table.kv td, table.kv th { padding: 3px 10px 3px 0; vertical-align: top; text-align: left;
                           overflow-wrap: anywhere; }
table.kv th { color: #616161; font-weight: 600; white-space: nowrap; }
table.list { margin: 4px 0; font-size: 13px; }
table.list th, table.list td { border: 1px solid #e0e0e0; padding: 3px 8px; text-align: left; vertical-align: top;
                               overflow-wrap: anywhere; }
.none { color: #9e9e9e; }
"""


def _html_value(v) -> str:
    if isinstance(v, dict):
        if not v:
            return '<span class="none">none</span>'
        return ('<table class="kv">' + "".join(f"<tr><th>{_e(k)}</th><td>{_html_value(vv)}</td></tr>"
                                                for k, vv in v.items()) + "</table>")
    if isinstance(v, list):
        if not v:
            return '<span class="none">none</span>'
        if all(isinstance(x, dict) for x in v):
            keys: list[str] = []
            for x in v:
                keys += [k for k in x if k not in keys]
            head = "".join(f"<th>{_e(k)}</th>" for k in keys)
            body = "".join("<tr>" + "".join(f"<td>{_html_value(x.get(k))}</td>" for k in keys) + "</tr>" for x in v)
            return f'<table class="list"><tr>{head}</tr>{body}</table>'
        return "<ul>" + "".join(f"<li>{_html_value(x)}</li>" for x in v) + "</ul>"
    if v is None:
        return '<span class="none">-</span>'
    return _e(v)


def _badge(status: str, text: str) -> str:
    return f'<span class="badge" style="background:{STATUS_COLOURS.get(status, UNKNOWN_COLOUR)}">{_e(text)}</span>'


def _html_row(r: dict) -> str:
    colour = STATUS_COLOURS.get(r["status"], UNKNOWN_COLOUR)
    claim = _e(r["claim"])
    if r["artifact"]:
        claim = f'<a href="{_e(r["artifact"])}">{claim}</a>'
    cite = f'<div class="cite">{_e(r["citation"])}</div>' if r["citation"] else ""
    notes = "".join(f'<div class="note">{_e(n)}</div>' for n in r["notes"])
    status = (f'<span class="st" style="background:{colour}">{_e(r["status"])}</span>'
              + "".join(f'<div class="sub">{_e(x)}</div>' for x in status_extra(r)))
    pre_colour = PRE_COLOURS.get(r["pre"] or "", UNKNOWN_COLOUR)
    pre = f'<span class="pre" style="color:{pre_colour}">{_e(r["pre"] or "-")}</span>'
    if r["pre_finding"]:
        pre += f'<div class="sub">{_e(_short(r["pre_finding"], 220))}</div>'
    proto = _e(r["protocol_match"] or "-")
    if r["deviations"]:
        proto += '<ul class="devs">' + "".join(f"<li>{_e(d)}</li>" for d in r["deviations"]) + "</ul>"
    conf = "-" if r["confidence"] is None else f"{r['confidence']:.2f}"
    cls = ' class="stale"' if r.get("stale") else ""
    return (f"<tr{cls}><td class=\"claim\" style=\"border-left-color:{colour}\">{claim}{cite}{notes}</td>"
            f"<td>{status}</td><td>{_e(measured_text(r))}</td><td>{_e(reported_text(r))}</td>"
            f"<td>{pre}</td><td>{proto}</td><td>{conf}</td><td>{_e(r['reason'])}</td></tr>")


def html_page(data: dict, png: bytes | None, plot_note: str | None) -> str:
    rows = data["rows"]
    c = counts(rows)
    total = sum(c.values())
    parts = ['<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
             '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
             f"<title>Claims report ({total} claims)</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
             "<h1>Claims report</h1>\n"]
    run = _run_line(data)
    if run:
        parts.append(f'<p class="meta">{_e(run)}</p>\n')
    parts.append(f'<div class="counts"><span class="total">{total} claim{"s" if total != 1 else ""}</span>'
                 + "".join(_badge(k, f"{k}: {v}") for k, v in c.items()) + "</div>\n")
    stale = sum(1 for r in rows if r.get("stale"))
    if stale:
        parts.append(f'<p class="note">plus {stale} older artifact(s) in verdicts/ that this run\'s summary.json '
                     "does not list (shown faded)</p>\n")
    gate = data["gate"]
    if gate is not None:
        parts.append(_html_gate(gate))
    parts.append("<h2>Measured against reported</h2>\n")
    if png:
        parts.append('<img class="plot" alt="measured value with 95% interval against the reported band, per claim" '
                     f'src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">\n')
    if plot_note:
        parts.append(f'<p class="note">{_e(plot_note)}</p>\n')
    parts.append("<h2>Claims</h2>\n")
    parts.append('<table class="claims">\n<colgroup><col style="width:15%"><col style="width:10%">'
                 '<col style="width:10%"><col style="width:10%"><col style="width:14%"><col style="width:12%">'
                 '<col style="width:5%"><col style="width:24%"></colgroup>\n'
                 "<tr><th>claim</th><th>status</th><th>measured [95% interval]</th><th>reported; band</th>"
                 "<th>PRE (citation audit)</th><th>protocol</th><th title=\"confidence\">conf.</th><th>reason</th></tr>\n")
    parts += [_html_row(r) + "\n" for r in rows]
    if not rows:
        parts.append('<tr><td colspan="8" class="none">no verdicts in this folder</td></tr>\n')
    parts.append("</table>\n")
    if data["write_errors"]:
        parts.append("<h2>Artifacts not written</h2>\n" + _html_value(data["write_errors"]) + "\n")
    if data["problems"]:
        parts.append("<h2>Problems reading this folder</h2>\n" + _html_value(data["problems"]) + "\n")
    parts.append("<h2>Run manifest</h2>\n")
    if data["manifest"]:
        parts.append('<table class="kv">' + "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>"
                                                    for k, v in _manifest_items(data["manifest"])) + "</table>\n")
    else:
        parts.append('<p class="none">no manifest.json in this folder</p>\n')
    parts.append("</body>\n</html>\n")
    return "".join(parts)


def _html_gate(gate) -> str:
    if not isinstance(gate, dict):
        return f'<div class="gate"><h2>Gate</h2>{_html_value(gate)}</div>\n'
    passed = _gate_passed(gate)
    colour = STATUS_COLOURS["reproduced"] if passed else STATUS_COLOURS["not_reproduced"] if passed is False \
        else UNKNOWN_COLOUR
    word = "PASS" if passed else "FAIL" if passed is False else "?"
    exit_code = f" (exit {_e(gate['exit_code'])})" if "exit_code" in gate else ""
    out = [f'<div class="gate" style="border-left:6px solid {colour}">'
           f'<h2>Gate: <span class="verdict" style="background:{colour}">{word}</span>{exit_code}</h2>']
    for k, v in _gate_sections(gate):
        out.append(f"<h3>{_e(_title(k))}</h3>{_html_value(v)}")
    out.append("</div>\n")
    return "".join(out)


# ---------------------------------------------------------------------- entry points
def render(reports_dir: Path) -> dict[str, Path]:
    """Write ``summary.md`` and ``index.html`` into ``reports_dir``; returns their paths by file name."""
    reports_dir = Path(reports_dir)
    data = load(reports_dir)
    try:
        png, note = plot_png(data["rows"])
    except Exception as exc:  # a plotting bug must not cost the report
        png, note = None, f"plot failed: {type(exc).__name__}: {exc}"
    return {
        "summary.md": write_atomic(reports_dir / "summary.md", markdown(data)),
        "index.html": write_atomic(reports_dir / "index.html", html_page(data, png, note)),
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] in ("-h", "--help"):
        print("usage: python -m harness.report.render REPORTS_DIR", file=sys.stderr)
        return 2
    for path in render(Path(args[0])).values():
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
