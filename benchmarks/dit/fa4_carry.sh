#!/usr/bin/env bash
# FlashAttention-4 (flash-attn-4 + nvidia-cutlass-dsl for CUDA 13) on the lent GPU machine, which
# cannot download anything and takes at most 64 MiB of working tree per call. Its CUDA 13 library
# wheel alone is 92 MB, so the wheels travel as an xz tarball split over two calls:
#
#   bash benchmarks/dit/fa4_carry.sh prepare     # here: fills .fa4a/ (small wheels + part 1), .fa4b/ (part 2)
#   mv generation/dit/weights /tmp/spacetime-weights   # the shipped weights (52 MB) would not fit beside part 1
#   call 1, carry [".fa4a"]:          bash benchmarks/dit/fa4_carry.sh stash
#   call 2 within 30 s (the machine stays warm that long), carry [".fa4b", ".whl"]:
#       source benchmarks/dit/fa4_carry.sh install && python3 benchmarks/dit/bench_step.py --fa4 ...
#   mv /tmp/spacetime-weights generation/dit/weights   # here, afterwards
#
# .fa4a/ and .fa4b/ must be ignored (.git/info/exclude). Versions: the ones benchmarked in
# results/attention_fa4.json and results/step.json.
set -euo pipefail

FA4=flash-attn-4==4.0.0b36
DSL=4.8.1

case "${1:-}" in
prepare)
    cd "$(git rev-parse --show-toplevel)"
    tmp=$(mktemp -d)
    pip_dl() {
        python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
            --platform manylinux_2_28_x86_64 --platform manylinux_2_24_x86_64 --platform manylinux2014_x86_64 \
            -d "$tmp" "$@"
    }
    pip_dl "$FA4" "nvidia-cutlass-dsl==$DSL" "nvidia-cutlass-dsl-libs-base==$DSL" "nvidia-cutlass-dsl-libs-core==$DSL" \
        "nvidia-cutlass-dsl-libs-cu13==$DSL" "apache-tvm-ffi<0.2,>=0.1.11" torch-c-dlpack-ext "quack-kernels>=0.5.3"
    rm -rf .fa4a .fa4b && mkdir -p .fa4a .fa4b "$tmp/cu13"
    (cd "$tmp/cu13" && python3 -m zipfile -e "$tmp"/nvidia_cutlass_dsl_libs_cu13-*.whl .)
    tar -cf - -C "$tmp/cu13" . | xz -9e -T2 > "$tmp/cu13.tar.xz"   # 92 MB as a wheel, ~64 MB as xz
    split -b 32000000 "$tmp/cu13.tar.xz" "$tmp/cu13.part."
    mv "$tmp/cu13.part.aa" .fa4a/ && mv "$tmp/cu13.part.ab" .fa4b/
    rm "$tmp"/nvidia_cutlass_dsl_libs_cu13-*.whl && mv "$tmp"/*.whl .fa4a/
    du -sh .fa4a .fa4b
    ;;
stash)  # device, call 1: keep part 1 and the small wheels where call 2 finds them
    mkdir -p /tmp/fa4stash && cp .fa4a/* /tmp/fa4stash/ && ls /tmp/fa4stash
    ;;
install)  # device, call 2, sourced: unpack everything into /tmp/site and put it on PYTHONPATH
    extra=()
    if [ -d .whl ]; then extra=(.whl/*.whl); fi
    mkdir -p /tmp/site
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
        /tmp/fa4stash/*.whl "${extra[@]}"
    # after pip: its --upgrade would replace the nvidia_cutlass_dsl folder the tarball adds to
    cat /tmp/fa4stash/cu13.part.aa .fa4b/cu13.part.ab \
        | python3 -c "import sys, tarfile; tarfile.open(fileobj=sys.stdin.buffer, mode='r|xz').extractall('/tmp/site')"
    # the DSL's own .pth line, which PYTHONPATH folders do not run
    export PYTHONPATH=/tmp/site/nvidia_cutlass_dsl/dsl_packages:/tmp/site${PYTHONPATH:+:$PYTHONPATH}
    ;;
*)
    echo "usage: $0 prepare | stash | (source) install" >&2
    exit 2
    ;;
esac
