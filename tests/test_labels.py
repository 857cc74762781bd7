"""Model label ids against dataset label names."""

import pytest

from harness.errors import MeasurementError
from harness.measure.labels import mapping

NAMES = ["not_equivalent", "equivalent"]


def test_named_labels_map_by_name_even_when_reordered():
    assert mapping({0: "equivalent", 1: "not_equivalent"}, NAMES) == ({0: 1, 1: 0}, None)


def test_generic_labels_map_by_number_and_say_so():
    table, assumption = mapping({0: "LABEL_0", 1: "LABEL_1"}, NAMES)
    assert table == {0: 0, 1: 1}
    assert "by number" in assumption and "1=equivalent" in assumption


@pytest.mark.parametrize("id2label, words", [
    ({0: "negative", 1: "positive"}, "not a dataset label"),
    ({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}, "3 labels"),
])
def test_mismatches_are_errors(id2label, words):
    with pytest.raises(MeasurementError, match=words):
        mapping(id2label, NAMES)
