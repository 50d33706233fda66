//! Level of detail: per-lane sorted timestamps with a pyramid of kind masks, and sorted
//! interval sets, so that one frame costs about one mark per pixel column per lane no matter
//! how many events the trace holds.

/// How events are grouped for colouring. At most 16 categories (they are bits of a `u16`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Category {
    /// Spawn, start, end, join.
    Task = 0,
    /// Mutex and rwlock operations (request, lock, unlock, failed try-lock).
    Lock = 1,
    /// Condition variables.
    Condvar = 2,
    /// Channels.
    Channel = 3,
    /// Once cells.
    Once = 4,
    /// Wait groups and barriers.
    Group = 5,
    /// Atomics.
    Atomic = 6,
    /// Plain reads of tagged variables.
    Read = 7,
    /// Plain writes of tagged variables.
    Write = 8,
    /// The program's own spans and events, sleeps, yields.
    Other = 9,
}

impl Category {
    /// Every category, in bit order.
    pub const ALL: [Category; 10] = [
        Category::Task,
        Category::Lock,
        Category::Condvar,
        Category::Channel,
        Category::Once,
        Category::Group,
        Category::Atomic,
        Category::Read,
        Category::Write,
        Category::Other,
    ];

    /// The order in which a merged mark picks the category it shows: the first present wins.
    pub const PRIORITY: [Category; 10] = [
        Category::Write,
        Category::Read,
        Category::Task,
        Category::Channel,
        Category::Lock,
        Category::Condvar,
        Category::Group,
        Category::Once,
        Category::Atomic,
        Category::Other,
    ];

    /// The category of an event kind.
    pub fn of(kind: &hb_format::EventKind) -> Category {
        use hb_format::EventKind::*;
        match kind {
            TaskSpawn { .. } | TaskStart | TaskEnd | TaskJoin { .. } => Category::Task,
            LockRequest { .. }
            | MutexLock { .. }
            | MutexUnlock { .. }
            | MutexTryLockFailed { .. }
            | RwReadLock { .. }
            | RwReadUnlock { .. }
            | RwWriteLock { .. }
            | RwWriteUnlock { .. } => Category::Lock,
            CondvarWaitBegin { .. }
            | CondvarWaitEnd { .. }
            | CondvarNotifyOne { .. }
            | CondvarNotifyAll { .. } => Category::Condvar,
            ChanMake { .. }
            | ChanSendBegin { .. }
            | ChanSendEnd { .. }
            | ChanRecv { .. }
            | ChanClose { .. } => Category::Channel,
            OnceBegin { .. } | OnceEnd { .. } | OnceAlreadyDone { .. } => Category::Once,
            WaitGroupAdd { .. }
            | WaitGroupDone { .. }
            | WaitGroupWait { .. }
            | BarrierArrive { .. }
            | BarrierLeave { .. } => Category::Group,
            AtomicLoad { .. } | AtomicStore { .. } | AtomicRmw { .. } => Category::Atomic,
            VarRead { .. } => Category::Read,
            VarWrite { .. } => Category::Write,
            SpanEnter { .. } | SpanExit { .. } | UserEvent { .. } | Sleep { .. } | Yield => Category::Other,
        }
    }

    /// The bit of this category in a kind mask.
    pub fn bit(self) -> u16 {
        1 << (self as u8)
    }

    /// The category a merged mark with this kind mask shows (`None` for an empty mask).
    pub fn dominant(mask: u16) -> Option<Category> {
        Category::PRIORITY.into_iter().find(|c| mask & c.bit() != 0)
    }

    /// A short label for legends and toggles.
    pub fn label(self) -> &'static str {
        match self {
            Category::Task => "task",
            Category::Lock => "lock",
            Category::Condvar => "condvar",
            Category::Channel => "channel",
            Category::Once => "once",
            Category::Group => "waitgroup/barrier",
            Category::Atomic => "atomic",
            Category::Read => "read",
            Category::Write => "write",
            Category::Other => "span/user",
        }
    }
}

/// The events of one lane in time order with an OR-pyramid of their category bits:
/// `levels[0][i]` is the bit of event `i`, `levels[k + 1][i] = levels[k][2i] | levels[k][2i + 1]`.
///
/// Counting the events of a time range is two binary searches; the kinds present in an index
/// range is one walk up the pyramid (`O(log n)`).
#[derive(Debug, Clone, Default)]
pub struct EventIndex {
    /// Timestamps, non-decreasing.
    pub ts: Vec<u64>,
    /// Index into `Trace::events` of each entry (parallel to `ts`).
    pub event: Vec<u32>,
    levels: Vec<Vec<u16>>,
    /// Time buckets for dense frames.
    pub buckets: TimeBuckets,
}

/// Average number of events per bucket of the finest [`TimeBuckets`] level.
const EVENTS_PER_BUCKET: u64 = 16;

/// A pyramid of fixed-width time buckets over one lane: level `k` cuts time from `origin` into
/// buckets `width << k` ticks wide and stores, per bucket, the index of its first event and the
/// OR of its events' category bits.
///
/// When a pixel column spans several buckets, the events of the column are found with two
/// array reads instead of two searches over the timestamps, and its kinds with a few ORs: a
/// frame showing millions of events reads a few compact arrays left to right.
#[derive(Debug, Clone, Default)]
pub struct TimeBuckets {
    /// Start of bucket 0.
    pub origin: u64,
    /// Width of a finest-level bucket in ticks.
    pub width: u64,
    /// `(starts, masks)` per level: `starts[b]` is the first event index at or after the start
    /// of bucket `b` (one extra entry at the end); `masks[b]` the kinds in bucket `b`.
    levels: Vec<(Vec<u32>, Vec<u16>)>,
}

impl TimeBuckets {
    fn build(ts: &[u64], bits: &[u16]) -> TimeBuckets {
        let (Some(&first), Some(&last)) = (ts.first(), ts.last()) else {
            return TimeBuckets::default();
        };
        let span = last - first + 1;
        let width = (span * EVENTS_PER_BUCKET).div_ceil(ts.len() as u64).max(1);
        let n = span.div_ceil(width) as usize;
        let mut starts = Vec::with_capacity(n + 1);
        let mut masks = vec![0u16; n];
        let mut i = 0;
        for (b, mask) in masks.iter_mut().enumerate() {
            starts.push(i as u32);
            let end = first + (b as u64 + 1) * width;
            while i < ts.len() && ts[i] < end {
                *mask |= bits[i];
                i += 1;
            }
        }
        starts.push(ts.len() as u32);
        let mut levels = vec![(starts, masks)];
        while levels.last().is_some_and(|l| l.1.len() > 1) {
            let (ps, pm) = levels.last().expect("non-empty levels");
            let n = pm.len().div_ceil(2);
            let starts: Vec<u32> = (0..=n).map(|b| ps[(2 * b).min(pm.len())]).collect();
            let masks: Vec<u16> = pm.chunks(2).map(|c| c.iter().fold(0, |a, b| a | b)).collect();
            levels.push((starts, masks));
        }
        TimeBuckets {
            origin: first,
            width,
            levels,
        }
    }

    /// The coarsest level whose buckets are at most `max_width` ticks wide, with its width.
    pub fn level_for(&self, max_width: f64) -> Option<(usize, f64)> {
        if self.levels.is_empty() || (self.width as f64) > max_width {
            return None;
        }
        let k = ((max_width / self.width as f64).log2().floor() as usize).min(self.levels.len() - 1);
        Some((k, (self.width << k) as f64))
    }

    /// Number of buckets of level `k`.
    pub fn len(&self, k: usize) -> usize {
        self.levels[k].1.len()
    }

    /// Index of the first event at or after the start of bucket `b` of level `k` (`b` may be
    /// one past the last bucket: the number of events).
    pub fn start(&self, k: usize, b: usize) -> usize {
        let s = &self.levels[k].0;
        s[b.min(s.len() - 1)] as usize
    }

    /// The kinds of buckets `a..b` of level `k`.
    pub fn mask(&self, k: usize, a: usize, b: usize) -> u16 {
        let m = &self.levels[k].1;
        m[a.min(m.len())..b.min(m.len())].iter().fold(0, |x, y| x | y)
    }
}

impl EventIndex {
    /// Builds the index from `(ts, event index, category)` triples, sorting them by time
    /// (stable, so program order is kept among equal timestamps).
    pub fn build(mut items: Vec<(u64, u32, Category)>) -> EventIndex {
        if items.windows(2).any(|w| w[0].0 > w[1].0) {
            items.sort_by_key(|i| i.0);
        }
        let mut ts = Vec::with_capacity(items.len());
        let mut event = Vec::with_capacity(items.len());
        let mut base = Vec::with_capacity(items.len());
        for (t, e, c) in items {
            ts.push(t);
            event.push(e);
            base.push(c.bit());
        }
        let buckets = TimeBuckets::build(&ts, &base);
        let mut levels = vec![base];
        while levels.last().is_some_and(|l| l.len() > 1) {
            let prev = levels.last().expect("non-empty levels");
            let next: Vec<u16> = prev.chunks(2).map(|c| c.iter().fold(0, |a, b| a | b)).collect();
            levels.push(next);
        }
        EventIndex {
            ts,
            event,
            levels,
            buckets,
        }
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.ts.len()
    }

    /// Whether the lane has no events.
    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    /// The category bit of entry `i`.
    pub fn bit(&self, i: usize) -> u16 {
        self.levels[0][i]
    }

    /// First entry with `ts >= t` (`t` may be fractional).
    pub fn lower_bound(&self, t: f64) -> usize {
        self.ts.partition_point(|&x| (x as f64) < t)
    }

    /// The OR of the category bits of entries `a..b`.
    pub fn mask(&self, a: usize, b: usize) -> u16 {
        let (mut a, mut b) = (a, b.min(self.len()));
        let mut m = 0;
        let mut level = 0;
        while a < b {
            let l = &self.levels[level];
            if a & 1 == 1 {
                m |= l[a];
                a += 1;
            }
            if b & 1 == 1 {
                b -= 1;
                m |= l[b];
            }
            a >>= 1;
            b >>= 1;
            level += 1;
        }
        m
    }

    /// Bytes used by the index (for the README's memory figures).
    pub fn heap_bytes(&self) -> usize {
        let buckets: usize = self
            .buckets
            .levels
            .iter()
            .map(|(s, m)| s.capacity() * 4 + m.capacity() * 2)
            .sum();
        self.ts.capacity() * 8
            + self.event.capacity() * 4
            + self.levels.iter().map(|l| l.capacity() * 2).sum::<usize>()
            + buckets
    }
}

/// A set of intervals of one lane that do not overlap, sorted by start (so their ends are
/// sorted too): waits, or the spans of one nesting depth.
#[derive(Debug, Clone, Default)]
pub struct IntervalSet {
    /// Start times, non-decreasing.
    pub start: Vec<u64>,
    /// End times, non-decreasing, `end[i] >= start[i]`.
    pub end: Vec<u64>,
    /// What each interval is (a [`crate::model::WaitKind`] index, or a span's name id).
    pub tag: Vec<u32>,
    /// The event that opened each interval (index into `Trace::events`).
    pub first_event: Vec<u32>,
}

impl IntervalSet {
    /// Adds an interval; it must start no earlier than the previous one. An interval that
    /// overlaps the previous one is clipped to start at its end (a task waits for one thing
    /// at a time; overlap only comes from damaged traces).
    pub fn push(&mut self, start: u64, end: u64, tag: u32, first_event: u32) {
        let start = start.max(self.end.last().copied().unwrap_or(0));
        let end = end.max(start);
        self.start.push(start);
        self.end.push(end);
        self.tag.push(tag);
        self.first_event.push(first_event);
    }

    /// Number of intervals.
    pub fn len(&self) -> usize {
        self.start.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.start.is_empty()
    }

    /// Sorts intervals pushed out of order by start and re-clips overlaps.
    pub fn normalize(&mut self) {
        if self.start.windows(2).all(|w| w[0] <= w[1]) && self.end.windows(2).all(|w| w[0] <= w[1]) {
            return;
        }
        let mut items: Vec<(u64, u64, u32, u32)> = (0..self.len())
            .map(|i| (self.start[i], self.end[i], self.tag[i], self.first_event[i]))
            .collect();
        items.sort_by_key(|i| i.0);
        *self = IntervalSet::default();
        for (s, e, t, f) in items {
            self.push(s, e, t, f);
        }
    }
}

/// The first index in `lo..hi` whose value is not `below`, where `below` holds for a prefix of
/// `v[lo..hi]`. Searches outwards from `lo` (exponential then binary search), so when the
/// answer is near `lo` it touches only nearby memory: a frame's searches walk each lane's
/// arrays left to right instead of jumping across them (which costs a cache miss per step).
pub fn gallop(v: &[u64], lo: usize, hi: usize, below: impl Fn(u64) -> bool) -> usize {
    let mut lo = lo;
    let mut step = 1;
    loop {
        let probe = lo + step - 1;
        if probe >= hi {
            return lo + v[lo..hi].partition_point(|&x| below(x));
        }
        if below(v[probe]) {
            lo = probe + 1;
            step *= 2;
        } else {
            return lo + v[lo..probe].partition_point(|&x| below(x));
        }
    }
}

/// One drawable piece of an interval set in a frame: a single interval, or several that fall
/// in the same pixel, merged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Piece {
    /// Left edge in pixels from the timeline's left.
    pub x0: f32,
    /// Right edge in pixels (at least `x0 + 1`).
    pub x1: f32,
    /// Index of the first interval covered.
    pub first: u32,
    /// How many intervals it covers.
    pub count: u32,
}

/// Calls `emit` for the pieces of `set` visible in `[t0, t1)` drawn `px_per_tick` wide,
/// merging intervals thinner than a pixel: at most about two pieces per pixel column.
pub fn visible_pieces(set: &IntervalSet, t0: f64, t1: f64, px_per_tick: f64, mut emit: impl FnMut(Piece)) {
    let n = set.len();
    let px = |t: u64| ((t as f64 - t0) * px_per_tick) as f32;
    let mut i = set.end.partition_point(|&e| (e as f64) <= t0);
    while i < n && (set.start[i] as f64) < t1 {
        let x0 = px(set.start[i]);
        let x1 = px(set.end[i]);
        if x1 - x0 >= 1.0 {
            emit(Piece {
                x0,
                x1,
                first: i as u32,
                count: 1,
            });
            i += 1;
            continue;
        }
        // Thinner than a pixel: take every interval starting before the next pixel boundary.
        let boundary = t0 + (x0.floor() as f64 + 1.0) / px_per_tick;
        let j = gallop(&set.start, i + 1, n, |s| (s as f64) < boundary);
        let x1 = px(set.end[j - 1]).max(x0 + 1.0);
        emit(Piece {
            x0,
            x1,
            first: i as u32,
            count: (j - i) as u32,
        });
        i = j;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(ts: &[u64], cats: &[Category]) -> EventIndex {
        EventIndex::build(
            ts.iter()
                .zip(cats)
                .enumerate()
                .map(|(i, (&t, &c))| (t, i as u32, c))
                .collect(),
        )
    }

    #[test]
    fn mask_matches_a_linear_or_for_every_range() {
        let cats: Vec<Category> = (0..37).map(|i| Category::ALL[(i * 7 + i / 3) % 10]).collect();
        let ts: Vec<u64> = (0..37).collect();
        let idx = index(&ts, &cats);
        for a in 0..=37 {
            for b in a..=37 {
                let want = cats[a..b].iter().fold(0u16, |m, c| m | c.bit());
                assert_eq!(idx.mask(a, b), want, "range {a}..{b}");
            }
        }
    }

    #[test]
    fn build_sorts_by_time_and_keeps_event_ids() {
        let idx = EventIndex::build(vec![
            (5, 0, Category::Read),
            (1, 1, Category::Write),
            (5, 2, Category::Lock),
        ]);
        assert_eq!(idx.ts, vec![1, 5, 5]);
        assert_eq!(idx.event, vec![1, 0, 2]);
        assert_eq!(idx.lower_bound(2.0), 1);
        assert_eq!(idx.lower_bound(5.0), 1);
        assert_eq!(idx.lower_bound(5.5), 3);
    }

    #[test]
    fn dominant_follows_priority() {
        assert_eq!(
            Category::dominant(Category::Lock.bit() | Category::Write.bit()),
            Some(Category::Write)
        );
        assert_eq!(Category::dominant(Category::Other.bit()), Some(Category::Other));
        assert_eq!(Category::dominant(0), None);
    }

    #[test]
    fn pieces_merge_sub_pixel_intervals_and_keep_wide_ones() {
        let mut set = IntervalSet::default();
        // 1000 one-tick intervals in [0, 2000), then one wide interval.
        for k in 0..1000u64 {
            set.push(2 * k, 2 * k + 1, 0, k as u32);
        }
        set.push(5000, 9000, 1, 1000);
        // 1 px = 100 ticks over [0, 10000): 20 merged pieces + 1 wide.
        let mut pieces = Vec::new();
        visible_pieces(&set, 0.0, 10_000.0, 0.01, |p| pieces.push(p));
        assert_eq!(pieces.iter().map(|p| p.count).sum::<u32>(), 1001);
        assert_eq!(pieces.len(), 21);
        let last = pieces.last().unwrap();
        assert_eq!((last.x0, last.x1, last.count), (50.0, 90.0, 1));
        // Zoomed on [100, 110): only intervals 50..55 (ends after 100, starts before 110).
        pieces.clear();
        visible_pieces(&set, 100.0, 110.0, 10.0, |p| pieces.push(p));
        let firsts: Vec<u32> = pieces.iter().map(|p| p.first).collect();
        assert_eq!(firsts, vec![50, 51, 52, 53, 54]);
        assert!(pieces.iter().all(|p| p.count == 1 && p.x1 - p.x0 == 10.0));
    }

    #[test]
    fn buckets_count_exactly_at_every_level() {
        let ts: Vec<u64> = (0..1000u64).map(|i| 5 + i * i / 50).collect();
        let cats: Vec<Category> = (0..1000).map(|i| Category::ALL[i % 10]).collect();
        let idx = index(&ts, &cats);
        let b = &idx.buckets;
        assert_eq!(b.origin, 5);
        for k in 0..b.levels.len() {
            let w = b.width << k;
            for bucket in 0..=b.len(k) {
                let t = b.origin + bucket as u64 * w;
                assert_eq!(
                    b.start(k, bucket),
                    ts.partition_point(|&x| x < t),
                    "level {k} bucket {bucket}"
                );
            }
            let a = b.start(k, 0);
            let z = b.start(k, b.len(k));
            assert_eq!((a, z), (0, 1000));
            assert_eq!(b.mask(k, 0, 1), idx.mask(b.start(k, 0), b.start(k, 1)));
        }
        assert_eq!(b.level_for(b.width as f64 - 1.0), None);
        assert_eq!(b.level_for(b.width as f64 * 5.0), Some((2, (b.width * 4) as f64)));
    }

    #[test]
    fn gallop_agrees_with_partition_point() {
        let v: Vec<u64> = (0..300u64).map(|i| i * i / 7).collect();
        for lo in [0, 1, 5, 100, 299, 300] {
            for hi in [lo, (lo + 1).min(300), (lo + 37).min(300), 300] {
                for bound in [0u64, 1, 50, 1000, 5000, 20_000] {
                    let want = lo + v[lo..hi].partition_point(|&x| x < bound);
                    assert_eq!(gallop(&v, lo, hi, |x| x < bound), want, "{lo}..{hi} < {bound}");
                }
            }
        }
    }

    #[test]
    fn overlapping_pushes_are_clipped() {
        let mut set = IntervalSet::default();
        set.push(0, 10, 0, 0);
        set.push(5, 20, 0, 1);
        assert_eq!(set.start, vec![0, 10]);
        assert_eq!(set.end, vec![10, 20]);
    }
}
