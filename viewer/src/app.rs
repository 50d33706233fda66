//! The egui application: holds a loaded [`Model`] and a small [`ViewState`]; each panel draws
//! from them and returns [`Action`]s, which are applied once drawing is over.

mod timeline;

use std::path::PathBuf;
use std::sync::Arc;

use eframe::egui::{Color32, Key, RichText};
use hb_format::Trace;

use crate::findings::EDGE_KINDS;
use crate::frame::FramePlan;
use crate::load::{LoadMsg, Loader, Stage};
use crate::model::{EventRef, FindingKind, LinkStyle, Model, SearchHit};
use crate::view::{format_duration, Viewport};

pub use eframe::egui;
pub use timeline::edge_color;

/// Most events kept per search hit.
const SEARCH_LIMIT: usize = 100_000;

/// Something the user asked for, applied after the frame is drawn.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Load a trace file.
    Open(PathBuf),
    /// Select finding `i`, zoom to it and highlight it.
    SelectFinding(usize),
    /// Select the next finding (wrapping).
    NextFinding,
    /// Select the previous finding (wrapping).
    PrevFinding,
    /// Select an event; `focus` also brings it on screen.
    SelectEvent(EventRef, bool),
    /// Clear the selection.
    ClearSelection,
    /// Show the whole trace.
    FitAll,
    /// Zoom to the selected finding or event.
    ZoomToSelection,
    /// Turn the arrows of an edge kind on or off.
    ToggleEdgeKind(usize),
    /// Run the search in [`ViewState::search`].
    Search,
    /// Step through the events of search hit `hit` by `delta`.
    SearchStep(usize, i64),
}

/// What is shown and selected (small, cheap to copy around).
#[derive(Debug, Clone)]
pub struct ViewState {
    /// The visible time range.
    pub viewport: Viewport,
    /// Vertical scroll of the lanes, in pixels.
    pub scroll_y: f32,
    /// The selected event.
    pub selected_event: Option<EventRef>,
    /// The selected finding (index into the analysis' findings).
    pub selected_finding: Option<usize>,
    /// Which edge kinds are drawn (index = position in [`EDGE_KINDS`]).
    pub edge_kinds_on: Vec<bool>,
    /// Draw every edge of the visible events when few enough events are on screen.
    pub all_edges_when_close: bool,
    /// The search box.
    pub search: String,
    /// Results of the last search.
    pub search_hits: Vec<SearchHit>,
    /// Position in each hit's events when stepping through them.
    pub search_pos: Vec<usize>,
    /// Lanes to bring on screen at the next frame (first, last).
    pub reveal_lanes: Option<(usize, usize)>,
    /// Where the timeline was drawn in the last frame (for tests and tools driving the UI).
    pub geometry: Option<TimelineGeometry>,
}

/// Screen geometry of the timeline in the last frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimelineGeometry {
    /// x of the time at the left edge ([`Viewport::t0`]).
    pub left: f32,
    /// Width of the time axis in points.
    pub width: f32,
    /// y of lane 0's top (scrolled: may be above the visible area).
    pub lanes_top: f32,
    /// Height of one lane.
    pub lane_h: f32,
}

impl TimelineGeometry {
    /// Where an event at time `ts` in `lane` is drawn, for the viewport `v`.
    pub fn point(&self, v: &Viewport, lane: usize, ts: u64) -> egui::Pos2 {
        egui::pos2(
            self.left + v.x_of(ts as f64, self.width),
            self.lanes_top + (lane as f32 + 0.62) * self.lane_h,
        )
    }
}

impl Default for ViewState {
    fn default() -> Self {
        ViewState {
            viewport: Viewport { t0: 0.0, t1: 1.0 },
            scroll_y: 0.0,
            selected_event: None,
            selected_finding: None,
            edge_kinds_on: vec![true; EDGE_KINDS.len()],
            all_edges_when_close: true,
            search: String::new(),
            search_hits: Vec::new(),
            search_pos: Vec::new(),
            reveal_lanes: None,
            geometry: None,
        }
    }
}

/// The `hb-view` application.
#[derive(Debug, Default)]
pub struct ViewerApp {
    /// The loaded trace, if any.
    pub model: Option<Model>,
    /// What is shown and selected.
    pub view: ViewState,
    /// A load in progress (also while only the analysis is still running).
    pub loader: Option<Loader>,
    /// The last load error.
    pub error: Option<String>,
    /// The path field of the open bar.
    pub path_input: String,
    plan: FramePlan,
    title_set: bool,
}

impl ViewerApp {
    /// An app with nothing loaded (shows the open bar and accepts dropped files).
    pub fn new() -> ViewerApp {
        ViewerApp::default()
    }

    /// An app that starts loading `path` at once; `ctx` is woken when the loader has news.
    pub fn open(path: PathBuf, ctx: &egui::Context) -> ViewerApp {
        let mut app = ViewerApp::new();
        app.start_load(path, ctx);
        app
    }

    /// An app showing `trace`, arranged and analyzed on this thread (tests, demos).
    pub fn from_trace(name: &str, trace: Trace) -> ViewerApp {
        let trace = Arc::new(trace);
        let mut model = Model::build(name, trace.clone(), |_| {});
        model.analysis = Some(crate::findings::analyze(&trace));
        let mut app = ViewerApp::new();
        app.set_model(model);
        app
    }

    fn set_model(&mut self, model: Model) {
        self.view = ViewState {
            viewport: Viewport::fit(model.t_min, model.t_max),
            ..ViewState::default()
        };
        self.path_input = String::new();
        self.model = Some(model);
        self.title_set = false;
    }

    fn start_load(&mut self, path: PathBuf, ctx: &egui::Context) {
        let ctx = ctx.clone();
        self.error = None;
        self.path_input = path.display().to_string();
        self.loader = Some(Loader::spawn(path, move || ctx.request_repaint()));
    }

    fn poll_loader(&mut self) {
        let Some(loader) = &self.loader else { return };
        let done = loader.progress.stage() == Stage::Done;
        let mut msgs = Vec::new();
        while let Some(msg) = loader.poll() {
            msgs.push(msg);
        }
        if done {
            // Everything was sent before the stage became Done: drain once more, then forget it.
            while let Some(msg) = loader.poll() {
                msgs.push(msg);
            }
            self.loader = None;
        }
        for msg in msgs {
            match msg {
                LoadMsg::Loaded(model) => self.set_model(*model),
                LoadMsg::Analyzed(a) => {
                    if let Some(m) = &mut self.model {
                        m.analysis = Some(*a);
                    }
                }
                LoadMsg::Failed(e) => self.error = Some(e),
            }
        }
    }

    /// Draws the whole window into `ui` and applies what the user asked for.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        self.poll_loader();
        if !self.title_set {
            if let Some(m) = &self.model {
                ui.ctx()
                    .send_viewport_cmd(egui::ViewportCommand::Title(format!("{} — hb-view", m.name)));
                self.title_set = true;
            }
        }
        let mut actions = Vec::new();
        self.dropped_files(ui, &mut actions);
        self.keyboard(ui, &mut actions);
        egui::Panel::top("toolbar").show(ui, |ui| self.toolbar(ui, &mut actions));
        egui::Panel::bottom("status").show(ui, |ui| self.status(ui));
        if self.model.is_some() {
            egui::Panel::left("findings")
                .default_size(330.0)
                .resizable(true)
                .show(ui, |ui| {
                    egui::ScrollArea::vertical().show(ui, |ui| self.findings_panel(ui, &mut actions));
                });
            egui::Panel::right("details")
                .default_size(340.0)
                .resizable(true)
                .show(ui, |ui| {
                    egui::ScrollArea::vertical().show(ui, |ui| self.details_panel(ui, &mut actions));
                });
        }
        egui::CentralPanel::default().show(ui, |ui| match &self.model {
            Some(model) => timeline::show(ui, model, &mut self.view, &mut self.plan, &mut actions),
            None => self.welcome(ui),
        });
        for a in actions {
            self.apply(a, ui.ctx());
        }
        if self.loader.is_some() {
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(100));
        }
    }

    fn dropped_files(&self, ui: &egui::Ui, actions: &mut Vec<Action>) {
        let (dropped, hovering) =
            ui.input(|i| (i.raw.dropped_files.clone(), !i.raw.hovered_files.is_empty()));
        if let Some(path) = dropped
            .into_iter()
            .map(|f| f.path().to_path_buf())
            .find(|p| !p.as_os_str().is_empty())
        {
            actions.push(Action::Open(path));
        }
        if hovering {
            let rect = ui.ctx().content_rect();
            let painter = ui.ctx().layer_painter(egui::LayerId::new(
                egui::Order::Foreground,
                egui::Id::unique("hb-view drop overlay"),
            ));
            painter.rect_filled(rect, 0.0, Color32::from_black_alpha(160));
            painter.text(
                rect.center(),
                egui::Align2::CENTER_CENTER,
                "Drop a trace file to open it",
                egui::FontId::proportional(24.0),
                Color32::WHITE,
            );
        }
    }

    fn keyboard(&self, ui: &egui::Ui, actions: &mut Vec<Action>) {
        if ui.ctx().egui_wants_keyboard_input() || self.model.is_none() {
            return;
        }
        ui.input(|i| {
            if i.key_pressed(Key::N) || i.key_pressed(Key::CloseBracket) {
                actions.push(Action::NextFinding);
            }
            if i.key_pressed(Key::P) || i.key_pressed(Key::OpenBracket) {
                actions.push(Action::PrevFinding);
            }
            if i.key_pressed(Key::F) || i.key_pressed(Key::Home) {
                actions.push(Action::FitAll);
            }
            if i.key_pressed(Key::Z) {
                actions.push(Action::ZoomToSelection);
            }
            if i.key_pressed(Key::Escape) {
                actions.push(Action::ClearSelection);
            }
        });
    }

    fn toolbar(&mut self, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
        ui.horizontal(|ui| {
            ui.label("Trace:");
            let field = ui.add(
                egui::TextEdit::singleline(&mut self.path_input)
                    .hint_text("path to a trace (.hbt binary or STD text), or drop a file")
                    .desired_width(300.0),
            );
            let enter = field.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
            if (ui.button("Open").clicked() || enter) && !self.path_input.trim().is_empty() {
                actions.push(Action::Open(PathBuf::from(self.path_input.trim())));
            }
            if self.model.is_none() {
                return;
            }
            ui.separator();
            if ui
                .button("Fit all")
                .on_hover_text("Show the whole trace (F)")
                .clicked()
            {
                actions.push(Action::FitAll);
            }
            if ui
                .button("Zoom to selection")
                .on_hover_text("Zoom to the selected finding or event (Z)")
                .clicked()
            {
                actions.push(Action::ZoomToSelection);
            }
            ui.separator();
            ui.label("Search:");
            let s = ui.add(
                egui::TextEdit::singleline(&mut self.view.search)
                    .hint_text("object, variable or file:line")
                    .desired_width(180.0),
            );
            if s.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter)) {
                actions.push(Action::Search);
            }
            if ui.button("Find").clicked() {
                actions.push(Action::Search);
            }
        });
        if self.model.is_none() {
            return;
        }
        ui.horizontal_wrapped(|ui| {
            ui.label("Edges:");
            for (k, kind) in EDGE_KINDS.iter().enumerate() {
                let mut on = self.view.edge_kinds_on[k];
                let text = RichText::new(kind.name()).color(edge_color(k as u8));
                if ui.checkbox(&mut on, text).changed() {
                    actions.push(Action::ToggleEdgeKind(k));
                }
            }
            ui.separator();
            ui.checkbox(&mut self.view.all_edges_when_close, "all edges when zoomed in");
        });
    }

    fn status(&self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            if let Some(l) = &self.loader {
                let p = &l.progress;
                let bar = match p.fraction() {
                    Some(f) => egui::ProgressBar::new(f).text(p.text()),
                    None => egui::ProgressBar::new(0.0).animate(true).text(p.text()),
                };
                ui.add(bar.desired_width(320.0));
                ui.label(l.path.display().to_string());
            }
            if let Some(e) = &self.error {
                ui.colored_label(Color32::from_rgb(255, 110, 100), e);
            }
            if let Some(m) = &self.model {
                let unit = m.trace.header.clock_unit_ns;
                ui.label(format!(
                    "{}: {} events, {} tasks, {} long · view {}",
                    m.name,
                    m.trace.events.len(),
                    m.lanes.len(),
                    format_duration((m.t_max - m.t_min) as f64, unit),
                    format_duration(self.view.viewport.span(), unit)
                ));
                if !m.trace.warnings.is_empty() {
                    ui.colored_label(
                        Color32::from_rgb(255, 190, 80),
                        format!(
                            "{} damaged parts skipped (see Diagnostics)",
                            m.trace.warnings.len()
                        ),
                    );
                }
            }
        });
    }

    fn welcome(&self, ui: &mut egui::Ui) {
        ui.vertical_centered(|ui| {
            ui.add_space(ui.available_height() / 3.0);
            ui.heading("hb-view");
            ui.label("Type the path of a trace above and press Enter, or drop a trace file on this window.");
            ui.label("Record one with hb-recorder, or make a demo: cargo run -p hb-viewer --example make_demo_trace");
        });
    }

    fn findings_panel(&self, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
        let Some(model) = &self.model else { return };
        ui.heading("Findings");
        let Some(a) = &model.analysis else {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("analyzing…");
            });
            return;
        };
        ui.label(RichText::new(&a.summary).small());
        if a.findings.is_empty() {
            ui.label("No races and no lock-order cycles.");
        } else {
            ui.label(RichText::new("n / p: next / previous finding").small().weak());
        }
        for (i, f) in a.findings.iter().enumerate() {
            let icon = match f.kind {
                FindingKind::Race => RichText::new("RACE")
                    .small()
                    .strong()
                    .color(Color32::from_rgb(255, 90, 80)),
                FindingKind::Cycle => RichText::new("CYCLE")
                    .small()
                    .strong()
                    .color(Color32::from_rgb(255, 170, 40)),
            };
            ui.horizontal(|ui| {
                ui.label(icon);
                if ui
                    .selectable_label(self.view.selected_finding == Some(i), &f.title)
                    .clicked()
                {
                    actions.push(Action::SelectFinding(i));
                }
            });
        }
        if !self.view.search_hits.is_empty() || !self.view.search.is_empty() {
            ui.separator();
            ui.heading("Search");
            if self.view.search_hits.is_empty() {
                ui.label("no match (press Enter in the search box to search)");
            }
            for (h, hit) in self.view.search_hits.iter().enumerate() {
                ui.horizontal(|ui| {
                    if ui.small_button("<").clicked() {
                        actions.push(Action::SearchStep(h, -1));
                    }
                    if ui.small_button(">").clicked() {
                        actions.push(Action::SearchStep(h, 1));
                    }
                    let pos = self.view.search_pos.get(h).copied().unwrap_or(0);
                    ui.label(format!("{} ({}/{})", hit.label, pos + 1, hit.total));
                });
            }
        }
        let diags = a.diagnostics.len() + model.trace.warnings.len();
        if diags > 0 {
            ui.separator();
            egui::CollapsingHeader::new(format!("Diagnostics ({diags})")).show(ui, |ui| {
                for w in &model.trace.warnings {
                    ui.label(RichText::new(w.to_string()).small());
                }
                for d in a.diagnostics.iter().take(500) {
                    ui.label(RichText::new(d).small());
                }
            });
        }
    }

    fn details_panel(&self, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
        let Some(model) = &self.model else { return };
        let sym = &model.trace.symbols;
        let unit = model.trace.header.clock_unit_ns;
        if let (Some(i), Some(a)) = (self.view.selected_finding, &model.analysis) {
            if let Some(f) = a.findings.get(i) {
                ui.heading(match f.kind {
                    FindingKind::Race => "Race",
                    FindingKind::Cycle => "Lock-order cycle",
                });
                ui.label(RichText::new(&f.title).strong());
                ui.label(
                    RichText::new(match f.kind {
                        FindingKind::Race => {
                            "On the timeline: rings = the two accesses, dashed red = the missing edge, \
                             white arrows = the synchronizations listed below."
                        }
                        FindingKind::Cycle => {
                            "On the timeline: orange arcs = lock held -> lock acquired in one task, \
                             dashed orange = the same lock in the next task of the cycle."
                        }
                    })
                    .small()
                    .weak(),
                );
                for line in &f.detail {
                    ui.label(line);
                }
                ui.horizontal_wrapped(|ui| {
                    for (k, &ev) in f.events.iter().enumerate() {
                        if ui
                            .small_button(format!("event {}", k + 1))
                            .on_hover_text(model.describe(ev))
                            .clicked()
                        {
                            actions.push(Action::SelectEvent(ev, true));
                        }
                    }
                });
                ui.separator();
            }
        }
        ui.heading("Event");
        let Some(ev) = self.view.selected_event else {
            ui.label("Click an event on the timeline.");
            return;
        };
        let Some(e) = usize::try_from(ev).ok().and_then(|i| model.trace.events.get(i)) else {
            ui.label(format!("event #{ev} is not in the trace"));
            return;
        };
        egui::Grid::new("event-details")
            .num_columns(2)
            .striped(true)
            .show(ui, |ui| {
                let mut row = |k: &str, v: String| {
                    ui.label(k);
                    ui.label(v);
                    ui.end_row();
                };
                row("kind", e.kind.name().to_owned());
                row("event", format!("#{ev}"));
                row(
                    "task",
                    model
                        .lanes
                        .get(model.lane_of(e.task).unwrap_or(usize::MAX))
                        .map_or_else(|| format!("T{}", e.task), |l| l.label.clone()),
                );
                if let Some(o) = e.kind.object() {
                    let kind = sym.object(o).map_or("object", |i| i.kind.noun());
                    row("object", format!("{} ({kind} #{o})", sym.object_name(o)));
                }
                row("location", sym.location_string(e.loc));
                if let Some(s) = Model::sequence(&e.kind) {
                    row("sequence", s.to_string());
                }
                row("time", format_duration(e.ts as f64, unit));
                row("what", model.describe(ev));
            });
        let Some(a) = &model.analysis else { return };
        for (title, incoming) in [("Incoming edges", true), ("Outgoing edges", false)] {
            ui.separator();
            ui.label(RichText::new(title).strong());
            let edges: Vec<_> = if incoming {
                a.incoming(ev).copied().collect()
            } else {
                a.outgoing(ev).copied().collect()
            };
            if edges.is_empty() {
                ui.label(RichText::new("none").weak());
            }
            for edge in edges.iter().take(200) {
                let other = if incoming { edge.from } else { edge.to };
                let arrow = if incoming { "<-" } else { "->" };
                let task = model
                    .event_pos(other)
                    .map_or_else(String::new, |(l, _)| model.lanes[l].label.clone());
                let text = RichText::new(format!(
                    "{arrow} {} · {task}: {}",
                    a.kind_name(edge.kind),
                    model.describe(other)
                ))
                .color(edge_color(edge.kind));
                if ui.link(text).clicked() {
                    actions.push(Action::SelectEvent(other, true));
                }
            }
        }
    }

    /// Applies one action.
    pub fn apply(&mut self, action: Action, ctx: &egui::Context) {
        if let Action::Open(path) = action {
            self.start_load(path, ctx);
            return;
        }
        let Some(model) = &self.model else { return };
        let v = &mut self.view;
        let n_findings = model.analysis.as_ref().map_or(0, |a| a.findings.len());
        let whole = (model.t_max - model.t_min).max(1) as f64;
        match action {
            Action::Open(_) => {}
            Action::SelectFinding(i) => select_finding(model, v, i),
            Action::NextFinding | Action::PrevFinding if n_findings > 0 => {
                let i = match (v.selected_finding, &action) {
                    (None, Action::NextFinding) => 0,
                    (None, _) => n_findings - 1,
                    (Some(i), Action::NextFinding) => (i + 1) % n_findings,
                    (Some(i), _) => (i + n_findings - 1) % n_findings,
                };
                select_finding(model, v, i);
            }
            Action::NextFinding | Action::PrevFinding => {}
            Action::SelectEvent(ev, focus) => {
                v.selected_event = Some(ev);
                if let Some((lane, ts)) = model.event_pos(ev) {
                    if focus && !v.viewport.contains(ts) {
                        let span = v.viewport.span();
                        v.viewport = Viewport {
                            t0: ts as f64 - span / 2.0,
                            t1: ts as f64 + span / 2.0,
                        };
                    }
                    if focus {
                        v.reveal_lanes = Some((lane, lane));
                    }
                }
            }
            Action::ClearSelection => {
                v.selected_event = None;
                v.selected_finding = None;
            }
            Action::FitAll => {
                v.viewport = Viewport::fit(model.t_min, model.t_max);
                v.scroll_y = 0.0;
            }
            Action::ZoomToSelection => {
                let finding = v
                    .selected_finding
                    .and_then(|i| model.analysis.as_ref().and_then(|a| a.findings.get(i)));
                let events: Vec<EventRef> = match (finding, v.selected_event) {
                    (Some(f), _) => f.events.clone(),
                    (None, Some(e)) => vec![e],
                    (None, None) => Vec::new(),
                };
                if let Some((lo, hi)) = model.time_span(&events) {
                    v.viewport = Viewport::focus(lo, hi, whole / 2000.0);
                }
            }
            Action::ToggleEdgeKind(k) => {
                if let Some(on) = v.edge_kinds_on.get_mut(k) {
                    *on = !*on;
                }
            }
            Action::Search => {
                v.search_hits = model.search(&v.search, SEARCH_LIMIT);
                v.search_pos = vec![0; v.search_hits.len()];
                if let Some(&ev) = v.search_hits.first().and_then(|h| h.events.first()) {
                    v.selected_event = Some(ev);
                    focus_event(model, v, ev, whole);
                }
            }
            Action::SearchStep(h, delta) => {
                if let Some(hit) = v.search_hits.get(h) {
                    let n = hit.events.len() as i64;
                    if n > 0 {
                        let pos = (v.search_pos[h] as i64 + delta).rem_euclid(n) as usize;
                        v.search_pos[h] = pos;
                        let ev = hit.events[pos];
                        v.selected_event = Some(ev);
                        focus_event(model, v, ev, whole);
                    }
                }
            }
        }
    }
}

/// Brings an event on screen, zooming in if the view is wider than a thousandth of the trace.
fn focus_event(model: &Model, v: &mut ViewState, ev: EventRef, whole: f64) {
    if let Some((lane, ts)) = model.event_pos(ev) {
        let span = v.viewport.span().min(whole / 1000.0);
        v.viewport = Viewport::focus(ts, ts, span);
        v.reveal_lanes = Some((lane, lane));
    }
}

fn select_finding(model: &Model, v: &mut ViewState, i: usize) {
    let Some(f) = model.analysis.as_ref().and_then(|a| a.findings.get(i)) else {
        return;
    };
    v.selected_finding = Some(i);
    v.selected_event = f.events.first().copied();
    let whole = (model.t_max - model.t_min).max(1) as f64;
    if let Some((mut lo, mut hi)) = model.time_span(&f.events) {
        // Also show the synchronizations the explanation lists when they are close by, so
        // the picture shows why the edge is missing (e.g. the unlock that came too early).
        let reach = 3 * (hi - lo).max((whole / 2000.0) as u64);
        for link in f.links.iter().filter(|l| l.style == LinkStyle::Sync) {
            for ev in [link.from, link.to] {
                if let Some((_, ts)) = model.event_pos(ev) {
                    if ts + reach >= lo && ts <= hi + reach {
                        lo = lo.min(ts);
                        hi = hi.max(ts);
                    }
                }
            }
        }
        v.viewport = Viewport::focus(lo, hi, whole / 2000.0);
    }
    let lanes: Vec<usize> = f
        .events
        .iter()
        .filter_map(|&e| model.event_pos(e))
        .map(|p| p.0)
        .collect();
    if let (Some(&lo), Some(&hi)) = (lanes.iter().min(), lanes.iter().max()) {
        v.reveal_lanes = Some((lo, hi));
    }
}

impl eframe::App for ViewerApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }
}
