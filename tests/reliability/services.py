"""Private PostgreSQL and Redis servers for fault tests: each in a temporary folder of its own, on a
free loopback port, so a test may kill and restart them. The shared servers (5432, 6379) are never
touched. Plus `FaultStack`: the site and Celery workers as separate processes on those servers."""
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from tests.processes import Stack, free_port


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (apt-get install postgresql)")
    return path


class PrivatePostgres:
    """initdb in a temp folder, then start/stop/restart a postmaster on its own port. Runs as the
    `postgres` user when we are root (PostgreSQL refuses to run as root)."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="spacetime-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run([_pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                   "--no-sync"])
        self.start()

    def _run(self, argv: list[str], check: bool = True) -> subprocess.CompletedProcess:
        if self.as_root:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=60)

    def url(self, db: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        # fsync off: a killed server process keeps its writes in the OS page cache (only a machine
        # crash would need fsync). synchronous_commit stays on: a commit acknowledged is durable.
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c full_page_writes=off -c max_connections=200")
        self._run([_pg_bin("pg_ctl"), "-D", str(self.data), "-o", opts, "-l", str(self.dir / "server.log"),
                   "-w", "-t", "60", "start"])

    def stop(self, mode: str = "immediate") -> None:
        """`immediate`: the server dies without a clean shutdown, as in a crash."""
        self._run([_pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"], check=False)

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def destroy(self) -> None:
        self.stop("fast")
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivateRedis:
    """redis-server on its own port with no persistence: a restart loses every queued message,
    the worst case for the broker."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="spacetime-redis-"))
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.proc = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                redis.Redis.from_url(self.url, socket_timeout=1).ping()
                return
            except redis.exceptions.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class FaultStack(Stack):
    """The site and workers as separate processes (each its own environment, as on separate hosts)
    on a private PostgreSQL and Redis that the test may kill."""

    def __init__(self, tmp_path: Path, **extra_env):
        self.pg, self.redis = PrivatePostgres(), PrivateRedis()
        self.tmp, self.mode, self.procs, self.logs = tmp_path, "faults", [], []
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.pg_db = None
        self.database_url = self.pg.create_database("spacetime")
        root = Path(__file__).resolve().parents[2]
        env = {k: v for k, v in os.environ.items() if k not in (
            "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "AWS_STORAGE_BUCKET_NAME", "AWS_S3_ENDPOINT_URL",
            "DJANGO_SETTINGS_MODULE", "MEDIA_ROOT", "CHANNELS_PREFIX")}
        env.update(
            DATABASE_URL=self.database_url, REDIS_URL=self.redis.url, MEDIA_ROOT=str(tmp_path / "media"),
            PYTHONUNBUFFERED="1", PYTHONPATH=os.pathsep.join([str(root / "platform"), str(root)]),
            OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",  # two cores shared by the site and the workers
            GENERATION_STALE_AFTER_S="4", GENERATION_REAP_EVERY_S="1", GENERATION_RESEND_QUEUED_AFTER_S="4",
            GENERATION_MAX_ACTIVE_JOBS="1000", GENERATION_MAX_ATTEMPTS="10",
            THROTTLE_WRITE="", THROTTLE_SIGNUP="", THROTTLE_LOGIN="", THROTTLE_LOGIN_IP="",
        )
        env.update({k: str(v) for k, v in extra_env.items()})
        self.env = env

    def start_worker(self, name: str, queues: str = "gpu") -> subprocess.Popen:
        return self._spawn(name, [
            sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queues, "--pool", "solo",
            "--concurrency", "1", "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--loglevel", "INFO",
        ])

    def start_web(self, workers: int, timeout: float = 120) -> subprocess.Popen:
        """The site as production runs it on a web host: uvicorn with `workers` processes (Django
        runs sync views one at a time per process), after `migrate`."""
        import urllib.request

        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=Path(__file__).parents[2],
                       env=self.env, check=True, timeout=600)
        proc = self._spawn("web", [sys.executable, "-m", "uvicorn", "config.asgi:application", "--app-dir", "platform",
                                   "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers),
                                   "--no-access-log", "--lifespan", "off"])
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.base + "/api/feed", timeout=5)
                return proc
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"web did not come up: {self.log_tail()}")

    def sql(self, query: str, *args) -> list[tuple]:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            return conn.execute(query, args).fetchall()

    def stop(self) -> None:
        try:
            super().stop()
        finally:
            self.pg.destroy()
            self.redis.destroy()
