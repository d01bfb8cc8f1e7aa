"""Rectified-flow sampling: shifted timestep schedule, Euler, Heun or DPM-Solver++(2M) steps,
classifier-free guidance.

Convention: z_t = (1 - t) * x0 + t * noise, t from 1 (pure noise) to 0 (clean). The network
predicts the clean latent x0; the velocity it implies is v = (z_t - x0) / t. The sampler is a
generator: it yields after every step, so callers can stream progress and stop (cancel) between
steps. It knows nothing of text or video: `denoise(z, t, guided)` is the network behind CFG.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import torch

Denoiser = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (z (B,...), t (B,)) -> x0


def shift_time(u: torch.Tensor, shift: float) -> torch.Tensor:
    """Moves time towards high noise: shift > 1 spends more steps (and training) where t is large."""
    return shift * u / (1 + (shift - 1) * u)


def schedule(steps: int, shift: float, device=None) -> torch.Tensor:
    """steps + 1 noise levels from 1 down to 0."""
    return shift_time(torch.linspace(1.0, 0.0, steps + 1, device=device), shift)


def guided(model_x0: Callable[[torch.Tensor, torch.Tensor, bool], torch.Tensor], guidance: float) -> Denoiser:
    """Classifier-free guidance: x0 = x0_uncond + g * (x0_cond - x0_uncond), one batched call."""

    def denoise(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if guidance == 1.0:
            return model_x0(z, t, False)
        both = model_x0(torch.cat([z, z]), torch.cat([t, t]), True)  # cond half first, then uncond
        cond, uncond = both.chunk(2)
        return uncond + guidance * (cond - uncond)

    return denoise


@dataclass
class Step:
    index: int  # 1-based
    steps: int
    t: float  # noise level after this step
    z: torch.Tensor  # the latent after this step
    x0: torch.Tensor  # the network's current estimate of the clean latent


def velocity(z: torch.Tensor, x0: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return (z - x0) / t.clamp(min=1e-4).view(-1, *[1] * (z.dim() - 1))


def _log_snr(t: torch.Tensor) -> torch.Tensor:
    """lambda = log(alpha / sigma) with alpha = 1 - t, sigma = t."""
    return torch.log((1 - t).clamp(min=1e-6)) - torch.log(t.clamp(min=1e-6))


def advance(solver: str, z: torch.Tensor, x0: torch.Tensor, t: torch.Tensor, t_next: torch.Tensor,
            state: dict, final: bool | None = None) -> torch.Tensor:
    """One single-call step from t to t_next given the network's x0 at (z, t): "euler" or "dpm2m".
    `state` carries the previous step's estimate for the second-order solver (start with {}).
    `final`: whether t_next is the schedule's 0, when the caller knows (asking a GPU tensor waits for
    the GPU). Kept apart from the loop so a batch of jobs at different steps can share one network call."""
    if (t_next == 0) if final is None else final:
        return x0
    if solver == "dpm2m":
        h = _log_snr(t_next) - _log_snr(t.clamp(max=1 - 1e-6))
        x0_prev, h_prev = state.get("x0"), state.get("h")
        d = x0 if x0_prev is None else x0 + (h / (2 * h_prev)) * (x0 - x0_prev)  # (1+1/2r) x0 - 1/2r x0_prev
        state.update(x0=x0, h=h)
        return (t_next / t) * z - (1 - t_next) * torch.expm1(-h) * d
    return z + (t_next - t) * velocity(z, x0, t.expand(z.shape[0]))


def sample_iter(denoise: Denoiser, noise: torch.Tensor, steps: int = 20, shift: float = 3.0,
                solver: str = "euler", t_start: float = 1.0) -> Iterator[Step]:
    """Integrates from t_start (1: from noise; <1: from a partly noised latent) to 0.

    Solvers: "euler" (1 network call a step), "heun" (2 calls a step), "dpm2m" (DPM-Solver++(2M):
    1 call a step, second order from the previous step's estimate, so fewer steps reach the same
    result; Lu et al. 2022, in the data-prediction form that matches our x0-predicting network)."""
    if solver not in ("euler", "heun", "dpm2m"):
        raise ValueError(f"unknown solver {solver!r}")
    ts = schedule(steps, shift, noise.device)
    ts = ts[ts <= t_start + 1e-6] if t_start < 1.0 else ts
    z, b = noise, noise.shape[0]
    n = len(ts) - 1
    ts_host = ts.cpu()  # the noise levels the loop reports and tests, read without waiting for the GPU
    state: dict = {}
    for i in range(n):
        t, t_next = ts[i], ts[i + 1]
        x0 = denoise(z, t.expand(b))
        if solver == "heun" and ts_host[i + 1] > 0:
            v = velocity(z, x0, t.expand(b))
            z_euler = z + (t_next - t) * v
            x0_next = denoise(z_euler, t_next.expand(b))
            z = z + (t_next - t) * 0.5 * (v + velocity(z_euler, x0_next, t_next.expand(b)))
        else:
            z = advance(solver, z, x0, t, t_next, state, final=bool(ts_host[i + 1] == 0))
        yield Step(i + 1, n, float(ts_host[i + 1]), z, x0)
