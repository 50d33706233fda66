//! `hb-scenario`: the sample runner, built inside the test package so that its end-to-end
//! tests can start it through `CARGO_BIN_EXE_hb-scenario` (a binary of another package is
//! not available to them). `hb-scenario record NAME TRACE` records one scenario; every
//! other form is the `hb-samples` command (see `hb_samples::runner`).

fn main() -> std::process::ExitCode {
    hb_samples::runner::main()
}
