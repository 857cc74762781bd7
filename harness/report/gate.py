"""The nightly gate: from verdict artifacts (and optionally a baseline), pass or fail, and why.

Policy (docs/gate.md):
- ``not_reproduced``, ``miscited`` and ``error`` fail, unless the claim declares that outcome
  in ``expect`` (strict, like xfail: a declared outcome that stops happening fails too);
- ``not_reproduced`` calls are first filtered by Benjamini-Hochberg at ``fdr`` over their
  p-values (the procedure's p-value for "the score lies in the band", stopping included:
  `statistics.decision.rule.p_value`, a valid p-value for the test, which the flat-prior
  `p_in_band` is not); calls that do not survive are reported as "held back by FDR control" and do not fail;
- against a baseline: a status that got worse, or an estimate that left the baseline's
  interval, fails as a regression;
- ``blocked`` fails only in strict mode (air-gapped runners that must have every asset).

It fails closed: no verdicts at all, a baseline claim with no verdict tonight (unless it was
removed from the catalogue, which is listed), or an input that cannot be read all fail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INPUT = 2      # an input could not be read or an output not written; the message names it
from harness.statuses import BLOCKED, FAILING, NOT_REPRODUCED, RANK  # noqa: F401 - FAILING, RANK re-exported


@dataclass
class GateResult:
    exit_code: int
    failures: list[dict] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    held_back: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"exit_code": self.exit_code, "passed": self.exit_code == EXIT_OK, "failures": self.failures,
                "changes": self.changes, "held_back_by_fdr": self.held_back, "notes": self.notes}

    def lines(self) -> list[str]:
        out = [f"gate: {'PASS' if self.exit_code == EXIT_OK else 'FAIL'} (exit {self.exit_code})"]
        out += [f"  FAIL {f['claim']}: {f['why']}" for f in self.failures]
        out += [f"  changed {c['claim']}: {c['before']} -> {c['after']}" for c in self.changes]
        out += [f"  held back by FDR control: {c}" for c in self.held_back]
        out += [f"  note: {n}" for n in self.notes]
        return out


def _p_value(art: dict) -> float:
    """The not_reproduced call's p-value for 'the score lies in the band' (stopping rule
    included), which is what Benjamini-Hochberg needs: P(p <= t) <= t under that null. Artifacts
    written before ``p_value`` existed give their flat-prior ``p_in_band`` instead."""
    rule = ((art.get("statistics") or {}).get("decision") or {}).get("rule") or {}
    p = rule.get("p_value", rule.get("p_in_band"))
    return 0.0 if p is None else float(p)   # None: an exact or whole-split call; nothing to hold back


def benjamini_hochberg(pvalues: dict[str, float], q: float) -> set[str]:
    """Ids whose null is rejected at false discovery rate q."""
    ordered = sorted(pvalues.items(), key=lambda kv: (kv[1], kv[0]))
    m = len(ordered)
    cutoff = 0
    for i, (_, p) in enumerate(ordered, start=1):
        if p <= q * i / m:
            cutoff = i
    return {k for k, _ in ordered[:cutoff]}


def _interval(art: dict):
    stats = art.get("statistics") or {}
    return stats.get("interval")


def input_error(message: str) -> GateResult:
    """A gate that could not read its inputs: it fails, naming what it could not read."""
    return GateResult(EXIT_INPUT, failures=[{"claim": "*", "why": message}])


def evaluate(current: dict[str, dict], baseline: dict[str, dict] | None = None, *,
             strict_blocked: bool = False, fdr: float = 0.05, source: str = "this run",
             catalogue: set[str] | None = None, expected: set[str] | None = None) -> GateResult:
    """Apply the policy to artifacts keyed by claim id.

    ``catalogue``: every claim id the catalogue holds now (a baseline claim outside it was
    removed on purpose and is listed, not failed); ``expected``: the ids this run was meant to
    measure (a baseline claim outside it, e.g. in another shard, is listed, not failed)."""
    if not (isinstance(fdr, (int, float)) and 0 < fdr < 1):
        return input_error(f"false discovery rate {fdr!r} must lie strictly between 0 and 1")
    result = GateResult(EXIT_OK)
    if not current:
        result.failures.append({"claim": "*", "why": f"no verdicts in {source}: nothing was measured, "
                                                     "so the gate cannot vouch for anything"})
    for cid in sorted((expected or set()) - set(current)):
        result.failures.append({"claim": cid, "why": "collected but no verdict was recorded"})
    calls = {cid: _p_value(a) for cid, a in current.items() if a["verdict"]["status"] == NOT_REPRODUCED}
    confirmed = benjamini_hochberg(calls, fdr) if calls else set()
    if calls:
        result.notes.append(f"Benjamini-Hochberg at FDR {fdr} over {len(calls)} {NOT_REPRODUCED} call(s): "
                            f"{len(confirmed)} confirmed")
    for cid in sorted(current):
        art = current[cid]
        status = art["verdict"]["status"]
        expect = art["claim"].get("expect")
        reason = art["verdict"].get("reason", "")
        if expect:
            if status != expect:
                result.failures.append({"claim": cid, "why": f"declared {expect}, now {status}: {reason}"})
        elif status == NOT_REPRODUCED and cid not in confirmed:
            result.held_back.append(cid)
        elif status in FAILING:
            result.failures.append({"claim": cid, "why": f"{status}: {reason}"})
        elif status == BLOCKED and strict_blocked:
            result.failures.append({"claim": cid, "why": f"blocked (strict mode): {reason}"})
        if baseline and cid in baseline:
            _compare(cid, baseline[cid], art, result)
    if baseline:
        _absent(baseline, current, catalogue, expected, result)
    if result.failures:
        result.exit_code = EXIT_FAILED
    return result


def _compare(cid: str, before: dict, after: dict, result: GateResult) -> None:
    b, a = before["verdict"]["status"], after["verdict"]["status"]
    if b != a:
        result.changes.append({"claim": cid, "before": b, "after": a})
        if RANK.get(a, 9) > RANK.get(b, 9):
            result.failures.append({"claim": cid, "why": f"regression: status {b} -> {a}"})
            return
    interval = _interval(before)
    score = (after["verdicts"].get("post") or {}).get("score")
    if interval and score is not None and not (interval[0] <= score <= interval[1]):
        from harness.report.summary import interval_text, row, show

        r = row(after, None)     # printed units, at the precision the claim's band needs
        result.failures.append({"claim": cid, "why": f"regression: measured {show(r, score)} left the baseline "
                                                     f"interval {interval_text(interval, r['scale'], r['decimals'])}"})


def _absent(baseline: dict, current: dict, catalogue, expected, result: GateResult) -> None:
    """Baseline claims with no verdict tonight fail, unless removed from the catalogue or not selected."""
    removed, elsewhere = [], []
    failed = {f["claim"] for f in result.failures}
    for cid in sorted(set(baseline) - set(current) - failed):
        if catalogue is not None and cid not in catalogue:
            removed.append(cid)
        elif expected is not None and cid not in expected:
            elsewhere.append(cid)
        else:
            result.failures.append({"claim": cid, "why": f"in the baseline ({baseline[cid]['verdict']['status']}) "
                                                         "but absent tonight"})
    if removed:
        result.notes.append(f"{len(removed)} baseline claim(s) removed from the catalogue: {', '.join(removed)}")
    if elsewhere:
        result.notes.append(f"{len(elsewhere)} baseline claim(s) not selected in this run (another shard, -k): "
                            f"{', '.join(elsewhere)}")


# ---------------------------------------------------------------------- one gate run
def run(current: dict[str, dict], *, baseline: str | Path | None = None, strict_blocked: bool = False,
        fdr: float = 0.05, source: str = "this run", catalogue: set[str] | None = None,
        expected: set[str] | None = None, dropped=(), unwritten: dict[str, str] | None = None,
        missing: dict[str, str] | None = None, notes=(), cut_short: str | None = None) -> GateResult:
    """The gate of one run, as a pytest run (``--claims-gate``) and ``python -m harness gate|merge``
    all apply it: the baseline folder read (``harness.report.verdicts``, the one reader), the
    policy applied, verdicts of claims no longer in the catalogue (``dropped``) noted, and failed:
    a verdict that could not be written (``unwritten``: claim id -> why), a claim that should have
    a verdict and has none (``missing``: claim id -> why, e.g. in no shard), a run that did not
    finish (``cut_short``: why). ``notes``: what could not be checked.

    Raises HarnessError when the baseline cannot be read or shares no claim with this run (a
    baseline of another paper compares nothing): the command line refuses (exit 2, nothing
    written), a pytest run records it as the gate's input error."""
    from harness.errors import ArtifactError
    from harness.report.verdicts import read_baseline

    base = read_baseline(Path(baseline)) if baseline else None
    if base and current and not set(base) & set(current):
        raise ArtifactError(f"baseline folder {baseline} shares no claim with {source} ({len(base)} baseline "
                            f"claim(s), e.g. {sorted(base)[0]}; {len(current)} tonight, e.g. {sorted(current)[0]}): "
                            "a baseline of another paper or catalogue compares nothing")
    result = evaluate(current, base, strict_blocked=strict_blocked, fdr=fdr, source=source,
                      catalogue=catalogue, expected=expected)
    if cut_short:
        result.failures.insert(0, {"claim": "*", "why": f"{cut_short}: its verdicts are not a whole run"})
    failed = {f["claim"] for f in result.failures}
    for cid, why in sorted((missing or {}).items()):
        if cid not in failed:
            result.failures.append({"claim": cid, "why": why})
    if dropped:
        result.notes.append(f"{len(dropped)} verdict(s) of claims no longer in the catalogue ignored: "
                            + ", ".join(dropped))
    result.notes.extend(notes)
    if result.failures and result.exit_code == EXIT_OK:
        result.exit_code = EXIT_FAILED
    return fail_unwritten(result, unwritten)


def fail_unwritten(result: GateResult, unwritten: dict[str, str] | None) -> GateResult:
    """Each verdict that could not be written (claim id -> why) fails the gate."""
    for claim_id, why in sorted((unwritten or {}).items()):
        result.failures.append({"claim": claim_id, "why": f"verdict not written: {why}"})
        result.exit_code = max(result.exit_code, EXIT_FAILED)
    return result


def record(result: GateResult, folder: Path) -> Path:
    """``folder/gate.json``, written atomically (raises OSError when it cannot be)."""
    from harness.report.artifacts import dumps, write_atomic

    return write_atomic(Path(folder) / "gate.json", dumps(result.to_dict()))
