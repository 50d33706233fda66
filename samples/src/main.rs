//! `hb-samples`: runs hb's sample programs and shows what hb finds in them.
//!
//! `cargo run -p hb-samples` records every scenario (each in its own process), analyzes the
//! traces and prints one verdict per scenario, then the findings. See
//! [`hb_samples::runner`] for the command line.

fn main() -> std::process::ExitCode {
    hb_samples::runner::main()
}
