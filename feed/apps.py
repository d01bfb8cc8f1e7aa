from django.apps import AppConfig


class FeedConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "feed"
    verbose_name = "Feed"

    def ready(self) -> None:
        from .for_you import pool

        pool.connect()  # a viewer's own writes forget their cached For You pool
