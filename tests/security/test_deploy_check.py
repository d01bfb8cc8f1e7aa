"""`manage.py check --deploy` is clean with production settings from the environment, and
production refuses to start without a secret key."""
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args, **env):
    full = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY")} | env
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=full, capture_output=True, text=True,
                          timeout=120)


def test_check_deploy_is_clean_in_production():
    res = _manage("check", "--deploy", "--fail-level", "WARNING", DEBUG="false",
                  SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="spacetime.example.org")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "no issues" in res.stdout


def test_production_without_a_secret_key_refuses_to_start():
    res = _manage("check", DEBUG="false")
    assert res.returncode != 0 and "SECRET_KEY" in res.stderr
