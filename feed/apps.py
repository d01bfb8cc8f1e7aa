import gc

from django.apps import AppConfig

# Requests after which the process's long-lived objects are frozen again (below): the first one
# loads the URLconf, the views, DRF's renderers and parsers and psycopg's type loaders (~14k
# objects that ready() never saw), later ones the endpoints first used then.
FREEZE_AFTER_REQUESTS = (1, 10, 100, 1000)


class FeedConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "feed"
    verbose_name = "Feed"

    def ready(self) -> None:
        from django.core.signals import request_finished, request_started

        from .for_you import later, pool

        pool.connect()  # a viewer's own writes forget their cached For You pool
        later.connect()  # the pool's write and a rebuild's publish wait for the response to be sent
        # Everything loaded so far (Django, DRF, the apps, numpy...: ~100k objects) lives as long as
        # the process: moved out of the cyclic collector's reach, a full collection walks only what
        # was made since. Measured on For You pages built from scratch: a full collection came every
        # ~60-75 requests and took 50-70 ms (the whole p99 tail); frozen, it takes 2-3 ms.
        gc.freeze()
        request_finished.connect(_freeze_after_request, dispatch_uid="feed.gc_freeze_after_request")
        request_started.connect(gc_pause, dispatch_uid="feed.gc_pause")
        request_finished.connect(gc_resume, dispatch_uid="feed.gc_resume")


_requests_finished = 0


def _freeze_after_request(**kwargs) -> None:
    """What the first request loads lazily (the URLconf and every view module it imports, DRF's
    renderers, psycopg's type loaders: ~14k objects, ~23k in the collector's oldest generation
    with what they point at) also lives as long as the process, but start-up's freeze never saw
    it: every full collection walked it again, 11-21 ms each, one in ~40 pages built from
    scratch (measured at 1M likes: 5 of the 6 slowest of 400 requests). So after the 1st, 10th,
    100th and 1000th request the process collects once and freezes what is left. It runs when
    the response has been sent (request_finished), a few milliseconds, four times per process;
    what is frozen is never collected again, so a reference cycle that was alive then and dies
    later stays (the collect just before keeps that to what requests in flight hold)."""
    global _requests_finished
    _requests_finished += 1
    if _requests_finished in FREEZE_AFTER_REQUESTS:
        gc.collect()
        gc.freeze()


def gc_pause(**kwargs) -> None:
    """No automatic garbage collection while a request is being answered (request_started): it
    runs once the response is finished (`gc_resume`), between requests. A page built from scratch
    allocates ~2k container objects (candidates, reasons, rows), so the collector's young
    generation passed its threshold about twice a page, and every tenth pass was a middle one:
    measured at 1M likes, ~0.8 ms a page on average and up to 5-7 ms for one pass, in the
    response time. Paused, those objects are mostly freed by reference counting before any pass
    sees them. Reference counting itself is untouched, and `gc.collect()` still works; a cycle
    made during a request is collected after it. The collector is process-wide: with requests on
    several threads (ASGI) the first one to finish resumes it, so it never stays paused longer
    than the request in flight that started last (a streamed response included, until it closes)."""
    gc.disable()


def gc_resume(**kwargs) -> None:
    """The response is finished (request_finished): automatic collection again (`gc_pause`)."""
    gc.enable()
