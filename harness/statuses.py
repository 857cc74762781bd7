"""The verdict statuses and what each means to pytest and to the gate. Data only: importable by
every layer, the plugin included, without numpy or torch."""

from __future__ import annotations

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not_reproduced"
INCONCLUSIVE = "inconclusive"
BLOCKED = "blocked"
ERROR = "error"
MISCITED = "miscited"

#: Every status a verdict can carry, in the order reports list them.
ALL = (REPRODUCED, NOT_REPRODUCED, MISCITED, INCONCLUSIVE, BLOCKED, ERROR)
#: A measurement that settled the claim either way.
DECIDED = (REPRODUCED, NOT_REPRODUCED)
#: Statuses that fail a pytest case and the gate.
FAILING = (NOT_REPRODUCED, MISCITED, ERROR)
#: What a claim may declare it expects (``expect:``); an error is never expected.
EXPECTABLE = (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE, BLOCKED, MISCITED)
#: How bad each status is, for "got worse" comparisons (higher is worse).
RANK = {REPRODUCED: 0, INCONCLUSIVE: 1, BLOCKED: 2, NOT_REPRODUCED: 3, MISCITED: 3, ERROR: 4}
