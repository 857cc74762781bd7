"""Binary-class metrics of a classifier's labels: F1 of the positive class, accuracy, MCC.

Values come from scikit-learn. The bootstrap runs on one uint8 code per example,
``2 * (label is positive) + (prediction is positive)``: resampling those codes is the paired
bootstrap of (label, prediction), one gather instead of three, and the statistic is read off
the confusion counts with scikit-learn's conventions (F1 = 2TP / (2TP + FP + FN), 0 when that
is 0; MCC 0 when a margin is empty).
"""

from __future__ import annotations

from harness.errors import MeasurementError
from harness.metrics import BOOTSTRAP, PROPORTION, Metric


def check(y_true, y_pred, positive: int):
    """Validate a binary slice; return (label is positive, prediction is positive) as bools."""
    import numpy as np

    t, p = np.asarray(y_true), np.asarray(y_pred)
    if t.ndim != 1 or p.ndim != 1:
        raise MeasurementError(f"labels and predictions must be 1-D, got shapes {t.shape} and {p.shape}")
    if t.shape != p.shape:
        raise MeasurementError(f"{t.shape[0]} labels but {p.shape[0]} predictions: they must pair one to one")
    if t.shape[0] == 0:
        raise MeasurementError("the slice is empty: no metric can be measured")
    others = {v.item() if hasattr(v, "item") else v for v in np.unique(np.concatenate([t, p]))}
    others.discard(positive)
    if len(others) > 1:
        raise MeasurementError(f"binary metrics need labels in {{positive={positive!r}, one other}}, "
                               f"found other labels {sorted(others)!r}")
    return t == positive, p == positive


def confusion_counts(t, p, axis: int = -1):
    """(tp, fp, fn, tn) along ``axis`` of boolean arrays, as int64."""
    import numpy as np

    t = np.asarray(t, dtype=bool)
    p = np.asarray(p, dtype=bool)
    n = t.shape[axis]
    true_pos = np.add.reduce(t.view(np.uint8), axis=axis, dtype=np.int64)
    pred_pos = np.add.reduce(p.view(np.uint8), axis=axis, dtype=np.int64)
    tp = np.add.reduce((t & p).view(np.uint8), axis=axis, dtype=np.int64)
    fp = pred_pos - tp
    fn = true_pos - tp
    return tp, fp, fn, n - true_pos - fp


def _scalar(out):
    return out[()] if out.ndim == 0 else out


def f1_from_counts(tp, fp, fn, tn=None):
    import numpy as np

    tp, fp, fn = (np.asarray(x, dtype=np.float64) for x in (tp, fp, fn))
    den = 2.0 * tp + fp + fn
    return _scalar(np.divide(2.0 * tp, den, out=np.zeros_like(den), where=den > 0))


def accuracy_from_counts(tp, fp, fn, tn):
    import numpy as np

    tp, fp, fn, tn = (np.asarray(x, dtype=np.float64) for x in (tp, fp, fn, tn))
    return _scalar((tp + tn) / (tp + fp + fn + tn))


def mcc_from_counts(tp, fp, fn, tn):
    import numpy as np

    tp, fp, fn, tn = (np.asarray(x, dtype=np.float64) for x in (tp, fp, fn, tn))
    num = tp * tn - fp * fn
    # Float margins: the product of four counts overflows int64 beyond ~55k examples.
    den = np.sqrt(tp + fp) * np.sqrt(tp + fn) * np.sqrt(tn + fp) * np.sqrt(tn + fn)
    return _scalar(np.clip(np.divide(num, den, out=np.zeros_like(den), where=den > 0), -1.0, 1.0))


FROM_COUNTS = {"f1": f1_from_counts, "accuracy": accuracy_from_counts, "matthews_corrcoef": mcc_from_counts}


def vectorized_statistic(name: str):
    """``statistic(t, p, axis=-1)`` on boolean arrays."""
    from_counts = FROM_COUNTS[name]

    def statistic(t, p, axis=-1):
        return from_counts(*confusion_counts(t, p, axis=axis))

    statistic.__name__ = f"{name}_vectorized"
    return statistic


def pair_codes(t, p):
    """One uint8 per example: 2 * (label is positive) + (prediction is positive)."""
    import numpy as np

    return (np.asarray(t, dtype=np.uint8) << 1) | np.asarray(p, dtype=np.uint8)


def pair_code_statistic(name: str):
    """``statistic(codes, axis=-1)``: the metric from ``pair_codes`` (what is bootstrapped)."""
    from_counts = FROM_COUNTS[name]

    def statistic(codes, axis=-1):
        import numpy as np

        c = np.asarray(codes, dtype=np.uint8)
        true_pos = np.add.reduce(c >> 1, axis=axis, dtype=np.int64)
        pred_pos = np.add.reduce(c & 1, axis=axis, dtype=np.int64)
        tp = np.add.reduce((c == 3).view(np.uint8), axis=axis, dtype=np.int64)
        fp = pred_pos - tp
        fn = true_pos - tp
        return from_counts(tp, fp, fn, c.shape[axis] - true_pos - fp)

    statistic.__name__ = f"{name}_from_pair_codes"
    return statistic


def value(name: str, y_true, y_pred, *, positive: int = 1) -> float:
    """The metric via scikit-learn (F1 of ``positive`` with zero_division=0; MCC 0 on an empty margin)."""
    import warnings

    import numpy as np
    from sklearn import metrics as skm

    if name not in FROM_COUNTS:
        raise ValueError(f"unknown binary metric {name!r}; expected one of {', '.join(FROM_COUNTS)}")
    check(y_true, y_pred, positive)
    t, p = np.asarray(y_true), np.asarray(y_pred)
    if name == "f1":
        return float(skm.f1_score(t, p, pos_label=positive, average="binary", zero_division=0.0))
    if name == "accuracy":
        return float(skm.accuracy_score(t, p))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)   # "a single label was found": MCC is 0 then
        return float(skm.matthews_corrcoef(t, p))


def baseline(name: str, y_true, *, positive: int = 1) -> dict:
    """Score of predicting the slice's majority class everywhere (a tie goes to the smaller id)."""
    import numpy as np

    if name not in FROM_COUNTS:
        raise ValueError(f"unknown binary metric {name!r}; expected one of {', '.join(FROM_COUNTS)}")
    t = np.asarray(y_true)
    if t.ndim != 1 or t.shape[0] == 0:
        raise MeasurementError(f"labels must be a non-empty 1-D array, got shape {t.shape}")
    values, counts = np.unique(t, return_counts=True)
    label = values[int(np.argmax(counts))]
    label = label.item() if hasattr(label, "item") else label
    return {"predictor": f"majority class {label}", "value": value(name, t, np.full_like(t, label), positive=positive)}


def _codes(y_true, y_pred, *, positive: int = 1):
    import numpy as np

    t, p = check(y_true, y_pred, positive)
    return (np.sort(pair_codes(t, p)),)     # canonical order: the metric ignores example order


def _correct(y_true, y_pred, *, positive: int = 1):
    import numpy as np

    check(y_true, y_pred, positive)
    return (np.asarray(y_true) == np.asarray(y_pred),)


def _entry(name: str, label: str, low: float, summary: str, uncertainty: str, aliases: tuple = ()) -> Metric:
    return Metric(
        key=f"binary.{name}", name=name, label=label, range=(low, 1.0), summary=summary, uncertainty=uncertainty,
        aliases=aliases,
        value=lambda y_true, y_pred, positive=1: value(name, y_true, y_pred, positive=positive),
        samples=_correct if uncertainty == PROPORTION else _codes,
        statistic=None if uncertainty == PROPORTION else pair_code_statistic(name),
        baseline=lambda y_true, positive=1: baseline(name, y_true, positive=positive),
        stratified=uncertainty == PROPORTION,
        # Exact by label counts (harness.judge.inversion) at any size; F1 rises with TP and falls with FP.
        min_slice=1, from_counts=None if uncertainty == PROPORTION else FROM_COUNTS[name], monotone=name == "f1")


F1 = _entry("f1", "F1", 0.0, "F1 of the positive class (sklearn f1_score, average='binary')", BOOTSTRAP)
ACCURACY = _entry("accuracy", "accuracy", 0.0, "share of correct labels (sklearn accuracy_score)", PROPORTION,
                  aliases=("acc",))
MCC = _entry("matthews_corrcoef", "Matthews corr.", -1.0, "Matthews correlation (sklearn matthews_corrcoef)",
             BOOTSTRAP, aliases=("mcc",))
METRICS = (F1, ACCURACY, MCC)
