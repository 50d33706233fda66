//! Checksum-repaired binary traces into the reader and then the analyzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut data = data.to_vec();
    hb_fuzz::harness::fix_checksums(&mut data);
    if let Some(t) = hb_fuzz::read_binary(&data) {
        hb_fuzz::analyze(&t);
    }
});
