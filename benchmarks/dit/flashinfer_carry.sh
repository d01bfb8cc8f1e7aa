#!/usr/bin/env bash
# FlashInfer (its "fa3" backend: the SM90 port of FlashAttention-3) on the lent GPU machine, which
# cannot download anything and takes at most 64 MiB of working tree per call. Two wheels, ~21 MB:
# flashinfer-python (pure Python + the CUDA sources, CUTLASS and CCCL headers its JIT compiles with
# the machine's nvcc) and apache-tvm-ffi (the binding layer its JIT modules load through). Its other
# declared dependencies are left out: nvidia-cutlass-dsl, cuda-tile, nccl4py, nvidia-cudnn-frontend
# and cuda-python serve other kernels and are imported only behind availability checks; filelock,
# jinja2, packaging, nvidia-ml-py, requests, tqdm, numpy and ninja are in the machine's image.
#
#   bash benchmarks/dit/flashinfer_carry.sh prepare      # here: fills .fi/ with the two wheels
#   mv generation/dit/weights /tmp/spacetime-weights     # not needed there; keeps the carry small
#   device, carry [".fi"]:
#       source benchmarks/dit/flashinfer_carry.sh install && \
#       python3 benchmarks/dit/bench_flashinfer.py --out $OUT/flashinfer.json --save-aot $OUT/fi_aot
#   mv /tmp/spacetime-weights generation/dit/weights     # here, afterwards
#
# To skip the JIT build in a later call, copy the returned fi_aot/ folder to .fi/aot/ here before
# carrying .fi: install puts it where FlashInfer looks for prebuilt modules (flashinfer/data/aot).
# .fi/ must be ignored (.git/info/exclude).
set -euo pipefail

FI=flashinfer-python==0.6.18.post1
TVM_FFI=apache-tvm-ffi==0.1.15.post2

case "${1:-}" in
prepare)
    cd "$(git rev-parse --show-toplevel)"
    rm -rf .fi/wheels && mkdir -p .fi/wheels
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_24_x86_64 --platform manylinux2014_x86_64 \
        -d .fi/wheels "$FI" "$TVM_FFI"
    ls -l .fi/wheels && du -sh .fi
    ;;
install)  # device, sourced: unpack into /tmp/fisite and put it on PYTHONPATH
    mkdir -p /tmp/fisite
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/fisite \
        .fi/wheels/*.whl
    if [ -d .fi/aot ]; then  # modules built by an earlier call: loaded as FlashInfer's AOT modules, no JIT
        mkdir -p /tmp/fisite/flashinfer/data/aot && cp -r .fi/aot/. /tmp/fisite/flashinfer/data/aot/
    fi
    if [ -n "${FI_FP8_TILE:-}" ]; then  # e.g. 192x128x2: the fp8 kernel's tile for head dim 128 (bench_fp8_tiles.py)
        python3 benchmarks/dit/bench_fp8_tiles.py --patch-site /tmp/fisite --tile "$FI_FP8_TILE"
    fi
    export PYTHONPATH=/tmp/fisite${PYTHONPATH:+:$PYTHONPATH}
    export FLASHINFER_WORKSPACE_BASE=/tmp/fiws TVM_FFI_CACHE_DIR=/tmp/fiws/tvm-ffi
    export MAX_JOBS=${MAX_JOBS:-16}  # ninja's parallel nvcc jobs (one per kernel source)
    # the bundled CUTLASS util headers include curand_kernel.h; if the toolkit lacks it, use the pip one
    nvcc_home=$(dirname "$(dirname "$(command -v nvcc)")")
    if [ ! -f "$nvcc_home/include/curand_kernel.h" ]; then
        inc=$(python3 -c "import glob, nvidia; print(next(iter(sorted(glob.glob(nvidia.__path__[0] + '/**/curand_kernel.h', recursive=True))), ''))" 2>/dev/null || true)
        if [ -n "$inc" ]; then export FLASHINFER_EXTRA_CUDAFLAGS="-I$(dirname "$inc")"; fi
    fi
    ;;
*)
    echo "usage: $0 prepare | (source) install" >&2
    exit 2
    ;;
esac
