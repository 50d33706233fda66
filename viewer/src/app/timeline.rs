//! The timeline: ruler, lane labels, the level-of-detail mesh, highlights and arrows, and the
//! mouse interaction (zoom around the cursor, pan, hover, click to select).

use eframe::egui::{self, Align2, Color32, FontId, Pos2, Rect, Sense, Shape, Stroke, Vec2};
use epaint::{Mesh, QuadraticBezierShape};

use super::{Action, ViewState};
use crate::frame::{build_mesh, prepare, FramePlan, FrameRequest, MeshLayout};
use crate::lod::Category;
use crate::model::{EventRef, LinkStyle, Model, WaitKind};
use crate::view::format_duration;

/// Width of the lane-label column.
const LABEL_W: f32 = 170.0;
/// Height of the ruler.
const RULER_H: f32 = 26.0;
/// Height of one lane when there are many (lanes grow to fill the height, up to [`MAX_LANE_H`]).
const MIN_LANE_H: f32 = 34.0;
/// Height of one lane when there are few.
const MAX_LANE_H: f32 = 56.0;
/// All edges of the visible events are drawn when at most this many events are on screen.
const CLOSE_ZOOM_EVENTS: u64 = 2_000;

/// The colour of an edge kind (index into [`crate::findings::EDGE_KINDS`]).
pub fn edge_color(kind: u8) -> Color32 {
    const C: [Color32; 10] = [
        Color32::from_rgb(110, 170, 255), // spawn
        Color32::from_rgb(150, 200, 255), // join
        Color32::from_rgb(70, 220, 130),  // chan-send
        Color32::from_rgb(40, 170, 90),   // chan-close
        Color32::from_rgb(150, 230, 170), // chan-capacity
        Color32::from_rgb(255, 180, 60),  // unlock
        Color32::from_rgb(190, 220, 90),  // once
        Color32::from_rgb(60, 210, 220),  // waitgroup
        Color32::from_rgb(40, 160, 200),  // barrier
        Color32::from_rgb(240, 120, 200), // atomic
    ];
    C[(kind as usize).min(C.len() - 1)]
}

const RACE_RED: Color32 = Color32::from_rgb(255, 70, 60);
const CYCLE_ORANGE: Color32 = Color32::from_rgb(255, 160, 30);

/// Screen geometry of one frame.
struct Geo {
    tl: Rect,
    lane_h: f32,
    width: f32,
    origin: Pos2,
}

impl Geo {
    fn x(&self, v: &ViewState, t: u64) -> f32 {
        self.tl.left() + v.viewport.x_of(t as f64, self.width)
    }

    fn lane_y(&self, lane: usize) -> f32 {
        self.origin.y + lane as f32 * self.lane_h + self.lane_h * 0.62
    }

    fn event(&self, model: &Model, v: &ViewState, ev: EventRef) -> Option<Pos2> {
        let (lane, ts) = model.event_pos(ev)?;
        Some(Pos2::new(self.x(v, ts), self.lane_y(lane)))
    }
}

/// Draws the timeline into the rest of `ui` and handles its input.
pub(super) fn show(
    ui: &mut egui::Ui,
    model: &Model,
    v: &mut ViewState,
    plan: &mut FramePlan,
    actions: &mut Vec<Action>,
) {
    let rect = ui.available_rect_before_wrap();
    let resp = ui.allocate_rect(rect, Sense::click_and_drag());
    let tl = Rect::from_min_max(Pos2::new(rect.left() + LABEL_W, rect.top() + RULER_H), rect.max);
    let width = tl.width().max(1.0);
    let n_lanes = model.lanes.len();
    let lane_h = (tl.height() / n_lanes.max(1) as f32).clamp(MIN_LANE_H, MAX_LANE_H);
    let content_h = n_lanes as f32 * lane_h;
    let max_scroll = (content_h - tl.height()).max(0.0);
    if let Some((lo, hi)) = v.reveal_lanes.take() {
        let (top, bottom) = (lo as f32 * lane_h, (hi + 1) as f32 * lane_h);
        if bottom > v.scroll_y + tl.height() {
            v.scroll_y = bottom - tl.height();
        }
        if top < v.scroll_y {
            v.scroll_y = top;
        }
    }
    handle_input(ui, &resp, model, v, tl, max_scroll);
    v.scroll_y = v.scroll_y.clamp(0.0, max_scroll);

    let first = ((v.scroll_y / lane_h).floor() as usize).min(n_lanes);
    let last = (((v.scroll_y + tl.height()) / lane_h).ceil() as usize).min(n_lanes);
    let geo = Geo {
        tl,
        lane_h,
        width,
        origin: Pos2::new(tl.left(), tl.top() - v.scroll_y),
    };
    let req = FrameRequest {
        view: v.viewport,
        width,
        lanes: first..last,
        column_px: 1.0,
    };
    prepare(model, &req, plan);
    v.geometry = Some(super::TimelineGeometry {
        left: tl.left(),
        width,
        lanes_top: geo.origin.y,
        lane_h,
    });

    let painter = ui.painter_at(tl);
    painter.rect_filled(tl, 0.0, ui.visuals().extreme_bg_color);
    let unit = model.trace.header.clock_unit_ns;
    // Lane stripes and lifetimes.
    for lane in first..last {
        let top = geo.origin.y + lane as f32 * lane_h;
        let r = Rect::from_min_max(Pos2::new(tl.left(), top), Pos2::new(tl.right(), top + lane_h));
        if lane % 2 == 1 {
            painter.rect_filled(r, 0.0, Color32::from_white_alpha(6));
        }
        painter.line_segment(
            [r.left_bottom(), r.right_bottom()],
            Stroke::new(1.0, Color32::from_white_alpha(16)),
        );
        let l = &model.lanes[lane];
        let y = geo.lane_y(lane);
        let (xs, xe) = (
            geo.x(v, l.start).max(tl.left() - 10.0),
            geo.x(v, l.end).min(tl.right() + 10.0),
        );
        if xe >= xs {
            painter.line_segment(
                [Pos2::new(xs, y), Pos2::new(xe, y)],
                Stroke::new(1.0, Color32::from_gray(90)),
            );
        }
        let xs = geo.x(v, l.start);
        if tl.x_range().contains(xs) {
            // Spawn: a triangle pointing into the lane.
            painter.add(Shape::convex_polygon(
                vec![
                    Pos2::new(xs, y - 7.0),
                    Pos2::new(xs + 8.0, y),
                    Pos2::new(xs, y + 7.0),
                ],
                Color32::from_rgb(90, 160, 255),
                Stroke::NONE,
            ));
        }
        let xe = geo.x(v, l.end);
        if l.ended && tl.x_range().contains(xe) {
            painter.rect_filled(
                Rect::from_center_size(Pos2::new(xe, y), Vec2::new(3.0, 16.0)),
                0.0,
                Color32::from_rgb(90, 160, 255),
            );
        }
    }
    // Grid lines of the ruler.
    let (_, ticks) = v.viewport.ticks(width, 110.0, 0.0);
    for &t in &ticks {
        let x = tl.left() + v.viewport.x_of(t, width);
        painter.line_segment(
            [Pos2::new(x, tl.top()), Pos2::new(x, tl.bottom())],
            Stroke::new(1.0, Color32::from_white_alpha(10)),
        );
    }
    // Waits, spans and marks: one mesh.
    let mut mesh = Mesh::default();
    let layout = MeshLayout {
        origin: geo.origin,
        lane_h,
        width,
    };
    build_mesh(plan, &layout, &mut mesh);
    painter.add(Shape::mesh(mesh));
    // Span names, where the bars are tall and wide enough.
    if layout.span_h() >= 10.0 {
        let font = FontId::proportional(9.5);
        for s in plan
            .spans
            .iter()
            .filter(|s| s.count == 1 && s.x1 - s.x0 >= 36.0)
            .take(300)
        {
            if s.depth as usize >= layout.span_depths() {
                continue;
            }
            let name = model.trace.symbols.string(s.tag).unwrap_or("?");
            let y = layout.span_top(s.lane, s.depth);
            let bar = Rect::from_min_max(
                Pos2::new(tl.left() + s.x0.max(0.0), y),
                Pos2::new(tl.left() + s.x1.min(width), y + layout.span_h()),
            );
            ui.painter_at(bar.intersect(tl)).text(
                bar.left_center() + Vec2::new(3.0, 0.0),
                Align2::LEFT_CENTER,
                name,
                font.clone(),
                Color32::WHITE,
            );
        }
    }
    // "N events" on merged marks wide enough to hold the text.
    let small = FontId::proportional(10.0);
    let mut labels = 0;
    for m in &plan.marks {
        if m.count > 1 && m.x1 - m.x0 >= 60.0 && labels < 300 {
            let x = tl.left() + (m.x0.max(0.0) + m.x1.min(width)) / 2.0;
            painter.text(
                Pos2::new(x, geo.lane_y(m.lane as usize) + 11.0),
                Align2::CENTER_CENTER,
                format!("{} events", m.count),
                small.clone(),
                Color32::from_gray(200),
            );
            labels += 1;
        }
    }
    let visible_events: u64 = plan.marks.iter().map(|m| m.count as u64).sum();
    draw_edges(&painter, model, v, plan, &geo, visible_events);
    draw_finding(&painter, model, v, &geo);
    draw_selection(&painter, model, v, &geo);
    hover(ui, &resp, model, plan, &geo);
    if resp.clicked() {
        if let Some(ev) = resp.interact_pointer_pos().and_then(|p| pick(model, v, &geo, p)) {
            actions.push(Action::SelectEvent(ev, false));
        }
    }
    if resp.double_clicked() {
        if let Some(p) = resp.interact_pointer_pos() {
            let t = v.viewport.t_of(p.x - tl.left(), width);
            v.viewport.zoom_around(t, 4.0, whole_span(model) * 3.0);
        }
    }

    // Ruler.
    let ruler = Rect::from_min_max(
        Pos2::new(tl.left(), rect.top()),
        Pos2::new(rect.right(), tl.top()),
    );
    let rp = ui.painter_at(ruler);
    rp.rect_filled(ruler, 0.0, ui.visuals().panel_fill);
    for &t in &ticks {
        let x = tl.left() + v.viewport.x_of(t, width);
        rp.line_segment(
            [Pos2::new(x, ruler.bottom() - 6.0), Pos2::new(x, ruler.bottom())],
            Stroke::new(1.0, Color32::GRAY),
        );
        rp.text(
            Pos2::new(x + 3.0, ruler.top() + 3.0),
            Align2::LEFT_TOP,
            format_duration(t, unit),
            FontId::proportional(11.0),
            ui.visuals().text_color(),
        );
    }
    // Lane labels (real widgets, so they can be hovered and found by accessibility tools).
    let col = Rect::from_min_max(
        Pos2::new(rect.left(), tl.top()),
        Pos2::new(tl.left(), rect.bottom()),
    );
    ui.painter_at(col).rect_filled(col, 0.0, ui.visuals().panel_fill);
    let mut labels_ui = ui.new_child(egui::UiBuilder::new().max_rect(col));
    labels_ui.set_clip_rect(col);
    for lane in first..last {
        let l = &model.lanes[lane];
        let top = geo.origin.y + lane as f32 * lane_h;
        let r = Rect::from_min_max(
            Pos2::new(col.left() + 6.0, top + 4.0),
            Pos2::new(col.right() - 4.0, top + lane_h - 4.0),
        );
        let status = if l.ended {
            "ended"
        } else {
            "still running at trace end"
        };
        let layout = egui::Layout::left_to_right(egui::Align::Center);
        labels_ui
            .scope_builder(egui::UiBuilder::new().max_rect(r).layout(layout), |ui| {
                ui.add(egui::Label::new(&l.label).truncate())
            })
            .inner
            .on_hover_text(format!(
                "{}: {} events, {} waits; started at {}, last event at {} ({status})",
                l.label,
                l.events.len(),
                l.waits.len(),
                format_duration(l.start as f64, unit),
                format_duration(l.end as f64, unit),
            ));
    }
}

fn whole_span(model: &Model) -> f64 {
    (model.t_max - model.t_min).max(1) as f64
}

fn handle_input(
    ui: &egui::Ui,
    resp: &egui::Response,
    model: &Model,
    v: &mut ViewState,
    tl: Rect,
    max_scroll: f32,
) {
    let width = tl.width().max(1.0);
    let max_span = whole_span(model) * 3.0;
    if resp.dragged() {
        let d = resp.drag_delta();
        v.viewport.pan_px(d.x, width);
        v.scroll_y -= d.y;
    }
    if !resp.hovered() {
        return;
    }
    let (zoom, scroll, pointer) =
        ui.input(|i| (i.zoom_delta(), i.smooth_scroll_delta, i.pointer.hover_pos()));
    if zoom != 1.0 {
        let x = pointer.map_or(tl.center().x, |p| p.x) - tl.left();
        let anchor = v.viewport.t_of(x, width);
        v.viewport.zoom_around(anchor, zoom as f64, max_span);
    } else {
        if scroll.x != 0.0 {
            v.viewport.pan_px(scroll.x, width);
        }
        if scroll.y != 0.0 {
            if max_scroll > 0.0 {
                v.scroll_y -= scroll.y;
            } else {
                v.viewport.pan_px(scroll.y, width);
            }
        }
    }
}

/// The event nearest to `p` within 6 pixels on the lane under it.
fn pick(model: &Model, v: &ViewState, geo: &Geo, p: Pos2) -> Option<EventRef> {
    if !geo.tl.contains(p) {
        return None;
    }
    let lane = ((p.y - geo.origin.y) / geo.lane_h).floor();
    let l = model.lanes.get(lane as usize).filter(|_| lane >= 0.0)?;
    let x = p.x - geo.tl.left();
    let t = v.viewport.t_of(x, geo.width);
    let (lo, hi) = (
        v.viewport.t_of(x - 6.0, geo.width),
        v.viewport.t_of(x + 6.0, geo.width),
    );
    let (a, b) = (
        l.events.lower_bound(lo),
        l.events.ts.partition_point(|&s| (s as f64) <= hi),
    );
    (a..b)
        .min_by(|&i, &j| {
            let (di, dj) = (
                (l.events.ts[i] as f64 - t).abs(),
                (l.events.ts[j] as f64 - t).abs(),
            );
            di.total_cmp(&dj)
        })
        .map(|i| l.events.event[i] as EventRef)
}

fn hover(ui: &egui::Ui, resp: &egui::Response, model: &Model, plan: &FramePlan, geo: &Geo) {
    let Some(p) = resp.hover_pos().filter(|p| geo.tl.contains(*p)) else {
        return;
    };
    let lane = ((p.y - geo.origin.y) / geo.lane_h).floor();
    if lane < 0.0 {
        return;
    }
    let lane = lane as u32;
    let Some(l) = model.lanes.get(lane as usize) else {
        return;
    };
    let x = p.x - geo.tl.left();
    let unit = model.trace.header.clock_unit_ns;
    let mut lines: Vec<String> = Vec::new();
    let near = plan
        .marks
        .iter()
        .filter(|m| m.lane == lane && x >= m.x0 - 4.0 && x <= m.x1 + 4.0)
        .min_by(|a, b| {
            let d = |m: &&crate::frame::Mark| (x - (m.x0 + m.x1) / 2.0).abs();
            d(a).total_cmp(&d(b))
        });
    if let Some(m) = near {
        if m.count == 1 {
            let ev = l.events.event[m.first as usize] as EventRef;
            lines.push(model.describe(ev));
            lines.push(format!(
                "at {}",
                format_duration(l.events.ts[m.first as usize] as f64, unit)
            ));
        } else {
            let kinds: Vec<&str> = Category::ALL
                .iter()
                .filter(|c| m.mask & c.bit() != 0)
                .map(|c| c.label())
                .collect();
            lines.push(format!("{} events: {}", m.count, kinds.join(", ")));
            lines.push("zoom in (ctrl+wheel, double-click) to separate them".to_owned());
        }
    }
    let y_in_lane = p.y - geo.origin.y - lane as f32 * geo.lane_h;
    for w in plan
        .waits
        .iter()
        .filter(|w| w.lane == lane && x >= w.x0 && x <= w.x1)
    {
        let i = w.first as usize;
        let kind = WaitKind::from_tag(w.tag);
        if w.count == 1 {
            let d = l.waits.end[i] - l.waits.start[i];
            lines.push(format!(
                "{} for {}: {}",
                kind.label(),
                format_duration(d as f64, unit),
                model.describe(l.waits.first_event[i] as EventRef)
            ));
        } else {
            lines.push(format!("{} waits", w.count));
        }
    }
    if y_in_lane < geo.lane_h * 0.34 {
        for s in plan
            .spans
            .iter()
            .filter(|s| s.lane == lane && x >= s.x0 && x <= s.x1.max(s.x0 + 1.0))
        {
            let name = model.trace.symbols.string(s.tag).unwrap_or("?");
            if s.count == 1 {
                let set = &l.spans[s.depth as usize];
                let d = set.end[s.first as usize] - set.start[s.first as usize];
                lines.push(format!("span {name} ({})", format_duration(d as f64, unit)));
            } else {
                lines.push(format!("{} spans", s.count));
            }
        }
    }
    if !lines.is_empty() {
        egui::Tooltip::always_open(
            ui.ctx().clone(),
            ui.layer_id(),
            egui::Id::unique("hb-view timeline hover"),
            egui::PopupAnchor::Pointer,
        )
        .show(|ui| {
            for line in lines {
                ui.label(line);
            }
        });
    }
}

/// Clips the segment `a`→`b` to `r` (Liang–Barsky); `None` when it misses `r`.
fn clip(a: Pos2, b: Pos2, r: Rect) -> Option<(Pos2, Pos2)> {
    let d = b - a;
    let (mut t0, mut t1) = (0.0f32, 1.0f32);
    for (p, q) in [
        (-d.x, a.x - r.left()),
        (d.x, r.right() - a.x),
        (-d.y, a.y - r.top()),
        (d.y, r.bottom() - a.y),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let t = q / p;
            if p < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
        }
    }
    (t0 <= t1).then(|| (a + d * t0, a + d * t1))
}

/// An arrow from `a` to `b` with a head of fixed size (egui's own head is 25 % of the length).
fn arrow(painter: &egui::Painter, a: Pos2, b: Pos2, stroke: Stroke, dashed: bool) {
    let area = painter.clip_rect().expand(40.0);
    if (b - a).length() < 1.0 {
        return;
    }
    if a.y == b.y && (b - a).length() > 0.0 {
        // Same lane: an arc above it.
        if !(area.x_range().contains(a.x) || area.x_range().contains(b.x)) {
            return;
        }
        let c = Pos2::new((a.x + b.x) / 2.0, a.y - 22.0);
        painter.add(QuadraticBezierShape::from_points_stroke(
            [a, c, b],
            false,
            Color32::TRANSPARENT,
            stroke,
        ));
        head(painter, c, b, stroke);
        return;
    }
    let Some((ca, cb)) = clip(a, b, area) else { return };
    if dashed {
        painter.extend(Shape::dashed_line(&[ca, cb], stroke, 6.0, 4.0));
    } else {
        painter.line_segment([ca, cb], stroke);
    }
    if area.contains(b) {
        head(painter, a, b, stroke);
    }
}

fn head(painter: &egui::Painter, from: Pos2, tip: Pos2, stroke: Stroke) {
    let dir = (tip - from).normalized();
    let len = 9.0;
    let back = tip - dir * len;
    let n = Vec2::new(-dir.y, dir.x) * 4.5;
    painter.add(Shape::convex_polygon(
        vec![tip, back + n, back - n],
        stroke.color,
        Stroke::NONE,
    ));
}

fn draw_edges(
    painter: &egui::Painter,
    model: &Model,
    v: &ViewState,
    plan: &FramePlan,
    geo: &Geo,
    visible: u64,
) {
    let Some(a) = &model.analysis else { return };
    let on = |k: u8| v.edge_kinds_on.get(k as usize).copied().unwrap_or(true);
    let mut edges: Vec<(crate::model::Edge, bool)> = Vec::new();
    if let Some(ev) = v.selected_event {
        edges.extend(a.incoming(ev).chain(a.outgoing(ev)).map(|e| (*e, true)));
    }
    if v.all_edges_when_close && visible <= CLOSE_ZOOM_EVENTS {
        for m in &plan.marks {
            let l = &model.lanes[m.lane as usize];
            for i in m.first as usize..(m.first + m.count) as usize {
                let ev = l.events.event[i] as EventRef;
                // Outgoing edges of visible events, and incoming ones whose source is off screen.
                edges.extend(a.outgoing(ev).map(|e| (*e, false)));
                edges.extend(
                    a.incoming(ev)
                        .filter(|e| {
                            model
                                .event_pos(e.from)
                                .is_none_or(|(_, ts)| !v.viewport.contains(ts))
                        })
                        .map(|e| (*e, false)),
                );
            }
        }
    }
    edges.sort_by_key(|(e, sel)| (e.from, e.to, e.kind, !sel));
    edges.dedup_by_key(|(e, _)| (e.from, e.to, e.kind));
    for (e, selected) in edges {
        if !on(e.kind) {
            continue;
        }
        let (Some(p), Some(q)) = (geo.event(model, v, e.from), geo.event(model, v, e.to)) else {
            continue;
        };
        let w = if selected { 2.5 } else { 1.3 };
        // With a finding selected, the other edges step back.
        let color = if v.selected_finding.is_some() && !selected {
            edge_color(e.kind).gamma_multiply(0.3)
        } else {
            edge_color(e.kind)
        };
        arrow(painter, p, q, Stroke::new(w, color), false);
    }
}

fn draw_finding(painter: &egui::Painter, model: &Model, v: &ViewState, geo: &Geo) {
    let Some(f) = v
        .selected_finding
        .and_then(|i| model.analysis.as_ref()?.findings.get(i))
    else {
        return;
    };
    for link in &f.links {
        let (Some(p), Some(q)) = (geo.event(model, v, link.from), geo.event(model, v, link.to)) else {
            continue;
        };
        match link.style {
            LinkStyle::Missing => {
                arrow(painter, p, q, Stroke::new(2.0, RACE_RED), true);
                let mid = Pos2::new((p.x + q.x) / 2.0, (p.y + q.y) / 2.0);
                if painter.clip_rect().contains(mid) {
                    let text = "no happens-before edge orders these accesses";
                    let galley =
                        painter.layout_no_wrap(text.to_owned(), FontId::proportional(12.0), RACE_RED);
                    let r = Align2::CENTER_CENTER
                        .anchor_size(mid + Vec2::new(0.0, -12.0), galley.size())
                        .expand(3.0);
                    painter.rect_filled(r, 3.0, Color32::from_black_alpha(200));
                    painter.galley(r.min + Vec2::splat(3.0), galley, RACE_RED);
                }
            }
            LinkStyle::Sync => arrow(painter, p, q, Stroke::new(2.0, Color32::from_gray(235)), false),
            LinkStyle::LockOrder => arrow(painter, p, q, Stroke::new(2.0, CYCLE_ORANGE), false),
            LinkStyle::SameLock => arrow(painter, p, q, Stroke::new(1.5, CYCLE_ORANGE), true),
        }
    }
    let color = match f.kind {
        crate::model::FindingKind::Race => RACE_RED,
        crate::model::FindingKind::Cycle => CYCLE_ORANGE,
    };
    for (k, &ev) in f.events.iter().enumerate() {
        let Some(p) = geo.event(model, v, ev) else {
            continue;
        };
        painter.circle_stroke(p, 8.0, Stroke::new(2.5, color));
        let name = f.labels.get(k).map_or("?", String::as_str);
        // Alternate above and below so that labels of nearby events do not overlap.
        let (offset, align) = if k % 2 == 0 {
            (Vec2::new(6.0, -10.0), Align2::LEFT_BOTTOM)
        } else {
            (Vec2::new(6.0, 10.0), Align2::LEFT_TOP)
        };
        let galley = painter.layout_no_wrap(format!("{} {name}", k + 1), FontId::proportional(12.0), color);
        let r = align.anchor_size(p + offset, galley.size()).expand(2.0);
        painter.rect_filled(r, 3.0, Color32::from_black_alpha(190));
        painter.galley(r.min + Vec2::splat(2.0), galley, color);
    }
}

fn draw_selection(painter: &egui::Painter, model: &Model, v: &ViewState, geo: &Geo) {
    if let Some(p) = v.selected_event.and_then(|ev| geo.event(model, v, ev)) {
        painter.circle_stroke(p, 11.0, Stroke::new(2.0, Color32::WHITE));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_keeps_inside_segments_and_cuts_long_ones() {
        let r = Rect::from_min_max(Pos2::new(0.0, 0.0), Pos2::new(100.0, 100.0));
        let (a, b) = clip(Pos2::new(10.0, 10.0), Pos2::new(90.0, 50.0), r).unwrap();
        assert_eq!((a, b), (Pos2::new(10.0, 10.0), Pos2::new(90.0, 50.0)));
        let (a, b) = clip(Pos2::new(-1e7, 50.0), Pos2::new(50.0, 50.0), r).unwrap();
        assert_eq!((a.x, b.x), (0.0, 50.0));
        assert!(clip(Pos2::new(-10.0, -10.0), Pos2::new(-5.0, 200.0), r).is_none());
    }
}
