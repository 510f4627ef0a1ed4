"""States and kinds are spelled once, in ``events/enums.py``: the rest of the domain (Python and
the SQL it sends) uses the enums."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from vncomply.events import enums

PACKAGE = Path(enums.__file__).parent
VALUES = {m.value for e in (enums.DeliveryStatus, enums.DeliveryKind, enums.DisabledReason) for m in e}
VALUES |= {m.value for m in enums.AuditAction}


def test_no_state_or_kind_literals_outside_enums() -> None:
    quoted = re.compile("|".join(rf"'{re.escape(v)}'" for v in VALUES))
    found = []
    for path in sorted(PACKAGE.glob("*.py")):
        if path.name == "enums.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            literal = isinstance(node, ast.Constant) and isinstance(node.value, str)
            if literal and (node.value in VALUES or quoted.search(node.value)):
                found.append(f"{path.name}:{node.lineno}: {node.value[:60]!r}")
    assert found == []


def test_delivery_api_uses_the_enum() -> None:
    from vncomply.events.schemas import DeliveryOut

    assert DeliveryOut.model_fields["status"].annotation is enums.DeliveryStatus
