"""A report document (the dict of its JSON: live, or a snapshot's stored figures) as CSV or as a
printable HTML page. Rendering reads only the document, so a snapshot renders the figures it froze.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from vncomply.reports import charts, labels
from vncomply.reports.charts import Bar
from vncomply.reports.enums import Lang
from vncomply.reports.i18n import Formatter

# ---- CSV: one row per figure ---------------------------------------------------------------------

CSV_HEADER = ("section", "metric", "key", "value")
# Lists of objects: the field that names each element (its CSV `key`).
LIST_KEYS = {"by_authority": "code", "time_to_removal_histogram": "from_seconds", "on_time_by_month": "month"}
# Top-level scalars (kind, generated_at) go in the `report` section.
HEAD = "report"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _flat(section: str, metric: str, value: Any, key: str = "") -> Iterator[tuple[str, str, str, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _flat(section, metric, v, f"{key}.{k}" if key else str(k))
    elif isinstance(value, list):
        name = LIST_KEYS.get(metric, "")
        for n, element in enumerate(value):
            ident = _cell(element.get(name)) or str(element.get("authority_id") or n)
            for f, v in element.items():
                if f != name:
                    yield (section, f"{metric}.{f}", ident, _cell(v))
    else:
        yield (section, metric, key, _cell(value))


def figures(report: dict[str, Any]) -> Iterator[tuple[str, str, str, str]]:
    for section, body in report.items():
        if isinstance(body, dict):
            for metric, value in body.items():
                yield from _flat(section, metric, value)
        else:
            yield (HEAD, section, "", _cell(body))


def to_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(figures(report))
    return out.getvalue()


# ---- HTML ------------------------------------------------------------------------------------------

SECTION_ORDER = ("takedowns", "blocks", "disclosures", "identities", "webhooks", "service", "audit_chain")
# Shown as charts or their own table, not as rows of the section's table.
NOT_ROWS = frozenset({"by_authority", "time_to_removal_histogram", "on_time_by_month"})
HOURS = frozenset({"p50", "p90", "max", "median_seconds_to_decision"})
VERBATIM = frozenset({"seq", "chain_seq", "hash", "legal_name", "name", "email", "phone", "address"})


@dataclass
class Row:
    label: str
    value: str
    sub: bool = False  # an element of the group above it


@dataclass
class Section:
    key: str
    title: str
    rows: list[Row] = field(default_factory=list)


@cache
def _env() -> Environment:
    # ``_`` comes with each render (one environment, every language), as the page's gettext.
    env = Environment(
        loader=PackageLoader("vncomply.reports", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


class Page:
    def __init__(self, report: dict[str, Any], lang: Lang) -> None:
        self.report = report
        self.fmt = Formatter(lang)
        self._ = self.fmt.gettext

    def label(self, table: dict[str, str], key: str) -> str:
        return self._(table[key]) if key in table else key

    def value(self, key: str, value: Any) -> str:
        f = self.fmt
        if value is None:
            return "—"
        if isinstance(value, bool):
            return self._("Yes") if value else self._("No")
        if key.endswith("_rate"):
            return f.percent(value)
        if key in HOURS:
            return f.hours(value)
        if key.endswith("_at"):
            return f.moment(value)
        if key.endswith("_since"):
            return f.day(value)
        if isinstance(value, int) and key not in VERBATIM:
            return f.integer(value)
        return str(value)

    def section(self, key: str) -> Section:
        s = Section(key, self.label(labels.SECTIONS, key))
        for metric, value in self.report[key].items():
            if metric in NOT_ROWS:
                continue
            if isinstance(value, dict) or (value is None and key == "audit_chain"):
                s.rows.append(Row(self.label(labels.METRICS, metric), "" if value else self._("none")))
                for k, v in (value or {}).items():
                    s.rows.append(Row(self.label(labels.VALUES, k), self.value(k, v), sub=True))
            else:
                s.rows.append(Row(self.label(labels.METRICS, metric), self.value(metric, value)))
        return s

    def charts(self) -> list[tuple[str, Markup]]:
        t, f, _ = self.report["takedowns"], self.fmt, self._
        empty = _(labels.PAGE["no_data"])
        hist = [
            Bar(
                f"<{b['to_seconds'] // 3600} h" if b["to_seconds"] else f"≥{b['from_seconds'] // 3600} h",
                b["items"],
                f.integer(b["items"]),
            )
            for b in t["time_to_removal_histogram"]
        ]
        top = max((b.value for b in hist), default=0)
        months = [
            Bar(m["month"], m["on_time_rate"] or 0, f.percent(m["on_time_rate"]))
            for m in t["on_time_by_month"]
        ]
        if not top:  # nothing removed: no histogram
            hist = []
        if not any(m["orders_completed"] for m in t["on_time_by_month"]):
            months = []
        authorities = [
            Bar(a["code"] or str(a["authority_id"])[:8], a["orders"], f.integer(a["orders"]))
            for a in t["by_authority"]
        ]
        captions = [_(labels.PAGE[k]) for k in ("chart_histogram", "chart_monthly", "chart_authorities")]
        return [
            (captions[0], charts.columns(captions[0], hist, y_max=top, empty=empty)),
            (captions[1], charts.columns(captions[1], months, y_max=1.0, empty=empty)),
            (captions[2], charts.rows(captions[2], authorities, empty=empty)),
        ]

    def html(self) -> str:
        r = self.report
        template = _env().get_template("report.html")
        tr = self.fmt
        return template.render(
            lang=tr.lang.value,
            _=self._,
            title=self._(labels.PAGE[r["kind"]]),
            words=labels.PAGE,
            platform=r["platform"],
            period_text=f"{tr.day(r['period']['from'])} \u2013 {tr.day(r['period']['to'])}",
            generated=tr.moment(r["generated_at"]),
            sections=[self.section(k) for k in SECTION_ORDER if k in r],
            authorities=[
                (a["code"] or str(a["authority_id"]), tr.integer(a["orders"]), tr.integer(a["items"]))
                for a in r["takedowns"]["by_authority"]
            ],
            charts=self.charts(),
        )


def to_html(report: dict[str, Any], lang: Lang) -> str:
    return Page(report, lang).html()
