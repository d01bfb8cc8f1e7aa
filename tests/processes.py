"""Start the platform the way people run it: the site (`manage.py runsite`) and Celery workers
(`celery -A config worker -Q gpu`) as separate processes, on their own database and queue."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVICE_VARS = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "AWS_STORAGE_BUCKET_NAME", "AWS_S3_ENDPOINT_URL",
                "DJANGO_SETTINGS_MODULE", "MEDIA_ROOT", "CHANNELS_PREFIX")


def xdist_worker() -> int:
    """N for pytest-xdist's worker process gwN, 0 outside xdist (`pytest -n 0`)."""
    return int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))


def stack_redis_url(url: str) -> str:
    """The Redis database of the stacks started by this test process: 13, or 13 - N for
    pytest-xdist's worker gwN, so that stacks running at the same time never share one (each
    stack empties its database when it starts)."""
    worker = xdist_worker()
    if worker > 12:
        raise RuntimeError("at most 13 pytest-xdist workers: each needs a Redis database for its stacks")
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{13 - worker}"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    """mode "embedded": SQLite file, in-process broker/channel layer, worker inside runsite.
    mode "scaled": a fresh PostgreSQL database when DATABASE_URL points at PostgreSQL (else a SQLite
    file), Redis (a db of its own) when REDIS_URL is set (else a filesystem broker), separate workers."""

    def __init__(self, tmp_path: Path, mode: str, **extra_env):
        self.tmp, self.mode, self.procs, self.logs = tmp_path, mode, [], []
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
        env.update(MEDIA_ROOT=str(tmp_path / "media"), PYTHONUNBUFFERED="1",
                   PYTHONPATH=os.pathsep.join([str(ROOT / "platform"), str(ROOT)]))
        self.pg_db = None
        if mode == "embedded":
            env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'site.sqlite3'}"
        else:
            outer_db = os.environ.get("DATABASE_URL", "")
            if outer_db.startswith("postgres"):
                self.pg_db = f"spacetime_stack_{uuid.uuid4().hex[:10]}"
                self._psql(outer_db, f'CREATE DATABASE "{self.pg_db}"')
                env["DATABASE_URL"] = outer_db.rsplit("/", 1)[0] + "/" + self.pg_db
                self._outer_db = outer_db
            else:
                env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'site.sqlite3'}"
            redis = os.environ.get("REDIS_URL", "")
            if redis:
                env["REDIS_URL"] = stack_redis_url(redis)
                env["CHANNELS_PREFIX"] = f"stack{uuid.uuid4().hex[:8]}"
                import redis as redis_lib

                redis_lib.Redis.from_url(env["REDIS_URL"]).flushdb()
            else:
                env["CELERY_BROKER_URL"] = "filesystem://"
                env["CELERY_FILESYSTEM_DIR"] = str(tmp_path / "broker")
        env.update({k: str(v) for k, v in extra_env.items()})
        self.env = env

    @staticmethod
    def _psql(url: str, sql: str) -> None:
        import psycopg

        with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute(sql)

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "wb")
        proc = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs.append(proc)
        self.logs.append(self.tmp / f"{name}.log")
        return proc

    def start_site(self, worker: str = "auto", timeout: float = 90) -> subprocess.Popen:
        proc = self._spawn("site", [sys.executable, "manage.py", "runsite", "--port", str(self.port), "--worker", worker])
        deadline = time.time() + timeout
        while time.time() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"site exited: {self.log_tail()}")
            try:
                urllib.request.urlopen(self.base + "/", timeout=2)
                return proc
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.3)
        raise RuntimeError(f"site did not come up: {self.log_tail()}")

    def start_worker(self, name: str) -> subprocess.Popen:
        return self._spawn(name, [
            sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "gpu", "--pool", "solo",
            "--concurrency", "1", "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--loglevel", "INFO",
        ])

    def wait_log(self, name: str, text: str, timeout: float = 90) -> None:
        path = self.tmp / f"{name}.log"
        deadline = time.time() + timeout
        while time.time() < deadline:
            if path.exists() and text in path.read_text(errors="replace"):
                return
            time.sleep(0.3)
        raise AssertionError(f"{text!r} not in {name}.log: {self.log_tail()}")

    def api(self, method: str, path: str, body=None, token: str | None = None):
        req = urllib.request.Request(self.base + path, method=method,
                                     data=None if body is None else json.dumps(body).encode())
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Token {token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as res:
                return res.status, json.loads(res.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def log_tail(self, chars: int = 4000) -> str:
        out = []
        for path in self.logs:
            if path.exists():
                out.append(f"--- {path.name}\n{path.read_text(errors='replace')[-chars:]}")
        return "\n".join(out)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        if self.pg_db:
            self._psql(self._outer_db, f'DROP DATABASE IF EXISTS "{self.pg_db}" WITH (FORCE)')
