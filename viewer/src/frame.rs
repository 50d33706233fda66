//! Per-frame preparation: which marks, waits and spans are visible at the current zoom (one
//! mark per pixel column per lane at most, events in the same column merged), and the single
//! [`Mesh`] that draws them. No egui `Ui` here, so it is benchmarked and tested without a window.

use std::ops::Range;

use epaint::{Color32, Mesh, Pos2, Rect};

use crate::lod::{gallop, visible_pieces, Category};
use crate::model::{Model, WaitKind};
use crate::view::Viewport;

/// Span nesting depths drawn (deeper spans are kept in the model but not drawn).
pub const MAX_SPAN_DEPTH: usize = 3;

/// What to prepare.
#[derive(Debug, Clone)]
pub struct FrameRequest {
    /// The visible time range.
    pub view: Viewport,
    /// Width of the timeline in pixels.
    pub width: f32,
    /// The lanes on screen.
    pub lanes: Range<usize>,
    /// Width of a merging column in pixels (1 = one mark per pixel column).
    pub column_px: f32,
}

/// Events drawn as one mark: a single event, or every event of a run of adjacent columns
/// whose events are all of the same one category, or all of mixed categories.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mark {
    /// The lane.
    pub lane: u32,
    /// Left edge, pixels from the timeline's left (the event's x for a single event).
    pub x0: f32,
    /// Right edge (equal to `x0` for a single event).
    pub x1: f32,
    /// Number of events merged.
    pub count: u32,
    /// Categories present (bits of [`Category`]).
    pub mask: u16,
    /// Index in the lane's [`crate::lod::EventIndex`] of the first event.
    pub first: u32,
}

impl Mark {
    /// The category of its events when they all have one (`None`: mixed, drawn neutral).
    pub fn category(&self) -> Option<Category> {
        if self.mask.count_ones() == 1 {
            Category::dominant(self.mask)
        } else {
            None
        }
    }
}

/// A visible interval (wait or span), possibly several merged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    /// The lane.
    pub lane: u32,
    /// Span nesting depth (0 for waits).
    pub depth: u8,
    /// Left edge in pixels.
    pub x0: f32,
    /// Right edge in pixels.
    pub x1: f32,
    /// Index of the first interval in its set.
    pub first: u32,
    /// Number of intervals merged.
    pub count: u32,
    /// Tag of the first interval ([`WaitKind`] or span name id).
    pub tag: u32,
}

/// Everything visible in one frame. Reused between frames to avoid allocation.
#[derive(Debug, Clone, Default)]
pub struct FramePlan {
    /// Event marks, lane by lane, left to right.
    pub marks: Vec<Mark>,
    /// Wait intervals.
    pub waits: Vec<Bar>,
    /// Span bars.
    pub spans: Vec<Bar>,
}

/// Fills `plan` with what is visible for `req`.
pub fn prepare(model: &Model, req: &FrameRequest, plan: &mut FramePlan) {
    plan.marks.clear();
    plan.waits.clear();
    plan.spans.clear();
    let (t0, t1) = (req.view.t0, req.view.t1);
    let ppt = req.view.px_per_tick(req.width);
    let col_px = req.column_px.max(1.0);
    let col_t = col_px as f64 / ppt;
    let lanes = req.lanes.start.min(model.lanes.len())..req.lanes.end.min(model.lanes.len());
    for lane in lanes {
        let l = &model.lanes[lane];
        let idx = &l.events;
        let i0 = idx.lower_bound(t0);
        let end = idx.ts.partition_point(|&x| (x as f64) <= t1);
        let run_start = plan.marks.len();
        let lane_id = lane as u32;
        // Column `col` holding events `i..j`: one event at its own x, several merged.
        let mut emit = |col: f64, i: usize, j: usize, mask: u16| {
            let count = (j - i) as u32;
            let mark = if count == 1 {
                let x = ((idx.ts[i] as f64 - t0) * ppt) as f32;
                Mark {
                    lane: lane_id,
                    x0: x,
                    x1: x,
                    count,
                    mask: idx.bit(i),
                    first: i as u32,
                }
            } else {
                let x0 = col as f32 * col_px;
                Mark {
                    lane: lane_id,
                    x0,
                    x1: x0 + col_px,
                    count,
                    mask,
                    first: i as u32,
                }
            };
            if plan.marks.len() > run_start {
                let last = plan.marks.last_mut().expect("non-empty");
                if last.count > 1
                    && mark.count > 1
                    && mark.x0 - last.x1 < 0.5
                    && last.category() == mark.category()
                {
                    last.x1 = mark.x1;
                    last.count += mark.count;
                    last.mask |= mark.mask;
                    return;
                }
            }
            plan.marks.push(mark);
        };
        match idx.buckets.level_for(col_t / 2.0) {
            Some((k, w)) if end > i0 => {
                // Dense: several buckets per column. Column boundaries snap to the next bucket
                // boundary (less than half a column away); the view's edges stay exact.
                let b = &idx.buckets;
                let origin = b.origin as f64;
                let bucket_at = |t: f64| ((t - origin) / w).ceil().max(0.0) as usize;
                let c_first = ((idx.ts[i0] as f64 - t0) / col_t).floor();
                let c_last = ((idx.ts[end - 1] as f64 - t0) / col_t).floor();
                let mut i = i0;
                let mut c = c_first;
                while c <= c_last && i < end {
                    let (b0, b1) = (bucket_at(t0 + c * col_t), bucket_at(t0 + (c + 1.0) * col_t));
                    let snapped = b.start(k, b1);
                    let j = if c == c_last { end } else { snapped.clamp(i, end) };
                    if j > i {
                        let exact = c == c_first || j != snapped || b.start(k, b0) != i;
                        let mask = if exact { idx.mask(i, j) } else { b.mask(k, b0, b1) };
                        emit(c, i, j, mask);
                        i = j;
                    }
                    c += 1.0;
                }
            }
            _ => {
                // Sparse: jump from event to event, one search per non-empty column.
                let mut i = i0;
                while i < end {
                    let col = ((idx.ts[i] as f64 - t0) / col_t).floor();
                    let col_end = t0 + (col + 1.0) * col_t;
                    let j = gallop(&idx.ts, i + 1, end, |x| (x as f64) < col_end);
                    emit(col, i, j, idx.mask(i, j));
                    i = j;
                }
            }
        }
        visible_pieces(&l.waits, t0, t1, ppt, |p| {
            plan.waits.push(Bar {
                lane: lane as u32,
                depth: 0,
                x0: p.x0,
                x1: p.x1,
                first: p.first,
                count: p.count,
                tag: l.waits.tag[p.first as usize],
            })
        });
        for (depth, set) in l.spans.iter().enumerate().take(MAX_SPAN_DEPTH) {
            visible_pieces(set, t0, t1, ppt, |p| {
                plan.spans.push(Bar {
                    lane: lane as u32,
                    depth: depth as u8,
                    x0: p.x0,
                    x1: p.x1,
                    first: p.first,
                    count: p.count,
                    tag: set.tag[p.first as usize],
                })
            });
        }
    }
}

/// The colour of merged marks whose events are of several categories.
pub const MIXED: Color32 = Color32::from_rgb(150, 165, 190);

/// The colour of an event category.
pub fn category_color(c: Category) -> Color32 {
    match c {
        Category::Task => Color32::from_rgb(90, 160, 255),
        Category::Lock => Color32::from_rgb(255, 170, 40),
        Category::Condvar => Color32::from_rgb(200, 130, 255),
        Category::Channel => Color32::from_rgb(60, 200, 120),
        Category::Once => Color32::from_rgb(170, 200, 80),
        Category::Group => Color32::from_rgb(40, 190, 200),
        Category::Atomic => Color32::from_rgb(230, 110, 190),
        Category::Read => Color32::from_rgb(240, 230, 90),
        Category::Write => Color32::from_rgb(255, 80, 70),
        Category::Other => Color32::from_rgb(150, 150, 150),
    }
}

/// The shading of a wait kind (translucent).
pub fn wait_color(w: WaitKind) -> Color32 {
    match w {
        WaitKind::Lock => Color32::from_rgba_unmultiplied(255, 140, 0, 70),
        WaitKind::Send => Color32::from_rgba_unmultiplied(40, 200, 110, 70),
        WaitKind::Condvar => Color32::from_rgba_unmultiplied(190, 110, 255, 70),
        WaitKind::Barrier => Color32::from_rgba_unmultiplied(40, 190, 200, 70),
    }
}

/// The colour of a span bar at a nesting depth.
pub fn span_color(depth: u8) -> Color32 {
    [
        Color32::from_rgb(70, 110, 170),
        Color32::from_rgb(90, 135, 190),
        Color32::from_rgb(115, 160, 210),
    ][(depth as usize).min(2)]
}

/// Where lanes are on screen.
#[derive(Debug, Clone, Copy)]
pub struct MeshLayout {
    /// Top-left corner of the timeline area (x of time `view.t0`, y of lane 0's top).
    pub origin: Pos2,
    /// Height of one lane in pixels.
    pub lane_h: f32,
    /// Width of the timeline in pixels (marks are clipped to it).
    pub width: f32,
}

impl MeshLayout {
    /// Height of a span bar: tall enough for its name in lanes of 48 px or more.
    pub fn span_h(&self) -> f32 {
        if self.lane_h >= 48.0 {
            11.0
        } else {
            3.0
        }
    }

    /// How many span depths fit above the marks.
    pub fn span_depths(&self) -> usize {
        (((self.lane_h * 0.34 - 2.0) / (self.span_h() + 1.0)).floor() as usize).clamp(1, MAX_SPAN_DEPTH)
    }

    /// Top of the span bar of `depth` in `lane`.
    pub fn span_top(&self, lane: u32, depth: u8) -> f32 {
        self.lane_top(lane) + 2.0 + depth as f32 * (self.span_h() + 1.0)
    }

    /// Top of a lane.
    pub fn lane_top(&self, lane: u32) -> f32 {
        self.origin.y + lane as f32 * self.lane_h
    }

    /// Vertical centre of a lane's marks.
    pub fn mark_center(&self, lane: u32) -> f32 {
        self.lane_top(lane) + self.lane_h * 0.62
    }
}

/// Appends the plan's waits, spans and marks to `mesh` (one draw call for the whole frame).
pub fn build_mesh(plan: &FramePlan, layout: &MeshLayout, mesh: &mut Mesh) {
    let (left, right) = (layout.origin.x, layout.origin.x + layout.width);
    let h = layout.lane_h;
    let mut rect = |x0: f32, x1: f32, y0: f32, y1: f32, c: Color32| {
        let (a, b) = ((left + x0).max(left - 2.0), (left + x1).min(right + 2.0));
        if b > a {
            mesh.add_colored_rect(Rect::from_min_max(Pos2::new(a, y0), Pos2::new(b, y1)), c);
        }
    };
    for w in &plan.waits {
        let top = layout.lane_top(w.lane);
        rect(
            w.x0,
            w.x1,
            top + h * 0.30,
            top + h - 1.0,
            wait_color(WaitKind::from_tag(w.tag)),
        );
    }
    let (span_h, depths) = (layout.span_h(), layout.span_depths());
    for s in plan.spans.iter().filter(|s| (s.depth as usize) < depths) {
        let y = layout.span_top(s.lane, s.depth);
        rect(s.x0, s.x1.max(s.x0 + 1.0), y, y + span_h, span_color(s.depth));
    }
    for m in &plan.marks {
        let c = m.category().map_or(MIXED, category_color);
        let cy = layout.mark_center(m.lane);
        if m.count == 1 {
            rect(m.x0 - 1.5, m.x0 + 1.5, cy - h * 0.26, cy + h * 0.26, c);
        } else {
            let density = (m.count as f32 / (m.x1 - m.x0).max(1.0)).log2().clamp(0.0, 6.0) / 6.0;
            let half = h * (0.12 + 0.14 * density);
            rect(
                m.x0,
                m.x1,
                cy - half,
                cy + half,
                c.gamma_multiply(0.55 + 0.45 * density),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo;
    use std::sync::Arc;

    fn model(events: usize) -> Model {
        Model::build("synthetic", Arc::new(demo::synthetic(events, 8, 1)), |_| {})
    }

    #[test]
    fn every_visible_event_is_counted_once() {
        let m = model(20_000);
        // Narrow widths put many events in a column: the bucket (dense) path.
        for (zoom, width) in [
            (1.0, 1000.0),
            (7.0, 640.0),
            (300.0, 1200.0),
            (1.0, 40.0),
            (2.0, 20.0),
        ] {
            let span = (m.t_max - m.t_min) as f64 / zoom;
            let view = Viewport {
                t0: m.t_min as f64 + span * 0.3,
                t1: m.t_min as f64 + span * 1.3,
            };
            let req = FrameRequest {
                view,
                width,
                lanes: 0..m.lanes.len(),
                column_px: 1.0,
            };
            let col_t = view.span() / width as f64;
            let dense = m.lanes[1].events.buckets.level_for(col_t / 2.0).is_some();
            assert_eq!(
                dense,
                width < 100.0,
                "zoom {zoom} width {width} takes the intended path"
            );
            let mut plan = FramePlan::default();
            prepare(&m, &req, &mut plan);
            let drawn: u64 = plan.marks.iter().map(|k| k.count as u64).sum();
            let visible = m
                .trace
                .events
                .iter()
                .filter(|e| (e.ts as f64) >= view.t0 && (e.ts as f64) <= view.t1)
                .count() as u64;
            assert_eq!(drawn, visible, "zoom {zoom}");
            // Never more than about one mark per pixel column per lane.
            assert!(
                plan.marks.len() <= m.lanes.len() * (width as usize + 1),
                "zoom {zoom}"
            );
            assert!(plan.marks.iter().all(|k| k.x0 >= -1.0 && k.x1 <= width + 1.0));
            // Each mark holds the right kinds, and its events lie within a column of it.
            let ppt = view.px_per_tick(width) as f32;
            for k in &plan.marks {
                let idx = &m.lanes[k.lane as usize].events;
                let (a, b) = (k.first as usize, (k.first + k.count) as usize);
                assert_eq!(k.mask, (a..b).fold(0, |acc, i| acc | idx.bit(i)), "zoom {zoom}");
                for i in a..b {
                    let x = (idx.ts[i] as f64 - view.t0) as f32 * ppt;
                    assert!(
                        x >= k.x0 - 1.0 && x <= k.x1 + 1.0,
                        "zoom {zoom}: x {x} outside {k:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn close_zoom_shows_single_events_at_their_time() {
        let m = model(2_000);
        let lane = &m.lanes[1];
        let t = lane.events.ts[10];
        let view = Viewport {
            t0: t as f64 - 0.5,
            t1: t as f64 + 0.5 + 1e-9,
        };
        let req = FrameRequest {
            view,
            width: 100.0,
            lanes: 1..2,
            column_px: 1.0,
        };
        let mut plan = FramePlan::default();
        prepare(&m, &req, &mut plan);
        let same_ts = lane.events.ts.iter().filter(|&&x| x == t).count();
        assert_eq!(
            plan.marks.iter().map(|k| k.count as usize).sum::<usize>(),
            same_ts
        );
        if same_ts == 1 {
            assert_eq!(plan.marks[0].first, lane.events.lower_bound(t as f64) as u32);
            assert!((plan.marks[0].x0 - 50.0).abs() < 0.01);
        }
    }

    #[test]
    fn mesh_has_one_quad_per_visible_item() {
        let m = model(5_000);
        let req = FrameRequest {
            view: Viewport::fit(m.t_min, m.t_max),
            width: 800.0,
            lanes: 0..m.lanes.len(),
            column_px: 2.0,
        };
        let mut plan = FramePlan::default();
        prepare(&m, &req, &mut plan);
        let mut mesh = Mesh::default();
        let layout = MeshLayout {
            origin: Pos2::new(100.0, 20.0),
            lane_h: 30.0,
            width: 800.0,
        };
        build_mesh(&plan, &layout, &mut mesh);
        let items = plan.marks.len() + plan.waits.len() + plan.spans.len();
        assert!(items > 0);
        assert_eq!(mesh.vertices.len(), 4 * items);
        assert_eq!(mesh.indices.len(), 6 * items);
    }
}
