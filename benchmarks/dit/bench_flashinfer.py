"""FlashInfer's SM90 attention ("fa3" backend, its FlashAttention-3 port) at the Wan-1.3B step's shapes.

    bash benchmarks/dit/flashinfer_carry.sh prepare      # here, once: two wheels into .fi/ (~21 MB)
    # on the GPU machine, carry [".fi"]:
    source benchmarks/dit/flashinfer_carry.sh install && \
        python3 benchmarks/dit/bench_flashinfer.py --out $OUT/flashinfer.json --save-aot $OUT/fi_aot

The first call JIT-compiles the kernel with the machine's nvcc (sm_90a; one module per backend,
four mask variants built in parallel by ninja) and reports how long that took. --save-aot copies the
built module out; put that folder at .fi/aot here and the next call's install loads it prebuilt.
Self-attention over 32,760 tokens and cross-attention onto 512 text tokens (12 heads x 128, bf16,
batch 1), q/k/v as (N, heads, head_dim) views of a fused projection (FlashInfer's "NHD" layout);
each timed with CUDA events (median after warm-up) beside torch SDPA's cuDNN backend, with the
relative error against cuDNN.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import torch
from common import WAN, cuda_time, rel_err
from torch.nn.attention import SDPBackend, sdpa_kernel


def short_error(e: Exception) -> str:
    """A build error's nvcc lines (ninja's output is long) and its tail."""
    text = str(e)
    lines = [ln for ln in text.splitlines() if "error" in ln.lower()][:20]
    return ("\n".join(lines) + "\n...\n" + text[-1500:])[-4000:] if lines else repr(e)[-2000:]


def shapes(n: int, heads: int, d: int, text_len: int) -> dict:
    g = torch.Generator(device="cuda").manual_seed(0)
    qkv = torch.randn(n, 3, heads, d, device="cuda", dtype=torch.bfloat16, generator=g)
    kv_text = torch.randn(text_len, 2, heads, d, device="cuda", dtype=torch.bfloat16, generator=g)
    q, k, v = qkv.unbind(1)  # (N, H, D) views, row stride 3*H*D
    return {"self": (q, k, v), "cross": (q, *kv_text.unbind(1))}


def save_aot(folder: str) -> list[str]:
    """Copies the modules FlashInfer built this run into `folder` in its AOT layout (<name>/<name>.so):
    carried back as .fi/aot, flashinfer_carry.sh install puts them where FlashInfer loads them unbuilt."""
    from flashinfer.jit import env as fi_env

    saved = []
    for so in fi_env.FLASHINFER_JIT_DIR.glob("*/*.so"):
        dest = Path(folder) / so.parent.name
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy2(so, dest)
        saved.append(so.parent.name)
    return saved


def sdpa(q, k, v):
    q, k, v = (t.unsqueeze(0).transpose(1, 2) for t in (q, k, v))  # (1, H, N, D) views
    return torch.nn.functional.scaled_dot_product_attention(q, k, v)[0].transpose(0, 1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="flashinfer.json")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--backends", nargs="+", default=["fa3"], help="FlashInfer backends (fa2 is another build)")
    ap.add_argument("--save-aot", help="copy the built modules here (carry back as .fi/aot)")
    args = ap.parse_args()

    _, t, hh, ww = WAN["latent"]
    n, heads, d = t * (hh // 2) * (ww // 2), WAN["heads"], WAN["width"] // WAN["heads"]
    result = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "cuda": torch.version.cuda,
              "nvcc": shutil.which("nvcc"), "tokens": n, "text_tokens": WAN["text_len"], "heads": heads,
              "head_dim": d, "rows": {}}
    try:
        t0 = time.perf_counter()
        import flashinfer
        import tvm_ffi
        from flashinfer.jit import env as fi_env
        result.update(flashinfer=flashinfer.__version__, tvm_ffi=tvm_ffi.__version__,
                      import_s=time.perf_counter() - t0, aot_dir=str(fi_env.FLASHINFER_AOT_DIR),
                      jit_dir=str(fi_env.FLASHINFER_JIT_DIR))
    except Exception as e:  # noqa: BLE001 - a missing dependency is the answer, not a crash
        flashinfer, result["import_error"] = None, repr(e)[-2000:]
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}), flush=True)

    for shape, (q, k, v) in shapes(n, heads, d, WAN["text_len"]).items():
        flops = 4 * q.shape[0] * k.shape[0] * heads * d
        with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
            ref = sdpa(q, k, v)
            r = cuda_time(lambda q=q, k=k, v=v: sdpa(q, k, v), reps=args.reps)
        rows = {"sdpa_cudnn": dict(r, tflops=flops / r["median_s"] / 1e12)}
        for backend in args.backends if flashinfer is not None else ():
            def call(q=q, k=k, v=v, backend=backend):
                return flashinfer.single_prefill_with_kv_cache(q, k, v, causal=False, kv_layout="NHD",
                                                               backend=backend)
            name = f"flashinfer_{backend}"
            try:
                t0 = time.perf_counter()
                out = call()  # builds (JIT) or loads the module on first use
                torch.cuda.synchronize()
                build_s = time.perf_counter() - t0
                print(f"{name} {shape}: first call (build/load) {build_s:.1f} s", flush=True)
                r = cuda_time(call, reps=args.reps)
                rows[name] = dict(r, tflops=flops / r["median_s"] / 1e12, first_call_s=build_s,
                                  rel_err_vs_cudnn=rel_err(out, ref))
            except Exception as e:  # noqa: BLE001 - a failed build or launch is a result
                rows[name] = {"error": short_error(e)}
                print(name, shape, "failed:\n", rows[name]["error"], flush=True)
        result["rows"][shape] = rows
        for name, row in rows.items():
            stats = f"{row['median_s'] * 1e3:8.3f} ms {row['tflops']:6.0f} TFLOP/s" if "tflops" in row else "failed"
            err = f"  err {row['rel_err_vs_cudnn']:.2e}" if "rel_err_vs_cudnn" in row else ""
            print(f"{shape:5s} {name:18s} {stats}{err}", flush=True)
    if args.save_aot and flashinfer is not None:
        result["saved_aot"] = save_aot(args.save_aot)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
