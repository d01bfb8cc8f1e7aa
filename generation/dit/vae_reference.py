"""Reference-aware decoding: the VAE decoder also sees the cameo picture (issue 4, cameos).

A 4x-compressed latent cannot carry a 14-22 px picture's detail (a pure round trip of a true cameo
clip keeps subject SSIM 0.57), but the picture itself is known when a cameo clip is decoded. So the
decoder can copy detail from it, as reference-conditioned decoders do:

- the picture (3 x 32 x 32 in [-1, 1]) -> a 3x3 conv and a 2x2/2 conv -> a 16 x 16 grid of tokens
  (each token is one 2x2 patch with its neighbours) + a learned position per token;
- at two decoder resolutions, per frame: the 32 x 32 features after `mid` and the 64 x 64 features
  after `high`'s first conv, every feature position (GroupNorm, linear query) attends to those
  256 tokens (multi-head cross-attention), and the result is added back through a linear output
  projection that starts at ZERO, so at initialisation, and whenever no picture is given, the
  decoder is exactly the plain one (bit for bit: x + 0 == x).

The adapter's weights live in the VAE's state dict under `decoder.reference.`; weights saved
without them load as before (`build_vae`), and the decoder then ignores any picture.
Training (`finetune_reference_adapter`, `python -m generation.dit.train --vae-reference-minutes M`)
freezes the encoder and the decoder and fits the adapter alone on cameo clips with their pictures:
plain clips (decoded without a picture) are then unchanged by construction. With
`--vae-reference-train-high` the decoder's last stage is fitted too, with plain clips in every
batch, and their held-out PSNR is measured before and after instead (the shipped weights: session
7, generation/dit/TRAINING.md).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import random
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

PREFIX = "decoder.reference."  # the VAE state-dict keys the adapter adds
REFERENCE_SIZE = 32


class ReferenceCrossAttention(nn.Module):
    """Feature map (B, C, T, H, W) += out(attention(query(norm(x)), tokens)); `out` starts at zero."""

    def __init__(self, channels: int, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.norm = nn.GroupNorm(8, channels)
        self.q = nn.Linear(channels, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.out = nn.Linear(dim, channels)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        b, c, t, h, w = x.shape
        q = self.q(self.norm(x).flatten(2).transpose(1, 2))  # (B, T*H*W, dim): every frame attends alone
        k, v = self.kv(tokens).chunk(2, dim=-1)  # (B, N, dim) each, shared by the frames

        def split(y):  # (B, L, dim) -> (B, heads, L, dim / heads)
            return y.view(b, y.shape[1], self.heads, -1).transpose(1, 2)

        y = F.scaled_dot_product_attention(split(q), split(k), split(v))
        y = self.out(y.transpose(1, 2).reshape(b, t * h * w, -1))  # (B, T*H*W, C)
        return x + y.transpose(1, 2).reshape(b, c, t, h, w).to(x.dtype)


class ReferenceDecoderAdapter(nn.Module):
    """The picture -> tokens, and one cross-attention per decoder stage it is applied at."""

    def __init__(self, widths: tuple[int, ...], dim: int = 64, heads: int = 4, size: int = REFERENCE_SIZE):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, dim, 3, padding=1), nn.GELU(approximate="tanh"),
                                  nn.Conv2d(dim, dim, 2, stride=2))  # (B, dim, S/2, S/2)
        self.pos = nn.Parameter(torch.randn(1, (size // 2) ** 2, dim) * 0.02)
        self.norm = nn.LayerNorm(dim)
        self.stages = nn.ModuleList(ReferenceCrossAttention(c, dim, heads) for c in widths)

    def tokens(self, reference: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) in [-1, 1] -> (B, (S/2)^2, dim)."""
        y = self.stem(reference.to(self.pos.dtype)).flatten(2).transpose(1, 2)
        return self.norm(y + self.pos)

    def forward(self, stage: int, x: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        return self.stages[stage](x, tokens)


def has_adapter(state: dict) -> bool:
    return any(k.startswith(PREFIX) for k in state)


def build_vae(state: dict[str, torch.Tensor], config: dict | None = None):
    """A VideoVAE for saved weights: with the reference adapter exactly when the weights hold one
    (or the config asks for it), loaded strictly otherwise."""
    from .vae import VAEConfig, VideoVAE
    from .vae_paste import OPTIONAL_PREFIX as paste_optional
    from .vae_paste import has_paster

    cfg = VAEConfig(**(config or {}))
    cfg.reference = bool(cfg.reference or has_adapter(state))
    cfg.paste = has_paster(state)  # never a fresh (untrained) paster: only weights that hold one
    vae = VideoVAE(cfg)
    missing, unexpected = vae.load_state_dict({k: v.float() if v.is_floating_point() else v
                                               for k, v in state.items()}, strict=False)
    other = [k for k in missing if not k.startswith((PREFIX, paste_optional))]  # an adapter the config asks for but the
    if other or unexpected:  # weights lack starts at zero output: a no-op
        raise RuntimeError(f"VAE weights do not match: missing {other}, unexpected {list(unexpected)}")
    return vae


def add_adapter(vae) -> None:
    """Gives a loaded VAE a fresh (zero-output) adapter if it has none."""
    if vae.decoder.reference is None:
        device = next(vae.parameters()).device
        vae.cfg.reference = True
        vae.decoder.reference = vae.decoder.make_adapter(vae.cfg).to(device)


# ------------------------------------------------------------------------------------------------
# Training and measuring


@torch.no_grad()
def reference_roundtrip_psnr(vae, device, clips: int = 32, seed: int = 4321) -> dict:
    """Round trip of cameo clips with held-out pictures (every kind of clip), decoded without and
    with the picture, and "swapped" (encoded with another clip's picture, decoded with the right
    one): PSNR over the subject's pixels, and over the whole frame."""
    from . import world, world_sprites
    from .vae import VideoVAE

    rng = random.Random(seed)
    specs, refs = [], []
    for i, (_, picture) in enumerate(world_sprites.heldout_sprites(clips)):
        spec = world.sample_spec(rng, kind=world.KINDS[i % 3], cameo=True)
        spec.subject.sprite = picture
        specs.append(spec)
        refs.append(torch.from_numpy(picture).permute(2, 0, 1).float() / 127.5 - 1.0)
    x_u8 = world.render(specs, device=device)
    # "swapped": each clip encoded with the next clip's picture, decoded with its own
    swapped = []
    for spec, other in zip(specs, specs[1:] + specs[:1]):
        subject = dataclasses.replace(spec.subject, sprite=other.subject.sprite)
        swapped.append(dataclasses.replace(spec, objects=[subject, *spec.objects[1:]]))
    x_swapped = world.render(swapped, device=device)
    ref = torch.stack(refs).to(device)
    subject = world.subject_masks(specs).to(device)
    out = {}
    for name, use, source in (("without", False, x_u8), ("with", True, x_u8), ("swapped", True, x_swapped)):
        recon = []
        for i in range(0, clips, 8):
            z = vae.encode(VideoVAE.to_unit(source[i:i + 8]))
            recon.append(VideoVAE.to_uint8(vae.decode(z, reference=ref[i:i + 8] if use else None)))
        err = (torch.cat(recon).float() - x_u8.float()).pow(2).mean(-1)
        out[f"subject_psnr_{name}"] = 10 * math.log10(255.0 ** 2 / max(err[subject].mean().item(), 1e-10))
        out[f"frame_psnr_{name}"] = 10 * math.log10(255.0 ** 2 / max(err.mean().item(), 1e-10))
    return out


def swap_pictures(spec_t: dict, share: float, start: int = 0) -> dict:
    """The spec tensors with round(share * (B - start)) clips from `start` on given the next such
    clip's picture (a cyclic shift among them): the same motion, size and place, another look."""
    b = spec_t["sprite"].shape[0]
    k = round((b - start) * share)
    if k < 2:
        return spec_t
    sprite = spec_t["sprite"].clone()
    sprite[start:start + k] = spec_t["sprite"][start:start + k].roll(1, dims=0)
    return {**spec_t, "sprite": sprite}


def finetune_reference_adapter(vae, args, device, log: Callable[[str], None]) -> dict:
    """Fits the adapter (encoder and decoder frozen, unless train_high below) on cameo clips with their pictures,
    for args.vae_reference_minutes of wall clock (or args.vae_reference_steps steps, if set).
    Loss: MSE + 0.5 L1 of the decoded clip, foreground pixels weighted 1 + fg_weight.

    With args.vae_reference_swap > 0, that share of the cameo clips is encoded from the clip rendered
    with ANOTHER picture and must still decode to the clip with its own: the DiT's latent gets the
    subject's place right more often than its colours (generated cameo PSNR 15 dB against a 22 dB
    round trip), and this teaches the decoder to take the subject's look from the picture.

    With args.vae_reference_train_high, the decoder's last stage (`high`, 64x64) is fitted too, at
    args.vae_decoder_lr, and args.vae_reference_plain_fraction of each batch are plain clips decoded
    without a picture, so that the stage every plain clip also goes through keeps drawing them."""
    from . import world
    from .train_data import Batches
    from .train_vae import clip_loss, cosine_lr, optimizer_step
    from .vae import VideoVAE

    add_adapter(vae)
    clips = args.vae_reference_eval_clips  # measured after the fit only: at init "with" == "without" exactly
    train_high = getattr(args, "vae_reference_train_high", False)
    plain_share = getattr(args, "vae_reference_plain_fraction", 0.0) if train_high else 0.0
    args_ref = argparse_copy(args, cameo_fraction=1.0 - plain_share, p_ref_drop=0.0)
    batches = Batches(args_ref, device, args.seed + 211, 2000, 0.0, args.vae_batch)
    vae.requires_grad_(False).eval()
    adapter = vae.decoder.reference.requires_grad_(True).train()
    groups = [{"params": list(adapter.parameters()), "base_lr": args.vae_reference_lr}]
    plain_before = None
    if train_high:
        plain_before = calibrate_plain_psnr(vae, device, args.calib_clips)
        groups.append({"params": list(vae.decoder.high.requires_grad_(True).train().parameters()),
                       "base_lr": args.vae_decoder_lr})
    params = [p for g in groups for p in g["params"]]
    opt = torch.optim.AdamW(groups, lr=args.vae_reference_lr, betas=(0.9, 0.99), weight_decay=0.0)
    start, step, budget = time.time(), 0, args.vae_reference_minutes * 60
    max_steps = getattr(args, "vae_reference_steps", 0) or None
    swap = getattr(args, "vae_reference_swap", 0.0)
    while (time.time() - start < budget) if max_steps is None else step < max_steps:
        spec_t, _, reference = batches()
        k = args.vae_batch - reference.shape[0]  # [plain clips | cameo clips]
        x = VideoVAE.to_unit(world.render_tensors(spec_t, device=device))
        x_in = x if swap <= 0 else VideoVAE.to_unit(world.render_tensors(swap_pictures(spec_t, swap, k), device=device))
        frac = (time.time() - start) / budget if max_steps is None else step / max_steps
        for g in opt.param_groups:
            g["lr"] = cosine_lr(g["base_lr"], frac)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            with torch.no_grad():
                mean, logvar = vae.encoder(x_in)
                z = mean + torch.randn_like(mean) * (0.5 * logvar.clamp(-20, 5)).exp()
            recon = vae.decoder(z[k:], reference=reference)
            if k:
                recon = torch.cat([vae.decoder(z[:k]), recon])
        loss = clip_loss(recon, x, args.vae_reference_fg_weight)
        optimizer_step(opt, loss, params)
        step += 1
        if step % args.vae_reference_log_every == 0 or step == 1:
            log(f"vae reference step {step} loss {loss.item():.5f} "
                f"({step * args.vae_batch / (time.time() - start):.2f} clips/s)")
    vae.eval().requires_grad_(False)
    after = reference_roundtrip_psnr(vae, device, clips) if clips else {}
    result = {"steps": step, "minutes": (time.time() - start) / 60, "batch": args.vae_batch, "swap": swap,
              "train_high": train_high, "plain_fraction": plain_share, "heldout": after}
    if train_high:
        result["plain_psnr_before"] = plain_before
        result["plain_psnr_after"] = calibrate_plain_psnr(vae, device, args.calib_clips)
        log(f"vae reference: decoder's last stage fitted too; plain clips' held-out PSNR "
            f"{plain_before:.2f} -> {result['plain_psnr_after']:.2f} dB")
    log(f"vae reference: {step} steps in {result['minutes']:.1f} min" + (
        f"; held-out cameo round trip ({clips} clips), subject PSNR without the picture "
        f"{after['subject_psnr_without']:.2f} dB, with it {after['subject_psnr_with']:.2f} dB (whole frame "
        f"{after['frame_psnr_without']:.2f} -> {after['frame_psnr_with']:.2f} dB); encoded with another "
        f"picture, decoded with the right one: subject PSNR {after['subject_psnr_swapped']:.2f} dB" if clips else ""))
    vae.reference_result = result
    return result


def calibrate_plain_psnr(vae, device, clips: int) -> float:
    """Held-out plain clips' round-trip PSNR (train_vae.calibrate_vae's measure, its log kept quiet)."""
    from .train_vae import calibrate_vae

    calibrate_vae(vae, device, lambda _: None, clips)
    return float(vae.psnr_heldout)


def argparse_copy(args, **changes):
    out = copy.copy(args)
    for k, v in changes.items():
        setattr(out, k, v)
    return out
