#!/bin/bash -eu
# Builds every cargo-fuzz target with the base image's nightly toolchain and sanitizer
# (ClusterFuzzLite sets SANITIZER; address is the only one supported for Rust) and copies
# the binaries and seed corpora to $OUT.
cd "$SRC/slab-model/fuzz"
cargo fuzz build -O
release_dir=target/x86_64-unknown-linux-gnu/release
for target in $(cargo fuzz list); do
    cp "$release_dir/$target" "$OUT/"
    # Seed corpus: <target>_seed_corpus.zip next to the binary.
    if [ -d "corpus/$target" ]; then
        (cd "corpus/$target" && zip -q -r "$OUT/${target}_seed_corpus.zip" . -i 'seed-*')
    fi
    if [ -d "regressions/$target" ] && ls "regressions/$target"/* >/dev/null 2>&1; then
        (cd "regressions/$target" && zip -q -r "$OUT/${target}_seed_corpus.zip" . -x '.gitkeep')
    fi
    # The schedule target's RSS grows under ASan (shuttle's coroutine stacks).
    printf '[libfuzzer]\nrss_limit_mb = 4096\ntimeout = 25\n' > "$OUT/$target.options"
done
