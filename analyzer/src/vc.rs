//! Vector clocks, indexed by the engine's dense task index.

/// A vector clock: entry `i` is how many synchronization steps of task `i` are known.
/// Missing entries are 0.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Vc(pub(crate) Vec<u64>);

impl Vc {
    #[inline]
    pub(crate) fn get(&self, i: usize) -> u64 {
        self.0.get(i).copied().unwrap_or(0)
    }

    #[inline]
    pub(crate) fn set(&mut self, i: usize, v: u64) {
        if self.0.len() <= i {
            self.0.resize(i + 1, 0);
        }
        self.0[i] = v;
    }

    /// Pointwise maximum. Always inlined: a lock acquisition joins a clock of a few
    /// entries, and the call's register saves were a sixth of that.
    ///
    /// The maximum is computed as `a - min(a - b, 0)` on the wrapped difference read as
    /// signed, which is exact for entries below 2^63 (an entry counts synchronization
    /// steps, at most one per event): SSE2 has 64-bit subtraction but no 64-bit compare,
    /// so `u64::max` vectorizes to a long emulation (17 instructions per two entries,
    /// against 10 for this).
    #[inline(always)]
    pub(crate) fn join(&mut self, other: &Vc) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        let n = other.0.len();
        let (a, b) = (&mut self.0[..n], &other.0[..n]);
        let mut i = 0;
        #[cfg(target_arch = "x86_64")]
        {
            // Written out because the compiler's vectorized loop checked at run time whether
            // the two clocks overlap (they cannot), and four entries a round.
            let (pa, pb) = (a.as_mut_ptr(), b.as_ptr());
            while i + 4 <= n {
                // SAFETY: entries `i..i + 4` exist in both (`n` is the length of both).
                unsafe {
                    max2(pa.add(i), pb.add(i));
                    max2(pa.add(i + 2), pb.add(i + 2));
                }
                i += 4;
            }
            if i + 2 <= n {
                // SAFETY: as above, `i..i + 2`.
                unsafe { max2(pa.add(i), pb.add(i)) };
                i += 2;
            }
        }
        for (a, &b) in a[i..].iter_mut().zip(&b[i..]) {
            let d = a.wrapping_sub(b);
            // All ones when `a < b`.
            let less = ((d as i64) >> 63) as u64;
            *a = a.wrapping_sub(d & less);
        }
    }

    /// Copies `other` into `self`, reusing the allocation.
    #[inline]
    pub(crate) fn assign(&mut self, other: &Vc) {
        if self.0.len() == other.0.len() {
            // Usually so (a lock's release clock and its next holder's): an element loop,
            // cheaper than a memcpy call for a few entries, four entries a round (the
            // compiler's loop checked at run time whether the clocks overlap).
            let n = other.0.len();
            let (a, b) = (&mut self.0[..n], &other.0[..n]);
            let mut i = 0;
            #[cfg(target_arch = "x86_64")]
            {
                let (pa, pb) = (a.as_mut_ptr(), b.as_ptr());
                while i + 4 <= n {
                    // SAFETY: entries `i..i + 4` exist in both (`n` is the length of both).
                    unsafe {
                        copy2(pa.add(i), pb.add(i));
                        copy2(pa.add(i + 2), pb.add(i + 2));
                    }
                    i += 4;
                }
            }
            for (a, &b) in a[i..].iter_mut().zip(&b[i..]) {
                *a = b;
            }
        } else {
            self.0.clear();
            self.0.extend_from_slice(&other.0);
        }
    }

    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }
}

/// `a[0..2] = max(a[0..2], b[0..2])` (see [`Vc::join`]).
///
/// # Safety
/// Two entries must exist at `a` and at `b` (no alignment needed).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn max2(a: *mut u64, b: *const u64) {
    use std::arch::x86_64::*;
    // SAFETY: the caller's; unaligned loads and store; SSE2 is part of the x86_64 baseline.
    unsafe {
        let x = _mm_loadu_si128(a.cast::<__m128i>());
        let y = _mm_loadu_si128(b.cast::<__m128i>());
        let d = _mm_sub_epi64(x, y);
        // Each lane's sign bit, spread over the lane: all ones when `x < y`.
        let less = _mm_srai_epi32::<31>(_mm_shuffle_epi32::<0xF5>(d));
        _mm_storeu_si128(a.cast::<__m128i>(), _mm_sub_epi64(x, _mm_and_si128(d, less)));
    }
}

/// `a[0..2] = b[0..2]` (see [`Vc::assign`]).
///
/// # Safety
/// Two entries must exist at `a` and at `b` (no alignment needed).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn copy2(a: *mut u64, b: *const u64) {
    use std::arch::x86_64::*;
    // SAFETY: the caller's; unaligned load and store; SSE2 is part of the x86_64 baseline.
    unsafe { _mm_storeu_si128(a.cast::<__m128i>(), _mm_loadu_si128(b.cast::<__m128i>())) };
}

/// The two clocks the engine keeps: full happens-before (`hb`), and happens-before without
/// lock release → acquire edges (`nl`, for lock-order cycles; empty when those are off).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Clocks {
    pub(crate) hb: Vc,
    pub(crate) nl: Vc,
}

impl Clocks {
    pub(crate) fn join(&mut self, other: &Clocks) {
        self.hb.join(&other.hb);
        self.nl.join(&other.nl);
    }

    pub(crate) fn clear(&mut self) {
        self.hb.clear();
        self.nl.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_and_compare() {
        let mut a = Vc(vec![1, 5]);
        let b = Vc(vec![2, 3, 4]);
        a.join(&b);
        assert_eq!(a, Vc(vec![2, 5, 4]));
        a.join(&b);
        assert_eq!(a, Vc(vec![2, 5, 4]));
        assert_eq!(a.get(9), 0);
        // Every order of entries up to 2^63 - 1, at every position of the four-, two- and
        // one-entry steps, and copies of every length.
        let big = (1u64 << 63) - 1;
        let vals = [0, 1, 2, 7, 1 << 32, (1 << 32) - 1, big - 1, big];
        for n in 1..=11 {
            for &x in &vals {
                for &y in &vals {
                    let mut a = Vc(vec![x; n]);
                    a.join(&Vc(vec![y; n]));
                    assert_eq!(a, Vc(vec![x.max(y); n]), "{x} {y}");
                }
            }
            let b = Vc((0..n as u64).collect());
            let mut a = Vc(vec![9; n]);
            a.assign(&b);
            assert_eq!(a, b);
        }
    }
}
