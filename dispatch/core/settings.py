"""One validated settings object, read from the environment (prefix ``TECNICO_``)."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TECNICO_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///var/tecnico.db"
    # Echo SQL statements (debugging only).
    database_echo: bool = False
    # Where map tiles come from on the board; empty means no tile background (works offline).
    tile_url: str = ""
    # Nominatim-compatible geocoder; set empty to disable geocoding (sites are then flagged).
    geocoder_url: str = "https://nominatim.openstreetmap.org"
    geocoder_user_agent: str = "tecnico-field-service"
    geocoder_timeout_s: float = 5.0
    # OSRM server for road travel times; empty means great-circle estimates.
    osrm_url: str = ""
    # Celery broker; empty means scheduling jobs run in-process.
    broker_url: str = ""
    # The broker queue scheduling runs go through (several deployments may share a Redis).
    run_queue: str = "tecnico-runs"
    # Redis pub/sub channel relaying the board's live updates between processes (Redis
    # brokers only).
    events_channel: str = "tecnico-events"
    # A running run whose heartbeat is older than this lost its worker (a killed process, a
    # crashed thread) and is failed: 30 heartbeats of 1 s, far above a healthy worker's pauses.
    run_stale_after_s: float = Field(default=30.0, ge=1.0)
    worker_threads: int = 2
    # Hours a customer has to confirm a proposed appointment (seed 004: 24 hours).
    confirmation_hours: int = 24
    default_currency: str = "BRL"
    # What a kilometre driven costs the company (vehicle, fuel, tolls), in the currency of the
    # contract whose profit and loss is drawn up, like technicians' cost rates; 0: kilometres
    # are not costed. Profit and loss reads it when it runs, so it applies to past months too.
    travel_cost_per_km: Decimal = Field(default=Decimal("0"), ge=0, max_digits=12,
                                        decimal_places=4)
    default_timezone: str = "America/Sao_Paulo"
    default_locale: str = "pt_BR"
    chromium_path: str = "/usr/bin/chromium"
    var_dir: Path = Field(default=Path("var"))
    # Invoice number series prefix (numbers are gap-free per series).
    invoice_series: str = "INV"
    # The issuer of invoices, copied onto each document as it is issued (a later change
    # leaves issued ones as they were); no issuer is printed while the name is empty.
    # The lengths are the invoice columns'.
    company_name: str = Field(default="", max_length=200)
    company_tax_id: str = Field(default="", max_length=40)
    company_address: str = Field(default="", description="lines separated by '|'")
    company_country: str = Field(default="BR", max_length=2)


@lru_cache
def get_settings() -> Settings:
    return Settings()
