from __future__ import annotations

from vncomply.kit.domain import Audience, Domain, Tag

DOMAIN = Domain(
    tags=(
        Tag(
            "orders",
            "What an authority sends: takedown orders, block orders and disclosure requests addressed to "
            "a platform (each with its statutory clock), and the approved disclosure packages.",
            Audience.authorities,
        ),
        Tag(
            "authorities",
            "Register authorities (ABEI, MPS A05, provincial departments) and the platforms each may "
            "address.",
            Audience.operators,
        ),
    ),
)
