"""Human-readable reports of a reports folder: ``summary.md`` and a self-contained ``index.html``.

Reads ``verdicts/*.json`` (the artifacts), and where present ``summary.json``, ``manifest.json``,
``gate.json`` and the run history (``history.sqlite``). The HTML comes from a jinja2 template
with autoescaping (``templates/index.html``); it has no scripts and loads nothing: plots are
inline PNGs drawn with matplotlib's Agg canvas. Links out (arXiv, model cards) are plain
``href``s, http(s) only. jinja2 and matplotlib are imported only when rendering.

Usage: ``render(Path("reports"))`` or ``python -m harness.report.render reports``.
"""

from __future__ import annotations

import base64
import io
import json
import re
import shlex
import sys
from pathlib import Path
from urllib.parse import quote, urlparse

from harness.report import summary as sm
from harness.report.artifacts import write_atomic
from harness.report.summary import bounded, counts, fmt, measured_text, reported_text
from harness.statuses import ALL, BLOCKED, ERROR, INCONCLUSIVE, MISCITED, NOT_REPRODUCED, REPRODUCED

STATUS_COLOURS = {
    REPRODUCED: "#2e7d32",      # green
    NOT_REPRODUCED: "#c62828",  # red
    MISCITED: "#ef6c00",        # orange
    INCONCLUSIVE: "#757575",    # grey
    BLOCKED: "#546e7a",         # blue-grey
    ERROR: "#7f0000",           # dark red
}
PRE_COLOURS = {"citation_verified": "#2e7d32", "citation_mismatch": "#ef6c00", "citation_unchecked": "#757575"}
UNKNOWN_COLOUR = "#37474f"
TEMPLATES = Path(__file__).with_name("templates")


# ---------------------------------------------------------------------- reading
def _read_json(path: Path):
    """(data, None) or (None, why) for an optional JSON file; (None, None) when absent."""
    if not path.is_file():
        return None, None
    try:
        return json.loads(path.read_text(encoding="utf-8")), None
    except (OSError, ValueError) as exc:
        return None, f"{path.name}: unreadable ({type(exc).__name__}: {exc})"


def _short(text, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


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


def safe_url(url) -> str | None:
    """http(s) and relative links only: javascript:, data: and the like are dropped."""
    if not isinstance(url, str) or not url.strip() or any(c.isspace() or ord(c) < 32 for c in url.strip()):
        return None
    url = url.strip()
    parsed = urlparse(url)
    if parsed.scheme in ("http", "https") and parsed.netloc:
        return url
    if not parsed.scheme and not url.startswith("//") and ":" not in url.split("/")[0]:
        return url
    return None


def links(art: dict) -> list[tuple[str, str]]:
    """(label, url): the arXiv page of the cited version, the model card, the checkpoint's files."""
    out = []
    claim = art.get("claim") or {}
    cit = claim.get("citation") or {}
    paper = cit.get("paper") or (art.get("paper") or {}).get("arxiv_id")
    if paper and re.fullmatch(r"[0-9]{4}\.[0-9]{4,5}", str(paper)):
        version = cit.get("version") or (art.get("latest_version") or {}).get("version")
        vid = f"{paper}v{int(version)}" if isinstance(version, int) else str(paper)
        out.append((f"arXiv:{vid}", f"https://arxiv.org/abs/{vid}"))
    if cit.get("source") == "model_card" and safe_url(cit.get("url")):
        out.append(("model card", cit["url"]))
    ckpt = (claim.get("measure") or {}).get("checkpoint") or {}
    repo = ckpt.get("repo")
    if isinstance(repo, str) and re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", repo):
        out.append((f"{repo} (hub)", f"https://huggingface.co/{repo}"))
        rev = ckpt.get("revision")
        if isinstance(rev, str) and re.fullmatch(r"[0-9a-f]{40}", rev):
            out.append((f"files at {rev[:12]}", f"https://huggingface.co/{repo}/tree/{rev}"))
    return out


def _looks(stats: dict, scale: str, places: int | None = None) -> list[dict]:
    """Every slice size tried (statistics.looks), defensively: old artifacts have none."""
    out = []
    for look in stats.get("looks") or []:
        if not isinstance(look, dict):
            continue
        iv = sm.pair(look.get("interval"))
        level = sm.num(look.get("level"))
        out.append({"n": look.get("n"), "estimate": fmt(look.get("estimate"), scale, places),
                    "interval": (sm.interval_text(iv, scale, places) if iv else "-") + (f" at {level:.1%}" if level else ""),
                    "status": str(look.get("status", "-"))})
    return out


def detail(art: dict, r: dict) -> dict:
    """What the per-claim section shows beyond the table row."""
    stats = art.get("statistics") if isinstance(art.get("statistics"), dict) else {}
    protocol = art.get("protocol") or {}
    measurement = art.get("measurement") or {}
    needed = stats.get("slice_size_needed")
    facts = [("metric", r.get("metric")), ("printed units", r["scale"]),
             ("reported (as printed)", sm.printed(r)), ("band", sm.interval_text(r.get("band"), r["scale"], r.get("decimals"))),
             ("tolerance", sm.show(r, r.get("tolerance")) if r.get("tolerance") is not None else "-"),
             ("run-to-run margin", sm.show(r, _band_part(stats, "run_margin"))
              if _band_part(stats, "run_margin") else None),
             ("measured", measured_text(r, with_n=True)),
             ("confidence", "-" if r.get("confidence") is None else f"{r['confidence']:.3f}"),
             ("slice size that would decide", str(needed) if needed is not None and r["status"] == INCONCLUSIVE
              else None),
             ("device", measurement.get("device_name") or measurement.get("device")),
             ("dtype", measurement.get("dtype")),
             ("checkpoint", _checkpoint_text(measurement, art)),
             ("protocol match", protocol.get("match"))]
    return {"id": "claim-" + re.sub(r"[^A-Za-z0-9_-]+", "-", r["claim"]), "facts": [(k, v) for k, v in facts
                                                                                   if _meaningful(v)],
            "deviations": [_deviation(d) for d in protocol.get("deviations") or []],
            "looks": _looks(stats, r["scale"], r.get("decimals")), "links": links(art), "history_png": None, "history_note": None}


def _band_part(stats: dict, key: str):
    band = stats.get("band") if isinstance(stats.get("band"), dict) else {}
    return sm.num(band.get(key))


def _checkpoint_text(measurement: dict, art: dict) -> str | None:
    ck = measurement.get("checkpoint") or ((art.get("claim") or {}).get("measure") or {}).get("checkpoint") or {}
    if not isinstance(ck, dict) or not ck.get("repo"):
        return None
    rev = ck.get("revision") or ck.get("revision_seen")
    return f"{ck['repo']}@{rev}" if rev else str(ck["repo"])


def row_from_artifact(art: dict, artifact_path: str | None) -> dict:
    """One display row (harness.report.summary.row) plus what the report adds."""
    r = sm.row(art, artifact_path)
    r.update({
        "deviations": [_deviation(d) for d in (art.get("protocol") or {}).get("deviations") or []],
        "notes": [], "detail": detail(art, r)})
    return r


def _row_from_summary(r: dict) -> dict:
    out = sm.from_summary(r)
    out.update({"deviations": [], "notes": [], "detail": None})
    return out


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
    found = _verdicts(reports_dir)
    problems += found.problems
    cut_short = found.cut_short
    if cut_short:
        problems.insert(0, f"{cut_short}: these verdicts are what it wrote before it stopped")
    for cid, art in sorted(found.verdicts.items()):
        path = found.files[cid]
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
    if gate is not None and _older_than_run(reports_dir / "gate.json", summary):
        problems.append("gate.json predates this run's summary.json: it is an earlier run's gate and is not "
                        "shown as this run's")
        gate = None
    return {"rows": rows, "summary": summary, "manifest": manifest if isinstance(manifest, dict) else None,
            "gate": gate, "problems": problems, "write_errors": write_errors, "cut_short": cut_short}


def _verdicts(reports_dir: Path):
    """The folder's verdicts through the one reader (harness.report.verdicts), leniently: a bad
    file is a problem listed on the page, never a page lost."""
    from harness.report.verdicts import Folder, read

    if not (reports_dir / "verdicts").is_dir():
        out = Folder(reports_dir)
        try:
            from harness.report.verdicts import read_run

            out.run = read_run(reports_dir)
        except Exception as exc:  # noqa: BLE001 - the page still shows what it can
            out.problems.append(str(exc))
        return out
    return read(reports_dir, lenient=True)


def _older_than_run(path: Path, summary: dict | None) -> bool:
    """True when the file was written before the run that summary.json describes started."""
    import datetime as _dt

    started = (summary or {}).get("started")
    if not started:
        return False
    try:
        start = _dt.datetime.fromisoformat(str(started).replace("Z", "+00:00"))
        if start.tzinfo is None:
            start = start.replace(tzinfo=_dt.timezone.utc)
        written = _dt.datetime.fromtimestamp(path.stat().st_mtime, _dt.timezone.utc)
    except (ValueError, OSError):
        return False
    return written < start - _dt.timedelta(seconds=1)


# ---------------------------------------------------------------------- formatting
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
        if r["scale"] in ("percent", "fraction") or bounded(r["metric"]):
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
        panels.append(("score", scores, "Scores (accuracy, F1, ...): measured with its interval (each at its own level), in %"))
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
    order = {s: i for i, s in enumerate(ALL)}
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
        return f"{rel:+.1f}%  ({sm.show(r, r['measured'])} vs {sm.printed(r)})"
    text = f"{r['measured'] * 100:.1f}"
    if r["interval"] and r["interval"][0] != r["interval"][1]:
        text += f" [{r['interval'][0] * 100:.1f}, {r['interval'][1] * 100:.1f}]"
    if r["reported"] is not None:
        text += f" vs {r['reported'] * 100:.1f}"
    return text


# ---------------------------------------------------------------------- markdown
def _md(text) -> str:
    """Plain text for a markdown table cell: no markup, no links (brackets escaped)."""
    return (" ".join(str(text).split()).replace("\\", "\\\\").replace("|", "\\|")
            .replace("<", "&lt;").replace(">", "&gt;").replace("[", "\\[").replace("]", "\\]"))


def _md_link(label, url) -> str:
    """A markdown link only for http(s) and relative targets; anything else becomes plain text."""
    target = safe_url(url)
    if target is None:
        return _md(label)
    return f"[{_md(label)}](<{quote(target, safe=':/?#=&%@+~.,;!*$' + chr(39) + '-_')}>)"


def _md_links(r: dict) -> str:
    d = r.get("detail") or {}
    parts = [_md_link(label, url) for label, url in d.get("links", [])]
    if r.get("artifact"):
        parts.append(_md_link("JSON", r["artifact"]))
    return "".join(f"<br>{p}" for p in parts)


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
    if data.get("cut_short"):
        out += [f"**This run did not finish**: {_md(data['cut_short'])}.", ""]
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
            "| claim | status | measured [interval] at its level | reported; band | PRE (citation audit) | protocol "
            "| confidence | reason |",
            "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        claim = "`" + r["claim"].replace("`", "'") + "`" + _md_links(r)
        status = "**" + _md(r["status"]) + "**" + "".join(f"<br>{_md(x)}" for x in sm.status_notes(r))
        pre = _md(r["pre"] or "-") + (f": {_md(_short(r['pre_finding'], 160))}" if r["pre_finding"] else "")
        proto = _md(r["protocol_match"] or "-") + "".join(f"<br>{_md(d)}" for d in r["deviations"])
        conf = "-" if r["confidence"] is None else f"{r['confidence']:.2f}"
        reason = _md(r["reason"]) + "".join(f" ({_md(n)})" for n in r["notes"])
        out.append(f"| {claim} | {status} | {_md(measured_text(r, with_n=True))} | {_md(reported_text(r))} | {pre} | {proto} "
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
def _png_uri(png: bytes | None) -> str | None:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii") if png else None


def _environment():
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["safe_url"] = safe_url
    env.globals.update(colour=lambda s: STATUS_COLOURS.get(s, UNKNOWN_COLOUR),
                       pre_colour=lambda s: PRE_COLOURS.get(s or "", UNKNOWN_COLOUR),
                       measured_text=lambda r: measured_text(r, with_n=True), reported_text=reported_text,
                       status_extra=sm.status_notes, short=_short, title=_title, kind_of=_kind_of)
    return env


def _kind_of(v) -> str:
    if isinstance(v, dict):
        return "dict"
    if isinstance(v, list):
        return "table" if v and all(isinstance(x, dict) for x in v) else "list"
    return "none" if v is None else "scalar"


def html_page(data: dict, png: bytes | None, plot_note: str | None) -> str:
    rows = data["rows"]
    c = counts(rows)
    gate = data["gate"]
    return _environment().get_template("index.html").render(
        rows=rows, counts=c, total=sum(c.values()), stale=sum(1 for r in rows if r.get("stale")),
        cut_short=data.get("cut_short"),
        run=_run_line(data), gate=gate, gate_passed=_gate_passed(gate) if isinstance(gate, dict) else None,
        gate_sections=_gate_sections(gate) if isinstance(gate, dict) else [], plot=_png_uri(png),
        plot_note=plot_note, write_errors=data["write_errors"], problems=data["problems"],
        manifest=_manifest_items(data["manifest"]) if data["manifest"] else None, history_runs=data.get("history_runs", 0),
        matrix=data.get("matrix", False))


# ---------------------------------------------------------------------- history plot
def history_png(points: list[dict], scale: str) -> bytes | None:
    """A claim's measured value with its interval over runs, the band shaded, version changes marked."""
    from harness.report.history import version_changes

    pts = [p for p in points if sm.num(p.get("measured")) is not None]
    if len(pts) < 2:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    k = {"percent": 100.0, "millions": 1e-6}.get(scale, 1.0)
    unit = {"percent": "%", "millions": "M"}.get(scale, "")
    fig = Figure(figsize=(6.4, 2.2), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    xs = list(range(len(pts)))
    for x, p in zip(xs, pts):
        colour = STATUS_COLOURS.get(p["status"], UNKNOWN_COLOUR)
        if p.get("band"):
            ax.fill_between([x - 0.4, x + 0.4], p["band"][0] * k, p["band"][1] * k, color="#cfd8dc", zorder=1)
        if p.get("interval"):
            ax.plot([x, x], [p["interval"][0] * k, p["interval"][1] * k], color=colour, lw=3, zorder=2)
        ax.plot([x], [p["measured"] * k], "o", color=colour, markeredgecolor="white", zorder=3)
    for i, text in version_changes(pts):
        ax.axvline(i - 0.5, color="#6a1b9a", lw=1, ls="--", zorder=0)
        ax.annotate(_short(text, 40), xy=(i - 0.45, 1.0), xycoords=("data", "axes fraction"), va="top",
                    fontsize=7, color="#6a1b9a")
    ax.set_xticks(xs)
    ax.set_xticklabels([str(p["started"])[:16].replace("T", " ") for p in pts], fontsize=7, rotation=20,
                       ha="right")
    ax.set_ylabel(f"measured {unit}".strip(), fontsize=8)
    ax.tick_params(axis="y", labelsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def _attach_history(data: dict, db: Path | None) -> None:
    from harness.report import history

    try:
        past = history.load(db) if db else {}
    except Exception as exc:  # noqa: BLE001 - an unreadable history must not cost the report
        data["problems"].append(f"history {db}: unreadable ({type(exc).__name__}: {exc})")
        return
    data["history_runs"] = len({p["run"] for pts in past.values() for p in pts})
    for r in data["rows"]:
        d = r.get("detail")
        points = past.get(r["claim"], [])
        if d is None or not points:
            continue
        try:
            d["history_png"] = _png_uri(history_png(points, r["scale"]))
        except Exception as exc:  # noqa: BLE001
            d["history_note"] = f"history plot failed: {type(exc).__name__}: {exc}"
        if d["history_png"] is None and d["history_note"] is None:
            d["history_note"] = f"{len(points)} run(s) recorded; the plot starts with two"


# ---------------------------------------------------------------------- entry points
def render(reports_dir: Path, history: Path | None = None) -> dict[str, Path]:
    """Write ``summary.md`` and ``index.html`` into ``reports_dir``; returns their paths by file name.

    ``history``: the run-history SQLite file (default ``reports_dir/history.sqlite`` when present).
    """
    reports_dir = Path(reports_dir)
    data = load(reports_dir)
    _attach_history(data, Path(history) if history else reports_dir / "history.sqlite")
    try:
        png, note = plot_png(data["rows"])
    except Exception as exc:  # a plotting bug must not cost the report
        png, note = None, f"plot failed: {type(exc).__name__}: {exc}"
    from harness.report import matrix

    grid, matrix_page = matrix.write(reports_dir, data["rows"], _run_line(data))   # claims x checkpoints
    data["matrix"] = grid is not None
    md, page = markdown(data), html_page(data, png, note)
    if grid is not None:
        md += "\n" + "\n".join(matrix.markdown(grid))
    return {
        "summary.md": write_atomic(reports_dir / "summary.md", md),
        "index.html": write_atomic(reports_dir / "index.html", page),
        **({matrix.PAGE: matrix_page} if matrix_page else {}),
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
