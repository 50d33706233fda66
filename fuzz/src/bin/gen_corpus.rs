//! Writes seed corpora: `gen_corpus DIR N` writes N valid binary traces to DIR/binary and
//! N valid STD text traces to DIR/std.

use std::path::PathBuf;

use hb_fuzz::harness::{encode, random_std, random_trace, Rng};

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "corpus".into()));
    let n: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(64);
    std::fs::create_dir_all(dir.join("binary")).expect("create corpus dir");
    std::fs::create_dir_all(dir.join("std")).expect("create corpus dir");
    for seed in 0..n {
        let mut rng = Rng::new(seed);
        let t = random_trace(&mut rng);
        std::fs::write(
            dir.join("binary").join(format!("seed-{seed}.hb")),
            encode(&t, &mut rng),
        )
        .expect("write");
        std::fs::write(
            dir.join("std").join(format!("seed-{seed}.std")),
            random_std(&mut rng),
        )
        .expect("write");
    }
    println!("wrote {n} binary and {n} STD seeds to {}", dir.display());
}
