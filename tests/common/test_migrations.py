"""Moving the configuration version and API tokens into `common` keeps every row and grant.

The migrations run on a database of their own (SQLite in a temporary folder, through
`manage.py`): migrating the test database back and forth would take from the tests that follow
the rows that migrations create.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SECRET = "s" * 64

# Rows as the code before the move wrote them, through the models of that migration state;
# then every migration, and what the code after the move reads.
SCRIPT = f"""
import json

from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from common.api.tokens import api_token_authenticate
from common.credentials import hash_secret
from common.models import ApiToken, ConfigVersion

call_command("migrate", "policies", "0002_default_rows", verbosity=0)
call_command("migrate", "identity", "0002_apitoken", verbosity=0)
loader = MigrationLoader(connection)
old = loader.project_state(list(loader.applied_migrations)).apps
user = old.get_model("auth", "User").objects.create(username="ci-user", is_active=True)
old.get_model("identity", "ApiToken").objects.create(
    name="ci", user=user, key_id="0123456789abcdef", secret_hash=hash_secret({SECRET!r})
)
old.get_model("policies", "ConfigVersion").objects.filter(pk=1).update(version=41)
content_type = old.get_model("contenttypes", "ContentType").objects.get(
    app_label="identity", model="apitoken"
)
user.user_permissions.add(
    old.get_model("auth", "Permission").objects.get(
        content_type=content_type, codename="view_apitoken"
    )
)

call_command("migrate", verbosity=0)

token = api_token_authenticate("apt_0123456789abcdef_" + {SECRET!r})
user = User.objects.get(username="ci-user")
print(json.dumps({{
    "token": [token.name, token.user.username],
    "tokens": ApiToken.objects.count(),
    "version": ConfigVersion.objects.get(pk=1).version,
    "may_view": user.has_perm("common.view_apitoken"),
    "may_add": user.has_perm("common.add_apitoken"),
}}))
"""


def _manage(tmp_path: Path, *args: str) -> str:
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CACHE_URL": "locmemcache://",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_tokens_the_version_and_permissions_survive_the_move(tmp_path):
    after = json.loads(_manage(tmp_path, "shell", "-c", SCRIPT).splitlines()[-1])
    assert after == {
        "token": ["ci", "ci-user"],
        "tokens": 1,
        "version": 41,
        "may_view": True,
        "may_add": False,
    }
