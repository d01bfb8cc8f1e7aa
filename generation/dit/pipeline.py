"""Text (and a cameo picture) to video: loads the weights once, then generates step by step.

    pipe = get_pipeline()
    for event in pipe.iter_generate("a red circle moving left on a blue background", seed=1):
        event.step, event.steps, event.preview, event.eta_s   # every step
    event.frames                                              # uint8 (T, H, W, 3) on the last one

Same seed, same device, same weights (and step cache setting) -> the same video (noise is drawn on the
CPU generator).
A prompt that names `@someone` needs `cameo_image=` (any RGB uint8 picture), and a model whose
config has reference conditioning (`pipe.supports_cameo`).
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
from .cuda_graphs import GraphedDiT, wants_cuda_graphs
from .model import DiT, make_config
from .reference import picture_to_reference
from .step_cache import FirstBlockCache
from .text import NormalizedPrompt, PromptNormalizer, tokenize
from .vae import VideoVAE
from .vae_reference import build_vae

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
MAX_SEED = 2**31 - 1
# Video to video: colour is decided near pure noise in this model, so edits need t >= 0.95; the
# parent's motion and layout still carry over (benchmarks/remix/eval_h200.json).
REMIX_STRENGTH = 0.95


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

    def __init__(self, dit: DiT, vae: VideoVAE, config: dict, device: torch.device, version: str,
                 step_cache: float = 0.0):
        self.dit, self.vae, self.config, self.device, self.model_version = dit, vae, config, device, version
        self.step_cache = check_step_cache(step_cache)
        self.normalizer = PromptNormalizer()
        self.dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
        # the sampler's network calls: CUDA-graphed on a GPU (cuda_graphs.py), else the module itself
        self.net = GraphedDiT(dit) if wants_cuda_graphs(device, os.environ.get("SPACETIME_CUDA_GRAPHS")) else dit

    @classmethod
    def load(cls, weights_dir: Path | str = WEIGHTS_DIR, device: str | torch.device | None = None,
             attention: str = "sdpa", step_cache: float = 0.0) -> "Pipeline":
        """`attention`: the self-attention kernel, "sdpa" (torch's) or "fa4" (FlashAttention-4 on
        Hopper/Blackwell GPUs, falling back to SDPA elsewhere; see fa4_attention.py).
        `step_cache`: the first-block cache's threshold (step_cache.py; 0: off)."""
        folder = Path(weights_dir)
        device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        config = load_json(folder / "config.json")
        dit = DiT(make_config(config["dit"]["name"], **{**config["dit"].get("overrides", {}), "attention": attention}))
        dit.load_state_dict({k: v.float() for k, v in load_sharded(folder, "dit").items()})
        vae = build_vae(load_sharded(folder, "vae"), config.get("vae", {}))  # with the cameo adapter if saved
        digest = hashlib.sha256()
        for f in sorted(folder.glob("*.safetensors")):
            digest.update(f.read_bytes())
        version = f"{config.get('version', config['dit']['name'])}@{digest.hexdigest()[:8]}"
        dit, vae = dit.to(device).eval(), vae.to(device).eval()
        return cls(dit, vae, config, device, version, step_cache)

    def read_prompt(self, prompt: str) -> NormalizedPrompt:
        return self.normalizer.normalize(prompt)

    @property
    def supports_cameo(self) -> bool:
        """True when the model takes a reference picture (an @handle's cameo)."""
        return bool(self.dit.cfg.reference)

    def _reference(self, reading: NormalizedPrompt, cameo_image) -> torch.Tensor | None:
        """The cameo picture as the model's reference (1, 3, 32, 32), after checking it fits the prompt."""
        if cameo_image is None:
            if reading.cameos:
                raise ValueError(f"the prompt names @{reading.cameos[0]} but no cameo picture was given")
            return None
        if not self.supports_cameo:
            raise ValueError(f"the model {self.model_version} has no cameo (reference picture) conditioning")
        if not reading.cameos:
            raise ValueError("a cameo picture was given but the prompt names no @handle to show it")
        if len(set(reading.cameos)) > 1:
            raise ValueError("the prompt names more than one @handle; this model shows one cameo")
        return picture_to_reference(cameo_image).to(self.device)

    def _text_denoiser(self, prompt: str, steps: int | None, guidance: float | None, seed: int, cameo_image=None,
                       known: torch.Tensor | None = None, known_mask: torch.Tensor | None = None):
        """Checks the arguments, reads and encodes the prompt; returns (reading, steps, shift, denoise).
        Guidance contrasts prompt + picture with neither (the plain unconditional model); known
        frames (a model with frame conditioning) are given to both."""
        sampler = self.config.get("sampler", {})
        steps = int(steps or sampler.get("steps", 20))
        if guidance is None:  # a cameo clip keeps its picture's likeness better with less guidance (TRAINING.md)
            guidance = sampler.get("cameo_guidance", sampler.get("guidance")) if cameo_image is not None \
                else sampler.get("guidance")
        guidance = float(2.0 if guidance is None else guidance)
        if not 1 <= steps <= 200:
            raise ValueError("steps must be between 1 and 200")
        if not 0 <= seed <= MAX_SEED:
            raise ValueError(f"seed must be between 0 and {MAX_SEED}")
        reading = self.read_prompt(prompt)
        reference = self._reference(reading, cameo_image)
        ids = self.to_device(torch.tensor([tokenize(reading.words), tokenize([])]))  # cond, uncond
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.device.type == "cuda"):
            text, pooled, mask = self.dit.encode_text(ids)
        # The first-block cache, one per job, on the plain module only: a CUDA graph replays the whole
        # forward, and a cameo job's two halves are separate calls that one cache cannot follow.
        net = self.net
        if self.step_cache > 0 and reference is None and not isinstance(self.net, GraphedDiT):
            net = FirstBlockCache(self.dit, self.step_cache, extrapolate=STEP_CACHE_EXTRAPOLATE)

        def model_x0(z, t, with_uncond):
            n = z.shape[0]
            sel = slice(0, 2) if with_uncond else slice(0, 1)
            tx, pl, mk = text[sel], pooled[sel], mask[sel]
            if with_uncond:  # z is [cond batch; uncond batch]
                rep = n // 2
                tx, pl, mk = (x.repeat_interleave(rep, 0) for x in (tx, pl, mk))
            frames = {} if known is None else {"known": known.expand(n, -1, -1, -1, -1),
                                                "known_mask": known_mask.expand(n, -1, -1, -1, -1)}
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.device.type == "cuda"):
                if reference is None:
                    return net(z, t, tx, pl, mk, **frames).float()
                k = n // 2 if with_uncond else n  # the conditional half sees the picture, the rest does not
                ref = reference.expand(k, -1, -1, -1)
                head = {key: v[:k] for key, v in frames.items()}
                cond = self.net(z[:k], t[:k], tx[:k], pl[:k], mk[:k], reference=ref, **head).float()
                if k == n:
                    return cond
                tail = {key: v[k:] for key, v in frames.items()}
                return torch.cat([cond, self.net(z[k:], t[k:], tx[k:], pl[k:], mk[k:], **tail).float()])

        return reading, steps, float(sampler.get("shift", 3.0)), sampling.guided(model_x0, guidance)

    def _noise(self, seed: int) -> torch.Tensor:
        cfg = self.dit.cfg
        gen = torch.Generator().manual_seed(seed)
        return self.to_device(torch.randn(1, cfg.latent_channels, *cfg.latent_size, generator=gen))

    def to_device(self, x: torch.Tensor) -> torch.Tensor:
        """A CPU tensor onto the pipeline's device without waiting for the GPU: from pageable memory a
        copy waits for all work queued before it (in the batching worker, the other jobs' step);
        from pinned memory it is queued like a kernel."""
        if self.device.type != "cuda":
            return x.to(self.device)
        return x.pin_memory().to(self.device, non_blocking=True)

    def _events(self, steps_iter, reading: NormalizedPrompt, start: float, finish) -> Iterator[StepEvent]:
        """Sampler steps -> StepEvents; `finish(z)` makes the frames of the last one."""
        for step in steps_iter:
            elapsed = time.perf_counter() - start
            preview = self.vae.preview(step.x0)[0]  # (h, w, 3)
            preview = preview.repeat_interleave(4, 0).repeat_interleave(4, 1).cpu().numpy()
            event = StepEvent(step.index, step.steps, preview, elapsed,
                              elapsed / step.index * (step.steps - step.index), prompt_reading=reading.text)
            if step.index == step.steps:
                event.frames = finish(step.z)
                event.elapsed_s = time.perf_counter() - start
            yield event

    @torch.no_grad()
    def roundtrip(self, frames: np.ndarray, cameo_image: np.ndarray | None = None) -> np.ndarray:
        """A clip through the autoencoder alone (encode, decode): what the VAE lets through; with
        `cameo_image`, decoded with the picture when the decoder has a reference adapter."""
        return self._decode(self.encode_frames(frames), self.decode_reference(cameo_image))

    def decode_reference(self, cameo_image) -> torch.Tensor | None:
        """The picture the decoder is given: the cameo's (1, 3, 32, 32), when there is one and the
        VAE has a reference adapter (vae_reference.py); otherwise None (the plain decoder)."""
        if cameo_image is None or not self.vae.has_reference:
            return None
        return picture_to_reference(cameo_image).to(self.device)

    def _decode(self, z: torch.Tensor, reference: torch.Tensor | None = None) -> np.ndarray:
        return VideoVAE.to_uint8(self.vae.decode(z.float(), reference))[0].cpu().numpy()

    @torch.no_grad()
    def iter_generate(self, prompt: str, *, seed: int = 0, steps: int | None = None, guidance: float | None = None,
                      solver: str = "euler", cameo_image: np.ndarray | None = None) -> Iterator[StepEvent]:
        """cameo_image: RGB uint8 (H, W, 3) of any size, shown as the prompt's @handle."""
        reading, steps, shift, denoise = self._text_denoiser(prompt, steps, guidance, seed, cameo_image)
        noise = self._noise(seed)
        start = time.perf_counter()
        decode = functools.partial(self._decode, reference=self.decode_reference(cameo_image))
        yield from self._events(sampling.sample_iter(denoise, noise, steps, shift, solver), reading, start, decode)

    # --- remix modes ------------------------------------------------------------------------------

    @property
    def clip_shape(self) -> tuple[int, int, int]:
        """(T, H, W) of the clips the model makes: the VAE compresses time 2x and space 4x."""
        lt, lh, lw = self.dit.cfg.latent_size
        return 2 * lt, 4 * lh, 4 * lw

    def fit_frames(self, frames: np.ndarray, *, keep: str = "spread") -> np.ndarray:
        """Any uint8 (T, H, W, 3) clip -> the model's (T, H, W): resized in space (bilinear,
        antialiased), and in time either `spread` (evenly chosen frames) or `last` (the last T
        frames, the first one repeated in front of a shorter clip)."""
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] < 1:
            raise ValueError(f"parent frames must be (T, H, W, 3), got {frames.shape}")
        t, h, w = self.clip_shape
        if keep == "spread":
            idx = np.linspace(0, len(frames) - 1, t).round().astype(int)
        else:
            idx = np.arange(len(frames) - t, len(frames)).clip(0)
        return self.resize_frames(frames[idx])

    def resize_frames(self, frames: np.ndarray) -> np.ndarray:
        """uint8 (T, H, W, 3) -> (T, model H, model W, 3), bilinear and antialiased when shrinking."""
        _, h, w = self.clip_shape
        if frames.shape[1:3] != (h, w):
            x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()
            x = torch.nn.functional.interpolate(x, size=(h, w), mode="bilinear", antialias=True, align_corners=False)
            frames = x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
        return np.ascontiguousarray(frames, dtype=np.uint8)

    def encode_frames(self, frames: np.ndarray) -> torch.Tensor:
        """uint8 (T, H, W, 3) at the model's clip shape -> normalised latent (1, C, t, h, w)."""
        x = VideoVAE.to_unit(torch.from_numpy(np.ascontiguousarray(frames))[None]).to(self.device)
        return self.vae.encode(x).float()

    @torch.no_grad()
    def iter_remix(self, prompt: str, parent_frames: np.ndarray, *, strength: float = REMIX_STRENGTH,
                   seed: int = 0,
                   steps: int | None = None, guidance: float | None = None,
                   solver: str = "euler", cameo_image: np.ndarray | None = None) -> Iterator[StepEvent]:
        """Video to video (SDEdit): the parent's frames are encoded, noised to t = strength along
        the sampler's schedule, and denoised with the new prompt. Motion and layout survive from
        the parent; what the prompt changes is redrawn. strength 0 gives the parent back (through
        the autoencoder), 1 a new clip from noise. Runs the schedule's steps that lie below t."""
        if isinstance(strength, bool) or not 0.0 <= float(strength) <= 1.0:
            raise ValueError("strength must be between 0 and 1")
        strength = float(strength)
        reading, steps, shift, denoise = self._text_denoiser(prompt, steps, guidance, seed, cameo_image)
        start = time.perf_counter()
        z_parent = self.encode_frames(self.fit_frames(parent_frames))
        decode = functools.partial(self._decode, reference=self.decode_reference(cameo_image))
        noise = self._noise(seed)
        ts = sampling.schedule(steps, shift)
        below = ts[ts <= strength + 1e-6] if strength < 1.0 else ts
        t0 = float(below[0])
        if len(below) < 2:  # no step left to run: the parent, through the autoencoder
            x0 = z_parent
            frames = decode(x0)
            preview = self.vae.preview(x0)[0].repeat_interleave(4, 0).repeat_interleave(4, 1).cpu().numpy()
            elapsed = time.perf_counter() - start
            yield StepEvent(1, 1, preview, elapsed, 0.0, frames, reading.text)
            return
        z = (1.0 - t0) * z_parent + t0 * noise
        yield from self._events(sampling.sample_iter(denoise, z, steps, shift, solver, t_start=strength),
                                reading, start, decode)

    @torch.no_grad()
    def iter_extend(self, prompt: str, parent_frames: np.ndarray, *, new_frames: int = 8, seed: int = 0,
                    steps: int | None = None, guidance: float | None = None,
                    solver: str = "euler", cameo_image: np.ndarray | None = None) -> Iterator[StepEvent]:
        """Continue the parent by `new_frames` frames. The parent's last frames are encoded; the
        clip being sampled starts with those latent frames, known, and the rest is generated with
        the new prompt. A model trained with frame conditioning is given them as context (chosen by
        measurement: in-painting alone put the first new frame's object within 3 px of the
        predicted place in 17% of clips); in both cases the known frames are held at the parent's
        latent noised to the current t (the network's estimate of them is replaced by the parent's
        latent). The last event's frames are the parent (fitted to the model's frame size)
        followed by the new frames."""
        t_clip, _, _ = self.clip_shape
        if isinstance(new_frames, bool) or not isinstance(new_frames, int) or new_frames % 2 \
                or not 2 <= new_frames <= t_clip - 2:
            raise ValueError(f"new_frames must be an even number from 2 to {t_clip - 2}")
        start = time.perf_counter()
        tail = self.fit_frames(parent_frames, keep="last")
        whole = self.resize_frames(np.asarray(parent_frames))  # every parent frame, resized in space only
        known_n = (t_clip - new_frames) // 2  # latent frames taken from the parent's end
        z_tail = self.encode_frames(tail)
        known = z_tail[:, :, z_tail.shape[2] - known_n:]
        context = {}
        if self.dit.frame_embed is not None:
            full = torch.zeros_like(z_tail)
            full[:, :, :known_n] = known
            mask = torch.zeros_like(z_tail[:, :1])
            mask[:, :, :known_n] = 1.0
            context = {"known": full, "known_mask": mask}
        reading, steps, shift, denoise = self._text_denoiser(prompt, steps, guidance, seed, cameo_image, **context)
        noise = self._noise(seed)

        def with_known(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            tt = t.view(-1, 1, 1, 1, 1)
            z = z.clone()
            z[:, :, :known_n] = (1 - tt) * known + tt * noise[:, :, :known_n]
            return z

        def inpaint(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            x0 = denoise(with_known(z, t), t)
            x0[:, :, :known_n] = known
            return x0

        z = with_known(noise, torch.ones(1, device=noise.device))

        reference = self.decode_reference(cameo_image)

        def finish(z_last: torch.Tensor) -> np.ndarray:
            clip = self._decode(z_last, reference)
            return np.concatenate([whole, clip[2 * known_n:]])

        yield from self._events(sampling.sample_iter(inpaint, z, steps, shift, solver), reading, start, finish)

    def remix(self, prompt: str, parent_frames: np.ndarray, **kwargs) -> GenerationResult:
        events = list(self.iter_remix(prompt, parent_frames, **kwargs))
        return GenerationResult(events[-1].frames, events, self.read_prompt(prompt))

    def extend(self, prompt: str, parent_frames: np.ndarray, **kwargs) -> GenerationResult:
        events = list(self.iter_extend(prompt, parent_frames, **kwargs))
        return GenerationResult(events[-1].frames, events, self.read_prompt(prompt))

    def generate(self, prompt: str, **kwargs) -> GenerationResult:
        events = list(self.iter_generate(prompt, **kwargs))
        return GenerationResult(events[-1].frames, events, self.read_prompt(prompt))


# A skipped call's deep residual moved half a line's step along its last change (step_cache.py): the
# same calls skipped, the worst prompt's frames 41.0 -> 44.4 dB at threshold 0.1 on the shipped model.
STEP_CACHE_EXTRAPOLATE = 0.5


def check_step_cache(threshold) -> float:
    """The first-block cache's threshold: a number in [0, 1) (0: off); anything else is refused."""
    try:
        value = float(threshold)
    except (TypeError, ValueError):
        raise ValueError(f"the step cache threshold must be a number in [0, 1), not {threshold!r}") from None
    if not 0 <= value < 1:
        raise ValueError(f"the step cache threshold must be in [0, 1) (0: off), not {value}")
    return value


@functools.lru_cache(maxsize=1)
def get_pipeline() -> Pipeline:
    """The process-wide pipeline (a GPU worker loads it once). SPACETIME_WEIGHTS overrides the folder,
    SPACETIME_DEVICE the device, SPACETIME_ATTENTION the self-attention kernel ("sdpa", "fa4" or "fp8"),
    SPACETIME_STEP_CACHE the first-block cache's threshold (0, off, by default; 0.1 skips ~30% of the
    shipped model's calls on the CPU at >= 44.4 dB frame PSNR, benchmarks/dit/README.md)."""
    return Pipeline.load(os.environ.get("SPACETIME_WEIGHTS", WEIGHTS_DIR), os.environ.get("SPACETIME_DEVICE"),
                         os.environ.get("SPACETIME_ATTENTION", "sdpa"), os.environ.get("SPACETIME_STEP_CACHE", "0"))
