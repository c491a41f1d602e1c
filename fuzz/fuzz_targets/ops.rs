#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| slab_verify::drivers::fuzz::ops(data));
