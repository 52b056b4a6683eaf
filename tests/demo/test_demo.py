"""The demo: the echo view shows what a view receives, and the seed is idempotent."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from policies.models import Application, Policy

pytestmark = pytest.mark.django_db


def test_echo_answers_every_method_with_what_the_view_received(client):
    response = client.generic(
        "PATCH",
        "/demo/echo/some/path?a=1&a=2&b=x",
        HTTP_ORIGIN="https://caller.example",
        HTTP_CF_ACCESS_CLIENT_ID="abc.access",
    )

    assert response.status_code == 200
    assert response.json() == {
        "method": "PATCH",
        "path": "/demo/echo/some/path",
        "query": {"a": ["1", "2"], "b": ["x"]},
        "headers": {"Cf-Access-Client-Id": "abc.access"},
        "origin": "https://caller.example",
        "cookies": [],
        "access": None,
    }


def test_echo_sets_no_cors_header_unless_asked(client):
    response = client.get("/demo/echo/x", HTTP_ORIGIN="https://caller.example")

    assert not [name for name in response.headers if name.lower().startswith("access-control-")]


def test_echo_with_cors_1_echoes_the_origin_with_credentials(client):
    response = client.get("/demo/echo/x?cors=1", HTTP_ORIGIN="https://caller.example")

    assert response["Access-Control-Allow-Origin"] == "https://caller.example"
    assert response["Access-Control-Allow-Credentials"] == "true"
    assert response["Vary"] == "Origin"


def test_demo_home_without_protection_says_no_identity_reached_it(client):
    response = client.get("/demo/")

    assert response.status_code == 200
    assert b"No Access identity reached this view" in response.content


def test_seed_demo_is_idempotent(tmp_path, settings, capsys):
    settings.DATA_DIR = tmp_path

    call_command("seed_demo")
    first = capsys.readouterr().out
    snapshot = (
        sorted(Application.objects.values_list("name", "aud", "domain")),
        sorted(Policy.objects.values_list("application__name", "name", "updated_at")),
        list(get_user_model().objects.values_list("username", "password")),
    )
    call_command("seed_demo")
    second = capsys.readouterr().out

    assert "create application" in first
    assert "no changes" in second
    assert (
        sorted(Application.objects.values_list("name", "aud", "domain")),
        sorted(Policy.objects.values_list("application__name", "name", "updated_at")),
        list(get_user_model().objects.values_list("username", "password")),
    ) == snapshot
    assert [name for name, *_ in snapshot[0]] == ["Demo", "Demo API"]


def test_seed_demo_takes_the_password_from_the_environment(tmp_path, settings, monkeypatch):
    settings.DATA_DIR = tmp_path
    monkeypatch.setenv("ACCESS_DEMO_PASSWORD", "correct horse battery staple")

    call_command("seed_demo")

    assert (
        get_user_model()
        .objects.get(username="admin")
        .check_password("correct horse battery staple")
    )
