"""Text (and later image) to video: loads the weights once, then generates step by step.

    pipe = get_pipeline()
    for event in pipe.iter_generate("a red circle moving left on a blue background", seed=1):
        event.step, event.steps, event.preview, event.eta_s   # every step
    event.frames                                              # uint8 (T, H, W, 3) on the last one

Same seed, same device, same weights -> the same video (noise is drawn on the CPU generator).
"""

from __future__ import annotations

import functools
import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from . import sampling
from .checkpoint import load_json, load_sharded
from .model import DiT, make_config
from .text import NormalizedPrompt, PromptNormalizer, tokenize
from .vae import VAEConfig, VideoVAE

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
MAX_SEED = 2**31 - 1


@dataclass
class StepEvent:
    step: int
    steps: int
    preview: np.ndarray  # uint8 (h, w, 3): the middle frame of the current estimate
    elapsed_s: float
    eta_s: float
    frames: np.ndarray | None = None  # uint8 (T, H, W, 3) on the last event only
    prompt_reading: str = ""  # how the prompt was understood, in Flatland words


@dataclass
class GenerationResult:
    frames: np.ndarray
    events: list[StepEvent] = field(default_factory=list)
    reading: NormalizedPrompt | None = None


class Pipeline:
    fps = 8

    def __init__(self, dit: DiT, vae: VideoVAE, config: dict, device: torch.device, version: str):
        self.dit, self.vae, self.config, self.device, self.model_version = dit, vae, config, device, version
        self.normalizer = PromptNormalizer()
        self.dtype = torch.bfloat16 if device.type == "cuda" else torch.float32

    @classmethod
    def load(cls, weights_dir: Path | str = WEIGHTS_DIR, device: str | torch.device | None = None) -> "Pipeline":
        folder = Path(weights_dir)
        device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        config = load_json(folder / "config.json")
        dit = DiT(make_config(config["dit"]["name"], **config["dit"].get("overrides", {})))
        dit.load_state_dict({k: v.float() for k, v in load_sharded(folder, "dit").items()})
        vae = VideoVAE(VAEConfig(**config.get("vae", {})))
        vae.load_state_dict({k: v.float() for k, v in load_sharded(folder, "vae").items()})
        digest = hashlib.sha256()
        for f in sorted(folder.glob("*.safetensors")):
            digest.update(f.read_bytes())
        version = f"{config.get('version', config['dit']['name'])}@{digest.hexdigest()[:8]}"
        dit, vae = dit.to(device).eval(), vae.to(device).eval()
        return cls(dit, vae, config, device, version)

    def read_prompt(self, prompt: str) -> NormalizedPrompt:
        return self.normalizer.normalize(prompt)

    @torch.no_grad()
    def iter_generate(self, prompt: str, *, seed: int = 0, steps: int | None = None, guidance: float | None = None,
                      solver: str = "euler") -> Iterator[StepEvent]:
        sampler = self.config.get("sampler", {})
        steps = int(steps or sampler.get("steps", 20))
        guidance = float(sampler.get("guidance", 2.0) if guidance is None else guidance)
        if not 1 <= steps <= 200:
            raise ValueError("steps must be between 1 and 200")
        if not 0 <= seed <= MAX_SEED:
            raise ValueError(f"seed must be between 0 and {MAX_SEED}")
        reading = self.read_prompt(prompt)
        ids = torch.tensor([tokenize(reading.words), tokenize([])], device=self.device)  # cond, uncond
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.device.type == "cuda"):
            text, pooled, mask = self.dit.encode_text(ids)

        def model_x0(z, t, with_uncond):
            n = z.shape[0]
            sel = slice(0, 2) if with_uncond else slice(0, 1)
            tx, pl, mk = text[sel], pooled[sel], mask[sel]
            if with_uncond:  # z is [cond batch; uncond batch]
                rep = n // 2
                tx, pl, mk = (x.repeat_interleave(rep, 0) for x in (tx, pl, mk))
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.device.type == "cuda"):
                return self.dit(z, t, tx, pl, mk).float()

        cfg = self.dit.cfg
        gen = torch.Generator().manual_seed(seed)
        noise = torch.randn(1, cfg.latent_channels, *cfg.latent_size, generator=gen).to(self.device)
        start = time.perf_counter()
        shift = float(sampler.get("shift", 3.0))
        for step in sampling.sample_iter(sampling.guided(model_x0, guidance), noise, steps, shift, solver):
            elapsed = time.perf_counter() - start
            preview = self.vae.preview(step.x0)[0]  # (h, w, 3)
            preview = preview.repeat_interleave(4, 0).repeat_interleave(4, 1).cpu().numpy()
            event = StepEvent(step.index, step.steps, preview, elapsed,
                              elapsed / step.index * (step.steps - step.index), prompt_reading=reading.text)
            if step.index == step.steps:
                event.frames = VideoVAE.to_uint8(self.vae.decode(step.z.float()))[0].cpu().numpy()
                event.elapsed_s = time.perf_counter() - start
            yield event

    def generate(self, prompt: str, **kwargs) -> GenerationResult:
        events = list(self.iter_generate(prompt, **kwargs))
        return GenerationResult(events[-1].frames, events, self.read_prompt(prompt))


@functools.lru_cache(maxsize=1)
def get_pipeline() -> Pipeline:
    """The process-wide pipeline (a GPU worker loads it once). SPACETIME_WEIGHTS overrides the folder."""
    return Pipeline.load(os.environ.get("SPACETIME_WEIGHTS", WEIGHTS_DIR), os.environ.get("SPACETIME_DEVICE"))
