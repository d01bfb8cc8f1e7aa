"""Trains the default model on Flatland: first the video autoencoder, then the DiT on its latents.

    python -m generation.dit.train --out weights/ --vae-minutes 2 --dit-minutes 6 --batch 256

`--latent-reuse R` keeps encoded batches on the device and trains on each clip R times on average
(fresh noise and t), so 1 - 1/R of the steps skip rendering and the VAE encoder.

Cameo (reference) conditioning, continuing from shipped weights:

    python -m generation.dit.train --out w/ --vae-from generation/dit/weights --resume generation/dit/weights \
        --cameo-fraction 0.3 --vae-decoder-minutes 1 --dit-minutes 9 --batch 256 --compile

A fixed share of every batch are clips whose subject is a procedural picture (world_sprites.py),
rendered on the device from a bank of pictures made by the pool workers, with the picture as the
DiT's reference; CFG dropout drops the text and the reference independently.

A reference-aware VAE decoder (vae_reference.py: the decoder also sees the cameo picture), fitted
alone on cameo clips and saved in the VAE's shards (weights without it still load):

    python -m generation.dit.train --out w/ --vae-from generation/dit/weights --dit-minutes 0 \
        --vae-reference-minutes 10 --vae-batch 32

and a subject paster (vae_paste.py: the decoder finds the subject and pastes the picture there),
fitted alone the same way with `--vae-paste-minutes M`.

Clips are rendered on the training device from specs sampled on the CPU in a background thread,
so no dataset is stored. Budgets are wall-clock; the learning rate follows a cosine over the
budget. Every few minutes (and at the end) the EMA weights are written as bf16 safetensors shards
with config.json and the log; `--resume DIR` continues from such a folder. Only torch, numpy and
safetensors are needed, so it runs on the GPU machine's preinstalled Python.
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import torch

from . import world
from .checkpoint import load_json, load_sharded, save_json, save_sharded
from .model import DiT, count_params, make_config
from .reference import load_dit_weights
from .sampling import shift_time
from .train_data import Batches, LatentCache
from .train_vae import calibrate_vae, cosine_lr, finetune_vae_decoder, train_vae
from .vae import VideoVAE
from .vae_paste import fit_subject_paster
from .vae_reference import build_vae, finetune_reference_adapter


class Log:
    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def __call__(self, msg: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {msg}"
        print(line, flush=True)
        with self.path.open("a") as f:
            f.write(line + "\n")


def predict(forward, z_t, t, text, pooled, mask, reference: torch.Tensor | None,
            known: torch.Tensor | None = None, known_mask: torch.Tensor | None = None) -> torch.Tensor:
    """The DiT on a Batches layout: the plain part without reference tokens (exactly the plain
    model; known frames, if any, are given to it), the last len(reference) clips with them."""
    frames = {} if known is None else {"known": known, "known_mask": known_mask}
    if reference is None:
        return forward(z_t, t, text, pooled, mask, **frames)
    k = z_t.shape[0] - reference.shape[0]
    frames = {key: v[:k] for key, v in frames.items()}
    parts = [] if k == 0 else [forward(z_t[:k], t[:k], text[:k], pooled[:k], mask[:k], **frames)]
    parts.append(forward(z_t[k:], t[k:], text[k:], pooled[k:], mask[k:], reference=reference))
    return torch.cat(parts)


# ------------------------------------------------------------------------------------------------
# Phase 2: the DiT


def dit_flops_per_clip(model: DiT) -> float:
    """Training FLOPs for one clip (forward + backward = 3x forward), matmuls and attention."""
    cfg = model.cfg
    n, w, l = cfg.tokens, cfg.width, cfg.text_tokens
    block_params = sum(p.numel() for p in model.blocks.parameters() if p.dim() == 2)
    fwd = 2 * block_params * n + cfg.depth * (4 * n * n * w + 4 * n * l * w)
    return 3.0 * fwd


def save_weights(folder: Path, dit: DiT, vae: VideoVAE, args, info: dict) -> None:
    save_sharded(dit.state_dict(), folder, "dit")
    save_sharded(vae.state_dict(), folder, "vae")
    overrides = {k: True for k in ("reference", "frame_condition") if getattr(dit.cfg, k)}
    config = {
        "version": args.version,
        "dit": {"name": args.config, **({"overrides": overrides} if overrides else {})},
        "vae": ({"reference": True, "paste": vae.decoder.paste is not None} if vae.has_reference else {}),
        "sampler": {"steps": 20, "shift": args.shift, "guidance": 2.0},
        "training": info,
    }
    save_json(config, folder / "config.json")


def known_prefix(x0: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first n clips of a batch get their first k latent frames as known context (k from 1 to
    T-1, each clip its own): what extend does with a parent's last frames. -> (known, mask (B,1,T,H,W))."""
    b, _, t_n = x0.shape[:3]
    k = torch.randint(1, t_n, (b,), device=x0.device)
    k = torch.where(torch.arange(b, device=x0.device) < n, k, 0)
    frame_known = torch.arange(t_n, device=x0.device)[None] < k[:, None]  # (B, T)
    mask = frame_known[:, None, :, None, None].expand(-1, 1, -1, *x0.shape[3:]).to(x0.dtype)
    return x0, mask


def train_dit(args, vae: VideoVAE, device, log: Log, out: Path) -> None:
    kept = {}  # conditioning the resumed weights were trained with stays, even if unused this run
    if args.resume and (Path(args.resume) / "config.json").exists():
        kept = load_json(Path(args.resume) / "config.json")["dit"].get("overrides", {})
    dit = DiT(make_config(args.config, reference=args.cameo_fraction > 0 or kept.get("reference", False),
                          frame_condition=args.extend_fraction > 0 or kept.get("frame_condition", False))).to(device)
    if args.resume:
        state = load_sharded(Path(args.resume), "dit")
        fresh = load_dit_weights(dit, {k: v.float() for k, v in state.items()})
        log(f"dit: resumed from {args.resume}" + (f" (new, initialised: {', '.join(fresh)})" if fresh else ""))
    ema = copy.deepcopy(dit).eval().requires_grad_(False)
    params = [p for p in dit.parameters() if p.requires_grad]
    ema_params = list(ema.parameters())
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.99), fused=device.type == "cuda")
    forward = dit
    if args.compile and device.type == "cuda":
        forward = torch.compile(dit)
    flops = dit_flops_per_clip(dit)
    log(f"dit {args.config}: {count_params(dit) / 1e6:.2f}M params, {dit.cfg.tokens} tokens, "
        f"{flops / 1e9:.1f} GFLOP per training clip, batch {args.batch}, budget {args.dit_minutes} min")
    t0 = time.time()
    batches = Batches(args, device, args.seed, args.pool, args.p_uncond, args.batch)
    log(f"spec pool: {batches.plain.size} training clips" + (
        f", {batches.cameo.size} cameo clips, {batches.bank.size} pictures; per batch {batches.n_ref} cameo clips "
        f"with their picture, {batches.n_noref} without" if batches.cameo else "") + f" in {time.time() - t0:.1f} s")
    cache = None
    if args.latent_reuse > 1:
        groups = (args.batch - batches.n_ref - batches.n_noref, batches.n_noref, batches.n_ref)
        cache = LatentCache(groups, args.latent_cache_clips, args.latent_reuse, args.seed + 7)
        log(f"latent cache: {cache.capacity} batches, each encoded clip trained on {args.latent_reuse}x on average")
    start, last_save, step, seen, encoded = time.time(), time.time(), 0, 0, 0
    budget = args.dit_minutes * 60
    window_t, window_clips, losses, cameo_losses = time.time(), 0, [], []
    split = ""
    while time.time() - start < budget and not (args.dit_steps and step >= args.dit_steps):
        # one step per log line is timed on the device: data (render + encode) against the DiT's step,
        # to show where a faster run would come from
        timed = [torch.cuda.Event(enable_timing=True) for _ in range(3)] \
            if device.type == "cuda" and (step + 1) % args.log_every == 0 else None
        if timed:
            timed[0].record()
        if cache is None or cache.want_fresh():
            spec_t, ids, reference = batches()
            with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                x0 = vae.encode(VideoVAE.to_unit(world.render_tensors(spec_t, device=device))).float()
            encoded += x0.shape[0]
            if cache is not None:
                cache.add(x0, ids, reference)
        else:
            x0, ids, reference = cache.sample()
        if timed:
            timed[1].record()
        b = x0.shape[0]
        t = shift_time(torch.rand(b, device=device), args.shift)
        high = torch.rand(b, device=device) < args.p_high_noise  # colour lives at t ~ 1: train there too
        t = torch.where(high, 0.97 + 0.03 * torch.rand(b, device=device), t)
        noise = torch.randn_like(x0)
        tt = t.view(-1, 1, 1, 1, 1)
        z_t = (1 - tt) * x0 + tt * noise
        for g in opt.param_groups:
            g["lr"] = cosine_lr(args.lr, (time.time() - start) / budget)
        known = known_mask = None
        if dit.frame_embed is not None:
            known, known_mask = known_prefix(x0, round(args.extend_fraction * args.batch))
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            text, pooled, mask = dit.encode_text(ids)
            try:
                x0_hat = predict(forward, z_t, t, text, pooled, mask, reference, known, known_mask).float()
            except Exception as exc:  # a failed compile must not cost the run: fall back to eager
                if forward is dit:
                    raise
                log(f"torch.compile failed ({type(exc).__name__}: {exc}); continuing eagerly")
                forward = dit
                x0_hat = predict(forward, z_t, t, text, pooled, mask, reference, known, known_mask).float()
        # x0 prediction, loss on the implied velocity ((x0 - x0_hat) / t)^2 with t floored at 0.25:
        # a lower floor (0.05, up to 400x weight) spent the model on fine detail at low noise and
        # left the layout, decided at high noise, incoherent across frames
        err = ((x0_hat - x0) / tt.clamp(min=args.t_floor)).pow(2)
        if known_mask is None:
            per_clip = err.mean(dim=(1, 2, 3, 4))
        else:  # the known frames are given: only the frames to be made count
            weight = 1.0 - known_mask
            per_clip = (err * weight).sum(dim=(1, 2, 3, 4)) / (weight.sum(dim=(1, 2, 3, 4)) * err.shape[1])
        loss = per_clip.mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        with torch.no_grad():
            torch._foreach_lerp_(ema_params, params, 1 - (args.ema if step > 200 else 0.0))
        if timed:
            timed[2].record()
            timed[2].synchronize()
            split = f" (one step: data {timed[0].elapsed_time(timed[1]):.0f} ms, DiT {timed[1].elapsed_time(timed[2]):.0f} ms)"
        step += 1
        seen += b
        window_clips += b
        losses.append(loss.detach())
        if reference is not None:
            cameo_losses.append(per_clip[-len(reference):].detach().mean())
        if step % args.log_every == 0:
            now = time.time()
            rate = window_clips / (now - window_t)
            mean_loss = torch.stack(losses).mean().item()
            cameo = f" (cameo clips {torch.stack(cameo_losses).mean().item():.4f})" if cameo_losses else ""
            elapsed = now - start
            log(f"dit step {step} loss {mean_loss:.4f}{cameo} lr {opt.param_groups[0]['lr']:.2e} "
                f"{rate:.0f} clips/s {rate * flops / 1e12:.0f} TFLOP/s{split} "
                f"[{'#' * int(20 * elapsed / budget):<20}] {elapsed / 60:.1f}/{budget / 60:.1f} min")
            window_t, window_clips, losses, cameo_losses = now, 0, [], []
        if time.time() - last_save > args.save_minutes * 60:
            save_weights(out, ema, vae, args, {"steps": step, "clips": seen, "partial": True})
            last_save = time.time()
            log(f"checkpoint at step {step} -> {out}")
    info = {"steps": step, "clips": seen, "clips_encoded": encoded, "kind_weights": args.kind_weights, "minutes": (time.time() - start) / 60, "batch": args.batch,
            "lr": args.lr, "shift": args.shift, "ema": args.ema, "params": count_params(dit),
            "vae_psnr_heldout": getattr(vae, "psnr_heldout", None), "cameo_fraction": args.cameo_fraction,
            "extend_fraction": args.extend_fraction,
            "vae_cameo_subject_psnr": getattr(vae, "cameo_subject_psnr", None), "device": torch.cuda.get_device_name()
            if device.type == "cuda" else "cpu"}
    save_weights(out, ema, vae, args, info)
    log(f"dit: done, {step} steps, {seen} clips ({encoded} rendered and encoded); weights in {out}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="folder for weights, config.json and train_log.txt")
    ap.add_argument("--config", default="flatland-s")
    ap.add_argument("--version", default="flatland-dit-s")
    ap.add_argument("--vae-from", help="folder with trained vae-*.safetensors (skip phase 1)")
    ap.add_argument("--resume", help="folder with dit-*.safetensors to continue from")
    ap.add_argument("--vae-minutes", type=float, default=2.0)
    ap.add_argument("--vae-batch", type=int, default=32)
    ap.add_argument("--vae-lr", type=float, default=1e-3)
    ap.add_argument("--dit-minutes", type=float, default=6.0)
    ap.add_argument("--dit-steps", type=int, default=0,
                    help="stop after this many DiT steps even with time left (0: the time budget alone)")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=4e-4)
    ap.add_argument("--shift", type=float, default=3.0)
    ap.add_argument("--p-uncond", type=float, default=0.1)
    ap.add_argument("--p-high-noise", type=float, default=0.05)
    ap.add_argument("--ema", type=float, default=0.999)
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--save-minutes", type=float, default=2.0)
    ap.add_argument("--log-every", type=int, default=100)
    ap.add_argument("--pool", type=int, default=400_000, help="training specs drawn per run")
    ap.add_argument("--t-floor", type=float, default=0.25)
    ap.add_argument("--calib-clips", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cameo-fraction", type=float, default=0.0,
                    help="share of every batch whose subject is a picture given as the reference (0: plain model)")
    ap.add_argument("--extend-fraction", type=float, default=0.0,
                    help="share of every batch given its first latent frames as known context (extend)")
    ap.add_argument("--p-ref-drop", type=float, default=0.1, help="CFG dropout of the reference (cameo clips)")
    ap.add_argument("--kind-weights", type=float, nargs=3, metavar=("SINGLE", "PAIR", "WALL"), default=None,
                    help="relative frequency of clip kinds in training (default: world.KIND_WEIGHTS, 0.6 0.25 0.15)")
    ap.add_argument("--latent-reuse", type=float, default=1.0,
                    help="train on each rendered and encoded clip this many times on average (1: no cache)")
    ap.add_argument("--latent-cache-clips", type=int, default=300_000, help="encoded clips kept on the device")
    ap.add_argument("--sprites", type=int, default=50_000, help="training pictures in the bank")
    ap.add_argument("--vae-decoder-minutes", type=float, default=0.0,
                    help="fine-tune the VAE decoder (encoder frozen) on plain + cameo clips before the DiT")
    ap.add_argument("--vae-decoder-lr", type=float, default=3e-4)
    ap.add_argument("--vae-decoder-fg-weight", type=float, default=0.0,
                    help="extra loss weight on object pixels in the decoder fine-tune (sharper small shapes)")
    ap.add_argument("--vae-decoder-max-drop", type=float, default=1.0,
                    help="dB of plain held-out PSNR the decoder fine-tune may lose before it is undone")
    ap.add_argument("--vae-reference-minutes", type=float, default=0.0,
                    help="fit the decoder's cameo-picture adapter (vae_reference.py; encoder and decoder frozen)")
    ap.add_argument("--vae-reference-steps", type=int, default=0, help="stop the adapter fit after this many steps")
    ap.add_argument("--vae-reference-lr", type=float, default=1e-3)
    ap.add_argument("--vae-reference-fg-weight", type=float, default=4.0)
    ap.add_argument("--vae-reference-swap", type=float, default=0.0,
                    help="share of adapter-fit clips encoded with another picture (decode must follow the picture)")
    ap.add_argument("--vae-reference-train-high", action="store_true",
                    help="also fit the decoder's last (64x64) stage, with plain clips in every batch")
    ap.add_argument("--vae-reference-plain-fraction", type=float, default=0.25,
                    help="with --vae-reference-train-high: share of each batch that is plain clips")
    ap.add_argument("--vae-reference-eval-clips", type=int, default=32,
                    help="held-out cameo clips measured after the adapter fit, with and without the picture (0: none)")
    ap.add_argument("--vae-reference-log-every", type=int, default=50)
    ap.add_argument("--vae-paste-minutes", type=float, default=0.0,
                    help="fit the decoder's subject paster (vae_paste.py; the rest of the VAE frozen)")
    ap.add_argument("--vae-paste-steps", type=int, default=0, help="stop the paster fit after this many steps")
    ap.add_argument("--vae-paste-lr", type=float, default=1e-3)
    ap.add_argument("--vae-paste-noise", type=float, default=0.5,
                    help="largest latent noise (in latent-scale units) the paster fit adds, drawn per clip")
    ap.add_argument("--vae-paste-grow", type=float, default=0.0,
                    help="share of paster-fit clips encoded with the subject drawn larger (vae_paste.GROW)")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args(argv)
    out = Path(args.out)
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.set_float32_matmul_precision("high")
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    log = Log(out / "train_log.txt")
    log(f"args: {vars(args)}")
    if args.vae_from:
        prev = Path(args.vae_from) / "config.json"
        vae_config = load_json(prev).get("vae", {}) if prev.exists() else {}
        vae = build_vae(load_sharded(Path(args.vae_from), "vae"), vae_config).to(device).eval()
        calibrate_vae(vae, device, log, args.calib_clips)
        if prev.exists():
            log(f"vae from {args.vae_from} ({load_json(prev).get('training', {})})")
    else:
        vae = train_vae(args, device, log)
    if args.vae_decoder_minutes > 0:
        finetune_vae_decoder(vae, args, device, log)
    if args.vae_reference_minutes > 0 or args.vae_reference_steps > 0:
        finetune_reference_adapter(vae, args, device, log)
    if args.vae_paste_minutes > 0 or args.vae_paste_steps > 0:
        fit_subject_paster(vae, args, device, log)
    vae.requires_grad_(False)
    if args.dit_minutes > 0:
        train_dit(args, vae, device, log, out)
    else:
        save_sharded(vae.state_dict(), out, "vae")
        if vae.has_reference:
            save_json({"vae": {"reference": True, "paste": vae.decoder.paste is not None},
                       "reference_fit": getattr(vae, "reference_result", None),
                       "paste_fit": getattr(vae, "paste_result", None)}, out / "vae_config.json")


if __name__ == "__main__":
    main()
