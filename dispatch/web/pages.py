"""Serving our own web pages: Jinja2 templates, static files, strict headers.

The pages are shells: they hold no data and need no login to load. Their
scripts ask for a token once (kept in the tab's ``sessionStorage``, never in a
URL or a cookie) and send it as ``Authorization: Bearer`` with every data call,
so the JSON endpoints keep their usual role checks. The Content-Security-Policy
admits only our own scripts and styles (no inline code, no third parties), which
also keeps an injected script from reading the token.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from dispatch.core.i18n import is_supported, normalize_locale

WEB = Path(__file__).parent
STATIC = WEB / "static"
TEMPLATE_DIRS = (WEB / "templates", WEB.parent / "routelists" / "templates")


@lru_cache
def jinja() -> Environment:
    return Environment(
        loader=FileSystemLoader([str(d) for d in TEMPLATE_DIRS]),
        autoescape=select_autoescape(("html",)),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def tile_origin(tile_url: str) -> str:
    """``https://tile.example.org`` of a ``{z}/{x}/{y}`` template ('' when unset)."""
    if not tile_url:
        return ""
    parts = urlsplit(tile_url.replace("{s}", "a"))
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") else ""


def security_headers(*, img_origins: tuple[str, ...] = ()) -> dict[str, str]:
    img = " ".join(("'self'", "data:", *img_origins))
    policy = ("default-src 'none'; script-src 'self'; style-src 'self'; "
              f"img-src {img}; connect-src 'self'; font-src 'self'; base-uri 'none'; "
              "form-action 'self'; frame-ancestors 'none'")
    return {
        "Content-Security-Policy": policy,
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }


def render_page(template: str, *, img_origins: tuple[str, ...] = (),
                **context: Any) -> HTMLResponse:
    html = jinja().get_template(template).render(**context)
    return HTMLResponse(html, headers=security_headers(img_origins=img_origins))


def preferred_language(request: Request) -> str:
    """``?lang=`` if supported, else the best supported language of Accept-Language,
    else the deployment's default."""
    asked = request.query_params.get("lang")
    if asked and is_supported(asked):
        return normalize_locale(asked)
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(request.headers.get("accept-language", "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag:
            ranked.append((-q, i, tag.strip()))
    for _, _, tag in sorted(ranked):
        for candidate in (tag, tag.split("-")[0]):
            if is_supported(candidate):
                return normalize_locale(candidate)
    return normalize_locale(request.app.state.settings.default_locale)


# The static files (our own JavaScript and CSS) under /static.
static_router = APIRouter()
static_router.mount("/static", StaticFiles(directory=STATIC), name="static")
