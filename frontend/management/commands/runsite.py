"""`python manage.py runsite`: the whole platform in one command.

Migrates the database, starts a generation worker inside this process when the Celery broker is
in-process (the embedded default) or when asked with --worker, then serves HTTP and WebSockets
with uvicorn and prints the address to open.
"""
import uvicorn
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run Spacetime: migrate, start the embedded generation worker if needed, serve HTTP + WebSockets."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--worker", choices=["auto", "yes", "no"], default="auto",
            help="auto: start a worker in this process only when the broker is in-process (default)",
        )
        parser.add_argument("--no-migrate", action="store_true")

    def handle(self, *args, host, port, worker, no_migrate, **options):
        if not no_migrate:
            call_command("migrate", interactive=False, verbosity=0)
            self.stdout.write("Database is up to date.")
        if worker == "yes" or (worker == "auto" and settings.CELERY_BROKER_IN_PROCESS):
            from generation.embedded import embedded_worker_start
            from generation.reaper import reaper_start

            embedded_worker_start()
            reaper_start()
            self.stdout.write("Generation worker started in this process (queue: gpu).")
        elif settings.CELERY_BROKER_IN_PROCESS:
            self.stdout.write(self.style.WARNING("No worker: jobs will wait in the in-process queue."))
        else:
            self.stdout.write(f"Jobs go to {settings.CELERY_BROKER_URL.split('@')[-1]}; run workers with "
                              "`celery -A config worker -Q gpu`.")
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        self.stdout.write(self.style.SUCCESS(f"Spacetime is running at http://{shown}:{port}/"))
        self.stdout.flush()
        uvicorn.run("config.asgi:application", host=host, port=port, log_level="info", lifespan="off")
