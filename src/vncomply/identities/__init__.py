from __future__ import annotations

from vncomply.kit.domain import Audience, Domain, Tag

DOMAIN = Domain(
    tags=(
        Tag(
            "identities",
            "Record your users' verified identities (encrypted at rest, masked in every answer), one by one "
            "or in bulk; phone verification by one-time code.",
            Audience.platform,
        ),
        Tag(
            "permissions",
            "The check before every post: may this account post, comment, share, livestream?",
            Audience.platform,
        ),
    ),
)
