"""Self-attention through FlashAttention-4's CuTe-DSL kernels (the `flash-attn-4` package) on Hopper
and Blackwell GPUs.

Why: a denoising step of a Wan-size DiT is ~70% self-attention FLOPs. On an H200, torch's best SDPA
backend (cuDNN) runs that attention at ~565 TFLOP/s and FA4's SM90 kernel at ~685
(benchmarks/dit/bench_attention.py, results/attention_fa4.json), which is most of the gap between a
step at ~72% of the bf16 matmul ceiling and one above 80%.

The model asks for it with `DiTConfig(attention="fa4")`; where the package or a Hopper-class GPU is
missing (CPU, tests, older cards) the block falls back to torch's SDPA, the same math within bf16
rounding. Install it with `pip install -e ".[cuda]"`.
"""

from __future__ import annotations

import functools

import torch

# FA4's SM90 forward for self-attention: 192x128 tiles (three MMA warpgroups of 64 rows), P written
# to shared memory for the PV product, softmax of one tile overlapped with the next tile's QK^T. On
# an H200 at 32,760 tokens x 12 heads x 128 it ran 701 TFLOP/s against 673 for FA4's own choice
# (128x128, P in registers) in the same run (benchmarks/dit/results/step_session11_run1_sweeps.json).
SM90_TILES = {"tile_mn": (192, 128), "mma_pv_is_rs": False, "intra_wg_overlap": True}
# Keys of at most SHORT_KV tokens (the cross-attention's 512 text tokens): each query tile then runs
# only a few key tiles, so filling and draining the pipeline weighs more than in self-attention and
# another tile may win. None: SM90_TILES. bench_step.py --cross-sweep times the candidates.
SHORT_KV = 2048
SM90_SHORT_KV_TILES: dict | None = None
# FA4's SM90 forward gives each query tile its own CTA (SingleTileScheduler), one CTA an SM at these
# tile sizes: 32,760 tokens x 12 heads in 192-row tiles is 2,052 CTAs on an H200's 132 SMs, 15.5
# waves, and the last wave (72 CTAs) takes as long as a full one. With TAIL_SPLIT the rows that fill
# whole waves run as before and the rest in a second launch of 128-row tiles, whose wave is shorter:
# 15 + 0.7 waves' time instead of 16 by the count (whole_wave_rows). The same math row by row; on an
# H200 the step ran 443.2-444.2 ms against 447.1-447.6 with it off, in the same turns
# (benchmarks/dit/results/step_session17_run*.json).
TAIL_SPLIT = True
SM90_TAIL_TILES = {"tile_mn": (128, 128), "mma_pv_is_rs": True, "intra_wg_overlap": True}
TAIL_WAVE_COST = 0.7  # a wave of 128-row tiles against one of 192: 2/3 the rows at 673 vs 701 TFLOP/s


@functools.cache
def _fa4():
    try:
        from flash_attn.cute import interface
    except ImportError:
        return None
    return interface


def available(device: torch.device | str) -> bool:
    """FA4 importable and `device` a CUDA GPU of compute capability 9.x-11.x (Hopper, Blackwell)."""
    device = torch.device(device)
    return device.type == "cuda" and _runs_on_gpu(-1 if device.index is None else device.index)


@torch.compiler.assume_constant_result  # traced as its value: no graph break in every block
def _runs_on_gpu(index: int) -> bool:
    if _fa4() is None:
        return False
    return 9 <= torch.cuda.get_device_capability(None if index < 0 else index)[0] <= 11


def whole_wave_rows(n: int, heads: int, sms: int, tile: int, tail_tile: int, tail_cost: float = TAIL_WAVE_COST) -> int:
    """How many of n query rows (a multiple of `tile`) to run in `tile`-row tiles, the rest in
    `tail_tile`-row ones, for the least time, counting a wave of CTAs (one an SM) as 1 and a wave of
    tail tiles as tail_cost; `heads` is batch x heads. n: no split (also below two waves, where
    the model is too coarse to trust)."""
    def waves(ctas: int) -> int:
        return -(-ctas // sms)

    tiles = -(-n // tile)
    if heads * tiles < 2 * sms or tile == tail_tile:
        return n
    best_rows, best = n, waves(heads * tiles) - 0.05  # a clear gain only: a launch costs microseconds
    for m in range(tiles - 1, -1, -1):  # on a tie the most rows in the main launch
        cost = waves(heads * m) + tail_cost * waves(heads * -(-(n - m * tile) // tail_tile))
        if cost < best:
            best_rows, best = m * tile, cost
    return best_rows


@functools.cache
def _sm_count(index: int) -> int:
    return torch.cuda.get_device_properties(index).multi_processor_count


@torch.library.custom_op("spacetime::fa4_attention", mutates_args=())
def fa4_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """softmax(q k^T / sqrt(D)) v for q (B, N, H, D), k and v (B, L, H, D), each with its last dim
    contiguous (v may be a strided view into the fused qkv product) -> (B, N, H, D).

    FA4's own layout, tokens-major, as the block produces it: nothing is transposed or copied
    around the call. A custom op, so that torch.compile keeps the call opaque instead of tracing
    into the DSL's launcher."""
    tiles = {}
    if torch.cuda.get_device_capability(q.device)[0] == 9:
        short = k.shape[1] <= SHORT_KV and SM90_SHORT_KV_TILES is not None
        tiles = SM90_SHORT_KV_TILES if short else SM90_TILES
        if not short and TAIL_SPLIT and "tile_mn" in tiles:
            (b, n, h, _), dv = q.shape, v.shape[-1]
            rows = whole_wave_rows(n, b * h, _sm_count(q.device.index), tiles["tile_mn"][0],
                                   SM90_TAIL_TILES["tile_mn"][0])
            if rows < n:  # two launches writing into one output: no copy
                out = q.new_empty(b, n, h, dv)
                if rows:
                    _fa4()._flash_attn_fwd(q[:, :rows], k, v, out=out[:, :rows], **tiles)
                _fa4()._flash_attn_fwd(q[:, rows:], k, v, out=out[:, rows:], **SM90_TAIL_TILES)
                return out
    result = _fa4()._flash_attn_fwd(q, k, v, **tiles)
    return result[0] if isinstance(result, tuple) else result


@fa4_attention.register_fake
def _(q, k, v):
    return q.new_empty(q.shape)
