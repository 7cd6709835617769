"""One validated settings object, read from the environment (prefix ``TECNICO_``)."""

from __future__ import annotations

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
    worker_threads: int = 2
    # Hours a customer has to confirm a proposed appointment (seed 004: 24 hours).
    confirmation_hours: int = 24
    default_currency: str = "BRL"
    default_timezone: str = "America/Sao_Paulo"
    default_locale: str = "pt_BR"
    chromium_path: str = "/usr/bin/chromium"
    var_dir: Path = Field(default=Path("var"))
    # Invoice number series prefix (numbers are gap-free per series).
    invoice_series: str = "INV"
    # The issuer printed on invoices; no block is printed while the name is empty.
    company_name: str = ""
    company_tax_id: str = ""
    company_address: str = Field(default="", description="lines separated by '|'")
    company_country: str = "BR"


@lru_cache
def get_settings() -> Settings:
    return Settings()
