//! Bytes whose frame checksums are repaired before reading, so that mutations reach the
//! MessagePack and event decoders.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut data = data.to_vec();
    hb_fuzz::harness::fix_checksums(&mut data);
    let _ = hb_fuzz::read_binary(&data);
});
