"""Run-wide state of a claims run: collects artifacts, writes them, summarises.

Only the process that writes (the xdist controller, or the single process without xdist)
owns a ``ClaimsSession`` that writes; workers only compute and send.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import sys
import uuid
from pathlib import Path

from harness.errors import ArtifactError, HarnessError
from harness.report import artifacts, summary


class ClaimsSession:
    history_path: Path | None = None   # run history (SQLite); set by harness.plugin_reporting (--claims-history)
    machine_facts = staticmethod(dict)   # plugins' machine facts for the manifest; set by harness.plugin

    def __init__(self, reports_dir: Path, *, writer: bool):
        self.reports_dir = Path(reports_dir)
        self.writer = writer
        self.rows: dict[str, dict] = {}
        self.artifacts: dict[str, dict] = {}
        self.gate_result = None
        self.write_errors: dict[str, str] = {}
        self.started = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")
        self.started_run = False
        self._lock = None
        self.expected: set[str] = set()       # claim ids this run collected (after sharding)
        self.roots: set[str] = set()          # claims folders they came from
        self.collected: set[str] = set()      # under xdist: parameter ids the workers collected
        self.collect_failed = False           # a collection error (xdist reports it as a failure)
        self.other_failures = 0               # failed reports that are not claim verdicts
        self.interrupted: str | None = None   # why the run stopped early (Ctrl-C, SIGTERM)
        self.shard: dict | None = None        # {"index", "count", "plan"}: this run's shard of the plan
        self.deselected: set[str] = set()     # claim ids left out on purpose (-k, -m), not by the shard
        self.run_record: dict | None = None   # run.json, while the run goes on

    def begin(self, command: list[str] | None = None) -> None:
        """A claims run starts: lock the reports folder (one run at a time), set the previous run's
        outputs aside (``previous/``: verdicts, summary, report, gate), and mark the run as
        running in ``run.json`` until it ends, so a run that is killed is known as one."""
        from harness.atomic import FolderLock
        from harness.report import verdicts

        if self.started_run:
            return
        if self.writer:
            self._lock = FolderLock(self.reports_dir).acquire()
            try:
                self._set_aside()
                self.run_record = verdicts.new_record(run_id=uuid.uuid4().hex, started=self.started, pid=os.getpid(),
                                                  command=command or [])
                verdicts.write_record(self.reports_dir, self.run_record)
            except OSError as exc:
                self.end()
                raise ArtifactError(f"{self.reports_dir}: cannot set an earlier run's outputs aside or mark this "
                                    f"run as running ({exc.strerror or exc})") from None
        self.started_run = True

    def _set_aside(self) -> None:
        """The previous run's outputs go to ``previous/`` (replacing the one before), each by a
        rename: tonight's folder never shows last night's verdicts as tonight's."""
        from harness.report.verdicts import RUN_RECORD

        names = ("verdicts", "summary.json", "summary.md", "index.html", "manifest.json", "gate.json", RUN_RECORD)
        present = [n for n in names if os.path.lexists(self.reports_dir / n)]
        if not present:
            return
        stage = self.reports_dir / f".previous.{os.getpid()}.tmp"
        shutil.rmtree(stage, ignore_errors=True)
        stage.mkdir()
        for name in present:
            os.replace(self.reports_dir / name, stage / name)
        previous = self.reports_dir / "previous"
        if os.path.lexists(previous):
            old = self.reports_dir / f".previous.{os.getpid()}.old"
            os.replace(previous, old)
            shutil.rmtree(old, ignore_errors=True)
        os.replace(stage, previous)

    def end(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    @property
    def verdicts_dir(self) -> Path:
        return self.reports_dir / "verdicts"

    def record(self, payload: str) -> str:
        """Take one artifact (JSON text from a test report) and write it; returns its claim id."""
        from harness.claims.records import artifact_name

        artifact = json.loads(payload)
        claim_id = artifact["claim_id"]
        name = artifact_name(claim_id)
        try:   # durable with the others at the end (finish), not one fsync per claim
            path = artifacts.write(artifact, self.verdicts_dir, name, sync=False)
        except (ArtifactError, OSError) as exc:
            self.write_errors[claim_id] = f"{type(exc).__name__}: {exc}"
            path = None
        self.artifacts[claim_id] = artifact
        self.rows[claim_id] = summary.row(artifact, str(path.relative_to(self.reports_dir)) if path else None)
        return claim_id

    def gate(self, *, baseline: str | None, strict_blocked: bool, fdr: float,
             catalogue: set[str] | None = None, expected: set[str] | None = None,
             missing: dict[str, str] | None = None) -> int:
        """Apply the gate policy to this run's artifacts; writes gate.json; returns the exit code.

        The run has measured already, so what the CLI refuses (an unreadable baseline, a gate.json
        that cannot be written) is recorded as the gate's failure instead."""
        from harness.report import gate

        try:
            self.gate_result = gate.run(self.artifacts, baseline=baseline, strict_blocked=strict_blocked, fdr=fdr,
                                        source=str(self.verdicts_dir), catalogue=catalogue, expected=expected,
                                        unwritten=self.write_errors, missing=missing,
                                        cut_short=f"the run was interrupted ({self.interrupted})"
                                        if self.interrupted else None)
        except HarnessError as exc:
            self.gate_result = gate.fail_unwritten(gate.input_error(str(exc)), self.write_errors)
        try:
            gate.record(self.gate_result, self.reports_dir)
        except OSError as exc:
            self.gate_result.failures.append({"claim": "*", "why": f"gate.json not written: {exc}"})
            self.gate_result.exit_code = max(self.gate_result.exit_code, gate.EXIT_FAILED)
        return self.gate_result.exit_code

    def finish(self, command: list[str]) -> Path | None:
        """summary.json and manifest.json, and the run record marked finished or interrupted."""
        if not self.writer:
            return None
        self._close_record()
        if not self.rows:
            return None
        data = summary.document(self.rows, started=self.started, command=command,
                                write_errors=self.write_errors)
        data["interrupted"] = self.interrupted
        data["run_id"] = (self.run_record or {}).get("run_id")
        missing = sorted(self.expected_ids() - set(self.rows))
        if missing:
            data["without_verdict"] = missing
        from harness.atomic import sync_all

        sync_all()   # every verdict of the run on disk before the summary that lists them
        try:
            path = artifacts.write_atomic(self.reports_dir / "summary.json", artifacts.dumps(data))
        except OSError as exc:
            print(f"claims: could not write summary.json: {exc}", file=sys.stderr)
            return None
        self.write_manifest(command, data["finished"])
        return path

    def expected_ids(self) -> set[str]:
        """Claim ids this run was to measure (under xdist: what the workers collected)."""
        return set(self.expected or self.collected)

    def _close_record(self) -> None:
        from harness.report import verdicts

        if self.run_record is None:
            return
        self.run_record.update(
            state=verdicts.INTERRUPTED if self.interrupted else verdicts.FINISHED, why=self.interrupted,
            finished=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            claims=sorted(self.expected_ids() | set(self.rows)), deselected=sorted(self.deselected - set(self.rows)),
            shard=self.shard)
        try:
            verdicts.write_record(self.reports_dir, self.run_record)
        except OSError as exc:
            print(f"claims: could not write {verdicts.RUN_RECORD}: {exc}", file=sys.stderr)

    def write_manifest(self, command: list[str], finished: str | None) -> None:
        from harness.report.manifest import build_manifest, write_manifest

        # "meta": a parameter count builds the architecture on torch's meta device and runs nothing
        devices = sorted({(a.get("measurement") or {}).get("device") for a in self.artifacts.values()} - {None, "meta"})
        try:
            write_manifest(self.reports_dir, build_manifest(command, self.started, finished, ", ".join(devices) or None,
                                                            facts=self.machine_facts()))
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
