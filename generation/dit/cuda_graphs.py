"""CUDA graphs for the DiT forward in the product's sampler.

The shipped model is small (21.6M parameters, 256 tokens): on a GPU one forward is a few hundred
kernel launches of a few microseconds of arithmetic each, so the host's launching, not the GPU,
sets the speed of a step. `GraphedDiT` captures one CUDA graph per input signature (batch rows,
which optional inputs are given, autocast state) on first use and replays it after: one launch a
forward. Inputs are copied into the graph's own buffers and the output copied out, so callers see
an ordinary function; the kernels are the eager ones, so the result is the eager result.

Eager instead of a graph: on the CPU, with autograd on (training), past `max_graphs` signatures
(the batcher alone uses up to 2 x its batch: one per row count, captured ahead by its warm-up),
and for a signature whose capture failed (logged once). One lock serialises replays: the worker's
batching thread and a solo job (remix, cameo) may call from two threads, and a graph's buffers
hold one call's inputs at a time.
"""

from __future__ import annotations

import logging
import threading

import torch
from torch import nn

log = logging.getLogger(__name__)

ARG_NAMES = ("z_t", "t", "text", "pooled", "text_mask", "reference", "known", "known_mask")


def _signature(args: dict) -> tuple:
    """What a graph is specialised to: each tensor's shape and dtype (None where not given), and
    the autocast state the kernels were chosen under."""
    tensors = tuple(None if v is None else (tuple(v.shape), v.dtype, v.device) for v in args.values())
    autocast = torch.is_autocast_enabled("cuda"), torch.get_autocast_dtype("cuda")
    return tensors + autocast


class _Graph:
    """One captured forward: static input buffers, the graph, its output buffer."""

    def __init__(self, dit: nn.Module, args: dict, warmup: int = 2):
        self.inputs = {k: None if v is None else v.clone() for k, v in args.items()}
        autocast = torch.is_autocast_enabled("cuda")
        dtype = torch.get_autocast_dtype("cuda")

        def forward() -> torch.Tensor:
            # autocast's weight cache would keep casts made outside the graph's memory: off inside it
            with torch.autocast("cuda", dtype=dtype, enabled=autocast, cache_enabled=False):
                return dit(**self.inputs)

        side = torch.cuda.Stream()  # warm-up off the main stream, as torch.cuda.graphs advises
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(warmup):  # lazy initialisations (cuBLAS handles, workspaces) happen here
                forward()
        torch.cuda.current_stream().wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph, capture_error_mode="thread_local"):
            self.output = forward()

    def __call__(self, args: dict) -> torch.Tensor:
        for k, v in args.items():
            if v is not None:
                self.inputs[k].copy_(v)
        self.graph.replay()
        return self.output.clone()  # the buffer is overwritten by the next replay


class GraphedDiT:
    """Calls like the DiT's forward(z_t, t, text, pooled, text_mask, reference, known, known_mask)."""

    def __init__(self, dit: nn.Module, max_graphs: int = 128):
        self.dit, self.max_graphs = dit, max_graphs
        self._graphs: dict[tuple, _Graph | None] = {}  # None: capture failed, run eager
        self._lock = threading.Lock()
        self.replays = 0  # forwards served by a graph (tests and benchmarks read these)
        self.eager_calls = 0

    @property
    def graphs(self) -> int:
        return sum(g is not None for g in self._graphs.values())

    def __call__(self, z_t, t, text, pooled, text_mask=None, reference=None, known=None, known_mask=None):
        args = dict(zip(ARG_NAMES, (z_t, t, text, pooled, text_mask, reference, known, known_mask)))
        if z_t.device.type != "cuda" or torch.is_grad_enabled():
            self.eager_calls += 1
            return self.dit(**args)
        key = _signature(args)
        with self._lock:
            graph = self._graphs.get(key, ...)
            if graph is ... and len(self._graphs) < self.max_graphs:
                graph = self._graphs[key] = self._capture(args)
            if isinstance(graph, _Graph):
                self.replays += 1
                return graph(args)
            self.eager_calls += 1
            return self.dit(**args)

    def _capture(self, args: dict) -> _Graph | None:
        try:
            return _Graph(self.dit, args)
        except Exception:  # a kernel that cannot be captured: this signature runs eager from now on
            log.warning("CUDA graph capture failed for the DiT forward; running it eager", exc_info=True)
            torch.cuda.synchronize()
            return None


def wants_cuda_graphs(device: torch.device, setting: str | None) -> bool:
    """Graphs on a CUDA device unless SPACETIME_CUDA_GRAPHS is "0" (debugging: eager kernels show
    in a profiler one by one)."""
    return device.type == "cuda" and (setting or "1") != "0"
