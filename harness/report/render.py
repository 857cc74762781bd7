"""Human-readable reports of a reports folder: ``summary.md`` and self-contained HTML pages.

Reads ``verdicts/*.json`` (the artifacts), and where present ``summary.json``, ``manifest.json``,
``gate.json`` and the run history (``history.sqlite``). The HTML comes from a jinja2 template
with autoescaping (``templates/index.html``); it has no scripts and loads nothing: plots are
inline SVG drawn by the template from ``harness.report.plots`` (no plotting library), sized to
the screen. ``index.html`` holds the run's overview and the first ``PAGE_SIZE`` claims, failing
ones first; further claims go to ``pages/claims-N.html``, so the first page stays small for
catalogues of thousands. Links out (arXiv, model cards) are plain ``href``s, http(s) only.
jinja2 is imported only when rendering.

Usage: ``render(Path("reports"))`` or ``python -m harness.report.render reports``.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path
from urllib.parse import quote, urlparse

from markupsafe import Markup, escape

from harness.report import plots
from harness.report import summary as sm
from harness.report.next_steps import for_claim as next_step
from harness.report.artifacts import write_atomic
from harness.report.summary import counts, fmt, measured_text, reported_text
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


# Any white space (str.isspace's set: regex \s in a str pattern is the same Unicode property), a
# control character (C0, DEL, C1) or a backslash anywhere in a link refuses it.
_URL_REFUSED = re.compile(r"[\s\x00-\x1f\x7f-\x9f\\]")


def safe_url(url) -> str | None:
    """http(s) links to a named host and relative links only; anything a browser could read as
    another origin or a script is dropped.

    What browsers do that a plain parse misses: they drop tabs and newlines anywhere (refused:
    no white space or control character at all), read a backslash as a slash (``/\\host``,
    ``\\\\host`` and ``https:\\\\host`` are scheme-relative or absolute: refused, as is any
    backslash), take ``//host`` as another site (refused) and show ``https://a.org@evil`` as a.org
    while opening evil (refused: no user part)."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    if not url or _URL_REFUSED.search(url):
        return None
    parsed = urlparse(url)
    if parsed.scheme in ("http", "https"):
        return url if parsed.netloc and "@" not in parsed.netloc and url.lower().startswith(parsed.scheme + "://") \
            else None
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
        level = plots.level_text(look.get("level"))
        out.append({"n": look.get("n"), "estimate": fmt(look.get("estimate"), scale, places),
                    "interval": (sm.interval_text(iv, scale, places) if iv else "-") + (f" at {level}" if iv and level else ""),
                    "status": str(look.get("status", "-"))})
    return out


def interval_level(stats: dict) -> float | None:
    """The confidence level of the verdict's interval: the artifact's ``statistics.level`` when it
    carries one, else the level of the last look that has an interval (the one the verdict used)."""
    level = sm.num(stats.get("level"))
    if level is not None:
        return level
    for look in reversed([x for x in stats.get("looks") or [] if isinstance(x, dict)]):
        if sm.pair(look.get("interval")) and sm.num(look.get("level")) is not None:
            return sm.num(look["level"])
    return None


def detail(art: dict, r: dict) -> dict:
    """What the per-claim section shows beyond the table row."""
    stats = art.get("statistics") if isinstance(art.get("statistics"), dict) else {}
    protocol = art.get("protocol") or {}
    measurement = art.get("measurement") or {}
    needed = stats.get("slice_size_needed")
    level = plots.level_text(r.get("level"))
    facts = [("metric", r.get("metric")), ("printed units", r["scale"]),
             ("reported (as printed)", sm.printed(r)),
             ("band", sm.interval_text(r.get("band"), r["scale"], r.get("decimals"))),
             ("tolerance", sm.show(r, r.get("tolerance")) if r.get("tolerance") is not None else "-"),
             ("run-to-run margin", sm.show(r, _band_part(stats, "run_margin"))
              if _band_part(stats, "run_margin") else None),
             ("measured", measured_text(r, with_n=True)),
             ("interval level", level if r.get("interval") and r["interval"][0] != r["interval"][1] else None),
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
            "looks": _looks(stats, r["scale"], r.get("decimals")), "links": links(art), "history": None, "history_note": None}


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
    stats = art.get("statistics") if isinstance(art.get("statistics"), dict) else {}
    if r.get("level") is None:
        r["level"] = interval_level(stats)
    r.update({
        "deviations": [_deviation(d) for d in (art.get("protocol") or {}).get("deviations") or []],
        "notes": [], "next": next_step(art, r), "detail": detail(art, r)})
    return r


def _row_from_summary(r: dict) -> dict:
    out = sm.from_summary(r)
    out.update({"deviations": [], "notes": [], "detail": None})
    out["next"] = next_step({}, out)
    return out


def load(reports_dir: Path, found=None) -> dict:
    """Everything the renderers need from a reports folder; ``found``: its verdicts as the caller
    read them already (``harness.report.verdicts.read``, the whole folder), not read again."""
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
    found = _verdicts(reports_dir) if found is None else found
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
        if r.get("next") and r["status"] != REPRODUCED:
            reason += f"<br>next: {_md(r['next'])}"
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
PAGE_SIZE = 100          # claims per page: index.html holds the first page, pages/ the rest
LIST_CAP = 50            # items of a gate or problem list shown before "... N more"
ATTENTION_CAP = 10       # failing claims listed at the top of index.html
PAGES = "pages"
# The order a reader after a failed run wants: what failed first, what passed last.
ATTENTION_ORDER = {ERROR: 0, NOT_REPRODUCED: 1, MISCITED: 2, INCONCLUSIVE: 3, BLOCKED: 4, REPRODUCED: 5}
_NUMBER = re.compile(r"(?<![\w.])[-+\u2212]?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?(?: ?%|M)?(?![\w])")


def _breakable(text) -> str:
    """Escaped text that may wrap after a slash (paths, claim ids) or before an @ (repo@revision)."""
    return str(escape(text)).replace("/", "/<wbr>").replace("@", "<wbr>@")


def _keep_number(m) -> str:
    return f'<span class="n">{m.group()}</span>' if " " in m.group() else m.group()


def rich(text) -> Markup:
    """Escaped text for the page: a number and its unit ("58.33 %") never split, paths wrap at
    slashes, nothing else changes (digits alone never break; only the space before a unit could)."""
    out = _breakable("" if text is None else text)
    if " %" in out:
        out = _NUMBER.sub(_keep_number, out)
    return Markup(out)


def snake(text) -> Markup:
    """Like ``rich``, and identifiers may also wrap after an underscore (for narrow columns)."""
    return Markup(str(rich(text)).replace("_", "_<wbr>"))


def breakable(text) -> Markup:
    return Markup(_breakable("" if text is None else text))


_DICT_METHODS = frozenset(dir(dict))


def _environment():
    import jinja2

    class Environment(jinja2.Environment):
        """``row.status`` on a dict looks the key up first: jinja's default tries the attribute
        and pays an exception per lookup, a third of the time of a page of a hundred claims."""

        def getattr(self, obj, attribute):
            if type(obj) is dict and attribute not in _DICT_METHODS:
                try:
                    return obj[attribute]
                except KeyError:
                    pass
            return super().getattr(obj, attribute)

    env = Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                      undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(safe_url=safe_url, rich=rich, brk=breakable, snake=snake)
    env.globals.update(colour=lambda s: STATUS_COLOURS.get(s, UNKNOWN_COLOUR),
                       pre_colour=lambda s: PRE_COLOURS.get(s or "", UNKNOWN_COLOUR),
                       measured_text=lambda r: measured_text(r, with_n=True), reported_text=reported_text,
                       status_extra=sm.status_notes, short=_short, title=_title, kind_of=_kind_of,
                       band_fill=plots.BAND_FILL, band_edge=plots.BAND_EDGE, level_text=plots.level_text,
                       history_svg=plots.history_svg)
    return env


def _kind_of(v) -> str:
    if isinstance(v, dict):
        return "dict"
    if isinstance(v, list):
        return "table" if v and all(isinstance(x, dict) for x in v) else "list"
    return "none" if v is None else "scalar"


def _capped(v, cap: int = LIST_CAP):
    """A long list cut to ``cap`` items and a line saying how many more the JSON holds."""
    if isinstance(v, list) and len(v) > cap:
        return v[:cap] + [f"... {len(v) - cap} more (see the JSON file)"]
    if isinstance(v, dict):
        return {k: _capped(x, cap) for k, x in v.items()}
    return v


def needs_attention(r: dict) -> bool:
    """A failing verdict this run's claim did not declare it expects (``expect:``)."""
    return not r.get("stale") and r["status"] in (ERROR, NOT_REPRODUCED, MISCITED) and r.get("expect") != r["status"]


def attention_key(r: dict):
    """Unexpected failures first, then by status (errors, misses, miscitations, ...), then by id."""
    return (1 if r.get("stale") else 0, 0 if needs_attention(r) else 1, ATTENTION_ORDER.get(r["status"], 0),
            r["claim"])


def page_name(number: int) -> str:
    """The file of page ``number`` (1-based), relative to the reports folder."""
    return "index.html" if number == 1 else f"{PAGES}/claims-{number}.html"


def _page_link(from_page: int, to_page: int) -> str:
    target = page_name(to_page)
    if from_page == 1:
        return target
    return "../" + target if to_page == 1 else target.split("/", 1)[1]


def _statuses_seen(rows: list[dict]) -> list[str]:
    order = {s: i for i, s in enumerate(ALL)}
    return sorted({r["status"] for r in rows}, key=lambda s: (order.get(s, len(order)), s))


def html_pages(data: dict) -> dict[str, str]:
    """Page name -> HTML: index.html with the run's overview and the first PAGE_SIZE claims, and
    one page per further PAGE_SIZE claims (each with its own plot and per-claim sections)."""
    rows = sorted(data["rows"], key=attention_key)
    c = counts(rows)
    gate = data["gate"]
    npages = max(1, -(-len(rows) // PAGE_SIZE))
    where = {r["claim"]: i // PAGE_SIZE + 1 for i, r in enumerate(rows)}
    failing = [r for r in rows if needs_attention(r)]
    template = _environment().get_template("index.html")
    common = dict(counts=c, total=sum(c.values()), stale=sum(1 for r in rows if r.get("stale")),
                  run=_run_line(data), npages=npages, page_size=PAGE_SIZE, nrows=len(rows),
                  history_runs=data.get("history_runs", 0), cut_short=data.get("cut_short"),
                  matrix=data.get("matrix", False))
    out = {}
    for number in range(1, npages + 1):
        chunk = rows[(number - 1) * PAGE_SIZE: number * PAGE_SIZE]
        try:
            panels, plot_note = plots.panels(chunk, lambda s: STATUS_COLOURS.get(s, UNKNOWN_COLOUR))
        except Exception as exc:  # noqa: BLE001 - a plotting bug must not cost the report
            panels, plot_note = [], f"plot failed: {type(exc).__name__}: {exc}"
        anchors = {r["claim"]: r["detail"]["id"] for r in chunk if r.get("detail")}
        for m in (m for p in panels for m in p["marks"]):
            m["anchor"] = anchors.get(m["claim"])
        first = number == 1
        root = "" if first else "../"
        out[page_name(number)] = template.render(
            **common, page=number, rows=chunk, root=root, first=first,
            pager=[{"number": k, "href": _page_link(number, k), "first": (k - 1) * PAGE_SIZE + 1,
                    "last": min(k * PAGE_SIZE, len(rows))} for k in range(1, npages + 1)],
            attention=[dict(r=r, href=("" if where[r["claim"]] == 1 else _page_link(1, where[r["claim"]]))
                            + "#" + r["detail"]["id"] if r.get("detail") else None)
                       for r in failing[:ATTENTION_CAP]] if first else [],
            more_failing=max(0, len(failing) - ATTENTION_CAP) if first else 0,
            gate=gate if first else None,
            gate_passed=_gate_passed(gate) if first and isinstance(gate, dict) else None,
            gate_sections=[(k, _capped(v)) for k, v in _gate_sections(gate)] if first and isinstance(gate, dict)
            else [],
            panels=panels, plot_note=plot_note, statuses_plotted=_statuses_seen(
                [m for p in panels for m in p["marks"]]),
            write_errors=_capped(data["write_errors"]) if first else {},
            problems=_capped(data["problems"]) if first else [],
            manifest=_manifest_items(data["manifest"]) if first and data["manifest"] else None)
    return out


def html_page(data: dict) -> str:
    """index.html alone (the first page)."""
    return html_pages(data)["index.html"]


# ---------------------------------------------------------------------- history
def _attach_history(data: dict, db: Path | None) -> None:
    from harness.report import history

    try:
        past = history.load(db) if db else {}
    except Exception as exc:  # noqa: BLE001 - an unreadable history must not cost the report
        data["problems"].append(f"history {db}: unreadable ({type(exc).__name__}: {exc})")
        return
    data["history_runs"] = len({p["run"] for pts in past.values() for p in pts})
    colour = lambda s: STATUS_COLOURS.get(s, UNKNOWN_COLOUR)  # noqa: E731
    for r in data["rows"]:
        d = r.get("detail")
        points = past.get(r["claim"], [])
        if d is None or not points:
            continue
        try:
            d["history"] = plots.history(points, r["scale"], colour)
        except Exception as exc:  # noqa: BLE001
            d["history_note"] = f"history plot failed: {type(exc).__name__}: {exc}"
            continue
        if d["history"] is None:
            d["history_note"] = _history_note(points, r["scale"])


def _history_note(points: list[dict], scale: str) -> str:
    """What the history holds when there is no plot to draw (fewer than two measured runs)."""
    measured = [(i, p) for i, p in enumerate(points) if sm.num(p.get("measured")) is not None]
    statuses = sorted({str(p.get("status")) for p in points})
    if not measured:
        return (f"nothing measured in the {len(points)} recorded run(s) (status: {', '.join(statuses)}); "
                "a plot appears once two runs have measured this claim")
    i, p = measured[0]
    return (f"one measured run so far (run #{i + 1}, {plots._when(p.get('started'))}: "
            f"{fmt(p['measured'], scale)}); the plot appears with the second")


# ---------------------------------------------------------------------- entry points
def render(reports_dir: Path, history: Path | None = None, *, found=None) -> dict[str, Path]:
    """Write ``summary.md`` and ``index.html`` into ``reports_dir``; returns their paths by file name.

    ``history``: the run-history SQLite file (default ``reports_dir/history.sqlite`` when present).
    ``found``: the folder's verdicts as the caller read them (gate and merge read each file once).
    """
    reports_dir = Path(reports_dir)
    data = load(reports_dir, found)
    _attach_history(data, Path(history) if history else reports_dir / "history.sqlite")
    from harness.report import matrix

    grid, matrix_page = matrix.write(reports_dir, data["rows"], _run_line(data))   # claims x checkpoints
    data["matrix"] = grid is not None
    pages = html_pages(data)
    md = markdown(data)
    if grid is not None:
        md += "\n" + "\n".join(matrix.markdown(grid))
    written = {"summary.md": write_atomic(reports_dir / "summary.md", md)}
    for name, text in pages.items():
        written[name] = write_atomic(reports_dir / name, text)
    if matrix_page:
        written[matrix.PAGE] = matrix_page
    _drop_old_pages(reports_dir, set(pages))
    return written


def _drop_old_pages(reports_dir: Path, keep: set[str]) -> None:
    """Pages an earlier, larger run wrote that this run's pager no longer links to."""
    for path in (reports_dir / PAGES).glob("claims-*.html"):
        if f"{PAGES}/{path.name}" not in keep:
            path.unlink(missing_ok=True)


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
