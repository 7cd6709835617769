"""Locales we write customer-facing text in, and Babel formatting in a site's zone."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date as _format_date
from babel.dates import format_datetime as _format_datetime
from babel.dates import format_time as _format_time
from babel.numbers import format_currency, format_decimal

SUPPORTED = ("pt_BR", "da", "it", "en")
_ALIASES = {"pt": "pt_BR", "pt-br": "pt_BR", "pt_br": "pt_BR", "da-dk": "da", "da_dk": "da",
            "it-it": "it", "it_it": "it", "en-us": "en", "en_us": "en", "en-gb": "en"}


def normalize_locale(value: str | None) -> str:
    """Map 'pt-BR', 'pt', 'da_DK'... onto one of SUPPORTED; unknown falls back to English."""
    if not value:
        return "en"
    if value in SUPPORTED:
        return value
    return _ALIASES.get(value.lower(), "en")


def is_supported(value: str) -> bool:
    return value in SUPPORTED or value.lower() in _ALIASES


def babel_locale(value: str) -> Locale:
    return Locale.parse(normalize_locale(value))


def money(amount: Decimal, currency: str, locale: str) -> str:
    return format_currency(amount, currency, locale=normalize_locale(locale))


def number(value: Decimal | int | float, locale: str) -> str:
    return format_decimal(value, locale=normalize_locale(locale))


def day(value: date, locale: str, fmt: str = "medium") -> str:
    return _format_date(value, format=fmt, locale=normalize_locale(locale))


def moment(value: datetime, locale: str, tz: str, fmt: str = "medium") -> str:
    """A UTC datetime shown in the site's zone."""
    return _format_datetime(value, format=fmt, tzinfo=ZoneInfo(tz), locale=normalize_locale(locale))


def clock_time(value: datetime, locale: str, tz: str) -> str:
    return _format_time(value, format="short", tzinfo=ZoneInfo(tz), locale=normalize_locale(locale))
