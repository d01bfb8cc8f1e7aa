"""The FlashAttention-4 self-attention path (generation/dit/fa4_attention.py) where it cannot run:
CPU machines fall back to torch's SDPA with the same weights and the same result, and the op's
compile-time contract (shapes) holds without a GPU. Its speed and its agreement with cuDNN on an
H200 are in benchmarks/dit/results (attention_fa4.json, step.json)."""

import pytest
import torch
from torch._subclasses.fake_tensor import FakeTensorMode

from generation.dit import fa4_attention, qk_norm_rope, text
from generation.dit.model import DiT, SelfAttention, make_config, mlp_forward
from generation.dit.pipeline import WEIGHTS_DIR, Pipeline


def test_not_available_on_cpu():
    assert not fa4_attention.available("cpu")


def test_unknown_kernel_is_refused():
    with pytest.raises(ValueError, match="unknown attention kernel"):
        SelfAttention(64, 2, kernel="flash3")
    with pytest.raises(ValueError):
        DiT(make_config("tiny", attention="xformers"))


@pytest.mark.parametrize("kernel", ["fa4", "fp8"])  # fp8: fp8_attention.py, tests in test_fp8_attention.py
def test_gpu_kernel_model_on_cpu_equals_the_sdpa_model(kernel):
    torch.manual_seed(0)
    sdpa = DiT(make_config("tiny")).eval()
    with torch.no_grad():  # random weights: adaLN-Zero's initial gates would make every output 0
        for p in sdpa.parameters():
            p.normal_(0, 0.2)
    other = DiT(make_config("tiny", attention=kernel)).eval()
    other.load_state_dict(sdpa.state_dict())
    assert {b.attn.kernel for b in other.blocks} == {kernel}
    cfg = sdpa.cfg
    z = torch.randn(2, cfg.latent_channels, *cfg.latent_size)
    t = torch.tensor([0.3, 0.8])
    ids = torch.tensor([text.tokenize(["a", "red", "circle"]), text.tokenize(["two", "squares"])])
    with torch.no_grad():
        tokens, pooled, mask = sdpa.encode_text(ids)
        out = sdpa(z, t, tokens, pooled, mask)
        assert out.abs().mean() > 0.01
        assert torch.equal(other(z, t, tokens, pooled, mask), out)


def test_op_shapes_under_fake_tensors():
    """What torch.compile sees: (B, N, H, D) queries, (B, L, H, D) keys and values in, the queries'
    shape out, without running a kernel."""
    with FakeTensorMode():
        q = torch.empty(2, 1000, 12, 128, dtype=torch.bfloat16)
        kv = torch.empty(2, 512, 12, 128, dtype=torch.bfloat16)
        out = torch.ops.spacetime.fa4_attention(q, kv, kv)
    assert out.shape == (2, 1000, 12, 128) and out.dtype == torch.bfloat16


def test_mlp_on_cpu_is_the_plain_sequential():
    torch.manual_seed(1)
    mlp = torch.nn.Sequential(torch.nn.Linear(16, 40), torch.nn.GELU(approximate="tanh"), torch.nn.Linear(40, 16))
    x = torch.randn(2, 5, 16)
    assert torch.equal(mlp_forward(mlp, x), mlp(x))


def test_pipeline_takes_the_kernel_and_refuses_a_bad_one():
    pipe = Pipeline.load(WEIGHTS_DIR, "cpu", attention="fa4")
    assert {b.attn.kernel for b in pipe.dit.blocks} == {"fa4"}
    with pytest.raises(ValueError, match="unknown attention kernel"):
        Pipeline.load(WEIGHTS_DIR, "cpu", attention="fast")


def test_kernel_checks_trace_as_constants():
    """torch.compile sees the GPU-only availability checks as constants: one graph per model, not a
    graph break in every block (an untraceable functools.cache call split each block in two)."""

    def step(x):
        y = x * 2
        if qk_norm_rope.triton_installed():
            y = y + 1
        if fa4_attention._runs_on_gpu(0):
            y = y + 3
        return y.sin()

    torch._dynamo.reset()
    explained = torch._dynamo.explain(step)(torch.randn(4))
    assert explained.graph_break_count == 0 and explained.graph_count == 1


def test_short_key_sequences_get_their_own_tiles(monkeypatch):
    """The cross-attention's 512 text keys run with SM90_SHORT_KV_TILES where the benchmark set one,
    self-attention with SM90_TILES; on other GPU generations FA4 picks its own."""
    calls = []

    class FakeFA4:
        @staticmethod
        def _flash_attn_fwd(q, k, v, **tiles):
            calls.append(tiles)
            return (torch.zeros_like(q),)

    capability = [(9, 0)]
    monkeypatch.setattr(fa4_attention, "_fa4", lambda: FakeFA4)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability[0])
    monkeypatch.setattr(fa4_attention, "SM90_SHORT_KV_TILES", {"tile_mn": (64, 256)})
    monkeypatch.setattr(fa4_attention, "TAIL_SPLIT", False)  # test_tail_split_is_the_same_attention
    q = torch.randn(1, 4096, 2, 16)
    text_kv = torch.randn(1, 512, 2, 16)
    torch.ops.spacetime.fa4_attention(q, text_kv, text_kv)
    torch.ops.spacetime.fa4_attention(q, q, q)
    monkeypatch.setattr(fa4_attention, "SM90_SHORT_KV_TILES", None)
    torch.ops.spacetime.fa4_attention(q, text_kv, text_kv)
    capability[0] = (10, 0)
    torch.ops.spacetime.fa4_attention(q, text_kv, text_kv)
    assert calls == [{"tile_mn": (64, 256)}, fa4_attention.SM90_TILES, fa4_attention.SM90_TILES, {}]


def test_whole_wave_rows_fills_whole_waves_at_the_wan_size():
    """32,760 tokens x 12 heads in 192-row tiles on 132 SMs: 171 tiles a head, 15.5 waves. The split
    keeps 165 tiles a head (1,980 CTAs: 15 whole waves) and runs the last 1,080 rows in 128-row
    tiles (108 CTAs: one short wave). The CFG batch of 2 splits at the same row."""
    assert fa4_attention.whole_wave_rows(32760, 12, 132, 192, 128) == 165 * 192
    assert fa4_attention.whole_wave_rows(32760, 24, 132, 192, 128) == 165 * 192
    assert fa4_attention.whole_wave_rows(32760, 12, 132, 128, 128) == 32760  # same tiles: nothing to gain
    assert fa4_attention.whole_wave_rows(1000, 12, 132, 192, 128) == 1000  # under two waves: one launch
    assert fa4_attention.whole_wave_rows(192 * 11 * 3, 12, 132, 192, 128) == 192 * 11 * 3  # whole waves already


def test_tail_split_is_the_same_attention(monkeypatch):
    """The split writes both launches into one output: the result is the single launch's. FA4 is
    played here by SDPA on the CPU (the kernels need a Hopper GPU), with a GPU of 4 SMs."""
    calls = []

    class FakeFA4:
        @staticmethod
        def _flash_attn_fwd(q, k, v, out=None, **tiles):
            calls.append((q.shape[1], tiles["tile_mn"]))
            o = torch.nn.functional.scaled_dot_product_attention(
                q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)).transpose(1, 2)
            if out is None:
                return o, None
            out.copy_(o)
            return out, None

    monkeypatch.setattr(fa4_attention, "_fa4", lambda: FakeFA4)
    monkeypatch.setattr(fa4_attention, "_sm_count", lambda index: 4)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (9, 0))
    torch.manual_seed(0)
    qkv = torch.randn(1, 1000, 3, 2, 16)  # tokens-major, q/k/v as strided views of one product
    q, k, v = qkv.unbind(2)
    monkeypatch.setattr(fa4_attention, "TAIL_SPLIT", False)
    whole = fa4_attention.fa4_attention(q, k, v)
    assert calls == [(1000, (192, 128))]
    monkeypatch.setattr(fa4_attention, "TAIL_SPLIT", True)
    calls.clear()
    split = fa4_attention.fa4_attention(q, k, v)
    # 6 tiles x 2 heads on 4 SMs: 3 waves; 4 tiles (2 waves) + 232 rows in 128-row tiles (1 short wave)
    assert calls == [(768, (192, 128)), (232, (128, 128))]
    torch.testing.assert_close(split, whole, rtol=0, atol=1e-6)
