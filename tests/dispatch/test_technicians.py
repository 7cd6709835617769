"""Technicians over HTTP: skills by code, a login, who may manage them."""

from sqlalchemy import func, select

from dispatch.core.auth import User
from dispatch.models import Technician
from tests.factories import make_skill, make_technician


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def _tech(**overrides) -> dict:
    return {"name": "João Lima", "currency": "BRL", "home_lat": -23.55, "home_lon": -46.63,
            "cost_rate": "42.5", "skills": ["refrigeration"]} | overrides


def test_a_technician_is_created_with_skills_by_code_and_his_login(client, auth, session):
    make_skill(session, code="refrigeration")
    session.commit()
    headers = auth("dispatcher")
    auth("technician", username="joao")
    user_id = session.scalar(select(User.id).where(User.username == "joao"))
    res = client.post("/technicians", headers=headers, json=_tech(user_id=user_id))
    assert res.status_code == 201, res.text
    tech = res.json()
    assert tech["skills"] == ["refrigeration"]
    assert tech["cost_rate"] == "42.50"
    assert tech["user_id"] == user_id
    twice = client.post("/technicians", headers=headers, json=_tech(user_id=user_id))
    assert twice.status_code == 409
    assert twice.json()["field"] == "user_id"


def test_a_login_that_is_no_technician_cannot_be_linked(client, auth, session):
    make_skill(session, code="refrigeration")
    session.commit()
    auth("billing", username="bea")
    user_id = session.scalar(select(User.id).where(User.username == "bea"))
    res = client.post("/technicians", headers=auth("dispatcher"), json=_tech(user_id=user_id))
    assert res.status_code == 422
    assert res.json()["field"] == "user_id"
    assert _count(session, Technician) == 0


def test_an_unknown_skill_or_half_a_home_is_a_422_and_nothing_is_stored(client, auth, session):
    headers = auth("dispatcher")
    res = client.post("/technicians", headers=headers, json=_tech(skills=["welding"]))
    assert (res.status_code, res.json()["field"]) == (422, "skills")
    res = client.post("/technicians", headers=headers, json=_tech(skills=[], home_lon=None))
    assert (res.status_code, res.json()["field"]) == (422, "home_lon")
    assert _count(session, Technician) == 0


def test_technicians_are_listed_by_skill_and_activity(client, auth, session):
    fridge, oven = make_skill(session, code="fridge"), make_skill(session, code="oven")
    make_technician(session, name="Ana", skills=[fridge, oven])
    make_technician(session, name="Bruno", skills=[oven])
    make_technician(session, name="Carla", skills=[fridge], active=False)
    session.commit()
    headers = auth("dispatcher")

    def names(**params):
        return [t["name"] for t in client.get("/technicians", headers=headers,
                                              params=params).json()]

    assert names() == ["Ana", "Bruno", "Carla"]
    assert names(skill="fridge") == ["Ana", "Carla"]
    assert names(skill="fridge", active="true") == ["Ana"]


def test_skills_are_replaced_by_patch_and_a_skill_in_use_stays(client, auth, session):
    fridge, oven = make_skill(session, code="fridge"), make_skill(session, code="oven")
    tech = make_technician(session, skills=[fridge])
    session.commit()
    headers = auth("dispatcher")
    res = client.patch(f"/technicians/{tech.id}", headers=headers, json={"skills": ["oven"]})
    assert res.json()["skills"] == ["oven"]
    assert client.delete(f"/skills/{oven.id}", headers=headers).status_code == 409
    assert client.delete(f"/skills/{fridge.id}", headers=headers).status_code == 204


def test_only_dispatchers_and_admins_manage_technicians(client, auth, session):
    make_technician(session)
    session.commit()
    for role in ("billing", "technician"):
        assert client.get("/technicians", headers=auth(role)).status_code == 403
    assert client.get("/technicians", headers=auth("admin")).status_code == 200
