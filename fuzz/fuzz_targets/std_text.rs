//! Bytes into the STD text importer, and what it imports into the analyzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some(t) = hb_fuzz::read_std(data) {
        hb_fuzz::analyze(&t);
    }
});
