from django.apps import AppConfig


class GenerationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "generation"
    verbose_name = "Generation"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects the Celery worker hooks)
