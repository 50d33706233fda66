//! Writes a trace to look at: by default the demo trace (three tasks, two races, a lock-order
//! cycle, a blocked rendezvous send, lock waits and spans); with an event count, the large
//! synthetic trace the benchmark uses.
//!
//! `cargo run -p hb-viewer --example make_demo_trace [OUT [EVENTS [TASKS]]]`
//! (default `demo.hbt`; e.g. `big.hbt 10000000 16`).

use std::fs::File;
use std::io::BufWriter;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = args.first().cloned().unwrap_or_else(|| "demo.hbt".to_owned());
    let number = |i: usize, what: &str| -> Result<Option<usize>, String> {
        args.get(i)
            .map(|a| {
                a.parse::<usize>()
                    .map_err(|_| format!("{what} must be a number, got {a:?}"))
            })
            .transpose()
    };
    let (events, tasks) = match (number(1, "EVENTS"), number(2, "TASKS")) {
        (Ok(e), Ok(t)) => (e, t),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("make_demo_trace: {e}\nusage: make_demo_trace [OUT [EVENTS [TASKS]]]");
            return ExitCode::from(2);
        }
    };
    let trace = match events {
        Some(n) => hb_viewer::demo::synthetic(n, tasks.unwrap_or(16) as u32, 42),
        None => hb_viewer::demo::demo_trace(),
    };
    let written = File::create(&out).and_then(|f| trace.write_binary(BufWriter::new(f), 4096).map(|_| ()));
    match written {
        Ok(()) => {
            println!("wrote {} events to {out}", trace.events.len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("make_demo_trace: cannot write {out}: {e}");
            ExitCode::FAILURE
        }
    }
}
