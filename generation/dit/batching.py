"""Dynamic batching: many users' text-to-video jobs denoised together in one network call a step.

A GPU at batch 1 on this model waits on kernel launches, not arithmetic; a batch of 16 costs little
more than a batch of 1. `BatchScheduler` keeps a set of running jobs ("slots"), each with its own
prompt, seed, step count, guidance and solver, and at every tick stacks the rows of all slots
(conditional and unconditional halves for classifier-free guidance) into one forward, then
advances each slot along its own schedule. Jobs join at the next tick and leave when they finish
or are cancelled, so a new job never waits for a whole batch to end (continuous batching).

`BatchingPipeline` wraps a `Pipeline` with the same `iter_generate` interface, so the worker's
code (progress events, cancel by closing the generator) is unchanged; modes that cannot share a
batch (remix, extend, cameo, Heun) run as before, one at a time.

Results match a job run alone up to the floating-point effects of a different batch size (the
benchmark measures the difference: benchmarks/dit/bench_batching.py).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import torch

from . import sampling
from .cuda_graphs import GraphedDiT
from .pipeline import Pipeline, StepEvent
from .text import tokenize

_DONE = object()
log = logging.getLogger(__name__)


@dataclass
class _Slot:
    """One job in the batch: its own text rows, noise, schedule and solver state."""
    text: torch.Tensor  # (R, L, D): [cond] or [cond, uncond]
    pooled: torch.Tensor  # (R, D)
    mask: torch.Tensor  # (R, L)
    guidance: float
    z: torch.Tensor  # (1, C, T, H, W) current latent
    ts: torch.Tensor  # (steps + 1,) noise levels
    solver: str
    reading: str
    events: "queue.Queue" = field(default_factory=queue.Queue)
    index: int = 0
    state: dict = field(default_factory=dict)
    start: float = field(default_factory=time.perf_counter)
    canceled: threading.Event = field(default_factory=threading.Event)

    @property
    def rows(self) -> int:
        return self.text.shape[0]

    @property
    def steps(self) -> int:
        return len(self.ts) - 1


class BatchScheduler:
    """One thread owns the model; callers submit jobs and read their events from a queue."""

    def __init__(self, pipe: Pipeline, max_batch: int = 16, gather_s: float = 0.005):
        self.pipe, self.max_batch, self.gather_s = pipe, max_batch, gather_s
        self._incoming: "queue.Queue[_Slot]" = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="dit-batcher", daemon=True)
        self._thread.start()
        self.ticks = 0
        self.rows_run = 0
        self.active = 0  # jobs in the batch now

    @torch.no_grad()
    def submit(self, prompt: str, *, seed: int, steps: int | None, guidance: float | None,
               solver: str = "euler") -> _Slot:
        pipe = self.pipe
        sampler = pipe.config.get("sampler", {})
        steps = int(steps or sampler.get("steps", 20))
        guidance = float(sampler.get("guidance", 2.0) if guidance is None else guidance)
        if not 1 <= steps <= 200:
            raise ValueError("steps must be between 1 and 200")
        reading = pipe.read_prompt(prompt)
        if reading.cameos:
            raise ValueError("cameo prompts are not batched")
        words = [tokenize(reading.words)] + ([tokenize([])] if guidance != 1.0 else [])
        ids = pipe.to_device(torch.tensor(words))  # no wait for the batch's GPU work (to_device)
        with torch.autocast(pipe.device.type, dtype=torch.bfloat16, enabled=pipe.device.type == "cuda"):
            text, pooled, mask = pipe.dit.encode_text(ids)
        slot = _Slot(text, pooled, mask, guidance, pipe._noise(seed),
                     sampling.schedule(steps, float(sampler.get("shift", 3.0)), pipe.device), solver, reading.text)
        self._incoming.put(slot)
        return slot

    # --- the batching thread -------------------------------------------------------------------

    @torch.no_grad()
    def warm_up(self) -> int:
        """Runs the forward once at every row count a tick can have (1 to 2 x max_batch: a job is one
        row, two with guidance), so that a CUDA-graphed network (cuda_graphs.py) captures its graphs
        now and not while users wait: a capture costs a few eager forwards, tens of ms at this size.
        Nothing to do for a network run eagerly. Returns the row counts run."""
        pipe = self.pipe
        if not isinstance(pipe.net, GraphedDiT):
            return 0
        cfg = pipe.dit.cfg
        rows_max = 2 * self.max_batch
        ids = torch.tensor([tokenize([])] * rows_max, device=pipe.device)
        with torch.autocast(pipe.device.type, dtype=torch.bfloat16, enabled=pipe.device.type == "cuda"):
            text, pooled, mask = pipe.dit.encode_text(ids)  # as submit() makes them: same dtypes
            z = torch.zeros(rows_max, cfg.latent_channels, *cfg.latent_size, device=pipe.device)
            t = torch.full((rows_max,), 0.5, device=pipe.device)
            for rows in range(1, rows_max + 1):
                pipe.net(z[:rows], t[:rows], text[:rows], pooled[:rows], mask[:rows])
        return rows_max

    def _loop(self) -> None:
        try:
            self.warm_up()
        except Exception:  # a GPU that cannot capture still batches, eagerly
            log.warning("batcher warm-up failed; graphs will be captured on first use", exc_info=True)
        active: list[_Slot] = []
        while True:
            if not active:  # idle: wait for a job, then a moment for others arriving with it
                active.append(self._incoming.get())
                time.sleep(self.gather_s)
            while len(active) < self.max_batch:
                try:
                    active.append(self._incoming.get_nowait())
                except queue.Empty:
                    break
            active = [s for s in active if not s.canceled.is_set()]
            self.active = len(active)
            if not active:
                continue
            try:
                self._tick(active)
            except Exception as exc:  # a failed batch fails its jobs, never the thread
                for s in active:
                    s.events.put(exc)
                active = []
                continue
            active = [s for s in active if s.index < s.steps and not s.canceled.is_set()]
            self.active = len(active)

    @torch.no_grad()
    def _tick(self, slots: list[_Slot]) -> None:
        pipe = self.pipe
        z = torch.cat([s.z.expand(s.rows, -1, -1, -1, -1) for s in slots])  # (R, C, T, H, W)
        t = torch.cat([s.ts[s.index].expand(s.rows) for s in slots])
        text = torch.cat([s.text for s in slots])
        pooled = torch.cat([s.pooled for s in slots])
        mask = torch.cat([s.mask for s in slots])
        with torch.autocast(pipe.device.type, dtype=torch.bfloat16, enabled=pipe.device.type == "cuda"):
            x0_rows = pipe.net(z, t, text, pooled, mask).float()
        self.ticks += 1
        self.rows_run += len(z)
        row, x0s = 0, []
        for s in slots:
            out = x0_rows[row:row + s.rows]
            row += s.rows
            x0 = out if s.rows == 1 else out[1:] + s.guidance * (out[:1] - out[1:])  # guided(), per job
            t_now, t_next = s.ts[s.index], s.ts[s.index + 1]
            s.z = sampling.advance(s.solver, s.z, x0, t_now, t_next, s.state, final=s.index + 1 == s.steps)
            s.index += 1
            x0s.append(x0)
        # every job's preview in one pass and one copy to the host: a copy waits for the GPU, and with
        # the forward a CUDA graph, one wait per job was most of a tick (benchmarks/dit/README.md)
        previews = pipe.vae.preview(torch.cat(x0s))  # (jobs, h, w, 3)
        previews = previews.repeat_interleave(4, 1).repeat_interleave(4, 2).cpu().numpy()
        for s, preview in zip(slots, previews):
            s.events.put(self._event(s, preview))

    def _event(self, s: _Slot, preview: np.ndarray) -> StepEvent:
        pipe = self.pipe
        elapsed = time.perf_counter() - s.start
        event = StepEvent(s.index, s.steps, preview, elapsed, elapsed / s.index * (s.steps - s.index),
                          prompt_reading=s.reading)
        if s.index == s.steps:
            event.frames = pipe._decode(s.z)
            event.elapsed_s = time.perf_counter() - s.start
        return event


class BatchingPipeline:
    """A `Pipeline` whose text-to-video jobs share batches; everything else passes through."""

    def __init__(self, pipe: Pipeline, max_batch: int = 16):
        self.pipe = pipe
        self.scheduler = BatchScheduler(pipe, max_batch=max_batch)
        self._solo = threading.Lock()  # unbatched modes: one at a time, as a plain worker runs them

    def __getattr__(self, name):  # model_version, fps, clip_shape, supports_cameo, read_prompt, ...
        return getattr(self.pipe, name)

    def iter_generate(self, prompt: str, *, seed: int = 0, steps: int | None = None, guidance: float | None = None,
                      solver: str = "euler", cameo_image: np.ndarray | None = None) -> Iterator[StepEvent]:
        if cameo_image is not None or solver not in ("euler", "dpm2m"):
            yield from self._solo_run(self.pipe.iter_generate(prompt, seed=seed, steps=steps, guidance=guidance,
                                                              solver=solver, cameo_image=cameo_image))
            return
        slot = self.scheduler.submit(prompt, seed=seed, steps=steps, guidance=guidance, solver=solver)
        try:
            while True:
                item = slot.events.get()
                if isinstance(item, Exception):
                    raise item
                yield item
                if item.frames is not None:
                    return
        finally:  # the caller stopped reading (cancelled) or we finished: leave the batch
            slot.canceled.set()

    def _solo_run(self, events: Iterator[StepEvent]) -> Iterator[StepEvent]:
        with self._solo:
            yield from events

    def iter_remix(self, *args, **kwargs) -> Iterator[StepEvent]:
        return self._solo_run(self.pipe.iter_remix(*args, **kwargs))

    def iter_extend(self, *args, **kwargs) -> Iterator[StepEvent]:
        return self._solo_run(self.pipe.iter_extend(*args, **kwargs))

    def generate(self, prompt: str, **kwargs):
        from .pipeline import GenerationResult

        events = list(self.iter_generate(prompt, **kwargs))
        return GenerationResult(events[-1].frames, events)
