"""Geometry of the report's plots, drawn as inline SVG by the template (no plotting library).

Horizontal positions are percentages of the plot's width, so the template draws them with
``x="37.5%"`` in an SVG of ``width="100%"``: the plot takes whatever width the screen has (390 px
phones included) while text stays at its CSS size and markers stay round. Vertical positions
are pixels. Every function here is pure and linear in the rows it gets.
"""

from __future__ import annotations

import math

from harness.report import summary as sm
from harness.report.summary import bounded, fmt

BAND_FILL = "#b0bec5"      # the reported band: one colour, used for nothing else on the page
BAND_EDGE = "#78909c"


# ---------------------------------------------------------------------- axes
def nice_ticks(lo: float, hi: float, most: int = 5) -> list[float]:
    """At most ``most`` round values (1, 2 or 5 times a power of ten) covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0) * 0.01
    raw = (hi - lo) / max(most - 1, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    out, t = [], first
    while t <= hi + step * 1e-9 and len(out) < most + 2:
        out.append(0.0 if abs(t) < step * 1e-9 else t)
        t += step
    return out


def _tick_text(t: float, ticks: list[float]) -> str:
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else abs(t) or 1.0
    decimals = max(0, -int(math.floor(math.log10(step) + 1e-9)))
    return f"{t:.{decimals}f}"


class Axis:
    """Maps values to percentages of the width, with a margin so markers at the ends stay whole."""

    def __init__(self, values: list[float], *, include: tuple[float, ...] = (), margin: float = 3.0):
        vals = [v for v in list(values) + list(include) if v is not None and math.isfinite(v)]
        lo, hi = (min(vals), max(vals)) if vals else (0.0, 1.0)
        pad = (hi - lo) * 0.06 or (abs(hi) or 1.0) * 0.01
        self.lo, self.hi = lo - pad, hi + pad
        self.margin = margin
        self.ticks = [t for t in nice_ticks(self.lo, self.hi) if self.lo <= t <= self.hi]

    def x(self, v: float) -> float:
        span = self.hi - self.lo
        frac = (v - self.lo) / span if span else 0.5
        return round(self.margin + min(max(frac, 0.0), 1.0) * (100.0 - 2 * self.margin), 2)

    def tick_marks(self) -> list[dict]:
        out = []
        for t in self.ticks:
            x = self.x(t)
            anchor = "start" if x < 8 else "end" if x > 92 else "middle"
            out.append({"x": x, "text": _tick_text(t, self.ticks), "anchor": anchor})
        return out


# ---------------------------------------------------------------------- measured against reported
def split(rows: list[dict]) -> tuple[list[dict], list[dict], list[str]]:
    """(scores, relative, notes): bounded scores on one axis in their printed units; counts and
    other magnitudes as their deviation from the reported value, in % of it."""
    scores, relative, notes = [], [], []
    for r in rows:
        if r.get("measured") is None:
            continue
        if r["scale"] in ("percent", "fraction") or bounded(r.get("metric")):
            scores.append(r)
        elif r.get("reported"):
            relative.append(r)
        else:
            notes.append(f"{r['claim']}: no reported value to compare with, not plotted")
    return scores, relative, notes


def level_text(level) -> str:
    """'95 %' from 0.95; '' when the level is unknown (then no level is claimed)."""
    level = sm.num(level)
    return "" if level is None else f"{level * 100:g} %"


def _score_unit(rows: list[dict]) -> tuple[float, str]:
    """Scores are drawn in their printed units: % when any is printed in percent."""
    return (100.0, "%") if any(r["scale"] == "percent" for r in rows) or not rows else (1.0, "")


def _mark(r: dict, tr, axis: Axis, colour: str) -> dict:
    iv = r.get("interval")
    has_iv = bool(iv) and iv[0] != iv[1]
    band = r.get("band")
    return {
        "claim": r["claim"], "status": r["status"], "colour": colour,
        "band": None if not band else {"x": axis.x(tr(band[0])),
                                        "w": max(round(axis.x(tr(band[1])) - axis.x(tr(band[0])), 2), 0.4)},
        "interval": None if not has_iv else {"x1": axis.x(tr(iv[0])), "x2": axis.x(tr(iv[1]))},
        "reported": None if r.get("reported") is None else axis.x(tr(r["reported"])),
        "measured": axis.x(tr(r["measured"])),
    }


def _value_text(r: dict) -> str:
    text = sm.show(r, r["measured"])
    iv = r.get("interval")
    if iv and iv[0] != iv[1]:
        level = level_text(r.get("level"))
        text += " " + sm.interval_text(iv, r["scale"], r.get("decimals")) + (f" at {level}" if level else "")
    if r.get("reported") is not None:
        text += f" vs {sm.printed(r)}"
    return text


def panels(rows: list[dict], colour) -> tuple[list[dict], str | None]:
    """The overview plot's panels (each: title, axis label, ticks, one mark per claim) and a note
    on what was left out. ``colour(status)`` gives a status's colour."""
    scores, relative, notes = split(rows)
    out = []
    if relative:
        def rel(v, r):
            return (v - r["reported"]) / abs(r["reported"]) * 100.0

        values = [rel(v, r) for r in relative for v in _values(r)]
        axis = Axis(values, include=(0.0,))
        marks = []
        for r in relative:
            m = _mark(r, lambda v, r=r: rel(v, r), axis, colour(r["status"]))
            dev = rel(r["measured"], r)
            m["text"] = f"{dev:+.1f} % ({sm.show(r, r['measured'])} vs {sm.printed(r)})"
            marks.append(m)
        out.append({"id": "relative", "title": "Counts and other magnitudes",
                    "axis": "measured \u2212 reported, in % of the reported value", "ticks": axis.tick_marks(),
                    "zero": axis.x(0.0), "marks": marks})
    if scores:
        k, unit = _score_unit(scores)
        axis = Axis([v * k for r in scores for v in _values(r)])
        marks = []
        for r in scores:
            m = _mark(r, lambda v: v * k, axis, colour(r["status"]))
            m["text"] = _value_text(r)
            marks.append(m)
        levels = sorted({level_text(r.get("level")) for r in scores if r.get("interval")} - {""})
        iv = f"interval at {' or '.join(levels)}" if levels else "interval"
        out.append({"id": "scores", "title": "Scores (accuracy, F1, ...)",
                    "axis": f"score{', ' + unit if unit else ''}: measured with its {iv}; the grey band is what "
                            "the printed value allows", "ticks": axis.tick_marks(), "zero": None, "marks": marks})
    if not out:
        return [], "no claim has a measurement to plot" + (f" ({'; '.join(notes)})" if notes else "")
    return out, ("; ".join(notes) or None)


def _values(r: dict) -> list[float]:
    vals = [r["measured"]]
    for key in ("interval", "band"):
        if r.get(key):
            vals += list(r[key])
    if r.get("reported") is not None:
        vals.append(r["reported"])
    return vals


# ---------------------------------------------------------------------- history
HISTORY_HEIGHT = 120
_TOP, _BOTTOM = 14, 22     # room for the y labels above the first grid line and the run labels below


def history(points: list[dict], scale: str, colour) -> dict | None:
    """A claim's measured value and interval over runs (x: run index, oldest first), the band
    behind each run; None with fewer than two measured runs."""
    from harness.report.history import version_changes

    pts = [p for p in points if sm.num(p.get("measured")) is not None]
    if len(pts) < 2:
        return None
    k = {"percent": 100.0, "millions": 1e-6}.get(scale, 1.0)
    vals = []
    for p in pts:
        vals.append(p["measured"] * k)
        for key in ("interval", "band"):
            if p.get(key):
                vals += [v * k for v in p[key]]
    lo, hi = min(vals), max(vals)
    pad = (hi - lo) * 0.08 or (abs(hi) or 1.0) * 0.01
    lo, hi = lo - pad, hi + pad
    inner = HISTORY_HEIGHT - _TOP - _BOTTOM

    def y(v):
        return round(_TOP + (hi - v * k) / (hi - lo) * inner, 1)

    n = len(pts)
    step = 88.0 / max(n - 1, 1)

    def x(i):
        return round(6.0 + i * step, 2)

    ticks = [t for t in nice_ticks(lo, hi, 5) if lo <= t <= hi]
    label_every = max(1, math.ceil(n / 12))     # at most about a dozen run labels under the axis
    out_pts = []
    for i, p in enumerate(pts):
        when = _when(p.get("started"))
        band = p.get("band")
        iv = p.get("interval")
        out_pts.append({
            "x": x(i), "y": y(p["measured"]), "colour": colour(p["status"]), "label": f"#{i + 1}",
            "show_label": i % label_every == 0 or i == n - 1,
            "band": None if not band else _history_band(x(i), min(step * 0.8, 10.0), y(band[1]), y(band[0])),
            "interval": None if not iv or iv[0] == iv[1] else {"y1": y(iv[1]), "y2": y(iv[0])},
            "title": f"run #{i + 1}, {when}: {p['status']}, {fmt(p['measured'], scale)}"})
    changes = [{"x": round(x(i) - step / 2, 2), "text": f"before #{i + 1}: {text}"} for i, text in version_changes(pts)]
    return {"height": HISTORY_HEIGHT, "points": out_pts, "changes": changes,
            "ticks": [{"y": round(_TOP + (hi - t) / (hi - lo) * inner, 1), "text": _tick_text(t, ticks)}
                      for t in ticks],
            "unit": {"percent": "%", "millions": "M"}.get(scale, ""),
            "first": _when(pts[0].get("started")), "last": _when(pts[-1].get("started")), "runs": n,
            "base_y": HISTORY_HEIGHT - _BOTTOM}


def _history_band(x: float, width: float, top: float, bottom: float) -> dict:
    """The band behind one run: centred on the run, kept inside the plot, at least 3 px tall."""
    left, right = max(0.0, x - width / 2), min(100.0, x + width / 2)
    height = max(bottom - top, 3.0)
    return {"x": round(left, 2), "w": round(right - left, 2), "y": round((top + bottom) / 2 - height / 2, 1),
            "h": round(height, 1)}


def _when(started) -> str:
    """A run's start to the second (two runs in one minute stay apart): '2026-12-05 21:14:53'."""
    text = str(started or "?").replace("T", " ")
    for suffix in ("+00:00", "Z"):
        if text.endswith(suffix):
            return _to_second(text[: -len(suffix)]) + " UTC"
    return _to_second(text)


def _to_second(text: str) -> str:
    """Milliseconds dropped from a shown time (kept in the files: they tell runs of one second apart)."""
    head, dot, tail = text.partition(".")
    return head if dot and tail.isdigit() else text


def history_svg(h: dict, claim: str) -> str:
    """The history plot as inline SVG markup (built here, not in the template: a catalogue of
    thousands draws one per claim, and string building keeps that to milliseconds)."""
    from markupsafe import Markup, escape

    parts = [f'<svg class="hist" height="{h["height"]}" role="img" aria-label="measured value with interval '
             f'over runs"><title>{escape(claim)}: measured value with interval over {h["runs"]} runs</title>']
    for t in h["ticks"]:
        parts.append(f'<line class="grid" x1="0" x2="100%" y1="{t["y"]}" y2="{t["y"]}"/>'
                     f'<text x="0" y="{t["y"] - 2}">{escape(t["text"])}{escape(h["unit"])}</text>')
    for c in h["changes"]:
        parts.append(f'<line x1="{c["x"]}%" x2="{c["x"]}%" y1="0" y2="{h["base_y"]}" stroke="#6a1b9a" '
                     f'stroke-width="1" stroke-dasharray="4 3"><title>{escape(c["text"])}</title></line>')
    for p in h["points"]:
        parts.append(f'<g><title>{escape(p["title"])}</title>')
        if p["band"]:
            b = p["band"]
            parts.append(f'<rect x="{b["x"]}%" width="{b["w"]}%" y="{b["y"]}" height="{b["h"]}" fill="{BAND_FILL}" '
                         'opacity="0.7"/>')
        if p["interval"]:
            parts.append(f'<line x1="{p["x"]}%" x2="{p["x"]}%" y1="{p["interval"]["y1"]}" y2="{p["interval"]["y2"]}" '
                         f'stroke="{escape(p["colour"])}" stroke-width="3"/>')
        parts.append(f'<circle cx="{p["x"]}%" cy="{p["y"]}" r="4.5" fill="{escape(p["colour"])}" stroke="#fff" '
                     'stroke-width="1"/>')
        if p["show_label"]:
            parts.append(f'<text x="{p["x"]}%" y="{h["height"] - 6}" text-anchor="middle">{escape(p["label"])}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("\n".join(parts))
