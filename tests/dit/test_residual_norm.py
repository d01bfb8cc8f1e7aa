"""The fused residual add + LayerNorm kernel (generation/dit/residual_norm.py) against the block's plain
PyTorch ops. On a GPU the all-bf16 block uses it for inference; here Triton's interpreter runs the
same kernel on the CPU. Triton reads TRITON_INTERPRET when it is imported, so each check runs in a
fresh Python started with it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from generation.dit import residual_norm
from generation.dit.model import DiTBlock, Rope3D, make_config

pytest.importorskip("triton")
ROOT = Path(__file__).resolve().parents[2]


def _interpreted(check: str) -> None:
    """Runs `check` (a call of a function below) in a fresh Python with Triton's interpreter on."""
    code = ("import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]; import test_residual_norm as t; "
            "t.residual_norm.available = lambda x, *o: not t.torch.is_grad_enabled() and x.dtype == t.torch.bfloat16 "
            "and all(v is None or v.dtype == x.dtype for v in o); "
            f"t.{check}")
    done = subprocess.run([sys.executable, "-c", code, str(ROOT), str(Path(__file__).parent)], capture_output=True,
                          text=True, timeout=300, check=False, env={**os.environ, "TRITON_INTERPRET": "1"})
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.parametrize("variant", ["gate_affine", "modulate"])
@pytest.mark.parametrize("shape", ["2, 5, 96", "3, 7, 64"])
def test_kernel_equals_the_plain_ops(variant, shape):
    # 96 channels: a row narrower than the kernel's 128-wide block (masked lanes must not count);
    # 3 x 7 = 21 rows: not a multiple of the rows a program takes
    _interpreted(f"check_kernel('{variant}', {shape})")


def test_block_with_the_kernel_equals_without():
    _interpreted("check_block()")


def check_kernel(variant, batch, tokens, width):
    torch.manual_seed(5)

    def r(*shape, s=1.0):
        return (torch.randn(*shape) * s).to(torch.bfloat16)

    x, y = r(batch, tokens, width, s=2.0) + 1.0, r(batch, tokens, width)
    gate, weight, bias, shift, scale = r(batch, width, s=0.5), 1 + r(width, s=0.2), r(width, s=0.2), \
        r(batch, width, s=0.3), r(batch, width, s=0.3)
    args = (x, y, gate, weight, bias, None, None, 1e-6) if variant == "gate_affine" else \
        (x, y, None, None, None, shift, scale, 1e-6)
    with torch.no_grad():
        got_x, got_h = residual_norm.residual_norm(*args)
        plain_x, plain_h = residual_norm.reference(*args)
        exact_x, exact_h = residual_norm.reference(*[a.double() if torch.is_tensor(a) else a for a in args])
    for got, plain, exact in ((got_x, plain_x, exact_x), (got_h, plain_h, exact_h)):
        assert got.shape == x.shape and got.dtype == torch.bfloat16
        # the interpreter's bf16 casts truncate where a GPU rounds to nearest: within 3 bf16 steps
        # of the largest value (a wrong index or batch is off by the value itself)
        err = (got.double() - exact).abs()
        assert err.max() <= 3 * 2 ** -7 * exact.abs().max()
        assert err.mean() <= 4 * (plain.double() - exact).abs().mean() + 1e-6
    if variant == "modulate":  # each batch its own shift and scale
        assert not torch.allclose(got_h[0], got_h[1])


def check_block():
    torch.manual_seed(3)
    cfg = make_config("tiny", width=64, heads=2)
    block = DiTBlock(cfg).to(torch.bfloat16).eval()
    with torch.no_grad():
        for p in block.parameters():
            p.add_(0.1 * torch.randn_like(p))
    rope = Rope3D(32, cfg.grid, None)
    x = torch.randn(2, cfg.tokens, 64).to(torch.bfloat16)
    cond6 = (0.3 * torch.randn(2, 6, 64)).to(torch.bfloat16)
    text = torch.randn(2, 5, cfg.text_width).to(torch.bfloat16)
    calls = []
    kernel = residual_norm.residual_norm
    residual_norm.residual_norm = lambda *a: calls.append(1) or kernel(*a)
    with torch.no_grad():
        fused = block(x, cond6, text, None, rope)
        assert len(calls) == 2  # both in-block residual + norm steps took the kernel
        with torch.enable_grad():  # with autograd wanted the block takes its plain ops
            plain = block(x, cond6, text, None, rope).detach()
    assert len(calls) == 2
    assert (fused - x).abs().mean() > 0.01
    torch.testing.assert_close(fused, plain, atol=0.1, rtol=0.05)


def test_kernel_only_where_it_applies():
    x = torch.zeros(1, 2, 8, dtype=torch.bfloat16)
    with torch.no_grad():
        assert not residual_norm.available(x)  # CPU: the plain ops
    if torch.cuda.is_available():
        xc = x.cuda()
        with torch.no_grad():
            assert residual_norm.available(xc, xc)
            assert not residual_norm.available(xc, xc.float())  # autocast's fp32 residual stream: plain ops
            assert not residual_norm.available(xc.float())
        assert not residual_norm.available(xc)  # autograd wanted
