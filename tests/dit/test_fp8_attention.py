"""fp8 self-attention (generation/dit/fp8_attention.py). On CPU: the fixed q/k scales hold every
RMSNorm + RoPE output, quantization keeps e4m3's precision, the kernel's contract (shapes, scales)
matches its fp32 reference, and a pipeline asking for fp8 falls back to SDPA with the same frames
(the model-level fallback is tested with FA4's in test_fa4_attention.py).
On an SM90 GPU with FlashInfer: the kernel against that reference and the model against bf16.
Its speed is in benchmarks/dit/results (fp8_attention.json, video_fast.json)."""

import pytest
import torch
from torch._subclasses.fake_tensor import FakeTensorMode

from generation.dit import fp8_attention as fa8
from generation.dit import text
from generation.dit.model import DiT, Rope3D, SelfAttention, make_config
from generation.dit.pipeline import WEIGHTS_DIR, Pipeline

with torch.no_grad():  # the kernel is for inference only
    GPU = torch.cuda.is_available() and fa8.available(torch.empty(1, device="cuda", dtype=torch.bfloat16))


@torch.no_grad()
def test_not_available_on_cpu_or_for_fp32():
    assert not fa8.available(torch.empty(1, dtype=torch.bfloat16))
    if torch.cuda.is_available():
        assert not fa8.available(torch.empty(1, device="cuda"))


def test_fixed_scale_holds_every_norm_rope_output():
    torch.manual_seed(0)
    attn = SelfAttention(64, 2)
    with torch.no_grad():
        attn.q_norm.weight.normal_(1, 0.5)
        attn.k_norm.weight.normal_(1, 0.5)
    rope = Rope3D(32, (2, 4, 4), None)
    x = torch.randn(3, 32, 64) * torch.logspace(-3, 3, 64)  # channels of very different sizes
    with torch.no_grad():
        q, k, _ = attn.normalized_qkv(x, rope)
        bound_q = fa8.norm_rope_scale(attn.q_norm.weight, 32) * fa8.E4M3_MAX
        bound_k = fa8.norm_rope_scale(attn.k_norm.weight, 32) * fa8.E4M3_MAX
    assert q.abs().max() <= bound_q * (1 + 1e-6) and k.abs().max() <= bound_k * (1 + 1e-6)
    # the bound is reached: all of a row's energy in the channel with the largest weight
    w = torch.tensor([0.5, -3.0, 1.0, 2.0])
    one_hot = torch.tensor([0.0, 1.0, 0.0, 0.0])
    normed = torch.nn.functional.rms_norm(one_hot, (4,), w)
    assert torch.isclose(normed.abs().max(), fa8.norm_rope_scale(w, 4) * fa8.E4M3_MAX)


def test_quantize_keeps_three_mantissa_bits_and_clamps():
    torch.manual_seed(1)
    x = torch.randn(2, 100, 3, 16) * torch.tensor([0.01, 1.0, 100.0])[None, None, :, None]  # heads of any size
    scale = fa8.amax_scale(x)
    assert scale.shape == (2, 3)
    x8 = fa8.quantize(x, scale)
    assert x8.dtype == torch.float8_e4m3fn
    back = x8.float() * scale[:, None, :, None]
    big = x.abs() >= (scale * 2 ** -6)[:, None, :, None]  # e4m3's normal range (2^-6 and up) in each head
    assert ((back - x).abs() <= x.abs() * 2 ** -4 + 1e-12)[big].all()  # half an ulp of 3 mantissa bits
    over = fa8.quantize(torch.full((1, 1, 1, 2), 1e6), torch.ones(()))
    assert over.float().eq(fa8.E4M3_MAX).all()  # clamped, not inf or nan


def test_reference_of_quantized_inputs_is_close_to_exact_attention():
    torch.manual_seed(2)
    q, k = (torch.nn.functional.rms_norm(torch.randn(1, 300, 2, 32), (32,)) for _ in range(2))
    v = torch.randn(1, 300, 2, 32)
    w = torch.ones(32)
    sq = fa8.norm_rope_scale(w, 32).expand(1, 2)
    sv = fa8.amax_scale(v)
    out = fa8.reference(fa8.quantize(q, sq), fa8.quantize(k, sq), fa8.quantize(v, sv), sq, sq, sv)
    exact = torch.nn.functional.scaled_dot_product_attention(*(t.transpose(1, 2) for t in (q, k, v))).transpose(1, 2)
    err = float((out.float() - exact).norm() / exact.norm())
    assert 0 < err < 0.08


def test_attend_centres_v_and_adds_its_mean_back(monkeypatch):
    """The kernel sees v minus its mean over tokens (a common part its accumulator would truncate);
    the mean comes back exactly because every row of softmax weights sums to 1."""
    torch.manual_seed(6)
    seen = {}

    def kernel(q8, k8, v8, sq, sk, sv):
        seen["v"] = v8.float() * sv[:, None, :, None]
        return fa8.reference(q8, k8, v8, sq, sk, sv)

    monkeypatch.setattr(fa8, "fp8_attention", kernel)
    q, k = (torch.nn.functional.rms_norm(torch.randn(2, 200, 2, 32), (32,)) for _ in range(2))
    v = torch.randn(2, 200, 2, 32) + torch.tensor([5.0, -3.0])[None, None, :, None]  # a large shared part
    out = fa8.attend(q, k, v, torch.ones(32), torch.ones(32))
    assert seen["v"].mean(dim=1).abs().max() < 0.05  # centred (up to e4m3 rounding)
    exact = torch.nn.functional.scaled_dot_product_attention(*(t.transpose(1, 2) for t in (q, k, v))).transpose(1, 2)
    assert out.shape == v.shape and out.dtype == torch.bfloat16  # the kernel's output dtype
    assert float((out - exact).norm() / exact.norm()) < 0.01  # the mean is exact: only the small part is rounded


def test_op_shapes_under_fake_tensors():
    with FakeTensorMode():
        x8 = torch.empty(2, 1000, 12, 128, dtype=torch.float8_e4m3fn)
        s = torch.empty(2, 12)
        out = torch.ops.spacetime.fp8_attention(x8, x8, x8, s, s, s)
    assert out.shape == (2, 1000, 12, 128) and out.dtype == torch.bfloat16


@pytest.mark.skipif(not GPU, reason="needs FlashInfer and an SM90 GPU")
def test_kernel_matches_its_reference_on_the_gpu():
    torch.manual_seed(4)
    q, k = (torch.nn.functional.rms_norm(torch.randn(2, 4096, 4, 128, device="cuda"), (128,)) for _ in range(2))
    v = torch.randn(2, 4096, 4, 128, device="cuda")
    w = torch.ones(128, device="cuda")
    sq = fa8.norm_rope_scale(w, 128).expand(2, 4).contiguous()
    sv = fa8.amax_scale(v)
    q8, k8, v8 = fa8.quantize(q, sq), fa8.quantize(k, sq), fa8.quantize(v, sv)
    out = fa8.fp8_attention(q8, k8, v8, sq, sq, sv)
    ref = fa8.reference(q8, k8, v8, sq, sq, sv)
    assert out.shape == q.shape and out.dtype == torch.bfloat16
    assert float((out.float() - ref.float()).norm() / ref.float().norm()) < 0.05  # P's own e4m3 rounding


@pytest.mark.skipif(not GPU, reason="needs FlashInfer and an SM90 GPU")
def test_model_in_fp8_stays_close_to_bf16_on_the_gpu():
    torch.manual_seed(5)
    cfg = make_config("flatland-s")
    base = DiT(cfg).eval()
    with torch.no_grad():
        for p in base.parameters():
            p.normal_(0, 0.05)
    fp8 = DiT(make_config("flatland-s", attention="fp8")).eval()
    fp8.load_state_dict(base.state_dict())
    base, fp8 = (m.cuda().to(torch.bfloat16) for m in (base, fp8))
    z = torch.randn(2, cfg.latent_channels, *cfg.latent_size, device="cuda", dtype=torch.bfloat16)
    t = torch.tensor([0.3, 0.9], device="cuda")
    ids = torch.tensor([text.tokenize(["a", "red", "circle"])] * 2, device="cuda")
    with torch.no_grad():
        tokens, pooled, mask = base.encode_text(ids)
        ref, out = base(z, t, tokens, pooled, mask).float(), fp8(z, t, tokens, pooled, mask).float()
    err = float((out - ref).norm() / ref.norm())
    assert 0 < err < 0.1


def test_pipeline_takes_fp8_and_runs_it_as_sdpa_on_cpu():
    pipe = Pipeline.load(WEIGHTS_DIR, "cpu", attention="fp8")
    assert {b.attn.kernel for b in pipe.dit.blocks} == {"fp8"}
    plain = Pipeline.load(WEIGHTS_DIR, "cpu")
    a = pipe.generate("a red circle moves right", steps=2, seed=3).frames
    b = plain.generate("a red circle moves right", steps=2, seed=3).frames
    assert a.shape == b.shape and (a == b).all()
