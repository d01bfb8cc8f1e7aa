"""FlashInfer's fp8 attention kernel (generation/dit/fp8_attention.py) built at other CTA tile sizes,
timed at the Wan-1.3B self-attention shape (issue 9: fp8 self-attention is ~64% of a video's CFG step).

FlashInfer fixes the tile of its SM90 fp8 kernel per head size in a C++ dispatch (head dim 128:
128 query rows x 192 keys, 2 pipeline stages). The tile is a template argument compiled by its JIT,
so each candidate is a copy of the installed package with that one dispatch line changed, built in its
own workspace (the builds run side by side on the CPUs), then timed one after another on the GPU.

    # on the GPU machine, carry [".fi"] (no .fi/aot: the kernels must be JIT-built from the patched headers):
    source benchmarks/dit/flashinfer_carry.sh install && \
        python3 benchmarks/dit/bench_fp8_tiles.py --out $OUT/fp8_tiles.json
    # to run the model on another tile: FI_FP8_TILE=QxKxS source benchmarks/dit/flashinfer_carry.sh install
    # (measured on the H200, results/fp8_tiles.json: FlashInfer's own 128x192x2 is the fastest)

q, k, v: the first block's own (RMSNorm + RoPE on q and k) from the random-weight model, v centred as
the product does. Each tile's error is against exact fp32 attention; cuDNN bf16 is timed as the floor.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_TILES = ("128x192x2", "192x128x2", "192x128x3", "128x128x3", "128x128x2")
HEADER = "flashinfer/data/include/flashinfer/attention/hopper/quantization/prefill_sm90.cuh"
# the head-dim-128 branch of the single-request dispatch: CTA_Q, CTA_KV, NUM_STAGES
_DISPATCH = re.compile(r"(/\*CTA_Q_=\*/)(\d+)(,\s*/\*CTA_KV_=\*/)(\d+)(,\s*/\*NUM_STAGES_=\*/)(\d+)")


def parse_tile(tile: str) -> tuple[int, int, int]:
    cta_q, cta_kv, stages = (int(v) for v in tile.split("x"))
    if cta_q % 64 or cta_kv % 64 or not 1 <= stages <= 4:  # the kernel's V transpose works in 64x64 blocks
        raise ValueError(f"tile {tile!r}: query and key tiles must be multiples of 64, 1-4 stages")
    return cta_q, cta_kv, stages


def patch_site(site: str, tile: str) -> None:
    """Set the fp8 kernel's head-dim-128 tile of the single-request dispatch in an installed FlashInfer."""
    cta_q, cta_kv, stages = parse_tile(tile)
    path = Path(site) / HEADER
    text = path.read_text()
    start = text.index("cudaError_t SingleFP8PrefillWithKVCacheDispatched(")
    start = text.index("if constexpr (HEAD_DIM == 128)", start)
    m = _DISPATCH.search(text, start)
    new = f"{m[1]}{cta_q}{m[3]}{cta_kv}{m[5]}{stages}"
    path.write_text(text[:m.start()] + new + text[m.end():])
    print(f"{path}: fp8 head-dim-128 tile {m[2]}x{m[4]}x{m[6]} -> {tile}", flush=True)


def base_site() -> str:
    """The folder holding the installed flashinfer package (flashinfer_carry.sh install: /tmp/fisite)."""
    for p in os.environ.get("PYTHONPATH", "").split(":"):
        if p and (Path(p) / "flashinfer").is_dir():
            return p
    raise SystemExit("flashinfer not on PYTHONPATH: source benchmarks/dit/flashinfer_carry.sh install first")


def tile_env(tile: str, root: Path) -> dict:
    """A copy of the package with the tile patched in, first on PYTHONPATH, with its own JIT workspace."""
    site = root / f"site_{tile}"
    if not site.exists():
        shutil.copytree(Path(base_site()) / "flashinfer", site / "flashinfer", symlinks=True)
        patch_site(str(site), tile)
    env = dict(os.environ, PYTHONPATH=f"{site}:{os.environ.get('PYTHONPATH', '')}",
               FLASHINFER_WORKSPACE_BASE=str(root / f"ws_{tile}"), MAX_JOBS=os.environ.get("TILE_JOBS", "4"))
    env["TVM_FFI_CACHE_DIR"] = str(root / f"ws_{tile}" / "tvm-ffi")
    return env


def worker(mode: str, tile: str, data: str, reps: int) -> None:
    """In a subprocess with one tile's package: build (a small call triggers the JIT) or time."""
    import torch
    from common import attention_flops, cuda_time, rel_err

    from generation.dit import fp8_attention as fa8

    if mode == "build":
        g = torch.Generator(device="cuda").manual_seed(0)
        q = torch.randn(1, 512, 12, 128, device="cuda", generator=g)
        s = torch.full((1, 12), 4 / 448, device="cuda")
        q8 = fa8.quantize(q, s)
        t0 = time.perf_counter()
        fa8.fp8_attention(q8, q8, q8, s, s, s)
        torch.cuda.synchronize()
        print(json.dumps({"tile": tile, "build_s": time.perf_counter() - t0}), flush=True)
        return
    d = torch.load(data)
    q8, k8, c8, sq, sk, sc, v_mean, exact = (d[n] for n in ("q8", "k8", "c8", "sq", "sk", "sc", "v_mean", "exact"))
    run = lambda: fa8.fp8_attention(q8, k8, c8, sq, sk, sc)
    out = (run().float() + v_mean)
    r = cuda_time(run, warmup=5, reps=reps)
    print(json.dumps({"tile": tile, **r, "tflops": attention_flops() / r["median_s"] / 1e12,
                      "rel_err_vs_fp32": rel_err(out, exact)}), flush=True)


def last_json(stdout: str) -> dict:
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    return json.loads(lines[-1]) if lines else {}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="fp8_tiles.json")
    ap.add_argument("--tiles", nargs="+", default=list(DEFAULT_TILES), help="CTA_Qx CTA_KVx stages")
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=2, help="times each tile is timed, in turns")
    ap.add_argument("--root", default="/tmp/fp8_tiles")
    ap.add_argument("--worker", choices=("build", "time"))
    ap.add_argument("--tile")
    ap.add_argument("--data")
    ap.add_argument("--patch-site", help="patch this installed FlashInfer to --tile and exit (the product's run)")
    args = ap.parse_args()
    if args.patch_site:
        return patch_site(args.patch_site, args.tile)
    if args.worker:
        return worker(args.worker, args.tile, args.data, args.reps)

    for t in args.tiles:
        parse_tile(t)
    root = Path(args.root)
    root.mkdir(parents=True, exist_ok=True)
    me = [sys.executable, str(Path(__file__).resolve())]
    envs = {t: tile_env(t, root) for t in args.tiles}
    t0 = time.perf_counter()
    builds = {t: subprocess.Popen([*me, "--worker", "build", "--tile", t], env=envs[t], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True) for t in args.tiles}

    # meanwhile, the inputs: the first block's q, k, v and exact attention
    import torch
    from bench_fp8_attention import exact_fp32, first_block_qkv, sdpa_bf16
    from common import attention_flops, cuda_time, inputs, ours, rel_err
    from torch.nn.attention import SDPBackend, sdpa_kernel

    from generation.dit import fp8_attention as fa8

    res: dict = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "tiles": {}, "rounds": []}

    def save():
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1)

    with torch.no_grad():
        model = ours()
        z, tt, text = inputs()
        q, k, v = (t.contiguous() for t in first_block_qkv(model, z, tt, text))
        del model
        torch.cuda.empty_cache()
        exact = exact_fp32(q, k, v)
        ones = torch.ones(q.shape[-1], device="cuda")  # the random model's norm weights
        sq = fa8.norm_rope_scale(ones, q.shape[-1]).expand(1, q.shape[2]).contiguous()
        sk = sq  # the same unit norm weights: the same bound
        v_mean = v.mean(dim=1, keepdim=True, dtype=torch.float32)
        centred = v.float() - v_mean
        sc = fa8.amax_scale(centred)
        data = root / "qkv.pt"
        torch.save({"q8": fa8.quantize(q, sq), "k8": fa8.quantize(k, sk), "c8": fa8.quantize(centred, sc), "sq": sq,
                    "sk": sk, "sc": sc, "v_mean": v_mean, "exact": exact}, data)
        with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
            r = cuda_time(lambda: sdpa_bf16(q, k, v), warmup=5, reps=args.reps)
            res["sdpa_cudnn_bf16"] = dict(r, tflops=attention_flops() / r["median_s"] / 1e12,
                                          rel_err_vs_fp32=rel_err(sdpa_bf16(q, k, v), exact))
    print(f"cuDNN bf16: {res['sdpa_cudnn_bf16']['median_s'] * 1e3:.3f} ms "
          f"{res['sdpa_cudnn_bf16']['tflops']:.0f} TFLOP/s", flush=True)

    for t, p in builds.items():
        out, _ = p.communicate()
        row = last_json(out)
        res["tiles"][t] = {"build_s": row.get("build_s"), "built": bool(row)}
        if not row:
            res["tiles"][t]["error"] = out[-3000:]
        print(f"{t}: " + (f"built in {row['build_s']:.0f} s" if row else "build FAILED\n" + out[-1500:]), flush=True)
    res["build_wall_s"] = time.perf_counter() - t0
    save()

    built = [t for t in args.tiles if res["tiles"][t]["built"]]
    for rnd in range(args.rounds):
        times = {}
        for t in built:
            p = subprocess.run([*me, "--worker", "time", "--tile", t, "--data", str(data), "--reps", str(args.reps)],
                               env=envs[t], capture_output=True, text=True, check=False)
            row = last_json(p.stdout)
            if not row:
                res["tiles"][t]["time_error"] = (p.stdout + p.stderr)[-3000:]
                print(f"{t}: timing FAILED\n{(p.stdout + p.stderr)[-1500:]}", flush=True)
                continue
            times[t] = row
            print(f"round {rnd} {t}: {row['median_s'] * 1e3:.3f} ms {row['tflops']:.0f} TFLOP/s "
                  f"err {row['rel_err_vs_fp32']:.2e}", flush=True)
        res["rounds"].append(times)
        save()
    for t in built:
        meds = [r[t]["median_s"] for r in res["rounds"] if t in r]
        if meds:
            res["tiles"][t].update(median_s=min(meds), tflops=attention_flops() / min(meds) / 1e12,
                                   rel_err_vs_fp32=res["rounds"][-1].get(t, {}).get("rel_err_vs_fp32"))
    timed = {t: r for t, r in res["tiles"].items() if "median_s" in r}
    if timed:
        res["fastest"] = min(timed, key=lambda t: timed[t]["median_s"])
        base = DEFAULT_TILES[0]
        if base in timed:
            res["fastest_speedup_vs_flashinfer_default"] = timed[base]["median_s"] / timed[res["fastest"]]["median_s"]
        print(f"fastest {res['fastest']}: {timed[res['fastest']]['tflops']:.0f} TFLOP/s", flush=True)
    save()


if __name__ == "__main__":
    main()
