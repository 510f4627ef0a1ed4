"""Schemathesis hooks for tests/test_fuzz.py, loaded through ``SCHEMATHESIS_HOOKS``.

Schemathesis draws ``date-time`` values from RFC 3339, which always carries a zone; clients send
times without one (``2026-11-25T08:00:00``) and bare dates just as well, and those once answered
500. So every date-time is drawn from all three shapes, over the full range of years (the edges
overflow date arithmetic).
"""

from __future__ import annotations

import schemathesis
from hypothesis import strategies as st

_DATES = st.dates().map(str)
_TIMES = st.times().map(lambda t: t.isoformat())
_ZONES = st.sampled_from(["Z", "+00:00", "+07:00", "-23:59", "+23:59"])

DATE_TIMES = st.one_of(
    st.builds("{}T{}{}".format, _DATES, _TIMES, _ZONES),
    st.builds("{}T{}".format, _DATES, _TIMES),  # no zone
    _DATES,  # a bare date
)

schemathesis.openapi.format("date-time", DATE_TIMES)
