"""Where the fp8 linears' time goes (issue 9): the DiT's six wide products at the CFG batch (2 x 32,760
tokens), bf16 against fp8 by parts, in turns (CUDA events, median).

    python3 benchmarks/dit/bench_fp8_linears.py --out $OUT/fp8_linears.json     # on the GPU machine

Per shape:
- bf16: F.linear with bias, as the compiled bf16 step runs it;
- fp8_rowwise_gemm: torch._scaled_mm on inputs already in e4m3, one scale per row and per output
  channel (what generation/dit/fp8.py's Fp8Linear runs), bias added after;
- fp8_rowwise_gemm_bias: the same with the bias handed to _scaled_mm;
- fp8_tensorwise_gemm: one scale per tensor on both sides (cuBLASLt's plain fp8 path);
- quantize_rows: torch.compile of fp8.quantize_rows (the plain ops) on the bf16 input alone;
- quantize_triton: fp8.quantize_input, the one-pass Triton kernel Fp8Linear runs on CUDA;
- fp8linear_compiled: Fp8Linear as it runs in the compiled model (quantization + product + bias).
results/fp8_linears_before.json is the first run, before the Triton quantization and the bias in
_scaled_mm (Fp8Linear then quantized with the plain ops and added the bias after).
The whole-video effect is bench_video_fast.py's.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import interleaved, rel_err, wan_config

from generation.dit.fp8 import Fp8Linear, quantize_input, quantize_rows

# name: (in, out) of the block's wide linears
SHAPES = {"attn.qkv": (1536, 4608), "attn.proj / cross.q / cross.proj": (1536, 1536), "mlp.0": (1536, 8960),
          "mlp.2": (8960, 1536)}


def probe(m: int, k: int, n: int, reps: int) -> dict:
    g = torch.Generator(device="cuda").manual_seed(k + n)
    x = torch.randn(m, k, device="cuda", dtype=torch.bfloat16, generator=g)
    lin = torch.nn.Linear(k, n, device="cuda", dtype=torch.bfloat16)
    with torch.no_grad():
        lin.weight.copy_(torch.randn(n, k, device="cuda", generator=g) / k ** 0.5)
        lin.bias.copy_(torch.randn(n, device="cuda", generator=g) * 0.02)
    fp8 = Fp8Linear(lin)
    xq, xs = quantize_rows(x)
    wq_t, ws = fp8.weight.t(), fp8.weight_scale
    x_amax, w_amax = x.abs().amax().float() / 448, lin.weight.abs().amax().float() / 448
    xq_t = (x.float() / x_amax).to(torch.float8_e4m3fn)
    wq_tensor_t = (lin.weight.float() / w_amax).to(torch.float8_e4m3fn).t()
    quant = torch.compile(quantize_rows)
    fp8_compiled = torch.compile(fp8)
    fns = {
        "bf16": lambda: F.linear(x, lin.weight, lin.bias),
        "fp8_rowwise_gemm": lambda: torch._scaled_mm(xq, wq_t, scale_a=xs, scale_b=ws, out_dtype=torch.bfloat16)
        + lin.bias,
        "fp8_rowwise_gemm_bias": lambda: torch._scaled_mm(xq, wq_t, scale_a=xs, scale_b=ws, bias=lin.bias,
                                                          out_dtype=torch.bfloat16),
        "fp8_tensorwise_gemm": lambda: torch._scaled_mm(xq_t, wq_tensor_t, scale_a=x_amax, scale_b=w_amax,
                                                        bias=lin.bias, out_dtype=torch.bfloat16),
        "quantize_rows": lambda: quant(x),
        "quantize_triton": lambda: quantize_input(x),
        "fp8linear_compiled": lambda: fp8_compiled(x),
    }
    out, errors = {}, {}
    with torch.no_grad():
        want = fns["bf16"]().float()
        for name, fn in list(fns.items()):
            try:
                got = fn()
                if not name.startswith("quantize"):
                    errors[name] = rel_err(got.float(), want)
            except Exception as exc:  # noqa: BLE001 - a scaling mode this torch/cuBLASLt refuses
                out[name] = {"error": repr(exc)[:300]}
                del fns[name]
        q_plain, s_plain = quantize_rows(x)
        q_triton, s_triton = quantize_input(x)
        res_quant = {"scales_max_rel_diff": float(((s_triton - s_plain).abs() / s_plain).max()),
                     "values_differing": float((q_triton.float() != q_plain.float()).float().mean())}
        times = interleaved(fns, reps)
    flops = 2 * m * k * n
    for name, t in times.items():
        out[name] = {"ms": t["median_s"] * 1e3, "tflops": flops / t["median_s"] / 1e12,
                     "rel_err_vs_bf16": errors.get(name)}
    out["triton_vs_plain_quantization"] = res_quant
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="fp8_linears.json")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--batch", type=int, default=2, help="videos in the product (2: one CFG pair)")
    args = ap.parse_args()
    m = args.batch * wan_config().tokens
    res = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "rows": m, "shapes": {}}
    for name, (k, n) in SHAPES.items():
        res["shapes"][name] = r = probe(m, k, n, args.reps)
        print(name, ", ".join(f"{v}: {r[v]['ms']:.3f} ms {r[v]['tflops']:.0f} TFLOP/s" if "ms" in r[v]
                              else f"{v}: {r[v]}" for v in r), flush=True)
        Path(args.out).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
