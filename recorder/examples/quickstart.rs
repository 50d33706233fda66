//! The README's quick start: record a tiny program to `trace.hbt`, then run
//! `hb-analyze trace.hbt`. Kept here so it always compiles (`cargo test` builds examples).
//!
//! `cargo run -p hb-recorder --example quickstart`

use hb_recorder::sync::{Arc, Mutex}; // was std::sync::{Arc, Mutex}
use hb_recorder::{thread, Shared}; // was std::thread
use tracing_subscriber::prelude::*;

fn main() -> std::io::Result<()> {
    tracing_subscriber::registry()
        .with(hb_recorder::layer("trace.hbt")?)
        .init(); // the one line
    let hits = Arc::new(Shared::new("hits", 0u64)); // a tagged shared variable
    let lock = Arc::new(Mutex::named("hits_lock", ()));
    let (h, l) = (hits.clone(), lock.clone());
    let t = thread::spawn(move || {
        let _g = l.lock().unwrap();
        h.set(h.get() + 1);
    });
    {
        let _g = lock.lock().unwrap();
        hits.set(hits.get() + 1);
    }
    t.join().unwrap();
    Ok(()) // the trace is completed at exit (or call hb_recorder::finish())
}
