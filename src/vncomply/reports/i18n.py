"""The report's languages: a gettext message catalogue per language (``locale/<lang>/LC_MESSAGES/
messages.po``), compiled in memory with Babel when first used, so no compiled ``.mo`` can go stale
beside its ``.po``. Message ids are English, so English needs no catalogue.

Numbers, dates and times are formatted for the language's locale by Babel (Vietnamese groups
thousands with ``.``); times are shown in Asia/Ho_Chi_Minh.
"""

from __future__ import annotations

import gettext
from datetime import date, datetime
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

from vncomply.kit.clock import VN_TZ
from vncomply.reports.enums import Lang
from vncomply.reports.labels import PAGE

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"


def catalogue_path(lang: Lang) -> Path:
    return LOCALE_DIR / lang.value / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(lang: Lang) -> gettext.NullTranslations:
    if lang is Lang.en:
        return gettext.NullTranslations()
    with catalogue_path(lang).open("rb") as fh:
        catalog = read_po(fh, locale=lang.value, domain=DOMAIN)
    buf = BytesIO()
    write_mo(buf, catalog)  # fuzzy entries are left out, as msgfmt would
    buf.seek(0)
    return gettext.GNUTranslations(buf)


class Formatter:
    """Locale-aware formatting of the report's values for one language."""

    def __init__(self, lang: Lang) -> None:
        self.lang = lang
        self.locale = lang.value
        self.gettext = translations(lang).gettext

    def integer(self, value: int) -> str:
        return format_decimal(value, format="#,##0", locale=self.locale)

    def percent(self, value: float | None) -> str:
        if value is None:
            return "—"
        return format_percent(value, format="#,##0.0%", locale=self.locale)

    def hours(self, seconds: float | None) -> str:
        if seconds is None:
            return "—"
        number = format_decimal(seconds / 3600, format="#,##0.0", locale=self.locale)
        return f"{number} {self.gettext(PAGE['hours'])}"

    def day(self, value: date | str | None) -> str:
        if value is None:
            return "—"
        d = date.fromisoformat(value) if isinstance(value, str) else value
        return format_date(d, format="long", locale=self.locale)

    def moment(self, value: datetime | str | None) -> str:
        if value is None:
            return "—"
        dt = datetime.fromisoformat(value) if isinstance(value, str) else value
        return format_datetime(dt, format="medium", tzinfo=VN_TZ, locale=self.locale)
