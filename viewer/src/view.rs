//! The visible time range and its arithmetic (zoom, pan, fit, ruler ticks). Pure.

/// The time range shown across the timeline's width, in trace ticks (fractional).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Viewport {
    /// Time at the left edge.
    pub t0: f64,
    /// Time at the right edge (`> t0`).
    pub t1: f64,
}

/// The narrowest range one can zoom to, in ticks.
pub const MIN_SPAN: f64 = 20.0;

impl Viewport {
    /// A range showing `[lo, hi]` with a small margin on both sides.
    pub fn fit(lo: u64, hi: u64) -> Viewport {
        let (lo, hi) = (lo as f64, hi.max(lo) as f64);
        let span = (hi - lo).max(MIN_SPAN);
        let mid = (lo + hi) / 2.0;
        let half = span * 1.04 / 2.0;
        Viewport {
            t0: mid - half,
            t1: mid + half,
        }
    }

    /// A range showing `[lo, hi]` comfortably: the pair fills the middle 60 %, and at least
    /// `min_span` ticks are shown so that a single event gets context around it.
    pub fn focus(lo: u64, hi: u64, min_span: f64) -> Viewport {
        let (lo, hi) = (lo as f64, hi.max(lo) as f64);
        let span = ((hi - lo) / 0.6).max(min_span).max(MIN_SPAN);
        let mid = (lo + hi) / 2.0;
        Viewport {
            t0: mid - span / 2.0,
            t1: mid + span / 2.0,
        }
    }

    /// Length of the range in ticks.
    pub fn span(&self) -> f64 {
        self.t1 - self.t0
    }

    /// Whether `t` is inside the range.
    pub fn contains(&self, t: u64) -> bool {
        let t = t as f64;
        self.t0 <= t && t <= self.t1
    }

    /// Pixels per tick for a timeline `width` pixels wide.
    pub fn px_per_tick(&self, width: f32) -> f64 {
        width as f64 / self.span()
    }

    /// The x offset (from the timeline's left) of time `t`.
    pub fn x_of(&self, t: f64, width: f32) -> f32 {
        ((t - self.t0) * self.px_per_tick(width)) as f32
    }

    /// The time at x offset `x`.
    pub fn t_of(&self, x: f32, width: f32) -> f64 {
        self.t0 + x as f64 / self.px_per_tick(width)
    }

    /// Zooms by `factor` (> 1 zooms in) keeping time `anchor` at the same pixel; never narrower
    /// than [`MIN_SPAN`] nor wider than `max_span`.
    pub fn zoom_around(&mut self, anchor: f64, factor: f64, max_span: f64) {
        if !(factor.is_finite() && factor > 0.0) {
            return;
        }
        let span = (self.span() / factor).clamp(MIN_SPAN, max_span.max(MIN_SPAN));
        let frac = (anchor - self.t0) / self.span();
        self.t0 = anchor - frac * span;
        self.t1 = self.t0 + span;
    }

    /// Pans by `dx` pixels (positive moves the content right, i.e. shows earlier times).
    pub fn pan_px(&mut self, dx: f32, width: f32) {
        let dt = dx as f64 / self.px_per_tick(width);
        self.t0 -= dt;
        self.t1 -= dt;
    }

    /// Ruler ticks for a timeline `width` pixels wide: a "nice" step (1, 2 or 5 times a power
    /// of ten ticks) at least `min_px` pixels apart, and the tick times in the range, placed at
    /// whole multiples of the step from `origin` (the time the ruler labels as 0).
    pub fn ticks(&self, width: f32, min_px: f32, origin: f64) -> (f64, Vec<f64>) {
        let raw = min_px as f64 / self.px_per_tick(width).max(1e-300);
        let pow = 10f64.powf(raw.max(1.0).log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .into_iter()
            .map(|m| m * pow)
            .find(|&s| s >= raw)
            .unwrap_or(10.0 * pow);
        let first = origin + ((self.t0 - origin) / step).ceil() * step;
        let mut ticks = Vec::new();
        let mut t = first;
        while t <= self.t1 && ticks.len() < 1000 {
            ticks.push(t);
            t += step;
        }
        (step, ticks)
    }
}

/// Formats a duration of `ticks` ticks of `unit_ns` nanoseconds each, with a unit chosen so the
/// number stays short ("1.5 ms", "120 µs", "3 s").
pub fn format_duration(ticks: f64, unit_ns: u64) -> String {
    let ns = ticks * unit_ns.max(1) as f64;
    let a = ns.abs();
    let (v, u) = if a >= 1e9 {
        (ns / 1e9, "s")
    } else if a >= 1e6 {
        (ns / 1e6, "ms")
    } else if a >= 1e3 {
        (ns / 1e3, "µs")
    } else {
        (ns, "ns")
    };
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    let s = if s == "-0" { "0" } else { s };
    format!("{s} {u}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zoom_keeps_the_anchor_in_place() {
        let mut v = Viewport { t0: 0.0, t1: 1000.0 };
        let x = v.x_of(250.0, 500.0);
        v.zoom_around(250.0, 4.0, 1e9);
        assert!((v.span() - 250.0).abs() < 1e-9);
        assert!((v.x_of(250.0, 500.0) - x).abs() < 1e-3);
        v.zoom_around(250.0, 1e9, 1e9);
        assert_eq!(v.span(), MIN_SPAN);
        v.zoom_around(250.0, 1e-9, 5000.0);
        assert_eq!(v.span(), 5000.0);
        v.zoom_around(250.0, f64::NAN, 5000.0);
        assert_eq!(v.span(), 5000.0);
    }

    #[test]
    fn pan_and_coordinates() {
        let mut v = Viewport { t0: 100.0, t1: 200.0 };
        assert_eq!(v.t_of(50.0, 100.0), 150.0);
        v.pan_px(10.0, 100.0);
        assert_eq!((v.t0, v.t1), (90.0, 190.0));
    }

    #[test]
    fn fit_and_focus_contain_their_range() {
        let v = Viewport::fit(1000, 2000);
        assert!(v.contains(1000) && v.contains(2000) && v.span() < 1100.0);
        let f = Viewport::focus(500, 600, 10.0);
        assert!(f.contains(500) && f.contains(600));
        assert!(f.x_of(500.0, 1000.0) > 150.0 && f.x_of(600.0, 1000.0) < 850.0);
        let single = Viewport::focus(42, 42, 1000.0);
        assert_eq!(single.span(), 1000.0);
        assert!(single.contains(42));
    }

    #[test]
    fn ticks_are_nice_and_spaced() {
        let v = Viewport { t0: 3.0, t1: 1003.0 };
        let (step, ticks) = v.ticks(1000.0, 80.0, 0.0);
        assert_eq!(step, 100.0);
        assert_eq!(ticks.first(), Some(&100.0));
        assert_eq!(ticks.last(), Some(&1000.0));
        let (step, _) = v.ticks(1000.0, 130.0, 0.0);
        assert_eq!(step, 200.0);
    }

    #[test]
    fn ticks_are_whole_steps_from_the_origin() {
        // A trace starting at tick 2_209 is labelled from 0 there: ticks fall on
        // 2_209 + k * step, so the ruler reads 0, 100, 200 ... and never -2.209.
        let v = Viewport { t0: 0.0, t1: 1000.0 };
        let (step, ticks) = v.ticks(1000.0, 80.0, 209.0);
        assert_eq!(step, 100.0);
        assert_eq!(ticks.first(), Some(&9.0));
        assert!(ticks.iter().all(|t| ((t - 209.0) / step).fract() == 0.0));
        assert!(ticks.contains(&209.0));
    }

    #[test]
    fn durations_pick_a_unit() {
        assert_eq!(format_duration(1500.0, 1), "1.5 µs");
        assert_eq!(format_duration(2_000_000.0, 1), "2 ms");
        assert_eq!(format_duration(3.0, 1_000_000_000), "3 s");
        assert_eq!(format_duration(12.0, 1), "12 ns");
        assert_eq!(format_duration(-0.0001, 1), "0 ns");
        assert_eq!(format_duration(-2500.0, 1), "-2.5 µs");
    }
}
