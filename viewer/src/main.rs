//! `hb-view [TRACE]`: opens the viewer window, loading TRACE if given.

use std::path::PathBuf;
use std::process::ExitCode;

use eframe::egui;
use hb_viewer::app::ViewerApp;

const USAGE: &str = "usage: hb-view [TRACE]

Shows an hb trace (binary, or STD text) as one lane per task with the happens-before
edges, data races and lock-order cycles that hb-analyzer finds. Without TRACE, type a
path in the window or drop a file on it.

Keys: n/p next/previous finding, f fit all, z zoom to selection, Esc clear selection.
Mouse: ctrl+wheel or pinch zooms around the cursor, drag or wheel pans, double-click zooms in.";

fn main() -> ExitCode {
    let mut path: Option<PathBuf> = None;
    for arg in std::env::args_os().skip(1) {
        match arg.to_str() {
            Some("-h" | "--help") => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            Some(s) if s.starts_with('-') => {
                eprintln!("hb-view: unknown option {s}\n\n{USAGE}");
                return ExitCode::from(2);
            }
            _ if path.is_some() => {
                eprintln!("hb-view: give at most one trace\n\n{USAGE}");
                return ExitCode::from(2);
            }
            _ => path = Some(PathBuf::from(arg)),
        }
    }
    let title = match &path {
        Some(p) => format!(
            "{} — hb-view",
            p.file_name()
                .map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned())
        ),
        None => "hb-view".to_owned(),
    };
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title(title)
            .with_inner_size([1400.0, 820.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    let result = eframe::run_native(
        "hb-view",
        options,
        Box::new(move |cc| {
            Ok(Box::new(match path {
                Some(p) => ViewerApp::open(p, &cc.egui_ctx),
                None => ViewerApp::new(),
            }))
        }),
    );
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hb-view: cannot open a window: {e}");
            ExitCode::FAILURE
        }
    }
}
