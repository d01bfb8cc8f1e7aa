"""The decoder pastes the cameo picture where the latent shows the subject (issue 4, cameos).

vae_reference.py's adapter lets the decoder *attend* to the picture, but attention mixes tokens,
so fine detail (rings, stripes, checkers) comes out blurred: generated subject SSIM 0.44, a true
round trip 0.60. The picture itself is known at decode time, and a Flatland cameo is that picture
moved and resized, so this module learns the *geometry* instead and copies the pixels (a spatial
transformer, Jaderberg et al. 2015):

- locate: per frame, from the decoder's 32x32 features (after the adapter), a small dilated conv
  stack gives a heat map whose soft-argmax is the subject's centre (sub-pixel), and a size logit
  pooled under the heat map (one per clip: small or big, the two sizes Flatland has);
- compose: the picture resampled over that square exactly as the world renders it
  (`world.paste_sprites`), blended over the decoded frame by alpha = (the square, soft-edged) x
  (a per-pixel visibility from the 64x64 features: 0 on the wall and where no subject shows);
- cleanup: a correction to the decoded frame in the ring around the square (within GROW's largest
  side), where the DiT tends to leave a blurred halo of the subject.

Where the subject is, how big, and when it hides all come from the latent (that is, from the DiT);
only its look comes from the picture. Plain clips (no picture) never reach this module. Trained by
`fit_subject_paster` with the rest of the VAE frozen, supervised by the world's own geometry.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

PREFIX = "decoder.paste."  # the VAE state-dict keys this module adds
OPTIONAL_PREFIX = PREFIX + "cleanup."  # added later; weights without it load (it starts as a no-op)
GROW = {"small": (1.0, 1.5), "big": (1.0, 1.9)}  # fit: the encoded subject's side x U(lo, hi), kept apart per size
EDGE_SHARPNESS = 8.0  # 1/px: the square's soft edge (0.98 half a pixel inside)


class Cleanup(nn.Module):
    """What the decoded frame shows around the pasted square: the DiT tends to draw a cameo as a
    blurred blob 1.3-1.9x the square's side, and that halo would stay around the sharp picture (and
    grow the subject's box). From the 64x64 features, the decoded frame and the square's alpha, this
    predicts a correction to the frame (zero at initialisation: a no-op), used outside the square."""

    def __init__(self, width64: int, hidden: int = 32):
        super().__init__()
        self.norm = nn.GroupNorm(8, width64)
        self.net = nn.Sequential(
            nn.Conv2d(width64 + 4, hidden, 3, padding=1), nn.SiLU(),
            *[m for d in (2, 4) for m in (nn.Conv2d(hidden, hidden, 3, padding=d, dilation=d), nn.SiLU())],
            nn.Conv2d(hidden, 3, 3, padding=1))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, h64: torch.Tensor, decoded: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        """h64 (B, C, T, H, W), decoded (B, 3, T, H, W), alpha (B, T, H, W) -> decoded + correction."""
        b, _, t, h, w = h64.shape

        def fold(y):  # (B, C, T, H, W) -> (B*T, C, H, W)
            return y.transpose(1, 2).reshape(b * t, -1, h, w).float()

        x = torch.cat([self.norm(fold(h64)), fold(decoded), alpha.reshape(b * t, 1, h, w).float()], 1)
        return decoded.float() + self.net(x).reshape(b, t, 3, h, w).transpose(1, 2)


class SubjectPaster(nn.Module):
    """locate() reads where and how big the subject is; compose() pastes the picture there."""

    def __init__(self, width32: int, width64: int, hidden: int = 64):
        super().__init__()
        self.locate_net = nn.Sequential(
            nn.GroupNorm(8, width32), nn.Conv2d(width32, hidden, 3, padding=1), nn.SiLU(),
            *[m for d in (2, 4, 8) for m in (nn.Conv2d(hidden, hidden, 3, padding=d, dilation=d), nn.SiLU())],
            nn.Conv2d(hidden, 2, 1))  # channels: centre heat logit, big-size logit
        self.visible_net = nn.Sequential(nn.GroupNorm(8, width64), nn.Conv2d(width64, 32, 3, padding=1), nn.SiLU(),
                                         nn.Conv2d(32, 1, 3, padding=1))
        self.cleanup = Cleanup(width64)

    def locate(self, x32: torch.Tensor, h64: torch.Tensor) -> dict[str, torch.Tensor]:
        """x32 (B, C32, T, 32, 32), h64 (B, C64, T, 64, 64) -> heat (B, T, 32*32) logits, centre
        (B, T, 2) in 64-px units, big (B,) logit, visible (B, T, 64, 64) logit."""
        b, c, t, h, w = x32.shape
        y = self.locate_net(x32.transpose(1, 2).reshape(b * t, c, h, w).float())  # (B*T, 2, 32, 32)
        heat = y[:, 0].reshape(b, t, h * w)
        p = heat.softmax(-1)
        scale = 64.0 / w
        cells = (torch.arange(w, device=y.device, dtype=torch.float32) + 0.5) * scale
        gy, gx = torch.meshgrid(cells, cells, indexing="ij")
        centre = torch.stack([p @ gx.reshape(-1), p @ gy.reshape(-1)], -1)  # (B, T, 2)
        big = (p * y[:, 1].reshape(b, t, h * w)).sum(-1).mean(1)  # (B,)
        c64, h_64, w_64 = h64.shape[1], h64.shape[3], h64.shape[4]
        vis = self.visible_net(h64.transpose(1, 2).reshape(b * t, c64, h_64, w_64).float())
        return {"heat": heat, "centre": centre, "big": big, "visible": vis.reshape(b, t, h_64, w_64)}

    def compose(self, decoded: torch.Tensor, reference: torch.Tensor, loc: dict, h64: torch.Tensor,
                soft_size: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """decoded (B, 3, T, H, W) and reference (B, 3, S, S) in [-1, 1] (+ the 64x64 features for the
        cleanup) -> (video, alpha (B, T, H, W)).
        The size is the clip's logit's pick, or (soft_size, for training) a blend of both by its probability."""
        from . import world

        b, w = decoded.shape[0], decoded.shape[-1]
        centres = (torch.arange(w, device=decoded.device, dtype=torch.float32) + 0.5) * world.RESOLUTION / w
        ys, xs = torch.meshgrid(centres, centres, indexing="ij")
        p_big = torch.sigmoid(loc["big"]) if soft_size else (loc["big"] > 0).float()  # (B,)
        small, big = world.CAMEO_HALF["small"], world.CAMEO_HALF["big"]
        sprite = (reference.float() + 1) * 127.5
        paste = 0
        for half, weight in ((small, 1 - p_big), (big, p_big)):
            if not soft_size and not weight.any():  # decoding: only the sizes some clip picked
                continue
            got = world.paste_sprites(sprite, torch.full((b,), half, device=decoded.device), loc["centre"], xs, ys,
                                      sizes=(half,))
            paste = paste + weight[:, None, None, None, None] * got  # (B, T, H, W, 3) 0..255
        half = small + (big - small) * p_big
        dist = torch.maximum((xs[None, None] - loc["centre"][..., 0, None, None]).abs(),
                             (ys[None, None] - loc["centre"][..., 1, None, None]).abs())  # (B, T, H, W)
        square = torch.sigmoid((half[:, None, None, None] - dist) * EDGE_SHARPNESS)  # the renderer: dist <= half
        alpha = square * torch.sigmoid(loc["visible"])
        paste = (paste / 127.5 - 1).permute(0, 4, 1, 2, 3)  # (B, 3, T, H, W)
        a = alpha[:, None]
        # the cleanup may only touch the ring a halo can cover (GROW's largest side), so a second object
        # farther off is drawn exactly as decoded
        near = torch.sigmoid((half[:, None, None, None] * GROW["big"][1] + 1 - dist) * EDGE_SHARPNESS)[:, None]
        around = decoded.float() + near * (self.cleanup(h64, decoded, alpha) - decoded.float())
        return (a * paste + (1 - a) * around).to(decoded.dtype), alpha

    def forward(self, decoded, x32, h64, reference):
        return self.compose(decoded, reference, self.locate(x32, h64), h64)[0]


def has_paster(state: dict) -> bool:
    return any(k.startswith(PREFIX) for k in state)


def add_paster(vae) -> None:
    """Gives a loaded VAE a fresh paster if it has none (and a zero-output reference adapter if it has none:
    the paster reads the adapter's features)."""
    from .vae_reference import add_adapter

    add_adapter(vae)
    if vae.decoder.paste is None:
        device = next(vae.parameters()).device
        vae.cfg.paste = True
        vae.decoder.paste = vae.decoder.make_paster(vae.cfg).to(device)


# ------------------------------------------------------------------------------------------------
# Training, supervised by the world's geometry


def paste_losses(loc: dict, alpha: torch.Tensor, spec_t: dict) -> dict[str, torch.Tensor]:
    """The paster's own losses against the true geometry of the cameo clips in `spec_t`."""
    from . import world

    t = {k: v.to(alpha.device) for k, v in spec_t.items()}
    h = alpha.shape[-1]
    mask = world.subject_masks_from_tensors(t, h).float()  # (B, T, H, W) where the subject shows
    track = t["track"][:, 0]  # (B, T, 2) in 64-px units
    seen = mask.flatten(2).sum(-1) >= 12  # (B, T): frames with enough of the subject to place it
    err = (loc["centre"] - track).abs().sum(-1)
    centre = (err * seen).sum() / seen.sum().clamp(min=1)
    cells = loc["heat"].shape[-1]
    side = math.isqrt(cells)
    cell = (track / (world.RESOLUTION / side)).floor().clamp(0, side - 1).long()
    target = cell[..., 1] * side + cell[..., 0]
    heat = F.cross_entropy(loc["heat"].flatten(0, 1), target.flatten(), reduction="none").view_as(err)
    heat = (heat * seen).sum() / seen.sum().clamp(min=1)
    size = F.binary_cross_entropy_with_logits(loc["big"], (t["radius"][:, 0] > world.CAMEO_HALF["small"]).float())
    coverage = F.binary_cross_entropy(alpha.float().clamp(1e-5, 1 - 1e-5), mask)
    return {"centre": centre, "heat": heat, "size": size, "alpha": coverage}


def grow_subjects(spec_t: dict, share: float) -> dict:
    """The spec tensors with `share` of the subjects drawn larger (side x GROW[size]), as the DiT's blurred
    cameos look; the picture is stretched from its small-size resampling, which blurs it too."""
    from . import world

    half = spec_t["radius"][:, 0]
    big = half > world.CAMEO_HALF["small"]
    lo = torch.where(big, GROW["big"][0], GROW["small"][0])
    hi = torch.where(big, GROW["big"][1], GROW["small"][1])
    scale = lo + (hi - lo) * torch.rand_like(half)
    scale = torch.where(torch.rand_like(half) < share, scale, torch.ones_like(half))
    radius = spec_t["radius"].clone()
    radius[:, 0] = half * scale
    return {**spec_t, "radius": radius}


def fit_subject_paster(vae, args, device, log: Callable[[str], None]) -> dict:
    """Fits the paster alone (the rest of the VAE frozen) on cameo clips, for args.vae_paste_minutes of
    wall clock (or args.vae_paste_steps steps). Half of the clips are encoded with another picture
    (the DiT places subjects better than it colours them), args.vae_paste_grow of them with the subject
    drawn larger (the DiT's halo; the target keeps the true size, so the cleanup learns to remove it),
    and every latent gets noise of a random size: the paster learns to place from shape and position,
    not from the latent's colours."""
    from . import world
    from .train_data import Batches
    from .train_vae import clip_loss, cosine_lr, optimizer_step
    from .vae import VideoVAE
    from .vae_reference import argparse_copy, swap_pictures

    add_paster(vae)
    batches = Batches(argparse_copy(args, cameo_fraction=1.0, p_ref_drop=0.0), device, args.seed + 307, 2000, 0.0,
                      args.vae_batch)
    vae.requires_grad_(False).eval()
    paster = vae.decoder.paste.requires_grad_(True).train()
    params = list(paster.parameters())
    opt = torch.optim.AdamW(params, lr=args.vae_paste_lr, betas=(0.9, 0.99), weight_decay=0.0)
    start, step, budget = time.time(), 0, args.vae_paste_minutes * 60
    max_steps = args.vae_paste_steps or None
    noise_scale = vae.latent_scale.view(1, -1, 1, 1, 1)
    while (time.time() - start < budget) if max_steps is None else step < max_steps:
        spec_t, _, reference = batches()
        x = VideoVAE.to_unit(world.render_tensors(spec_t, device=device))  # every clip a cameo (cameo_fraction 1)
        x_in = VideoVAE.to_unit(world.render_tensors(grow_subjects(swap_pictures(spec_t, 0.5), args.vae_paste_grow),
                                                     device=device))
        frac = (time.time() - start) / budget if max_steps is None else step / max_steps
        for g in opt.param_groups:
            g["lr"] = cosine_lr(args.vae_paste_lr, frac)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            with torch.no_grad():
                mean, _ = vae.encoder(x_in)
                sigma = torch.rand(mean.shape[0], 1, 1, 1, 1, device=device) * args.vae_paste_noise
                decoded, x32, h64 = vae.decoder.features(mean + sigma * noise_scale * torch.randn_like(mean), reference)
            loc = paster.locate(x32, h64)
            video, alpha = paster.compose(decoded, reference, loc, h64, soft_size=True)
        parts = paste_losses(loc, alpha, spec_t)
        parts["video"] = clip_loss(video, x, args.vae_reference_fg_weight)
        loss = parts["video"] + 0.05 * parts["centre"] + 0.1 * parts["heat"] + 0.1 * parts["size"] + 0.5 * parts["alpha"]
        optimizer_step(opt, loss, params)
        step += 1
        if step % args.vae_reference_log_every == 0 or step == 1:
            log(f"vae paste step {step} loss {loss.item():.4f} " + " ".join(f"{n} {v.item():.4f}" for n, v in parts.items())
                + f" ({step * args.vae_batch / (time.time() - start):.1f} clips/s)")
    vae.eval().requires_grad_(False)
    result = {"steps": step, "minutes": (time.time() - start) / 60, "batch": args.vae_batch, "lr": args.vae_paste_lr,
              "noise": args.vae_paste_noise, "grow": args.vae_paste_grow, "last_losses": {n: round(v.item(), 5) for n, v in parts.items()}}
    log(f"vae paste: {step} steps in {result['minutes']:.1f} min; last losses {result['last_losses']}")
    vae.paste_result = result
    return result
