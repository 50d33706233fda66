//! Writes the demo trace (three tasks, a race, a lock-order cycle, a blocked rendezvous send,
//! lock waits and spans) as a binary hb trace: `cargo run -p hb-viewer --example
//! make_demo_trace [OUT]` (default `demo.hbt`).

use std::fs::File;
use std::io::BufWriter;

fn main() -> std::io::Result<()> {
    let out = std::env::args().nth(1).unwrap_or_else(|| "demo.hbt".to_owned());
    let trace = hb_viewer::demo::demo_trace();
    trace.write_binary(BufWriter::new(File::create(&out)?), 64)?;
    println!("wrote {} events to {out}", trace.events.len());
    Ok(())
}
