"""Training data on the device: a pool of Flatland specs and caption ids built once on all CPU
cores (numpy only, in forked workers), a bank of cameo pictures, and the batches drawn from them
(plain clips, cameo clips without their picture, cameo clips with it), so the GPU never waits on
Python. Used by train.py."""

from __future__ import annotations

import random

import numpy as np
import torch

from . import captions, world, world_sprites
from .text import tokenize, tokenize_caption


def _pool_chunk(args: tuple[int, int, bool, tuple | None]) -> tuple[dict, np.ndarray]:
    """Runs in a worker process: numpy only (torch ops after fork can deadlock)."""
    seed, n, cameo, kind_weights = args
    rng = random.Random(seed)
    specs = [world.sample_spec(rng, "train", cameo=cameo, kind_weights=kind_weights) for _ in range(n)]
    ids = np.array([tokenize_caption(captions.training_caption(s, rng)) for s in specs], dtype=np.int64)
    arrays = {k: v.numpy() for k, v in world.spec_tensors(specs).items()}
    arrays["cameo"] = np.full(n, cameo)  # present in both pools so their batches concatenate
    return arrays, ids


def _sprite_chunk(args: tuple[int, int]) -> np.ndarray:
    seed, n = args
    return world_sprites.training_sprites(seed, n).transpose(0, 3, 1, 2)  # (n, 3, S, S) uint8


def _pool_map(fn, jobs: list) -> list:
    import multiprocessing as mp

    with mp.get_context("fork").Pool(max(1, min(32, (mp.cpu_count() or 2) - 1))) as pool:
        return pool.map(fn, jobs)


class SpecPool:
    """A large pool of training specs + caption ids, built once on all CPU cores and kept on the
    device; each step draws a random batch with no Python in the loop (the GPU outran the sampler).
    cameo=True: specs whose subject is a picture (drawn from a SpriteBank when rendered)."""

    def __init__(self, size: int, seed: int, device, p_uncond: float, cameo: bool = False,
                 kind_weights: tuple[float, float, float] | None = None):
        chunk = 2000
        jobs = [(seed * 1_000_003 + i, chunk, cameo, kind_weights) for i in range(max(1, size // chunk))]
        parts = _pool_map(_pool_chunk, jobs)
        self.tensors = {k: torch.from_numpy(np.concatenate([p[0][k] for p in parts])).to(device) for k in parts[0][0]}
        self.ids = torch.from_numpy(np.concatenate([p[1] for p in parts])).to(device)
        self.uncond = torch.tensor(tokenize([]), device=device)
        self.size, self.device, self.p_uncond = len(self.ids), device, p_uncond

    def batch(self, n: int) -> tuple[dict, torch.Tensor]:
        idx = torch.randint(0, self.size, (n,), device=self.device)
        ids = self.ids[idx]
        drop = torch.rand(n, device=self.device) < self.p_uncond  # classifier-free guidance dropout
        ids = torch.where(drop[:, None], self.uncond[None], ids)
        return {k: v[idx] for k, v in self.tensors.items()}, ids


class SpriteBank:
    """Training pictures (uint8, on the device), made once by the pool workers; every draw is
    randomly flipped and has its colour channels permuted on the device (12x the pictures)."""

    PERMUTATIONS = [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)]

    def __init__(self, size: int, seed: int, device):
        chunk = 1000
        parts = _pool_map(_sprite_chunk, [(seed * 7919 + i, chunk) for i in range(max(1, size // chunk))])
        self.sprites = torch.from_numpy(np.concatenate(parts)).to(device)  # (N, 3, S, S)
        self.perms = torch.tensor(self.PERMUTATIONS, device=device)
        self.size, self.device = len(self.sprites), device

    def batch(self, n: int) -> torch.Tensor:
        x = self.sprites[torch.randint(0, self.size, (n,), device=self.device)]
        flip = torch.rand(n, device=self.device) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        perm = self.perms[torch.randint(0, len(self.perms), (n,), device=self.device)]  # (n, 3)
        return torch.gather(x, 1, perm[:, :, None, None].expand_as(x))


class Batches:
    """Each step's batch, in a fixed layout: [plain clips | cameo clips without their picture (the
    reference dropped for CFG) | cameo clips with their picture]. Fixed group sizes keep tensor
    shapes constant (one torch.compile graph per group)."""

    def __init__(self, args, device, seed: int, size: int, p_uncond: float, batch: int):
        kinds = getattr(args, "kind_weights", None)
        kinds = tuple(kinds) if kinds else None
        self.plain = SpecPool(size, seed, device, p_uncond, kind_weights=kinds)
        self.n_ref = self.n_noref = 0
        self.cameo = self.bank = None
        if args.cameo_fraction > 0:
            n_cameo = max(1, round(batch * args.cameo_fraction))
            self.n_noref = round(n_cameo * args.p_ref_drop)
            self.n_ref = n_cameo - self.n_noref
            self.cameo = SpecPool(max(2000, int(size * args.cameo_fraction)), seed + 17, device, p_uncond, cameo=True,
                                  kind_weights=kinds)
            self.bank = SpriteBank(args.sprites, seed + 29, device)
        self.batch = batch

    def __call__(self) -> tuple[dict, torch.Tensor, torch.Tensor | None]:
        """spec tensors for world.render_tensors, caption ids, references (n_ref, 3, S, S) in [-1, 1] or None."""
        n_cameo = self.n_ref + self.n_noref
        spec_t, ids = self.plain.batch(self.batch - n_cameo)
        if not n_cameo:
            return spec_t, ids, None
        cam_t, cam_ids = self.cameo.batch(n_cameo)
        pictures = self.bank.batch(n_cameo)
        spec_t = {k: torch.cat([spec_t[k], cam_t[k]]) for k in spec_t}
        spec_t["sprite"] = torch.cat([torch.zeros_like(pictures[:1]).expand(self.batch - n_cameo, -1, -1, -1), pictures])
        return spec_t, torch.cat([ids, cam_ids]), pictures[self.n_noref:].float() / 127.5 - 1.0


class LatentCache:
    """Encoded batches kept on the device for reuse. With `reuse` R, each clip that is rendered and
    encoded is trained on R times on average (with fresh noise and t each time), so 1 - 1/R of the
    steps skip rendering and the VAE encoder, about a third of a step's FLOPs. A replayed batch
    draws random rows from each group of the Batches layout [plain | cameo without picture |
    cameo with picture], so it mixes clips of many batches and keeps the layout's shapes."""

    def __init__(self, groups: tuple[int, int, int], capacity_clips: int, reuse: float, seed: int):
        self.groups = groups  # rows per batch of each group
        self.capacity = max(1, capacity_clips // sum(groups))  # batches kept
        self.reuse = reuse
        self.rng = random.Random(seed)
        self.stored = 0  # batches added so far
        self.x0: list[torch.Tensor] = []
        self.ids: list[torch.Tensor] = []
        self.reference: torch.Tensor | None = None

    def want_fresh(self) -> bool:
        warm = self.stored >= min(self.capacity, 8)  # replay only once a few batches are mixed in
        return not warm or self.rng.random() < 1.0 / self.reuse

    def add(self, x0: torch.Tensor, ids: torch.Tensor, reference: torch.Tensor | None) -> None:
        if not self.x0:  # first batch: allocate every group's ring buffer (latents kept in bf16)
            self.x0 = [x0.new_empty((self.capacity * m, *x0.shape[1:]), dtype=torch.bfloat16) for m in self.groups]
            self.ids = [ids.new_empty((self.capacity * m, *ids.shape[1:])) for m in self.groups]
            if reference is not None:
                self.reference = reference.new_empty((self.capacity * self.groups[2], *reference.shape[1:]))
        slot, start = self.stored % self.capacity, 0
        for g, n in enumerate(self.groups):
            self.x0[g][slot * n:(slot + 1) * n] = x0[start:start + n]
            self.ids[g][slot * n:(slot + 1) * n] = ids[start:start + n]
            start += n
        if reference is not None:
            n = self.groups[2]
            self.reference[slot * n:(slot + 1) * n] = reference
        self.stored += 1

    def sample(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """-> x0 (B, C, T, H, W) float, caption ids (B, L), references (n_ref, 3, S, S) or None."""
        filled = min(self.stored, self.capacity)
        x0, ids, rows = [], [], []
        for g, n in enumerate(self.groups):
            if n == 0:
                continue
            idx = torch.randint(0, filled * n, (n,), device=self.x0[g].device)
            x0.append(self.x0[g][idx].float())
            ids.append(self.ids[g][idx])
            rows.append(idx)
        reference = None if self.reference is None else self.reference[rows[-1]]
        return torch.cat(x0), torch.cat(ids), reference
