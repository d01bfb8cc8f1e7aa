"""Whole video, 480p 81 frames, 50 DPM-Solver++(2M) steps with CFG (one batch of 2): our exact bf16
result against fp8 linears, fp8 self-attention, both, first-block caching at several thresholds;
diffusers' compiled WanTransformer3DModel as the peer, in the same run (issue 9).

    # on the GPU machine (diffusers carried as a wheel, see README.md here):
    python3 benchmarks/dit/bench_video_fast.py --out video_fast.json [--no-peer] [--eager-floor]
    # fp8 attention needs FlashInfer (carry .fi, see bench_fp8_attention.py) and is asked for by name:
    ... --variants fp8 fp8_attention fp8_attention_linears --thresholds --combined-threshold 0

Every variant starts from the same noise and text. Our blocks are compiled one block at a time
(one graph serves all 30; the cache needs to stop after the first block). Fidelity: PSNR of the
final latent against the exact bf16 run (peak-to-peak of the exact latent). --eager-floor also runs
the same bf16 math uncompiled: how far bf16 rounding alone moves the video (the floor any variant
is measured against).

--plan results/step_levers.json replays the trained model's first-block-cache decisions (which of the
50 calls ran every block, bench_step_levers.py) at this size (--extrapolate k: also with the skipped calls'
residual extrapolated, step_cache.py; --no-hold: only so), and --fewer-steps runs fewer steps: with
random weights these do not keep 30 dB on every seed here (their PSNR is recorded all the same), so they
are the time such a schedule costs at the Wan size, and their fidelity is the trained model's (recorded
beside them as trained_model: the median and minimum over its prompts, and how many keep 30 dB).
--interval-plans W:C runs one static plan for every video (the first W and last C calls in full, every
other call between): that keeps 30 dB on seeds 7-9 at 29 of 50 calls (README.md, session 18).
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time

import bench_step
import torch
from common import WAN, cuda_time, matmul_ceiling, ours, peer_video, psnr, rel_err, video_inputs

from generation.dit import fp8_attention
from generation.dit.fp8 import fp8_linears
from generation.dit.sampling import guided, sample_iter
from generation.dit.step_cache import FirstBlockCache, run_block

GUIDANCE, SHIFT, STEPS = 5.0, 3.0, 50


def fp8_ceiling(n: int = 8192) -> float:
    """TFLOP/s of an n^3 fp8 product with rowwise scales (what Fp8Linear runs)."""
    a = torch.randn(n, n, device="cuda").to(torch.float8_e4m3fn)
    b = torch.randn(n, n, device="cuda").to(torch.float8_e4m3fn)
    sa, sb = torch.ones(n, 1, device="cuda"), torch.ones(1, n, device="cuda")
    r = cuda_time(lambda: torch._scaled_mm(a, b.t(), scale_a=sa, scale_b=sb, out_dtype=torch.bfloat16), 5, 30)
    return 2 * n ** 3 / r["median_s"] / 1e12


def trained_levers(path: str, keys: list[str], fewer_steps: list[int], res: dict) -> tuple[dict, dict]:
    """From bench_step_levers.py's JSON (the trained model, the video setting): for each cache key the
    plan to replay (the prompt with the most full calls: the slowest) and the fidelity over its prompts,
    and the fidelity of each step count asked for. Recorded in res["trained_model"]."""
    with open(path) as f:
        levers = json.load(f)
    trained = [r for r in levers["rows"] if r["setting"] == "video" and r["weights"] == "trained"]

    def fidelity(key):
        dbs = [r["runs"][key]["latent_psnr_db"] for r in trained]
        return {"psnr_db_median": statistics.median(dbs), "psnr_db_min": min(dbs),
                "prompts_at_30db": f"{sum(d >= 30 for d in dbs)}/{len(dbs)}"}

    plans = {}
    for key in keys:
        worst = max(trained, key=lambda r: r["runs"][key]["full"])
        plans[key] = (worst["runs"][key]["full_at"], fidelity(key))
    fewer = {n: fidelity(f"steps_{n}") for n in fewer_steps if f"steps_{n}" in trained[0]["runs"]}
    res["trained_model"] = {"levers": levers.get("model"), "bf16_rounding": fidelity("bf16_rounding"),
                            **{k: {"full": sum(p), "calls": len(p), **q} for k, (p, q) in plans.items()},
                            **{f"steps_{n}": q for n, q in fewer.items()}}
    return plans, fewer


def interval_plan(steps: int, warm_up: int, cool_down: int) -> list[bool]:
    """Which calls run every block: the first warm_up and last cool_down, and every other call between
    (the first of those skipped, as the trained model's plans do)."""
    return [i < warm_up or i >= steps - cool_down or (i - warm_up) % 2 == 1 for i in range(steps)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="video_fast.json")
    ap.add_argument("--thresholds", type=float, nargs="*", default=[0.05, 0.1, 0.2])
    ap.add_argument("--combined-threshold", type=float, default=0.1, help="fp8 + cache at this threshold (0: not run)")
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--eager-floor", action="store_true")
    ap.add_argument("--variants", nargs="*", default=["fp8"], choices=["fp8", "fp8_attention", "fp8_attention_linears"],
                    help="fp8: the six wide linears of every block; fp8_attention: self-attention in e4m3")
    ap.add_argument("--steps", type=int, default=STEPS)
    ap.add_argument("--seed", type=int, default=7, help="the video's noise and text")
    ap.add_argument("--more-seeds", type=int, nargs="*", default=[],
                    help="after the peer, the exact video and the lever runs again from these seeds")
    ap.add_argument("--lever-only", action="store_true", help="skip the variants' full-schedule videos")
    ap.add_argument("--plan", help="step_levers.json: replay the trained model's cache decisions (its worst prompt)")
    ap.add_argument("--plan-keys", nargs="*", default=["cache_0.1"], help="which of its cached runs to replay")
    ap.add_argument("--fewer-steps", type=int, nargs="*", default=[], help="also run these step counts")
    ap.add_argument("--extrapolate", type=float, nargs="*", default=[],
                    help="also each plan with the skipped calls' residual extrapolated this far (step_cache.py)")
    ap.add_argument("--interval-plans", nargs="*", default=[], metavar="W:C",
                    help="fixed plans, the same for every video: the first W and last C calls in full, every other "
                         "call between (FORA's static caching, interval 2)")
    ap.add_argument("--no-hold", action="store_true", help="with --extrapolate: skip the plans with the residual held")
    ap.add_argument("--save-aot", help="copy the FlashInfer modules built this run here (carry back as .fi/aot)")
    ap.add_argument("--lever-variants", nargs="*", default=None,
                    help="the kernel variants the plans and fewer steps run on (default: bf16 and --variants)")
    args = ap.parse_args()
    torch._dynamo.config.cache_size_limit = 64
    res: dict = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "config": WAN, "steps": args.steps,
                 "guidance": GUIDANCE, "shift": SHIFT, "solver": "dpm2m", "cfg": "one batch of 2", "runs": {}}

    def save():
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1)

    res["matmul_ceiling_tflops"] = matmul_ceiling()
    res["fp8_matmul_ceiling_tflops"] = fp8_ceiling()
    print(f"ceilings: bf16 {res['matmul_ceiling_tflops']:.0f}, fp8 rowwise {res['fp8_matmul_ceiling_tflops']:.0f} TFLOP/s",
          flush=True)
    save()

    plans, fewer = trained_levers(args.plan, args.plan_keys, args.fewer_steps, res) if args.plan else ({}, {})
    for spec in args.interval_plans:
        w, c = map(int, spec.split(":"))
        plans[f"interval2_w{w}_c{c}"] = (interval_plan(args.steps, w, c), None)

    res["seed"] = args.seed
    noise, cond, uncond, text2, pooled2 = video_inputs(args.seed)
    inp = {"noise": noise, "text2": text2, "pooled2": pooled2}  # the video's start: replaced by --more-seeds

    model = ours()
    variants = {"bf16": model}
    for name in args.variants:
        variants[name] = copy.deepcopy(model)
        if name in ("fp8", "fp8_attention_linears"):
            res["fp8_linears"] = fp8_linears(variants[name])
        if name.startswith("fp8_attention"):
            for block in variants[name].blocks:
                block.attn.kernel = "fp8"
    probe = torch.empty(1, device="cuda", dtype=torch.bfloat16)
    with torch.no_grad():
        res["fp8_attention_available"] = fp8_attention.available(probe)
    if any(v.startswith("fp8_attention") for v in args.variants) and not res["fp8_attention_available"]:
        raise SystemExit("fp8 attention asked for, but FlashInfer or an SM90 GPU is missing")
    block_fn = torch.compile(run_block)

    def runner(dit, threshold, fn=block_fn, plan=None, extrapolate=0.0):
        return FirstBlockCache(dit, threshold, fn, plan, extrapolate)

    def video(name, cache, ref=None, steps=None, trained=None):
        text, pooled = inp["text2"], inp["pooled2"]
        denoise = guided(lambda z, tt, u: cache(z.to(torch.bfloat16), tt, text, pooled).float(), GUIDANCE)
        cache.reset()
        torch.cuda.synchronize()
        t0 = time.time()
        z = list(sample_iter(denoise, inp["noise"].float(), steps or args.steps, SHIFT, "dpm2m"))[-1].z
        torch.cuda.synchronize()
        secs = time.time() - t0
        r = {"seconds": secs, "forwards": 2 * cache.calls, "full_forwards": 2 * cache.full_calls,
             "psnr_db": psnr(z, ref) if ref is not None else float("inf")}
        if trained is not None:
            r["trained_model"] = trained
        if "diffusers_compiled_video_s" in res:
            r["ratio_vs_diffusers_compiled"] = secs / res["diffusers_compiled_video_s"]
        res["runs"][name] = r
        print(f"video {name:22s} {secs:7.1f} s  full forwards {r['full_forwards']:3d}/{r['forwards']}  "
              f"PSNR {r['psnr_db']:.1f} dB", flush=True)
        save()
        return z

    with torch.no_grad():
        # warm-up and one-step timing and error, batch of 2 (CFG)
        zz, tt = torch.cat([noise, noise]), torch.full((2,), 0.7, device="cuda")
        steps = {}
        for name, dit in variants.items():
            t0 = time.time()
            steps[name] = runner(dit, 0)(zz, tt, text2, pooled2).float()
            res[f"compile_s_{name}"] = time.time() - t0
            r = cuda_time(lambda d=dit: runner(d, 0)(zz, tt, text2, pooled2), reps=5)
            res[f"step_b2_{name}"] = r
            print(f"step b2 {name}: {r['median_s']*1e3:.1f} ms (compile {res[f'compile_s_{name}']:.0f} s)", flush=True)
        for name in args.variants:
            res[f"step_{name}_vs_bf16_rel_err"] = rel_err(steps[name], steps["bf16"])
            res[f"step_{name}_vs_bf16_speedup"] = res["step_b2_bf16"]["median_s"] / res[f"step_b2_{name}"]["median_s"]
            print(f"one step {name} vs bf16: rel err {res[f'step_{name}_vs_bf16_rel_err']:.4f}, "
                  f"{res[f'step_{name}_vs_bf16_speedup']:.3f}x", flush=True)
        save()

        ref = video("bf16_exact", runner(model, 0))
        for name in [] if args.lever_only else args.variants:
            video(name, runner(variants[name], 0), ref)
        for th in args.thresholds:
            video(f"bf16_cache_{th:g}", runner(model, th), ref)
        if args.combined_threshold > 0 and "fp8" in variants:
            video(f"fp8_cache_{args.combined_threshold:g}", runner(variants["fp8"], args.combined_threshold), ref)
        if args.eager_floor:
            video("bf16_eager", runner(model, 0, run_block), ref)

        if not args.no_peer:  # before the lever runs, so a call's time limit cuts those and not the ratio
            import diffusers

            res["diffusers"] = diffusers.__version__
            peer = torch.compile(bench_step.diffusers_model())
            tl = torch.linspace(1000, 0, args.steps + 1, device="cuda")
            t0 = time.time()
            peer(noise, tl[:1], cond, return_dict=False)
            res["diffusers_compile_s"] = time.time() - t0

            torch.cuda.synchronize()
            t0 = time.time()
            peer_video(peer, noise, cond, uncond, args.steps, GUIDANCE)
            torch.cuda.synchronize()
            res["diffusers_compiled_video_s"] = peer_s = time.time() - t0
            print(f"diffusers compiled video: {peer_s:.1f} s", flush=True)
            del peer
            for r in res["runs"].values():
                r["ratio_vs_diffusers_compiled"] = r["seconds"] / peer_s
            ok = {k: r for k, r in res["runs"].items() if r["psnr_db"] >= 30}
            best = min(ok, key=lambda k: ok[k]["seconds"])
            res.update(best=best, video_ratio_vs_diffusers_compiled=ok[best]["ratio_vs_diffusers_compiled"],
                       video_psnr_db=ok[best]["psnr_db"])
            print(f"best at >= 30 dB: {best}, ratio {res['video_ratio_vs_diffusers_compiled']:.3f}", flush=True)
        save()
        if args.save_aot and res["fp8_attention_available"]:  # the next call loads these instead of building them
            from bench_flashinfer import save_aot

            res["saved_aot"] = save_aot(args.save_aot)

        # The trained trajectory's levers, timed at this size (their fidelity is the trained model's).
        lever_variants = args.lever_variants if args.lever_variants is not None else ["bf16", *args.variants]

        def levers(ref, suffix=""):
            for name in lever_variants:
                for key, (plan, trained) in plans.items():
                    if not (args.no_hold and args.extrapolate):
                        video(f"{name}_plan_{key}{suffix}", runner(variants[name], 0, plan=plan), ref, trained=trained)
                    for k in args.extrapolate:  # the trained model's fidelity so: step_levers_extrapolate.json
                        video(f"{name}_plan_{key}_x{k:g}{suffix}", runner(variants[name], 0, plan=plan, extrapolate=k),
                              ref, trained=trained and {**trained, "note": "the plan's, residual held (not extrapolated)"})
                for n in args.fewer_steps:
                    video(f"{name}_steps_{n}{suffix}", runner(variants[name], 0), ref, steps=n, trained=fewer.get(n))

        levers(ref)
        for seed in args.more_seeds:
            noise, _, _, text2, pooled2 = video_inputs(seed)
            inp.update(noise=noise, text2=text2, pooled2=pooled2)
            levers(video(f"bf16_exact_seed{seed}", runner(model, 0)), f"_seed{seed}")
        # summary.py gathers the levers over runs and seeds (each PSNR against its own seed's exact video)
        save()


if __name__ == "__main__":
    main()
