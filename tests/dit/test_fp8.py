"""fp8 linears (generation/dit/fp8.py): quantization error bounds and the converted DiT."""

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from generation.dit.fp8 import E4M3_MAX, Fp8Linear, fp8_linears, quantize_input, quantize_rows
from generation.dit.model import DiT, make_config


def rel(a, b):
    return float((a - b).detach().norm() / b.detach().norm())


def test_rows_keep_their_own_scale_and_three_mantissa_bits():
    torch.manual_seed(0)
    x = torch.randn(64, 96) * torch.logspace(-3, 3, 64)[:, None]  # rows six decades apart
    q, scale = quantize_rows(x)
    assert q.dtype == torch.float8_e4m3fn and scale.shape == (64, 1)
    back = q.float() * scale
    assert torch.allclose(back.abs().amax(1), x.abs().amax(1), rtol=1e-6)  # each row's largest value is exact
    normal = x.abs() > scale * 2 ** -6  # above e4m3's subnormals, relative to each row's own scale
    assert ((back - x).abs()[normal] <= x.abs()[normal] * 2 ** -4 + 1e-12).all()  # round to nearest of 3 bits
    assert q.float().abs().max() <= E4M3_MAX


def test_fp8_linear_matches_the_linear_within_fp8_error():
    torch.manual_seed(1)
    lin = nn.Linear(128, 80)
    x = torch.randn(3, 50, 128)
    out = Fp8Linear(lin)(x)
    assert out.shape == (3, 50, 80)
    assert rel(out, lin(x)) < 0.04
    nobias = nn.Linear(128, 80, bias=False)
    assert rel(Fp8Linear(nobias)(x), nobias(x)) < 0.04


def test_fp8_linear_applies_the_gelu_to_its_input_when_asked():
    """The MLP's second linear takes the first's output before the activation (model.mlp_forward):
    gelu=True must be the product of tanh-GELU(x), bias included, in bf16 as in fp32."""
    torch.manual_seed(4)
    lin = nn.Linear(96, 40)
    x = torch.randn(2, 30, 96) * 3
    fp8 = Fp8Linear(lin)
    assert torch.equal(fp8(x, gelu=True), fp8(F.gelu(x, approximate="tanh")))
    assert rel(fp8(x, gelu=True), lin(F.gelu(x, approximate="tanh"))) < 0.04
    lin16 = copy.deepcopy(lin).to(torch.bfloat16)
    out16 = Fp8Linear(lin16)(x.to(torch.bfloat16), gelu=True)
    assert out16.dtype == torch.bfloat16 and rel(out16.float(), lin(F.gelu(x, approximate="tanh"))) < 0.05


def test_fp8_linears_converts_the_wide_products_of_every_block():
    torch.manual_seed(2)
    dit = DiT(make_config("tiny", external_text=True, text_width=32)).eval()
    for p in dit.parameters():  # adaLN-Zero would make the output zero
        p.data.normal_(0, 0.1)
    fp8 = copy.deepcopy(dit)
    assert fp8_linears(fp8) == 6 * len(dit.blocks)
    assert isinstance(fp8.blocks[0].mlp[2], Fp8Linear) and isinstance(fp8.patch_embed, nn.Linear)
    z, t, text = torch.randn(2, 8, 8, 16, 16), torch.tensor([0.3, 0.9]), torch.randn(2, 5, 32)
    with torch.no_grad():
        exact, quick = dit(z, t, text, text.mean(1)), fp8(z, t, text, text.mean(1))
    assert 0 < rel(quick, exact) < 0.1


@pytest.mark.skipif(not (torch.cuda.is_available() and torch.cuda.get_device_capability()[0] >= 9),
                    reason="fp8 products need a Hopper-class GPU")
def test_fp8_mlp_keeps_its_own_product_on_the_gpu():
    """On CUDA the plain MLP fuses its first product with the GELU (model.mlp_forward); an Fp8Linear
    there must run its e4m3 product instead (that fusion once took its fp8 weight as bf16)."""
    torch.manual_seed(3)
    dit = DiT(make_config("tiny", external_text=True, text_width=32)).eval()
    for p in dit.parameters():
        p.data.normal_(0, 0.1)
    dit = dit.cuda().to(torch.bfloat16)
    fp8 = copy.deepcopy(dit)
    fp8_linears(fp8)
    z = torch.randn(2, 8, 8, 16, 16, device="cuda", dtype=torch.bfloat16)
    t, text = torch.tensor([0.3, 0.9], device="cuda"), torch.randn(2, 5, 32, device="cuda", dtype=torch.bfloat16)
    with torch.no_grad():
        exact = dit(z, t, text, text.mean(1)).float()
        quick = fp8(z, t, text, text.mean(1)).float()
        compiled = torch.compile(fp8)(z, t, text, text.mean(1)).float()
    assert 0 < rel(quick, exact) < 0.1 and rel(compiled, quick) < 0.02


@pytest.mark.skipif(not torch.cuda.is_available(), reason="the Triton quantization kernel runs on CUDA")
@pytest.mark.parametrize("width", [96, 1536, 8960])
def test_triton_row_quantization_matches_the_plain_ops(width):
    """fp8.quantize_input's one-pass kernel against quantize_rows: the same scales, the same e4m3
    values (bar a rounding tie or two), with and without the GELU in front."""
    torch.manual_seed(width)
    x = (torch.randn(333, width, device="cuda") * torch.logspace(-2, 2, 333, device="cuda")[:, None]).to(torch.bfloat16)
    with torch.no_grad():
        for gelu in (False, True):
            q, scale = quantize_input(x, gelu)
            want_q, want_scale = quantize_rows(F.gelu(x, approximate="tanh") if gelu else x)
            assert q.dtype == torch.float8_e4m3fn and scale.shape == (333, 1)
            assert torch.allclose(scale, want_scale, rtol=1e-2 if gelu else 0, atol=0)
            row_amax = want_scale * E4M3_MAX
            close = (q.float() * scale - want_q.float() * want_scale).abs() <= row_amax / 128
            assert close.float().mean() > 0.999
