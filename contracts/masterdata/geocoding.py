"""Addresses to coordinates through geopy and a Nominatim-compatible geocoder.

The geocoder's base URL is a setting (``TECNICO_GEOCODER_URL``; empty turns
geocoding off). Answers are cached by normalised query in ``geocode_cache``:
found and not-found answers are kept, errors are not (the next try asks
again). Geocoding never blocks the caller: a failure is an outcome with
status ``failed`` (``pending`` when geocoding is off), never an exception, and
the site is stored without coordinates and flagged.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from urllib.parse import urlsplit

from geopy.exc import GeopyError
from geopy.geocoders import Nominatim
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from contracts.masterdata.models import GeocodeCache, GeocodeStatus
from dispatch.core.settings import Settings

log = logging.getLogger("tecnico.geocoding")

_SPACES = re.compile(r"\s+")


class GeocoderUnavailable(Exception):
    """The geocoder could not answer (network, HTTP error, garbage); worth retrying later."""


class Geocoder(Protocol):
    def lookup(self, query: str, country: str) -> tuple[float, float] | None:
        """(latitude, longitude) of the best match in ``country`` (ISO-2), None when none.

        Raises GeocoderUnavailable when the geocoder cannot answer.
        """
        ...


class NominatimGeocoder:
    """geopy's Nominatim client pointed at any Nominatim-compatible ``base_url``."""

    def __init__(self, base_url: str, *, user_agent: str, timeout_s: float) -> None:
        parts = urlsplit(base_url if "://" in base_url else f"https://{base_url}")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"geocoder URL {base_url!r} is not an http(s) URL")
        # geopy builds "<scheme>://<domain>/search"; a path prefix travels in the domain.
        domain = parts.netloc + parts.path.rstrip("/")
        self._client = Nominatim(
            domain=domain, scheme=parts.scheme, user_agent=user_agent, timeout=timeout_s
        )

    def lookup(self, query: str, country: str) -> tuple[float, float] | None:
        try:
            found = self._client.geocode(
                query, exactly_one=True, country_codes=[country.lower()] if country else None
            )
        except (GeopyError, ValueError, TypeError, KeyError) as exc:
            # ValueError/TypeError/KeyError: an answer that is not Nominatim's JSON.
            raise GeocoderUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if found is None:
            return None
        return float(found.latitude), float(found.longitude)


def geocoder_from_settings(settings: Settings) -> Geocoder | None:
    """The configured geocoder, or None when ``geocoder_url`` is empty (geocoding off)."""
    if not settings.geocoder_url.strip():
        return None
    return NominatimGeocoder(
        settings.geocoder_url.strip(),
        user_agent=settings.geocoder_user_agent,
        timeout_s=settings.geocoder_timeout_s,
    )


@dataclass(frozen=True, slots=True)
class GeocodeOutcome:
    status: GeocodeStatus
    latitude: float | None = None
    longitude: float | None = None
    # Why there are no coordinates (for logs and the site's history); "" when found.
    reason: str = ""


def address_query(address: str, postal_code: str, city: str) -> str:
    """The free-form query sent to the geocoder: "Rua Augusta 100, 01305-000 São Paulo"."""
    place = " ".join(p.strip() for p in (postal_code, city) if p.strip())
    return ", ".join(p for p in (address.strip(), place) if p)


def cache_key(query: str, country: str) -> str:
    """Case and spacing do not make a different address."""
    words = _SPACES.sub(" ", query).strip().casefold()
    return f"{country.upper()}|{words}"[:500]


def geocode(
    session: Session,
    *,
    geocoder: Geocoder | None,
    address: str,
    postal_code: str,
    city: str,
    country: str,
    now: datetime,
) -> GeocodeOutcome:
    """Coordinates of an address from the cache or the geocoder; never raises for its failures."""
    query = address_query(address, postal_code, city)
    key = cache_key(query, country)
    cached = session.scalar(select(GeocodeCache).where(GeocodeCache.query == key))
    if cached is not None:
        if cached.found:
            return GeocodeOutcome(GeocodeStatus.ok, cached.lat, cached.lon)
        return GeocodeOutcome(GeocodeStatus.failed, reason="the geocoder found no such address")
    if geocoder is None:
        return GeocodeOutcome(GeocodeStatus.pending, reason="geocoding is turned off")
    try:
        point = geocoder.lookup(query, country)
    except GeocoderUnavailable as exc:
        log.warning("geocoding %r failed: %s", query, exc)
        return GeocodeOutcome(GeocodeStatus.failed, reason=f"geocoder unavailable: {exc}")
    _remember(session, key, point, now)
    if point is None:
        return GeocodeOutcome(GeocodeStatus.failed, reason="the geocoder found no such address")
    return GeocodeOutcome(GeocodeStatus.ok, point[0], point[1])


def _remember(session: Session, key: str, point: tuple[float, float] | None,
              now: datetime) -> None:
    """Cache an answer; a concurrent request that cached it first wins (same answer)."""
    row = GeocodeCache(
        query=key, lat=point[0] if point else None, lon=point[1] if point else None,
        found=point is not None, created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        log.info("geocode cache entry %r was written concurrently", key)
