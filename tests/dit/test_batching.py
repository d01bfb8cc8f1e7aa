"""Dynamic batching: jobs with their own prompts, seeds, steps, guidance and solvers share one
network call a step, and each comes out as it would alone; cancel leaves the batch."""
import threading
import time

import numpy as np
import pytest

from generation.dit.batching import BatchingPipeline

JOBS = [
    dict(prompt="a red circle moving left on a blue background", seed=1, steps=4, guidance=2.0),
    dict(prompt="a big green square falling on a white background", seed=2, steps=6, guidance=3.0),
    dict(prompt="a small yellow triangle moving up", seed=3, steps=3, guidance=1.0),
    dict(prompt="a purple circle above a red square", seed=4, steps=5, guidance=2.0, solver="dpm2m"),
]


@pytest.fixture(scope="module")
def batching(tiny_pipeline):
    return BatchingPipeline(tiny_pipeline, max_batch=8)


def run_together(batching, jobs):
    results, errors = [None] * len(jobs), []
    start = threading.Barrier(len(jobs))

    def one(i):
        try:
            start.wait()
            results[i] = list(batching.iter_generate(**jobs[i]))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    return results


def test_concurrent_jobs_share_ticks_and_match_running_alone(tiny_pipeline, batching):
    ticks_before = batching.scheduler.ticks
    together = run_together(batching, JOBS)
    ticks = batching.scheduler.ticks - ticks_before
    assert ticks < sum(j["steps"] for j in JOBS)  # fewer network calls than one job at a time
    for job, events in zip(JOBS, together):
        assert [e.step for e in events] == list(range(1, job["steps"] + 1))  # per-job progress
        assert all(e.steps == job["steps"] for e in events) and events[-1].eta_s == 0
        alone = tiny_pipeline.generate(**job).frames
        diff = np.abs(events[-1].frames.astype(int) - alone.astype(int))
        assert events[-1].frames.shape == alone.shape
        assert diff.max() <= 2, (job, diff.max())  # batch-size rounding only


def test_a_cancelled_job_leaves_the_batch_and_the_others_finish(batching):
    sched = batching.scheduler
    rows_start = sched.rows_run
    long_job = dict(prompt="a red circle moving right", seed=9, steps=200, guidance=2.0)
    gen = batching.iter_generate(**long_job)
    assert next(gen).step == 1
    others = run_together(batching, JOBS[:2])
    gen.close()  # what the worker does on cancel
    assert all(events[-1].frames is not None for events in others)
    for _ in range(100):
        if sched.active == 0:
            break
        time.sleep(0.01)
    assert sched.active == 0
    rows_after_cancel = sched.rows_run
    time.sleep(0.1)
    assert sched.rows_run == rows_after_cancel  # nothing left running
    others_rows = 2 * (JOBS[0]["steps"] + JOBS[1]["steps"])
    assert rows_after_cancel - rows_start < 2 * long_job["steps"] + others_rows  # it stopped early


def test_bad_arguments_are_refused_before_joining(batching):
    with pytest.raises(ValueError, match="steps"):
        next(batching.iter_generate("a red circle", seed=1, steps=500))


def test_warm_up_covers_every_signature_a_tick_uses(tiny_pipeline):
    """With a CUDA-graphed network the batcher's warm-up runs the forward at every row count first, so
    no graph is captured while users wait: each tick's inputs (shapes, dtypes, autocast) must be among
    the warm-up's. Here on the CPU the wrapper runs eagerly and records what it is called with."""
    import copy

    from generation.dit import cuda_graphs

    seen = []

    class Recording(cuda_graphs.GraphedDiT):
        def __call__(self, *args, **kwargs):
            names = cuda_graphs.ARG_NAMES[:len(args)]
            seen.append(cuda_graphs._signature({**dict.fromkeys(cuda_graphs.ARG_NAMES), **dict(zip(names, args)),
                                                **kwargs}))
            return super().__call__(*args, **kwargs)

    pipe = copy.copy(tiny_pipeline)
    pipe.net = Recording(pipe.dit)
    batching = BatchingPipeline(pipe, max_batch=3)
    run_together(batching, JOBS[:3])  # guided (2 rows) and unguided (1 row) jobs together
    warm = set(seen[:6])
    assert len(warm) == 6 and pipe.net.eager_calls >= 6  # rows 1..6 for a batch of 3 jobs
    assert all(sig in warm for sig in seen[6:])
    assert {sig[0][0][0] for sig in seen[6:]} - {1, 2}  # ticks ran more than one job's rows
