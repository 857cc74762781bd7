"""One exception tree for everything the harness raises on purpose.

Callers catch ``HarnessError`` to tell our own, explained failures from bugs.
"""

from __future__ import annotations


class HarnessError(Exception):
    """Base of every error the harness raises deliberately."""


class RecordError(HarnessError):
    """A data file (claim or paper record) is malformed; names file, record and field."""

    def __init__(self, path, message: str, *, record: str | None = None, field: str | None = None):
        self.path = str(path)
        self.record = record
        self.field = field
        where = self.path
        if record:
            where += f", claim {record!r}"
        if field:
            where += f", field {field!r}"
        super().__init__(f"{where}: {message}")


class ClaimFileError(RecordError):
    """A claim file does not follow the claim schema."""


class PaperRecordError(RecordError):
    """A paper record does not follow the paper schema."""


class AssetUnavailable(HarnessError):
    """A model or dataset cannot be had here; the claim becomes ``blocked``.

    ``missing`` names the asset (hub id and revision) and ``tried`` lists where we looked.
    """

    def __init__(self, missing: str, tried: list[str], hint: str = ""):
        self.missing = missing
        self.tried = list(tried)
        self.hint = hint
        text = f"{missing} is not available (looked in: {'; '.join(tried) or 'nowhere'})"
        if hint:
            text += f". {hint}"
        super().__init__(text)


class AssetUnfit(AssetUnavailable):
    """An asset is here but cannot give the claim's number (too few positions, no such head,
    another label count, an unreadable tokenizer); the claim is ``blocked`` all the same."""

    def __init__(self, missing: str, tried: list[str], hint: str = ""):
        super().__init__(missing, tried, hint)
        self.args = (f"{missing} is not available ({'; '.join(tried)})" + (f". {hint}" if hint else ""),)


class MeasurementError(HarnessError):
    """The measurement ran but its result cannot be trusted (label mismatch, NaN logits)."""


class ArtifactError(HarnessError):
    """A verdict artifact failed its schema or could not be written."""
