"""The report as CSV (parsed back to the same figures) and as a printable HTML page in English and
Vietnamese from a real message catalogue; the page loads and runs nothing."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import httpx
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import auth
from tests.reports import helpers
from tests.reports.helpers import PERIOD
from vncomply.reports import i18n, labels
from vncomply.reports.enums import Lang


@pytest.fixture
async def world(db: AsyncSession, client: httpx.AsyncClient) -> helpers.World:
    return await helpers.build(db, client)


async def get(client: httpx.AsyncClient, w: helpers.World, **params: str) -> httpx.Response:
    r = await client.get(
        f"/v1/platforms/{w.keys.platform_id}/reports/compliance",
        params={**PERIOD, **params},
        headers=auth(w.keys.officer),
    )
    assert r.status_code == 200, r.text
    return r


def parse_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_csv_is_one_row_per_figure_and_parses_back(
    client: httpx.AsyncClient, world: helpers.World
) -> None:
    doc = (await get(client, world)).json()
    r = await get(client, world, format="csv")
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in r.headers["content-disposition"]
    text = r.content.decode("utf-8")
    assert text.splitlines()[0] == "section,metric,key,value"
    rows = parse_csv(text)
    value = {(x["section"], x["metric"], x["key"]): x["value"] for x in rows}
    assert len(value) == len(rows)  # no figure twice

    t = doc["takedowns"]
    assert value[("takedowns", "orders_received", "")] == "5"
    assert value[("takedowns", "on_time_rate", "")] == "0.5"
    assert value[("takedowns", "by_category", "fraud")] == "3"
    assert value[("takedowns", "items_by_outcome", "contested")] == "2"
    assert value[("takedowns", "time_to_removal_seconds", "p90")] == "73440.0"
    assert value[("takedowns", "by_authority.orders", "MPS-A05")] == "2"
    assert value[("takedowns", "by_authority.items", "ABEI")] == "5"
    assert value[("takedowns", "time_to_removal_histogram.items", "3600")] == "2"
    assert value[("takedowns", "on_time_by_month.on_time_rate", "2026-11")] == "0.5"
    assert value[("disclosures", "median_seconds_to_decision", "")] == "10800.0"
    assert value[("identities", "by_method", "sms_otp")] == "3"
    assert value[("webhooks", "failed", "")] == "4"
    assert value[("platform", "name", "")] == "ExampleSocial"
    assert value[("period", "from", "")] == "2026-11-01"
    assert value[("report", "kind", "")] == "compliance"
    assert value[("audit_chain", "platform", "hash")] == doc["audit_chain"]["platform"]["hash"]

    # Every scalar figure of the JSON is in the CSV, with the same value.
    def scalars(section: str, body: dict[str, Any]) -> dict[tuple[str, str, str], Any]:
        out = {}
        for metric, v in body.items():
            if isinstance(v, dict):
                out.update({(section, metric, k): x for k, x in v.items() if not isinstance(x, dict)})
            elif not isinstance(v, list):
                out[(section, metric, "")] = v
        return out

    for section in ("takedowns", "blocks", "disclosures", "identities", "webhooks"):
        for key, v in scalars(section, doc[section]).items():
            assert value[key] == ("" if v is None else str(v)), key
    assert t["time_to_removal_seconds"]["max"] == float(
        value[("takedowns", "time_to_removal_seconds", "max")]
    )


def visible_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_html_in_english_and_vietnamese(client: httpx.AsyncClient, world: helpers.World) -> None:
    en = await get(client, world, format="html", lang="en")
    vi = await get(client, world, format="html", lang="vi")
    for r in (en, vi):
        assert r.headers["content-type"] == "text/html; charset=utf-8"
        policy = r.headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "frame-ancestors 'none'" in policy
        body = r.text
        assert "<script" not in body.lower()
        assert " src=" not in body
        assert "url(" not in body
        assert "@import" not in body
        # Nothing but the SVG namespace names another place.
        assert set(re.findall(r"https?://[^\s\"'<>]+", body)) == {"http://www.w3.org/2000/svg"}
        assert body.count("<svg") == 3
        assert "@page { size: A4" in body
    assert '<html lang="en">' in en.text
    assert '<html lang="vi">' in vi.text
    en_text, vi_text = visible_text(en.text), visible_text(vi.text)
    assert "Compliance report" in en_text
    assert "Takedown orders" in en_text
    assert "Báo cáo tuân thủ" in vi_text
    assert "Yêu cầu gỡ bỏ nội dung" in vi_text
    assert "Tỷ lệ đúng hạn" in vi_text
    assert "Báo cáo tuân thủ" not in en_text
    assert "Compliance report" not in vi_text
    assert "Takedown orders" not in vi_text
    # The same figures, written for each locale: 50% on time, 20.4 h p90, the times in Vietnam time.
    assert "50.0%" in en_text
    assert "50,0%" in vi_text
    assert "20.4 hours" in en_text
    assert "20,4 giờ" in vi_text
    assert "Nov 12, 2026, 10:00:00 AM" in en_text  # generated at REPORT_AT, 03:00 UTC (spaces folded)
    assert "10:00:00 12 thg 11, 2026" in vi_text
    assert "November 1, 2026" in en_text
    assert "1 tháng 11, 2026" in vi_text
    # A platform name is data: escaped, never markup.
    assert "<b>" not in en.text


async def test_html_escapes_data(db: AsyncSession, client: httpx.AsyncClient) -> None:
    from sqlalchemy import update

    from vncomply.authorities.models import Authority
    from vncomply.platforms.models import Platform

    w = await helpers.build(db, client)
    await db.execute(
        update(Platform).where(Platform.id == w.keys.platform_id).values(name="<b>Evil</b> & co")
    )
    await db.execute(update(Authority).where(Authority.id == w.abei).values(code="<i>ABEI</i>"))
    await db.flush()
    body = (await get(client, w, format="html")).text
    assert "<b>Evil</b>" not in body
    assert "&lt;b&gt;Evil&lt;/b&gt; &amp; co" in body
    assert "<i>ABEI</i>" not in body
    assert "&lt;i&gt;ABEI&lt;/i&gt;" in body


def test_catalogue_translates_every_label() -> None:
    """Every message the reports package marks for translation has a Vietnamese entry (and the
    catalogue has no entry left from a label that is gone)."""
    root = i18n.LOCALE_DIR.parent
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    found = {
        msgid
        for _file, _line, msgid, _comments, _context in extract_from_dir(
            str(root), method_map, keywords={"N_": None, "_": None}
        )
    }
    with i18n.catalogue_path(Lang.vi).open("rb") as fh:
        catalog = read_po(fh)
    translated = {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}
    assert found, "the extractor found no messages"
    assert found - set(translated) == set(), "labels without a Vietnamese translation"
    assert {m.id for m in catalog if m.id} - found == set(), "catalogue entries no label uses"
    # The runtime uses that catalogue (compiled in memory), not a stale copy.
    vi = i18n.translations(Lang.vi)
    assert vi.gettext(labels.PAGE["compliance"]) == "Báo cáo tuân thủ"
    assert i18n.translations(Lang.en).gettext(labels.PAGE["compliance"]) == "Compliance report"
