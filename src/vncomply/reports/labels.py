"""The human labels of the report's sections, figures and values, as gettext message ids (English).

``N_`` only marks a string for extraction (``pybabel extract -k N_``, see docs/reports.md); the
translation happens when a page is rendered (``i18n``). Keys are the JSON keys of ``schemas``; a
value with no label (a new category, say) is shown as it is.
"""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 - the gettext convention extractors look for
    return message


SECTIONS: dict[str, str] = {
    "takedowns": N_("Takedown orders"),
    "blocks": N_("Account blocks"),
    "disclosures": N_("Disclosure requests"),
    "identities": N_("Verified identities"),
    "webhooks": N_("Webhook deliveries"),
    "service": N_("The service in Vietnam"),
    "audit_chain": N_("Audit trail"),
}

METRICS: dict[str, str] = {
    # takedowns
    "orders_received": N_("Orders received"),
    "items_received": N_("Items received"),
    "by_authority": N_("By authority"),
    "by_category": N_("Orders by category"),
    "by_urgency": N_("Orders by urgency"),
    "orders_completed": N_("Orders completed"),
    "orders_on_time": N_("Orders completed on time"),
    "orders_late": N_("Orders completed late"),
    "orders_contested": N_("Orders with every item contested"),
    "on_time_rate": N_("On-time rate"),
    "items_by_outcome": N_("Items by outcome"),
    "time_to_removal_seconds": N_("Time to removal"),
    "breached_orders": N_("Orders past their deadline (breaches)"),
    "overdue_open": N_("Open orders overdue now"),
    "backdated_resolutions": N_("Backdated resolutions"),
    # blocks
    "ordered": N_("Ordered by an authority"),
    "rule_based": N_("From the lock rules"),
    "temporary": N_("Temporary"),
    "permanent": N_("Permanent"),
    "lifted_early": N_("Lifted early"),
    "active_now": N_("Active now"),
    # disclosures
    "received": N_("Requests received"),
    "approved": N_("Approved"),
    "partially_approved": N_("Partially approved"),
    "rejected": N_("Rejected"),
    "no_data": N_("No data held"),
    "pending": N_("Pending"),
    "median_seconds_to_decision": N_("Median time to decision"),
    # identities
    "verified": N_("Verified accounts"),
    "by_method": N_("Verified accounts by method"),
    "minors_with_guardian": N_("Under-16 accounts registered by a guardian"),
    "closed": N_("Closed accounts"),
    "revoked": N_("Verification withdrawn"),
    # webhooks
    "deliveries": N_("Deliveries"),
    "delivered": N_("Delivered"),
    "failed": N_("Failed"),
    # service (annual)
    "legal_name": N_("Legal name"),
    "contact_point": N_("Contact point"),
    "monthly_vn_visits": N_("Monthly visits from Vietnam"),
    "stores_data_in_vn": N_("Stores data in Vietnam"),
    "in_scope_since": N_("In scope since"),
    "contact_filed_at": N_("Form No. 10 filed at"),
    "accounts_by_method_at_year_end": N_("Accounts by verification method at year end"),
    # audit chain
    "platform": N_("This platform's chain"),
    "system": N_("Platform-independent chain"),
}

VALUES: dict[str, str] = {
    # item outcomes
    "removed": N_("Removed"),
    "restricted": N_("Restricted in Vietnam"),
    "not_found": N_("Not found"),
    "contested": N_("Contested"),
    "pending": N_("Pending"),
    # urgency
    "standard": N_("Standard"),
    "emergency": N_("Emergency"),
    # categories
    "national_security": N_("National security"),
    "anti_state_propaganda": N_("Anti-state propaganda"),
    "public_order": N_("Public order"),
    "defamation": N_("Defamation"),
    "fraud": N_("Fraud"),
    "gambling": N_("Gambling"),
    "child_safety": N_("Child safety"),
    "intellectual_property": N_("Intellectual property"),
    "other": N_("Other"),
    # verification methods
    "sms_otp": N_("Vietnamese mobile number (OTP)"),
    "national_id": N_("Personal ID number"),
    "vneid": N_("VNeID"),
    # percentiles and chain heads
    "p50": N_("Median (p50)"),
    "p90": N_("90th percentile"),
    "max": N_("Longest"),
    "seq": N_("Record number"),
    "chain_seq": N_("Position in the chain"),
    "hash": N_("Hash (SHA-256)"),
    # contact point
    "name": N_("Name"),
    "email": N_("E-mail"),
    "phone": N_("Phone"),
    "address": N_("Address"),
}

# Headings, captions and words of the page itself.
PAGE: dict[str, str] = {
    "compliance": N_("Compliance report"),
    "annual": N_("Annual report"),
    "platform": N_("Platform"),
    "period": N_("Period"),
    "generated_at": N_("Generated at"),
    "timezone": N_("All times are Vietnam time (Asia/Ho_Chi_Minh)."),
    "figure": N_("Figure"),
    "value": N_("Value"),
    "authority": N_("Authority"),
    "orders": N_("Orders"),
    "items": N_("Items"),
    "month": N_("Month"),
    "hours": N_("hours"),
    "yes": N_("Yes"),
    "no": N_("No"),
    "none": N_("none"),
    "chart_histogram": N_("Time to removal (removed and restricted items)"),
    "chart_monthly": N_("On-time rate per month"),
    "chart_authorities": N_("Orders per authority"),
    "no_data": N_("No data in this period"),
    "hash_note": N_(
        "The audit chain heads above let anyone holding this report check later that the audit "
        "trail still reaches these records unchanged."
    ),
}
