"""Run-wide state of a claims run: collects artifacts, writes them, summarises.

Only the process that writes (the xdist controller, or the single process without xdist)
owns a ``ClaimsSession`` that writes; workers only compute and send.
"""

from __future__ import annotations

import datetime as _dt
import json
import sys
from pathlib import Path

from harness.errors import ArtifactError, HarnessError
from harness.report import artifacts, summary


class ClaimsSession:
    history_path: Path | None = None   # run history (SQLite); set by harness.plugin_ui (--claims-history)

    def __init__(self, reports_dir: Path, *, writer: bool):
        self.reports_dir = Path(reports_dir)
        self.writer = writer
        self.rows: dict[str, dict] = {}
        self.artifacts: dict[str, dict] = {}
        self.gate_result = None
        self.write_errors: dict[str, str] = {}
        self.started = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        self.started_run = False
        self._lock = None
        self.expected: set[str] = set()       # claim ids this run collected (after sharding)
        self.roots: set[str] = set()          # claims folders they came from
        self.collected: set[str] = set()      # under xdist: parameter ids the workers collected
        self.collect_failed = False           # a collection error (xdist reports it as a failure)
        self.other_failures = 0               # failed reports that are not claim verdicts

    def begin(self) -> None:
        """A claims run starts: lock the reports folder (one run at a time), drop a stale gate.json."""
        from harness.atomic import FolderLock

        if self.started_run:
            return
        if self.writer:
            self._lock = FolderLock(self.reports_dir).acquire()
            try:
                (self.reports_dir / "gate.json").unlink(missing_ok=True)   # never show another run's gate
            except OSError as exc:
                self.end()
                raise ArtifactError(f"{self.reports_dir / 'gate.json'}: cannot remove an earlier gate ({exc})") from None
        self.started_run = True

    def end(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    @property
    def verdicts_dir(self) -> Path:
        return self.reports_dir / "verdicts"

    def record(self, payload: str) -> None:
        """Take one artifact (JSON text from a test report) and write it."""
        artifact = json.loads(payload)
        claim_id = artifact["claim_id"]
        name = artifact["_artifact_name"]
        artifact = {k: v for k, v in artifact.items() if k != "_artifact_name"}
        try:
            path = artifacts.write(artifact, self.verdicts_dir, name)
        except (ArtifactError, OSError) as exc:
            self.write_errors[claim_id] = f"{type(exc).__name__}: {exc}"
            path = None
        self.artifacts[claim_id] = artifact
        self.rows[claim_id] = summary.row(artifact, str(path.relative_to(self.reports_dir)) if path else None)

    def gate(self, *, baseline: str | None, strict_blocked: bool, fdr: float,
             catalogue: set[str] | None = None, expected: set[str] | None = None) -> int:
        """Apply the gate policy to this run's artifacts; writes gate.json; returns the exit code.

        The run has measured already, so what the CLI refuses (an unreadable baseline, a gate.json
        that cannot be written) is recorded as the gate's failure instead."""
        from harness.report import gate

        try:
            self.gate_result = gate.run(self.artifacts, baseline=baseline, strict_blocked=strict_blocked, fdr=fdr,
                                        source=str(self.verdicts_dir), catalogue=catalogue, expected=expected,
                                        unwritten=self.write_errors)
        except HarnessError as exc:
            self.gate_result = gate.fail_unwritten(gate.input_error(str(exc)), self.write_errors)
        try:
            gate.record(self.gate_result, self.reports_dir)
        except OSError as exc:
            self.gate_result.failures.append({"claim": "*", "why": f"gate.json not written: {exc}"})
            self.gate_result.exit_code = max(self.gate_result.exit_code, gate.EXIT_FAILED)
        return self.gate_result.exit_code

    def finish(self, command: list[str]) -> Path | None:
        if not self.writer or not self.rows:
            return None
        data = summary.document(self.rows, started=self.started, command=command,
                                write_errors=self.write_errors)
        try:
            path = artifacts.write_atomic(self.reports_dir / "summary.json", artifacts.dumps(data))
        except OSError as exc:
            print(f"claims: could not write summary.json: {exc}", file=sys.stderr)
            return None
        self.write_manifest(command, data["finished"])
        return path

    def write_manifest(self, command: list[str], finished: str | None) -> None:
        from harness.report.manifest import build_manifest, write_manifest

        # "meta": a parameter count builds the architecture on torch's meta device and runs nothing
        devices = sorted({(a.get("measurement") or {}).get("device") for a in self.artifacts.values()} - {None, "meta"})
        try:
            write_manifest(self.reports_dir, build_manifest(command, self.started, finished, ", ".join(devices) or None))
        except OSError as exc:
            print(f"claims: could not write manifest.json: {exc}", file=sys.stderr)

    def render(self) -> None:
        """summary.md and index.html from what is on disk; a report never fails the run."""
        from harness.report.render import render

        if self.history_path is not None:
            from harness.report import history

            try:
                history.record_folder(self.reports_dir, self.history_path)
            except Exception as exc:  # noqa: BLE001 - history is a convenience, like the page
                print(f"claims: could not record the run in {self.history_path}: {exc}", file=sys.stderr)
        try:
            render(self.reports_dir, history=self.history_path)
        except Exception as exc:  # noqa: BLE001 - the verdicts are written; the page is a convenience
            print(f"claims: could not render the report: {exc}", file=sys.stderr)
