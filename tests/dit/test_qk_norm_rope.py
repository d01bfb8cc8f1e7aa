"""The fused q/k RMSNorm + RoPE kernel (generation/dit/qk_norm_rope.py) against the block's plain
PyTorch ops. On a GPU the block uses it for inference; here Triton's interpreter runs the same
kernel on the CPU, so its indexing and math are checked without one. Triton reads TRITON_INTERPRET
when it is imported, so each check runs in a fresh Python started with it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from generation.dit import qk_norm_rope
from generation.dit.model import Rope3D, SelfAttention

pytest.importorskip("triton")
ROOT = Path(__file__).resolve().parents[2]


def _interpreted(check: str) -> None:
    """Runs `check` (a call of a function below) in a fresh Python with Triton's interpreter on."""
    code = ("import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]; import test_qk_norm_rope as t; "
            f"t.qk_norm_rope.available = lambda x, hd: not t.torch.is_grad_enabled(); t.{check}")
    done = subprocess.run([sys.executable, "-c", code, str(ROOT), str(Path(__file__).parent)], capture_output=True,
                          text=True, timeout=300, check=False, env={**os.environ, "TRITON_INTERPRET": "1"})
    assert done.returncode == 0, done.stderr[-3000:]


def _bf16_norms(head_dim, seed):
    torch.manual_seed(seed)
    norms = [torch.nn.RMSNorm(head_dim) for _ in range(2)]
    with torch.no_grad():
        for n in norms:
            n.weight.normal_(1.0, 0.3)
    return [n.to(torch.bfloat16) for n in norms]


@pytest.mark.parametrize("shape", ["2, (2, 3, 4), 3, 16", "1, (3, 5, 7), 2, 32"])
def test_kernel_equals_norm_then_rope(shape):
    # (3, 5, 7) = 105 tokens x 2 heads: 210 rows, not a multiple of the 16 a program takes
    _interpreted(f"check_kernel({shape})")


def test_attention_block_with_the_kernel_equals_without():
    _interpreted("check_block()")


def check_kernel(batch, grid, heads, head_dim):
    q_norm, k_norm = _bf16_norms(head_dim, 0)
    rope = Rope3D(head_dim, grid, None)
    n = rope.cos.shape[0]
    qkv = (torch.randn(batch, n, 3, heads, head_dim) * 3).to(torch.bfloat16)
    eps = qk_norm_rope.rms_eps(q_norm, torch.bfloat16)
    with torch.no_grad():
        q, k = qk_norm_rope.qk_norm_rope(qkv, q_norm.weight, k_norm.weight, rope.cos, rope.sin, eps)
        for got, norm, part in ((q, q_norm, 0), (k, k_norm, 1)):
            x = qkv[:, :, part].float()  # the exact math in fp32: both bf16 paths round around it
            exact = rope(x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * norm.weight.float())
            plain = rope(norm(qkv[:, :, part])).float()
            assert got.shape == (batch, n, heads, head_dim) and got.dtype == torch.bfloat16
            # the interpreter's bf16 casts truncate where a GPU rounds to nearest: up to 2 bf16 steps
            # of the largest value (a wrong index is off by the value itself), ~2.7x plain's mean error
            err = (got.float() - exact).abs()
            assert err.max() <= 2 * 2 ** -7 * exact.abs().max()
            assert err.mean() <= 4 * (plain - exact).abs().mean()
            assert not torch.equal(got[:, :, 0], got[:, :, 1])  # each head its own row


def check_block():
    torch.manual_seed(3)
    attn = SelfAttention(64, 2).to(torch.bfloat16).eval()
    with torch.no_grad():
        attn.q_norm.weight.normal_(1.0, 0.3)
        attn.k_norm.weight.normal_(1.0, 0.3)
    rope = Rope3D(32, (2, 4, 4), None)
    x = torch.randn(2, 32, 64).to(torch.bfloat16)
    with torch.no_grad():
        fused = attn(x, rope)
        q, k, v = attn.normalized_qkv(x, rope)
        assert q.is_contiguous() and k.is_contiguous() and not v.is_contiguous()  # v stays in the qkv product
        with torch.enable_grad():  # with autograd wanted the block takes its plain ops
            plain = attn(x, rope).detach()
    assert fused.abs().mean() > 0.01
    torch.testing.assert_close(fused, plain, atol=0.05, rtol=0.05)


def test_kernel_only_where_it_applies():
    assert all(qk_norm_rope.head_dim_fits(hd) for hd in (16, 32, 64, 128, 256))
    assert not any(qk_norm_rope.head_dim_fits(hd) for hd in (0, 8, 48, 96, 112))
    with torch.no_grad():
        assert not qk_norm_rope.available(torch.zeros(2, 3), 128)  # CPU: the plain ops
