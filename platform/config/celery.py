"""The Celery application. GPU work goes to the queue "gpu": `celery -A config worker -Q gpu`."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("spacetime")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
