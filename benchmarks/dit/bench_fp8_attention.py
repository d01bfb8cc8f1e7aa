"""fp8 self-attention (generation/dit/fp8_attention.py: FlashInfer's SM90 FlashAttention-3 port in e4m3)
at the Wan-1.3B step's shape, against torch SDPA's cuDNN backend in bf16, with its error (issue 9).

    bash benchmarks/dit/flashinfer_carry.sh prepare      # here, once: two wheels into .fi/ (~21 MB)
    # on the GPU machine, carry [".fi"]:
    source benchmarks/dit/flashinfer_carry.sh install && \
        python3 benchmarks/dit/bench_fp8_attention.py --out $OUT/fp8_attention.json --save-aot $OUT/fi_aot

q, k and v are the first block's own, from the random-weight model on the benchmarks' inputs (RMSNorm +
RoPE on q and k, as the kernel's fixed scales assume), batch 1, 32,760 tokens x 12 heads x 128.
Timed with CUDA events (median after warm-up): cuDNN bf16, the fp8 kernel alone on quantized inputs
(v as is, and centred), and the whole fp8 path (centring, quantization, kernel) eager and compiled.
Errors are relative to the exact attention in fp32; cuDNN's own bf16 error is the floor. Also: the
kernel's error against its own fp32 reference as the keys grow (its accumulator), and q/k scales
fixed by the norm weights (the product's) against each head's absolute maximum.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from bench_flashinfer import save_aot, short_error
from common import attention_flops, cuda_time, inputs, ours, rel_err
from torch.nn.attention import SDPBackend, sdpa_kernel

from generation.dit import fp8_attention as fa8


def first_block_qkv(model, z, tt, text):
    """The first block's q, k (normalized, rotated) and v, each (1, N, H, D) bf16."""
    block = model.blocks[0]
    x, _, cond6, _ = model.embed(z, tt, text.mean(1))
    shift1, scale1 = (cond6 + block.modulation).unbind(1)[:2]
    from generation.dit.model import modulate
    return block.attn.normalized_qkv(modulate(block.norm1(x), shift1, scale1), model.rope)


def sdpa_bf16(q, k, v):
    out = torch.nn.functional.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
    return out.transpose(1, 2)


def exact_fp32(q, k, v, chunk: int = 4096):
    """fp32 attention by query chunks (the math SDPA backends round differently)."""
    q, k, v = (t.float().transpose(1, 2) for t in (q, k, v))  # (1, H, N, D)
    out = torch.cat([torch.softmax(q[:, :, i:i + chunk] @ k.transpose(-1, -2) / q.shape[-1] ** 0.5, -1) @ v
                     for i in range(0, q.shape[2], chunk)], dim=2)
    return out.transpose(1, 2)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="fp8_attention.json")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--save-aot", help="copy the built FlashInfer modules here (carry back as .fi/aot)")
    args = ap.parse_args()
    res: dict = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "rows": {}}

    def save():
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1)

    model = ours()
    z, tt, text = inputs()
    with torch.no_grad():
        q, k, v = (t.contiguous() for t in first_block_qkv(model, z, tt, text))
        del model
        torch.cuda.empty_cache()
        flops = attention_flops()  # one layer's QK^T and PV
        res.update(shape=list(q.shape), flops=flops)
        exact = exact_fp32(q, k, v)
        wq = wk = torch.ones(q.shape[-1], device="cuda")  # the random model's norm weights are all 1
        res["q_absmax"], res["q_bound"] = float(q.abs().max()), float(fa8.norm_rope_scale(wq, q.shape[-1]) * 448)
        print(f"shape {tuple(q.shape)}: |q| max {res['q_absmax']:.2f} (bound {res['q_bound']:.2f}), "
              f"|k| max {float(k.abs().max()):.2f}, |v| max {float(v.abs().max()):.2f}", flush=True)

        def row(name, fn, out=None):
            r = cuda_time(fn, reps=args.reps)
            out = fn() if out is None else out
            res["rows"][name] = dict(r, tflops=flops / r["median_s"] / 1e12, rel_err_vs_fp32=rel_err(out, exact))
            print(f"{name:28s} {r['median_s'] * 1e3:8.3f} ms {res['rows'][name]['tflops']:6.0f} TFLOP/s  "
                  f"err {res['rows'][name]['rel_err_vs_fp32']:.2e}", flush=True)
            save()

        with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
            row("sdpa_cudnn_bf16", lambda: sdpa_bf16(q, k, v))

        # the product's scales (q, k fixed by the norm weights) and, for comparison, each head's maximum
        sq, sk, sv = (fa8.norm_rope_scale(wq, 128).expand(1, 12).contiguous(),
                      fa8.norm_rope_scale(wk, 128).expand(1, 12).contiguous(), fa8.amax_scale(v))
        q8, k8, v8 = fa8.quantize(q, sq), fa8.quantize(k, sk), fa8.quantize(v, sv)
        try:
            t0 = time.perf_counter()
            out = fa8.fp8_attention(q8, k8, v8, sq, sk, sv)
            torch.cuda.synchronize()
            res["first_call_s"] = time.perf_counter() - t0
            print(f"fp8 kernel first call (build/load) {res['first_call_s']:.1f} s", flush=True)
        except Exception as e:  # noqa: BLE001 - a failed build is the result
            res["error"] = short_error(e)
            print("fp8 kernel failed:\n", res["error"], flush=True)
            save()
            return
        res["kernel_vs_dequantized_reference_rel_err"] = rel_err(out, fa8.reference(q8, k8, v8, sq, sk, sv))
        print(f"kernel vs its fp32 reference on the same fp8 inputs: {res['kernel_vs_dequantized_reference_rel_err']:.2e}",
              flush=True)
        # the kernel's own error against the number of keys it accumulates over (v not centred)
        res["kernel_vs_reference_by_keys"] = {}
        for keys in (1024, 4096, 16384, q.shape[1]):
            s8 = (q8[:, :keys], k8[:, :keys], v8[:, :keys], sq, sk, sv)
            res["kernel_vs_reference_by_keys"][keys] = rel_err(fa8.fp8_attention(*s8), fa8.reference(*s8))
        print("kernel vs reference by keys:", {n: f"{e:.2e}" for n, e in res["kernel_vs_reference_by_keys"].items()},
              flush=True)
        row("fp8_kernel_only", lambda: fa8.fp8_attention(q8, k8, v8, sq, sk, sv), out)
        dq, dk = fa8.amax_scale(q), fa8.amax_scale(k)
        row("fp8_kernel_head_amax_qk", lambda: fa8.fp8_attention(fa8.quantize(q, dq), fa8.quantize(k, dk), v8, dq, dk, sv))
        v_mean = v.float().mean(dim=1, keepdim=True)
        sc = fa8.amax_scale(v.float() - v_mean)
        c8 = fa8.quantize(v.float() - v_mean, sc)
        res["v_mean_norm_over_v_norm"] = float(v_mean.norm() / v.float().norm() * v.shape[1] ** 0.5)
        res["output_mean_part_over_output"] = float(v_mean.expand_as(exact).norm() / exact.norm())
        row("fp8_kernel_centred_v", lambda: fa8.fp8_attention(q8, k8, c8, sq, sk, sc),
            (fa8.fp8_attention(q8, k8, c8, sq, sk, sc).float() + v_mean))
        row("fp8_path_eager", lambda: fa8.attend(q, k, v, wq, wk))
        compiled = torch.compile(fa8.attend)
        row("fp8_path_compiled", lambda: compiled(q, k, v, wq, wk))
        # how much of the error is v's own rounding (e4m3 v, not centred, through the exact softmax)
        v_deq = (v8.float() * sv[:, None, :, None]).to(torch.bfloat16)
        res["v_quantization_only_rel_err"] = rel_err(exact_fp32(q, k, v_deq), exact)
        print(f"v quantized alone (exact softmax): err {res['v_quantization_only_rel_err']:.2e}", flush=True)
        r8, r16 = res["rows"]["fp8_kernel_only"], res["rows"]["sdpa_cudnn_bf16"]
        res["fp8_kernel_speedup_vs_cudnn"] = r16["median_s"] / r8["median_s"]
        res["fp8_path_compiled_speedup_vs_cudnn"] = r16["median_s"] / res["rows"]["fp8_path_compiled"]["median_s"]
        print(f"speed-up vs cuDNN bf16: kernel {res['fp8_kernel_speedup_vs_cudnn']:.2f}x, "
              f"compiled path {res['fp8_path_compiled_speedup_vs_cudnn']:.2f}x", flush=True)
    if args.save_aot:
        res["saved_aot"] = save_aot(args.save_aot)
    save()


if __name__ == "__main__":
    main()
