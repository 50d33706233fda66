//! Drives the real viewer UI headlessly (egui_kittest, through the AccessKit tree): open a
//! sample trace with a race, check its lanes and findings are listed, click the race and check
//! the selection and the visible range, toggle an edge kind, step through findings by keyboard.

use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use hb_format::EventKind;
use hb_viewer::app::egui;
use hb_viewer::app::ViewerApp;
use hb_viewer::demo::{demo_trace, ids};
use hb_viewer::findings::EDGE_KINDS;
use hb_viewer::model::FindingKind;

fn harness(app: ViewerApp) -> Harness<'static, ViewerApp> {
    Harness::builder()
        .with_size(egui::vec2(1400.0, 820.0))
        .build_ui_state(|ui, app: &mut ViewerApp| app.show(ui), app)
}

fn demo_app() -> ViewerApp {
    // Through the binary format, as a recorded trace would come.
    let bytes = demo_trace().write_binary(Vec::new(), 8).expect("encode");
    let trace = hb_format::Trace::read_binary(&bytes[..]).expect("decode");
    ViewerApp::from_trace("demo.hbt", trace)
}

/// Asserts that every event in `events` (indices into the loaded trace) is in the visible
/// time range.
fn assert_in_view(app: &ViewerApp, events: impl IntoIterator<Item = u64>) {
    let m = app.model.as_ref().expect("a trace is loaded");
    for ev in events {
        let ts = m.trace.events[ev as usize].ts;
        assert!(app.view.viewport.contains(ts), "{ts} in {:?}", app.view.viewport);
    }
}

#[test]
fn lanes_and_findings_are_listed() {
    let mut h = harness(demo_app());
    h.run();
    for lane in ["main (T0)", "worker-1 (T1)", "worker-2 (T2)"] {
        h.get_by_label(lane);
    }
    let findings = &h
        .state()
        .model
        .as_ref()
        .unwrap()
        .analysis
        .as_ref()
        .unwrap()
        .findings;
    let races = findings.iter().filter(|f| f.kind == FindingKind::Race).count();
    assert_eq!(races, 2, "the demo's two races are found: {findings:#?}");
    let cycles = findings.iter().filter(|f| f.kind == FindingKind::Cycle).count();
    assert_eq!(cycles, 1, "the demo's lock-order cycle is found: {findings:#?}");
    let titles: Vec<String> = findings.iter().map(|f| f.title.clone()).collect();
    for title in &titles {
        h.get_by_label(title);
    }
}

#[test]
fn clicking_a_race_selects_and_zooms_to_both_accesses() {
    let mut h = harness(demo_app());
    h.run();
    let (title, write_ev, read_ev) = {
        let m = h.state().model.as_ref().unwrap();
        let race = m
            .analysis
            .as_ref()
            .unwrap()
            .findings
            .iter()
            .find(|f| f.kind == FindingKind::Race)
            .unwrap();
        let ev = |k: EventKind| m.trace.events.iter().position(|e| e.kind == k).unwrap() as u64;
        (
            race.title.clone(),
            ev(EventKind::VarWrite { var: ids::HITS }),
            ev(EventKind::VarRead { var: ids::HITS }),
        )
    };
    // Start zoomed far away from the race, so the click has to move the view.
    {
        let app = h.state_mut();
        app.view.viewport = hb_viewer::view::Viewport {
            t0: 40_000.0,
            t1: 41_000.0,
        };
    }
    h.run();
    h.get_by_label(&title).click();
    h.run();
    let app = h.state();
    let m = app.model.as_ref().unwrap();
    let findings = &m.analysis.as_ref().unwrap().findings;
    let i = findings.iter().position(|f| f.title == title).unwrap();
    assert_eq!(app.view.selected_finding, Some(i));
    let race = &findings[i];
    let mut accesses = race.events.clone();
    accesses.sort();
    let mut want = vec![write_ev, read_ev];
    want.sort();
    assert_eq!(accesses, want, "{race:#?}");
    assert!(matches!(app.view.selected_event, Some(e) if race.events.contains(&e)));
    assert_in_view(app, [write_ev, read_ev]);
    // The explanation is shown in the details panel.
    h.get_by_label_contains("No happens-before chain orders them");
}

#[test]
fn toggling_an_edge_kind_hides_it() {
    let mut h = harness(demo_app());
    h.run();
    let unlock = EDGE_KINDS.iter().position(|k| k.name() == "unlock").unwrap();
    assert!(h.state().view.edge_kinds_on[unlock]);
    h.get_by_label("unlock").click();
    h.run();
    assert!(!h.state().view.edge_kinds_on[unlock]);
    h.get_by_label("unlock").click();
    h.run();
    assert!(h.state().view.edge_kinds_on[unlock]);
}

#[test]
fn keyboard_steps_through_findings_and_fit_all_restores_the_view() {
    let mut h = harness(demo_app());
    h.run();
    let n = h
        .state()
        .model
        .as_ref()
        .unwrap()
        .analysis
        .as_ref()
        .unwrap()
        .findings
        .len();
    assert!(n >= 2);
    let whole = h.state().view.viewport;
    h.key_press(egui::Key::N);
    h.run();
    assert_eq!(h.state().view.selected_finding, Some(0));
    h.key_press(egui::Key::N);
    h.run();
    assert_eq!(h.state().view.selected_finding, Some(1));
    h.key_press(egui::Key::P);
    h.key_press(egui::Key::P);
    h.run();
    assert_eq!(h.state().view.selected_finding, Some(n - 1));
    assert_ne!(h.state().view.viewport, whole);
    h.key_press(egui::Key::F);
    h.run();
    assert_eq!(h.state().view.viewport, whole);
}

#[test]
fn search_selects_a_matching_event() {
    let mut h = harness(demo_app());
    h.run();
    h.state_mut().view.search = "lock_b".into();
    h.run();
    h.get_by_label("Find").click();
    h.run();
    let app = h.state();
    let m = app.model.as_ref().unwrap();
    assert_eq!(app.view.search_hits.len(), 1);
    assert_eq!(app.view.search_hits[0].total, 6);
    let ev = app.view.selected_event.expect("a search selects its first match");
    assert_eq!(m.trace.events[ev as usize].kind.object(), Some(ids::LOCK_B));
    assert_in_view(app, [ev]);
}

#[test]
fn the_characters_the_viewer_writes_have_glyphs_in_the_default_fonts() {
    // Finding titles, edge links and the ruler use these; a missing glyph panics here.
    let mut h = Harness::new_ui(|ui| {
        ui.label("lock_a -> lock_b <- (×3) 10 µs · analyzing…");
    });
    h.run();
}

#[test]
fn empty_and_lane_only_traces_show_without_panicking() {
    let mut empty = hb_format::Trace::new(hb_format::Header::new("empty"));
    let mut h = harness(ViewerApp::from_trace("empty.hbt", empty));
    h.run();
    h.key_press(egui::Key::F);
    h.key_press(egui::Key::N);
    h.run();
    assert!(h.state().model.as_ref().unwrap().lanes.is_empty());
    // A task defined but without events still gets a lane.
    empty = hb_format::Trace::new(hb_format::Header::new("idle"));
    empty.define(hb_format::Def::task(3, None));
    let mut h = harness(ViewerApp::from_trace("idle.hbt", empty));
    h.run();
    h.get_by_label("T3");
}

#[test]
fn the_welcome_screen_opens_a_typed_path_and_reports_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("not-a-trace.hbt");
    std::fs::write(&bad, b"HBTRACE\n garbage that is not a header").unwrap();
    let mut h = harness(ViewerApp::new());
    h.run();
    h.get_by_label_contains("drop a trace file");
    h.state_mut().path_input = bad.display().to_string();
    h.run();
    h.get_by_label("Open").click();
    // The load runs on another thread: step until it has reported.
    for _ in 0..200 {
        // `step`, not `run`: the progress bar keeps asking for repaints while loading.
        h.step();
        if h.state().error.is_some() || h.state().model.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let err = h.state().error.clone().expect("the bad file is reported");
    assert!(err.contains("not-a-trace.hbt"), "{err}");
    assert!(h.state().model.is_none());

    let good = dir.path().join("demo.hbt");
    demo_trace()
        .write_binary(std::fs::File::create(&good).unwrap(), 8)
        .unwrap();
    h.state_mut().path_input = good.display().to_string();
    h.run();
    h.get_by_label("Open").click();
    for _ in 0..500 {
        h.step();
        if h.state().model.as_ref().is_some_and(|m| m.analysis.is_some()) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let m = h.state().model.as_ref().expect("the good file loads");
    assert_eq!(m.name, "demo.hbt");
    assert!(m.analysis.is_some(), "and is analyzed");
    assert!(h.state().error.is_none());
    h.get_by_label("worker-2 (T2)");
}

/// A file dropped on the window, as the windowing integration would hand it over.
#[derive(Debug)]
struct Dropped(std::path::PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &std::path::Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

#[test]
fn dropping_a_file_on_the_window_opens_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dropped.hbt");
    demo_trace()
        .write_binary(std::fs::File::create(&path).unwrap(), 8)
        .unwrap();
    let mut h = harness(ViewerApp::new());
    h.run();
    h.input_mut()
        .dropped_files
        .push(std::sync::Arc::new(Dropped(path)));
    for _ in 0..500 {
        h.step();
        if h.state().model.as_ref().is_some_and(|m| m.analysis.is_some()) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let m = h.state().model.as_ref().expect("the dropped file loads");
    assert_eq!(m.name, "dropped.hbt");
    assert_eq!(m.lanes.len(), 3);
}

#[test]
fn clicking_the_cycle_shows_every_lock_of_it() {
    let mut h = harness(demo_app());
    h.run();
    let title = {
        let m = h.state().model.as_ref().unwrap();
        let f = &m.analysis.as_ref().unwrap().findings;
        f.iter()
            .find(|f| f.kind == FindingKind::Cycle)
            .unwrap()
            .title
            .clone()
    };
    assert_eq!(title, "lock-order cycle: lock_a -> lock_b -> lock_a");
    h.get_by_label(&title).click();
    h.run();
    let app = h.state();
    let m = app.model.as_ref().unwrap();
    let f = &m.analysis.as_ref().unwrap().findings[app.view.selected_finding.unwrap()];
    assert_eq!(f.title, title);
    // Both tasks' "hold one, acquire the other" pairs are highlighted and on screen.
    assert_eq!(f.events.len(), 4);
    let mut tasks: Vec<u32> = f
        .events
        .iter()
        .map(|&e| m.trace.events[e as usize].task)
        .collect();
    tasks.dedup();
    assert_eq!(tasks, vec![2, 1]);
    assert_in_view(app, f.events.iter().copied());
    h.get_by_label_contains("acquires lock_b");
}

#[test]
fn clicking_an_event_selects_it_and_its_edges_lead_to_the_partner() {
    let mut h = harness(demo_app());
    h.run();
    // Zoom to the `hits` race: worker-2's lock of counter_lock is on screen (the explanation's
    // synchronization).
    let title = "race on hits: write worker-1 (T1) / read worker-2 (T2)";
    h.get_by_label(title).click();
    h.run();
    let (lock, unlock, point) = {
        let app = h.state();
        let m = app.model.as_ref().unwrap();
        let find = |task: u32, unlock: bool| {
            m.trace
                .events
                .iter()
                .position(|e| {
                    e.task == task
                        && match e.kind {
                            EventKind::MutexLock { mutex, .. } => !unlock && mutex == ids::COUNTER_LOCK,
                            EventKind::MutexUnlock { mutex, .. } => unlock && mutex == ids::COUNTER_LOCK,
                            _ => false,
                        }
                })
                .unwrap() as u64
        };
        let (lock, unlock) = (find(2, false), find(1, true));
        let (lane, ts) = m.event_pos(lock).unwrap();
        let geo = app.view.geometry.expect("the timeline was drawn");
        (lock, unlock, geo.point(&app.view.viewport, lane, ts))
    };
    h.event(egui::Event::PointerMoved(point));
    h.event(egui::Event::PointerButton {
        pos: point,
        button: egui::PointerButton::Primary,
        pressed: true,
        modifiers: egui::Modifiers::NONE,
    });
    h.event(egui::Event::PointerButton {
        pos: point,
        button: egui::PointerButton::Primary,
        pressed: false,
        modifiers: egui::Modifiers::NONE,
    });
    h.run();
    assert_eq!(h.state().view.selected_event, Some(lock));
    // The details panel lists the incoming unlock edge; following it selects the unlock.
    h.get_by_label_contains("<- unlock").click();
    h.run();
    assert_eq!(h.state().view.selected_event, Some(unlock));
    h.get_by_label_contains("-> unlock");
}

#[test]
fn ctrl_wheel_zooms_around_the_pointer_and_dragging_pans() {
    let mut h = harness(demo_app());
    h.run();
    let (geo, before) = {
        let v = &h.state().view;
        (v.geometry.expect("timeline drawn"), v.viewport)
    };
    let pointer = egui::pos2(geo.left + geo.width * 0.25, geo.lanes_top + geo.lane_h * 1.5);
    let anchor = before.t_of(pointer.x - geo.left, geo.width);
    h.event(egui::Event::PointerMoved(pointer));
    h.run();
    // What egui makes of ctrl+wheel and of a pinch.
    h.event(egui::Event::Zoom(2.0));
    h.run();
    let after = h.state().view.viewport;
    assert!(
        (after.span() - before.span() / 2.0).abs() < 1e-6 * before.span(),
        "{before:?} -> {after:?}"
    );
    let anchor_after = after.t_of(pointer.x - geo.left, geo.width);
    assert!(
        (anchor_after - anchor).abs() < after.span() * 1e-4,
        "{anchor} -> {anchor_after}"
    );

    // Drag 100 points to the left: later times come into view.
    let px = after.span() / geo.width as f64;
    h.drag_at(pointer);
    h.run();
    h.event(egui::Event::PointerMoved(pointer - egui::vec2(100.0, 0.0)));
    h.run();
    h.event(egui::Event::PointerButton {
        pos: pointer - egui::vec2(100.0, 0.0),
        button: egui::PointerButton::Primary,
        pressed: false,
        modifiers: egui::Modifiers::NONE,
    });
    h.run();
    let panned = h.state().view.viewport;
    assert!((panned.span() - after.span()).abs() < 1e-9);
    assert!(
        (panned.t0 - (after.t0 + 100.0 * px)).abs() < px,
        "{after:?} -> {panned:?}"
    );
}
