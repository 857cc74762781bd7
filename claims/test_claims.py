"""Every claim record under this folder becomes one case of this test (see harness.plugin)."""

from harness.plugin import enforce


def test_claim(claim, claim_verdict):
    enforce(claim_verdict)
