//! Raw bytes into the binary trace reader.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = hb_fuzz::read_binary(data);
});
