"""Phase 1 of training: the video autoencoder (train it, calibrate its latents, fine-tune its
decoder on cameo pictures), and the cosine learning-rate schedule both phases use.
Run through `python -m generation.dit.train`; see its docstring."""

from __future__ import annotations

import copy
import math
import random
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from . import world, world_sprites
from .model import count_params
from .train_data import Batches, SpecPool
from .vae import VAEConfig, VideoVAE, psnr

Log = Callable[[str], None]


def cosine_lr(base: float, frac: float, warm: float = 0.03, floor: float = 0.1) -> float:
    if frac < warm:
        return base * frac / warm
    p = min(1.0, (frac - warm) / (1 - warm))
    return base * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * p)))


def train_vae(args, device, log: Log) -> VideoVAE:
    vae = VideoVAE(VAEConfig()).to(device)
    opt = torch.optim.AdamW(vae.parameters(), lr=args.vae_lr, betas=(0.9, 0.99), weight_decay=0.0)
    log(f"vae: {count_params(vae) / 1e6:.2f}M params, budget {args.vae_minutes} min, batch {args.vae_batch}")
    pool = SpecPool(args.pool // 4, args.seed + 1, device, 0.0)
    start, step = time.time(), 0
    budget = args.vae_minutes * 60
    while time.time() - start < budget:
        spec_t, _ = pool.batch(args.vae_batch)
        x = VideoVAE.to_unit(world.render_tensors(spec_t, device=device))
        for g in opt.param_groups:
            g["lr"] = cosine_lr(args.vae_lr, (time.time() - start) / budget)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            loss, recon = vae.loss(x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        step += 1
        if step % 100 == 0 or step == 1:
            p = psnr(VideoVAE.to_uint8(recon.detach()), VideoVAE.to_uint8(x))
            log(f"vae step {step} loss {loss.item():.5f} psnr {p:.2f} dB "
                f"({step * args.vae_batch / (time.time() - start):.0f} clips/s)")
    vae.eval()
    calibrate_vae(vae, device, log, args.calib_clips)
    return vae


@torch.no_grad()
def calibrate_vae(vae: VideoVAE, device, log: Log, clips: int = 256) -> None:
    """Held-out PSNR, per-channel latent normalisation, and the latent->RGB preview map."""
    rng = random.Random(12345)
    specs = [world.sample_spec(rng, rng.choice(["train", "heldout"])) for _ in range(clips)]
    x_u8 = world.render(specs, device=device)
    x = VideoVAE.to_unit(x_u8)
    vae.latent_shift.zero_()
    vae.latent_scale.fill_(1.0)
    means = torch.cat([vae.encoder(x[i:i + 32])[0] for i in range(0, len(x), 32)])  # (N, C, t, h, w)
    vae.latent_shift.copy_(means.mean(dim=(0, 2, 3, 4)))
    vae.latent_scale.copy_(means.std(dim=(0, 2, 3, 4)).clamp(min=1e-3))
    recon = torch.cat([vae.decode(vae.encode(x[i:i + 32])) for i in range(0, len(x), 32)])
    vae.psnr_heldout = psnr(VideoVAE.to_uint8(recon), x_u8)
    # preview: least squares from normalised latent (+1) to the mean colour of the pixels it covers
    z = (means - vae.latent_shift.view(1, -1, 1, 1, 1)) / vae.latent_scale.view(1, -1, 1, 1, 1)
    target = F.avg_pool3d(x, kernel_size=(2, 4, 4))  # (N, 3, t, h, w)
    a = torch.cat([z, torch.ones_like(z[:, :1])], 1).permute(0, 2, 3, 4, 1).reshape(-1, z.shape[1] + 1)
    b = target.permute(0, 2, 3, 4, 1).reshape(-1, 3)
    vae.preview_rgb.copy_(torch.linalg.lstsq(a.float().cpu(), b.float().cpu()).solution.to(device))
    log(f"vae: held-out reconstruction PSNR {vae.psnr_heldout:.2f} dB over {len(specs)} clips")


@torch.no_grad()
def cameo_subject_psnr(vae: VideoVAE, device, clips: int = 64, seed: int = 4321) -> float:
    """PSNR of a VAE round trip over the cameo subject's pixels (held-out pictures, every kind of
    clip): how much of an uploaded picture the autoencoder lets through at all."""
    rng = random.Random(seed)
    specs = []
    for i, (_, picture) in enumerate(world_sprites.heldout_sprites(clips)):
        spec = world.sample_spec(rng, kind=world.KINDS[i % 3], cameo=True)
        spec.subject.sprite = picture
        specs.append(spec)
    x_u8 = world.render(specs, device=device)
    recon = torch.cat([VideoVAE.to_uint8(vae.decode(vae.encode(VideoVAE.to_unit(x_u8[i:i + 16]))))
                       for i in range(0, clips, 16)])
    subject = world.subject_masks(specs).to(device)  # (N, T, H, W)
    err = (recon.float() - x_u8.float()).pow(2).mean(-1)[subject].mean().item()
    return 99.0 if err == 0 else 10 * math.log10(255.0 ** 2 / err)


def foreground_weight(x: torch.Tensor, extra: float) -> torch.Tensor:
    """(B, 3, T, H, W) clips -> per-pixel loss weight (B, 1, T, H, W): 1 + extra on pixels away from
    the frame's background (its median colour). Objects are a few percent of the pixels; an
    unweighted loss let the decoder round small triangles into discs."""
    if extra <= 0:
        return torch.ones_like(x[:, :1])
    bg = x.flatten(3).median(dim=3).values[..., None, None]  # (B, 3, T, 1, 1)
    fg = (x - bg).abs().amax(dim=1, keepdim=True) > 0.1
    return 1.0 + extra * fg.to(x.dtype)


def clip_loss(recon: torch.Tensor, x: torch.Tensor, fg_extra: float) -> torch.Tensor:
    """The decoder fits' loss: MSE + 0.5 L1 per pixel, weighted by foreground_weight."""
    err = (recon.float() - x).pow(2) + 0.5 * (recon.float() - x).abs()
    return (err * foreground_weight(x, fg_extra)).mean()


def optimizer_step(opt: torch.optim.Optimizer, loss: torch.Tensor, params) -> None:
    """Backward, clip the gradient norm to 1, step."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()


def finetune_vae_decoder(vae: VideoVAE, args, device, log: Log) -> None:
    """Trains the decoder alone on plain and cameo clips: the encoder (so every latent the DiT was
    trained on) stays as it is, while pictures, which the shapes-only decoder never drew, decode sharper."""
    clips = min(64, args.calib_clips)
    before = cameo_subject_psnr(vae, device, clips)
    plain_before, original = getattr(vae, "psnr_heldout", None), copy.deepcopy(vae.decoder.state_dict())
    args_vae = copy.copy(args)
    args_vae.cameo_fraction = max(args.cameo_fraction, 0.5)
    batches = Batches(args_vae, device, args.seed + 101, max(2000, args.pool // 8), 0.0, args.vae_batch)
    vae.encoder.requires_grad_(False)
    vae.decoder.requires_grad_(True).train()
    opt = torch.optim.AdamW(vae.decoder.parameters(), lr=args.vae_decoder_lr, betas=(0.9, 0.99), weight_decay=0.0)
    start, step, budget = time.time(), 0, args.vae_decoder_minutes * 60
    while time.time() - start < budget:
        spec_t, _, _ = batches()
        x = VideoVAE.to_unit(world.render_tensors(spec_t, device=device))
        for g in opt.param_groups:
            g["lr"] = cosine_lr(args.vae_decoder_lr, (time.time() - start) / budget)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            with torch.no_grad():
                mean, logvar = vae.encoder(x)
                z = mean + torch.randn_like(mean) * (0.5 * logvar.clamp(-20, 5)).exp()
            recon = vae.decoder(z)
        loss = clip_loss(recon, x, args.vae_decoder_fg_weight)
        optimizer_step(opt, loss, vae.decoder.parameters())
        step += 1
        if step % 100 == 0 or step == 1:
            log(f"vae decoder step {step} loss {loss.item():.5f}")
    vae.eval()
    vae.cameo_subject_psnr = cameo_subject_psnr(vae, device, clips)
    log(f"vae decoder: {step} steps; cameo subject PSNR {before:.2f} -> {vae.cameo_subject_psnr:.2f} dB")
    calibrate_vae(vae, device, log, args.calib_clips)
    if plain_before is not None and vae.psnr_heldout < plain_before - args.vae_decoder_max_drop:
        # plain clips are most of what people make: a decoder that draws them worse is not kept
        vae.decoder.load_state_dict(original)
        log(f"vae decoder: plain PSNR fell {plain_before:.2f} -> {vae.psnr_heldout:.2f} dB; kept the original decoder")
        vae.cameo_subject_psnr = before
        calibrate_vae(vae, device, log, args.calib_clips)
