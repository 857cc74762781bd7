"""Numbers as a reader sees them (harness.units): printed units, the band's precision, no
scientific notation; the judge's reasons and the report rows use it."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from harness import units
from harness.judge import verdict
from harness.judge.band import Band

SCI = re.compile(r"\d[eE][+-]?\d")


def _band(printed: str, scale: str, tolerance=0) -> Band:
    return Band.from_printed(printed, scale=units.SCALES[scale], tolerance=tolerance)


@pytest.mark.parametrize("printed,scale,tolerance,value,shown,band", [
    ("110", "millions", 0, 109_482_240.0, "109.48M", "[109.50M, 110.50M]"),         # not "109.5M" at "109.5M"
    ("12", "millions", 0, 11_683_584.0, "11.68M", "[11.50M, 12.50M]"),
    ("89.3", "percent", 0, 0.8929, "89.29 %", "[89.25 %, 89.35 %]"),
    ("0.8970588235294118", "fraction", 0.005, 0.8946, "0.8946", "[0.8921, 0.9021]"),  # a card's 16 digits
    ("90.2", "percent", 1.3, 0.9, "90.00 %", "[88.85 %, 91.55 %]"),
])
def test_values_print_in_the_claims_units_at_the_bands_precision(printed, scale, tolerance, value, shown, band):
    b = _band(printed, scale, tolerance)
    name, places = units.for_band(b, (value,))
    assert name == scale
    assert units.number(value, name, places) == shown
    assert units.interval((b.low, b.high), name, places) == band


def test_a_value_next_to_an_edge_gets_the_digits_that_tell_them_apart():
    b = _band("110", "millions")
    _, places = units.for_band(b, (109_499_000.0,))
    assert units.number(109_499_000.0, "millions", places) == "109.499M"
    assert units.number(b.low, "millions", places) == "109.500M"
    _, places = units.for_band(b, (b.low,))      # on the edge: nothing to tell apart
    assert places == 2


def test_a_printed_value_is_kept_as_printed_unless_it_carries_more_digits_than_matter():
    assert units.as_printed("89.3", "percent", 2) == "89.3 %"
    assert units.as_printed("85.0", "percent", 2) == "85.0 %"        # the trailing zero is the paper's
    assert units.as_printed("12", "millions", 2) == "12M"
    assert units.as_printed("0.8970588235294118", "fraction", 4) == "0.8971"


@pytest.mark.parametrize("x", [1.095e8, 3.3e-7, 2.5e15, 123456789.123, -1e-9])
def test_no_scientific_notation_for_a_reader(x):
    for scale in ("percent", "millions", "fraction", "units"):
        text = units.number(x, scale)
        assert not SCI.search(text), (scale, text)
    assert units.number(-1e-9, "fraction", 4) == "0.0000"            # no "-0.0000"
    assert units.number(None, "percent") == "-" and units.number(float("nan"), "percent") == "-"


def test_the_judges_reason_is_in_printed_units():
    b = _band("110", "millions")
    j = verdict.exact(109_482_240.0, b, b)
    assert j.status == "not_reproduced"
    assert j.explanation().startswith("value 109.48M does not meet band [109.50M, 110.50M]; ")   # a point, no level
    assert 'reported.rounded_to: "10"' in j.explanation()     # "110" to two figures would hold (issue 20)
    p = _band("89.3", "percent")
    j = verdict.exact(0.8931, p, p)
    assert j.explanation() == "value 89.31 % lies inside band [89.25 %, 89.35 %]"
    assert not SCI.search(j.explanation())


def test_report_rows_carry_their_precision():
    from harness.report import summary

    r = {"scale": "millions", "decimals": units.decimals("millions", low=109.5e6, high=110.5e6, reported="110",
                                                          values=(109_482_240.0,)),
         "measured": 109_482_240.0, "interval": [109_482_240.0, 109_482_240.0], "band": [109.5e6, 110.5e6],
         "reported_printed": "110", "reported": 110e6, "tolerance": 0.0, "level": 0.95}
    assert summary.numbers_text(r) == ("measured 109.48M, reported 110M, "     # a point: no interval, no level
                                       "band [109.50M, 110.50M] (tolerance 0.00M)")
    # a summary.json row from before rows carried ``decimals`` gets them computed
    old = summary.from_summary({"claim": "a", "status": "not_reproduced", "scale": "millions",
                                "measured": 109_482_240.0, "band": [109.5e6, 110.5e6], "reported_printed": "110"})
    assert old["decimals"] == 2 and summary.show(old, old["measured"]) == "109.48M"
    assert units.scale_name(Decimal("0.01")) == "percent" and units.scale_name(Decimal(7)) == "units"


def test_junit_properties_of_a_model_card_claim_read_as_the_card_prints():
    from harness.plugin_reporting import junit_properties
    from tests.helpers import verdict_artifact

    b = _band("0.8970588235294118", "fraction", 0.005)
    art = verdict_artifact("card/mrpc-acc", "reproduced", score=0.8946078431372549, claim={
        "reported": {"value": "0.8970588235294118", "metric": "accuracy", "scale": "fraction"}},
        statistics={"interval": [0.8946078431372549, 0.8946078431372549], "band": b.to_dict(), "level": 0.95})
    props = dict(junit_properties(art, None))
    assert props["claim_measured"] == "0.8946" and props["claim_reported"] == "0.8971"
    assert props["claim_band"] == "[0.8921, 0.9021]" and props["claim_interval"] == "[0.8946, 0.8946]"
    assert not any(SCI.search(v) or len(v.split(".")[-1]) > 8 for v in props.values() if v[:1].isdigit())


def test_remembered_decimals_tell_apart_arguments_that_compare_equal():
    """decimals is remembered per argument; 1, 1.0 and True, or '1.0' and '1.00' as Decimals, are
    equal keys to a dict but not to the formatter."""
    from decimal import Decimal

    from harness import units

    cases = [dict(low=0.59, high=0.61, reported=Decimal("0.60"), values=()),
             dict(low=0.59, high=0.61, reported=Decimal("0.600"), values=()),
             dict(low=0.5, high=0.7, reported=Decimal("0.6"), values=()),
             dict(low=0.5, high=0.7, reported=Decimal("0.60"), values=()),
             dict(low=0.5, high=0.7, reported=Decimal("0.600"), values=()),
             dict(low=None, high=None, values=(True,)), dict(low=None, high=None, values=(1,)),
             dict(low=None, high=None, values=(123.0,)), dict(low=None, high=None, values=(0.00123,)),
             dict(low=0.1, high=0.3, values=[0.30000001, 0.1]), dict(low=0.1, high=0.3, values=[[1]])]
    for case in cases * 2:                              # the second pass is answered from memory
        kw = dict(case)
        fresh = units._decimals("units", kw.get("low"), kw.get("high"), kw.get("reported"), list(kw["values"]))
        assert units.decimals("units", **kw) == fresh, case
    assert units.decimals("units", low=0.59, high=0.61, reported=Decimal("0.60")) == 2
    assert units.decimals("units", low=0.59, high=0.61, reported=Decimal("0.600")) == 3
