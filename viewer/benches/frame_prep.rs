//! Frame preparation on a large synthetic trace: the time from start to the first timeline
//! frame (read the file, build lanes and level-of-detail indexes, prepare and mesh the first
//! frame), and the per-frame preparation (visible marks + mesh) at several zooms while panning.
//!
//! `cargo bench -p hb-viewer --no-default-features --bench frame_prep [-- EVENTS [TASKS]]`
//! (default 10 000 000 events over 16 tasks). Prints a Markdown table.

use std::sync::Arc;
use std::time::{Duration, Instant};

use epaint::{Mesh, Pos2};
use hb_viewer::frame::{build_mesh, prepare, FramePlan, FrameRequest, MeshLayout};
use hb_viewer::load::{read_trace, Progress};
use hb_viewer::model::Model;
use hb_viewer::view::Viewport;

const WIDTH: f32 = 1600.0;

fn frame(model: &Model, view: Viewport, plan: &mut FramePlan, mesh: &mut Mesh) -> usize {
    let req = FrameRequest {
        view,
        width: WIDTH,
        lanes: 0..model.lanes.len(),
        column_px: 1.0,
    };
    prepare(model, &req, plan);
    mesh.clear();
    let layout = MeshLayout {
        origin: Pos2::new(170.0, 26.0),
        lane_h: 34.0,
        width: WIDTH,
    };
    build_mesh(plan, &layout, mesh);
    plan.marks.len() + plan.waits.len() + plan.spans.len()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let events = args.first().copied().unwrap_or(10_000_000);
    let tasks = args.get(1).copied().unwrap_or(16) as u32;

    let t = Instant::now();
    let trace = hb_viewer::demo::synthetic(events, tasks, 42);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("big.hbt");
    let file = std::io::BufWriter::new(std::fs::File::create(&path).expect("create trace file"));
    trace.write_binary(file, 4096).expect("write trace");
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    drop(trace);
    eprintln!(
        "generated {events} events over {tasks} tasks ({:.0} MB) in {:.1} s",
        size as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );

    // Start to first frame, as hb-view does it (minus creating the window).
    let start = Instant::now();
    let progress = Arc::new(Progress::default());
    let trace = Arc::new(read_trace(&path, &progress).expect("read trace"));
    let read = start.elapsed();
    let model = Model::build("big.hbt", trace.clone(), |_| {});
    let built = start.elapsed();
    let mut plan = FramePlan::default();
    let mut mesh = Mesh::default();
    let fit = Viewport::fit(model.t_min, model.t_max);
    let items = frame(&model, fit, &mut plan, &mut mesh);
    let first = start.elapsed();
    let t = Instant::now();
    let analysis = hb_viewer::findings::analyze(&trace);
    let analyzed = t.elapsed();

    println!("## hb-viewer frame preparation, {events} events, {tasks} tasks, {WIDTH} px wide\n");
    println!("| step | time |");
    println!("| --- | --- |");
    println!(
        "| read the trace file ({:.0} MB) | {:.0} ms |",
        size as f64 / 1e6,
        ms(read)
    );
    println!(
        "| build lanes + level-of-detail indexes | {:.0} ms |",
        ms(built - read)
    );
    println!(
        "| prepare + mesh the first frame ({items} quads) | {:.1} ms |",
        ms(first - built)
    );
    println!("| **start to first timeline frame** | **{:.0} ms** |", ms(first));
    println!(
        "| analysis (background, findings appear when done: {} findings, {} edges) | {:.0} ms |",
        analysis.findings.len(),
        analysis.edges.len(),
        ms(analyzed)
    );
    println!();
    println!(
        "| zoom (× whole trace) | visible events | quads | median prep+mesh | worst of 60 panned frames |"
    );
    println!("| --- | --- | --- | --- | --- |");
    let whole = (model.t_max - model.t_min) as f64;
    for zoom in [1.0, 10.0, 100.0, 1_000.0, 10_000.0, 100_000.0, 1_000_000.0] {
        let span = (whole / zoom).max(20.0);
        let mut times = Vec::new();
        let (mut visible, mut quads) = (0u64, 0usize);
        for step in 0..60 {
            // Pan across a third of the trace (zoomed in: by a view width per frame).
            let center = model.t_min as f64 + whole / 3.0 + step as f64 * (span / 7.0).min(whole / 180.0);
            let view = Viewport {
                t0: center - span / 2.0,
                t1: center + span / 2.0,
            };
            let t = Instant::now();
            quads = frame(&model, view, &mut plan, &mut mesh);
            times.push(t.elapsed());
            visible = plan.marks.iter().map(|m| m.count as u64).sum();
        }
        times.sort();
        println!(
            "| {zoom} | {visible} | {quads} | {:.2} ms | {:.2} ms |",
            ms(times[times.len() / 2]),
            ms(*times.last().expect("60 frames"))
        );
    }
    let idx_bytes: usize = model.lanes.iter().map(|l| l.events.heap_bytes()).sum();
    println!(
        "\nlevel-of-detail index: {:.0} MB ({:.1} bytes/event)",
        idx_bytes as f64 / 1e6,
        idx_bytes as f64 / events as f64
    );
}
