"""`access_apply` and `access_export`: plan, dry run, prune, errors by path, round trip."""

import json
import os
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from common.credentials import verify_secret
from policies.configfile import ConfigFileError, dump_text, parse_text, plan_config
from policies.management.commands import access_apply
from policies.models import AccessGroup, Application, IdentityProvider, Policy, ServiceToken
from tests.factories import ApplicationFactory, PolicyFactory

pytestmark = pytest.mark.django_db

CONFIG = {
    "groups": [{"name": "staff", "include": [{"email_domain": {"domain": "example.com"}}]}],
    "service_tokens": [{"name": "ci", "duration": "forever"}],
    "applications": [
        {
            "name": "Dashboard",
            "domain": "dash.example.com",
            "session_duration": "12h",
            "policies": [
                {
                    "name": "Staff",
                    "decision": "allow",
                    "precedence": 1,
                    "include": [{"group": {"name": "staff"}}],
                },
                {
                    "name": "CI",
                    "decision": "non_identity",
                    "precedence": 2,
                    "include": [{"service_token": {"name": "ci"}}],
                },
            ],
        }
    ],
}


def write(tmp_path, data, name="access.yaml"):
    path = tmp_path / name
    text = dump_text(data, json_syntax=name.endswith(".json"))
    path.write_text(text)
    return path


def apply(path, *args):
    out, err = StringIO(), StringIO()
    call_command("access_apply", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_apply_creates_everything_and_prints_the_plan(tmp_path):
    out, _ = apply(write(tmp_path, CONFIG))
    assert '+ create group "staff"' in out
    assert '+ create policy "Staff" of application "Dashboard"' in out
    application = Application.objects.get(name="Dashboard")
    assert application.session_duration == "12h"
    assert list(application.policies.values_list("name", flat=True)) == ["Staff", "CI"]


def test_a_generated_service_token_secret_is_printed_once(tmp_path):
    out, _ = apply(write(tmp_path, CONFIG))
    token = ServiceToken.objects.get(name="ci")
    line = next(line for line in out.splitlines() if "CF-Access-Client-Secret" in line)
    secret = line.split("CF-Access-Client-Secret: ")[1].split()[0]
    assert verify_secret(secret, token.secret_hash)
    second, _ = apply(write(tmp_path, CONFIG))
    assert "CF-Access-Client-Secret" not in second


def test_applying_twice_prints_no_changes(tmp_path):
    path = write(tmp_path, CONFIG)
    apply(path)
    out, _ = apply(path)
    assert out.splitlines() == ["no changes"]


def test_json_files_are_accepted(tmp_path):
    apply(write(tmp_path, CONFIG, "access.json"))
    assert Application.objects.filter(name="Dashboard").exists()


def test_dry_run_changes_nothing(tmp_path):
    out, _ = apply(write(tmp_path, CONFIG), "--dry-run")
    assert '+ create application "Dashboard"' in out
    assert not Application.objects.exists()


def test_update_lists_the_changed_fields(tmp_path):
    apply(write(tmp_path, CONFIG))
    changed = json.loads(json.dumps(CONFIG))
    changed["applications"][0]["session_duration"] = "6h"
    out, _ = apply(write(tmp_path, changed))
    assert out.splitlines()[0] == '~ update application "Dashboard": session_duration'
    assert Application.objects.get(name="Dashboard").session_duration == "6h"


def test_swapping_precedences_applies(tmp_path):
    apply(write(tmp_path, CONFIG))
    changed = json.loads(json.dumps(CONFIG))
    policies = changed["applications"][0]["policies"]
    policies[0]["precedence"], policies[1]["precedence"] = 2, 1
    apply(write(tmp_path, changed))
    assert list(Policy.objects.order_by("precedence").values_list("name", flat=True)) == [
        "CI",
        "Staff",
    ]


def test_without_prune_unlisted_objects_stay(tmp_path):
    ApplicationFactory(name="Legacy")
    apply(write(tmp_path, CONFIG))
    assert Application.objects.filter(name="Legacy").exists()


def test_prune_deletes_unlisted_objects(tmp_path):
    ApplicationFactory(name="Legacy")
    AccessGroup.objects.create(name="old", include=[{"everyone": {}}])
    out, _ = apply(write(tmp_path, CONFIG), "--prune")
    assert '- delete application "Legacy"' in out
    assert not Application.objects.filter(name="Legacy").exists()
    assert not AccessGroup.objects.filter(name="old").exists()
    # The file lists no identity providers, so --prune removes the default ones too.
    assert not IdentityProvider.objects.exists()


def test_bad_file_lists_every_error_by_path_and_changes_nothing(tmp_path):
    bad = json.loads(json.dumps(CONFIG))
    bad["applications"].insert(0, {"name": "A", "domain": "a.example.com"})
    bad["applications"].insert(1, {"name": "B", "domain": "b.example.com"})
    bad["applications"][0]["cors_headers"] = {"allow_all_origins": True, "allow_all_methods": True}
    bad["applications"][2]["cors_headers"] = {
        "allow_all_origins": True,
        "allow_all_methods": True,
        "max_age": 100000,
    }
    bad["applications"][2]["policies"][0]["include"] = [{"group": {"name": "nobody"}}]
    with pytest.raises(CommandError, match="2 errors"):
        apply(write(tmp_path, bad))
    assert not Application.objects.exists()


def test_bad_file_error_lines(tmp_path):
    bad = json.loads(json.dumps(CONFIG))
    bad["applications"][0]["cors_headers"] = {
        "allow_all_origins": True,
        "allow_all_methods": True,
        "max_age": 100000,
    }
    bad["applications"][0]["policies"][0]["include"] = [{"group": {"name": "nobody"}}]
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("access_apply", str(write(tmp_path, bad)), stdout=StringIO(), stderr=err)
    assert err.getvalue().splitlines() == [
        "applications[0].cors_headers.max_age: must be between -1 and 86400",
        'applications[0].policies[0].include[0].group.name: no access group is named "nobody"; '
        "create it first or fix the name",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("applications: [unclosed", "not valid YAML"),
        ("- just\n- a list\n", "the file must hold a mapping"),
        ("applications: {name: x}\n", "applications: must be a list"),
        ("widgets: []\n", "widgets: unknown section"),
    ],
)
def test_malformed_files_give_a_clear_error(tmp_path, text, message):
    path = tmp_path / "access.yaml"
    path.write_text(text)
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("access_apply", str(path), stdout=StringIO(), stderr=err)
    assert message in err.getvalue()


def test_malformed_json_names_the_position(tmp_path):
    path = tmp_path / "access.json"
    path.write_text('{"applications": [}')
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("access_apply", str(path), stdout=StringIO(), stderr=err)
    assert "not valid JSON" in err.getvalue()
    assert "line 1, column 19" in err.getvalue()


def test_duplicate_names_are_refused(tmp_path):
    bad = {"groups": [CONFIG["groups"][0], CONFIG["groups"][0]]}
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("access_apply", str(write(tmp_path, bad)), stdout=StringIO(), stderr=err)
    assert 'groups[1].name: another group is named "staff"' in err.getvalue()


def test_service_token_with_given_secret_is_stored_hashed(tmp_path):
    data = {
        "service_tokens": [
            {
                "name": "ci",
                "client_id": "e367826f93b8d71185e03fe518aff3b4.access",
                "client_secret": "z" * 64,
            }
        ]
    }
    out, _ = apply(write(tmp_path, data))
    token = ServiceToken.objects.get(name="ci")
    assert verify_secret("z" * 64, token.secret_hash)
    assert "z" * 64 not in out
    again, _ = apply(write(tmp_path, data))
    assert again.splitlines() == ["no changes"]


def test_export_then_apply_is_a_no_op(tmp_path):
    apply(write(tmp_path, CONFIG))
    PolicyFactory(
        application=ApplicationFactory(
            name="API",
            domain="api.example.com",
            cors_headers={
                "allowed_origins": ["https://web.example.com"],
                "allowed_methods": ["GET"],
            },
        ),
        precedence=1,
    )
    exported = tmp_path / "export.yaml"
    call_command("access_export", "--output", str(exported))
    out, _ = apply(exported)
    assert out.splitlines() == ["no changes"]


def test_export_has_no_secrets(tmp_path):
    apply(write(tmp_path, CONFIG))
    out = StringIO()
    call_command("access_export", "--format", "json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["service_tokens"][0].keys() == {"name", "duration", "client_id"}
    assert "sha256" not in out.getvalue()


# YAML 1.2: the words and numbers YAML 1.1 (PyYAML) reads as something else stay as written.


def test_norway_country_code_is_text_not_false(tmp_path):
    path = tmp_path / "access.yaml"
    path.write_text(
        "applications:\n"
        "- name: a\n"
        "  domain: a.example.com\n"
        "  policies:\n"
        "  - name: p\n"
        "    decision: allow\n"
        "    precedence: 1\n"
        "    include:\n"
        "    - geo: {country_code: NO}\n"
    )

    apply(path)

    assert Policy.objects.get().include == [{"geo": {"country_code": "NO"}}]


def test_a_duration_written_with_a_colon_is_text_not_base_60(tmp_path):
    path = tmp_path / "access.yaml"
    path.write_text("service_tokens:\n- name: ci\n  duration: 1:30\n")
    err = StringIO()

    with pytest.raises(CommandError):
        call_command("access_apply", str(path), stdout=StringIO(), stderr=err)

    assert err.getvalue().splitlines() == [
        "service_tokens[0].duration: '1:30' is not a duration; use Go duration syntax such as "
        '30m, 2h45m or 24h; write a duration like "30m", "2h45m" or "24h" or "forever"'
    ]
    assert not ServiceToken.objects.exists()


@pytest.mark.parametrize("word", ["NO", "No", "no", "Yes", "yes", "on", "ON", "off", "Off"])
def test_words_yaml_1_1_reads_as_booleans_are_text(word):
    assert parse_text(f"value: {word}", json_syntax=False) == {"value": word}


@pytest.mark.parametrize("text", ["1:30", "190:20:30", "-1:30"])
def test_numbers_with_colons_are_text_not_base_60(text):
    assert parse_text(f"value: {text}", json_syntax=False) == {"value": text}


def test_a_leading_zero_is_decimal_not_octal():
    assert parse_text("value: 012", json_syntax=False) == {"value": 12}


@pytest.mark.parametrize("name", ["NO", "1:30", "0o17", "1e3", "012", "null", "~"])
def test_export_writes_text_that_reads_back_as_the_same_text(tmp_path, name):
    # YAML 1.1 writers leave 0o17 and 1e3 bare; a YAML 1.2 reader takes them for numbers.
    apply(write(tmp_path, {"groups": [{"name": name, "include": [{"everyone": {}}]}]}))
    out = StringIO()

    call_command("access_export", stdout=out)

    assert parse_text(out.getvalue(), json_syntax=False)["groups"][0]["name"] == name


def test_a_repeated_key_is_an_error_not_the_last_value_winning():
    with pytest.raises(ConfigFileError) as caught:
        parse_text("groups:\n- name: staff\n  name: admins\n", json_syntax=False, source="c")

    assert caught.value.errors == [
        'c: not valid YAML: found duplicate key "name" with value "admins" '
        '(original value: "staff") (line 3, column 3)'
    ]


def refused(path):
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("access_apply", str(path), stdout=StringIO(), stderr=err)
    return err.getvalue()


PROVIDER = {
    "name": "Corp",
    "type": "oidc",
    "config": {
        "client_id": "accessproject",
        "client_secret": "${CORP_OIDC_SECRET}",
        "issuer": "https://idp.example.com",
    },
}


def test_a_provider_secret_comes_from_the_environment(tmp_path, monkeypatch):
    from policies.providers import decrypt_secrets

    monkeypatch.setenv("CORP_OIDC_SECRET", "s3cret-from-env")
    out, _ = apply(write(tmp_path, {"identity_providers": [PROVIDER]}))

    assert '+ create identity provider "Corp"' in out
    stored = IdentityProvider.objects.get(name="Corp")
    assert decrypt_secrets(stored.secrets) == {"client_secret": "s3cret-from-env"}
    assert stored.config["client_id"] == "accessproject"
    assert "s3cret-from-env" not in out


def test_an_unset_environment_variable_is_an_error(tmp_path, monkeypatch):
    monkeypatch.delenv("CORP_OIDC_SECRET", raising=False)
    err = refused(write(tmp_path, {"identity_providers": [PROVIDER]}))
    assert (
        "identity_providers[0].config.client_secret: the environment variable "
        "CORP_OIDC_SECRET is not set"
    ) in err
    assert not IdentityProvider.objects.filter(name="Corp").exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("${not-a-name}", "${not-a-name} is not a variable name; write ${NAME}"),
        ("${UNCLOSED", "an unclosed ${; write ${NAME}"),
    ],
)
def test_a_malformed_reference_is_an_error(tmp_path, value, message):
    provider = {**PROVIDER, "config": {**PROVIDER["config"], "client_secret": value}}
    err = refused(write(tmp_path, {"identity_providers": [provider]}))
    assert f"identity_providers[0].config.client_secret: {message}" in err


def test_a_changed_secret_is_named_in_the_plan_but_never_shown(tmp_path, monkeypatch):
    monkeypatch.setenv("CORP_OIDC_SECRET", "first")
    apply(write(tmp_path, {"identity_providers": [PROVIDER]}))
    monkeypatch.setenv("CORP_OIDC_SECRET", "second-secret")

    out, _ = apply(write(tmp_path, {"identity_providers": [PROVIDER]}))

    assert '~ update identity provider "Corp": config.client_secret' in out
    assert "second-secret" not in out


def test_export_leaves_out_the_secret_and_applying_it_back_changes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("CORP_OIDC_SECRET", "s3cret-from-env")
    apply(write(tmp_path, {"identity_providers": [PROVIDER]}))
    out = StringIO()
    call_command("access_export", "--format", "json", stdout=out)

    assert "s3cret-from-env" not in out.getvalue()
    exported = json.loads(out.getvalue())
    corp = next(p for p in exported["identity_providers"] if p["name"] == "Corp")
    assert "client_secret" not in corp["config"]
    assert corp["config"]["issuer"] == "https://idp.example.com"
    monkeypatch.delenv("CORP_OIDC_SECRET")
    again, _ = apply(write(tmp_path, exported, "exported.json"))
    assert again.splitlines() == ["no changes"]


def test_a_new_provider_without_a_secret_is_refused(tmp_path):
    provider = {**PROVIDER, "config": {"client_id": "a", "issuer": "https://idp.example.com"}}
    err = refused(write(tmp_path, {"identity_providers": [provider]}))
    assert "identity_providers[0].config.client_secret: is required" in err


def test_allowed_idps_by_id_apply_and_then_change_nothing(tmp_path):
    password = IdentityProvider.objects.get(name="Password")
    config = {
        "applications": [
            {"name": "Wiki", "domain": "wiki.example.com", "allowed_idps": [password.pk]}
        ]
    }
    apply(write(tmp_path, config))
    wiki = Application.objects.get(name="Wiki")
    assert [p.name for p in wiki.allowed_idps.all()] == ["Password"]

    out, _ = apply(write(tmp_path, config))

    assert out.splitlines() == ["no changes"]


def test_required_second_factor_enrolment_is_applied_and_exported(tmp_path):
    path = tmp_path / "access.yaml"
    path.write_text(
        "applications:\n"
        "- name: vault\n"
        "  domain: vault.example.com\n"
        "  require_second_factor_enrolment: true\n"
        "  policies:\n"
        "  - name: p\n"
        "    decision: allow\n"
        "    precedence: 1\n"
        "    include: [{everyone: {}}]\n"
        "    require: [{auth_method: {auth_method: mfa}}]\n"
    )
    apply(path)
    assert Application.objects.get(name="vault").require_second_factor_enrolment is True
    out = StringIO()
    call_command("access_export", "--format", "json", stdout=out)
    [exported] = json.loads(out.getvalue())["applications"]
    assert exported["require_second_factor_enrolment"] is True


# --- CPU priority ---------------------------------------------------------------------------


@pytest.fixture
def priorities(monkeypatch):
    """What access_apply asks of the process's CPU priority, while it is at `seen`."""
    asked: list[int] = []
    seen: list[int] = []

    def setpriority(which, who, value):
        assert (which, who) == (os.PRIO_PROCESS, 0)
        asked.append(value)

    def recording_plan(*args, **kwargs):
        seen.append(len(asked))
        return plan_config(*args, **kwargs)

    monkeypatch.setattr(os, "getpriority", lambda which, who: 3)
    monkeypatch.setattr(os, "setpriority", setpriority)
    monkeypatch.setattr(access_apply, "plan_config", recording_plan)
    return asked, seen


def test_apply_plans_and_writes_ten_steps_nicer_then_goes_back(tmp_path, priorities):
    asked, seen = priorities

    apply(write(tmp_path, CONFIG))

    assert asked == [13, 3]
    assert seen == [1]  # the plan was made at the lower priority
    assert Application.objects.filter(name="Dashboard").exists()


def test_apply_nice_sets_how_much_lower(tmp_path, priorities):
    asked, _ = priorities

    apply(write(tmp_path, CONFIG), "--nice", "19")

    assert asked == [19, 3]  # at most 19


def test_apply_nice_zero_keeps_the_priority(tmp_path, priorities):
    asked, seen = priorities

    apply(write(tmp_path, CONFIG), "--nice", "0")

    assert asked == []
    assert seen == [0]


@pytest.mark.parametrize("value", ["-1", "20", "x"])
def test_apply_refuses_a_nice_outside_0_to_19(tmp_path, value):
    with pytest.raises(CommandError):
        apply(write(tmp_path, CONFIG), "--nice", value)
    assert not Application.objects.exists()
