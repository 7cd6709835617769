"""Cross-cutting HTTP rules: auth, roles on every route, problem+json."""

from fastapi.routing import APIRoute

from dispatch.app import PUBLIC_PATHS, api_routes
from dispatch.core.web import RoleGuard

ROLES = ("admin", "dispatcher", "technician", "billing")


def _guards(route: APIRoute) -> list[RoleGuard]:
    found, stack = [], [route.dependant]
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, RoleGuard):
            found.append(dep.call)
        stack.extend(dep.dependencies)
    return found


def _concrete(path: str) -> str:
    import re

    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_route_names_its_roles(app):
    unguarded = [
        f"{sorted(methods)} {path}" for path, methods, r in api_routes(app)
        if path not in PUBLIC_PATHS and path != "/me" and not _guards(r)
    ]
    assert unguarded == []


def test_anonymous_calls_get_401_and_wrong_roles_403_on_every_route(app, client, auth):
    tokens = {role: auth(role) for role in ROLES if role != "admin"}
    checked = 0
    for path, methods, route in api_routes(app):
        if path in PUBLIC_PATHS:
            continue
        for method in methods - {"HEAD", "OPTIONS"}:
            url = _concrete(path)
            anon = client.request(method, url)
            assert anon.status_code == 401, (method, url, anon.text)
            assert anon.headers["content-type"].startswith("application/problem+json")
            allowed = set().union(*(g.roles for g in _guards(route))) if _guards(route) else set(ROLES)
            for role, headers in tokens.items():
                if role in allowed:
                    continue
                res = client.request(method, url, headers=headers)
                assert res.status_code == 403, (method, url, role, res.text)
            checked += 1
    assert checked >= 1


def test_a_bad_token_is_a_401_problem(client):
    res = client.get("/me", headers={"Authorization": "Bearer tcn_nope"})
    assert res.status_code == 401
    body = res.json()
    assert body["type"].endswith("/unauthorized")
    assert res.headers["www-authenticate"] == "Bearer"


def test_me_tells_who_the_token_belongs_to(client, auth):
    res = client.get("/me", headers=auth("billing", username="bea"))
    assert res.status_code == 200
    assert res.json()["username"] == "bea"
    assert res.json()["role"] == "billing"
