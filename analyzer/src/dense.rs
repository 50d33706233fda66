//! Id → dense index maps for the engine's per-event lookups.
//!
//! The recorder hands out task and object ids densely from 0, so most ids index a flat
//! table directly (one load, no hashing). Ids from 64 K on that would make the table sparse
//! (more than 8 slots per id held), and ids from [`DIRECT_LIMIT`] on, go to a hash map
//! instead, so a few huge ids never cost a huge table. Values live in a `Vec` in insertion order.

use std::collections::HashMap;

use crate::engine::FastHasher;

/// Ids below this are looked up in a flat table (4 bytes per id up to the largest seen).
const DIRECT_LIMIT: u64 = 1 << 22;
const ABSENT: u32 = u32::MAX;
/// Ids below this always go to the table.
const ALWAYS_DIRECT: u64 = 1 << 16;

/// Maps sparse `u64` ids to dense indices `0..len`, in insertion order.
#[derive(Debug, Default)]
pub(crate) struct IdIndex {
    direct: Vec<u32>,
    far: HashMap<u64, u32, std::hash::BuildHasherDefault<FastHasher>>,
    len: u32,
}

impl IdIndex {
    /// The index of `id`, if it has one.
    #[inline]
    pub(crate) fn get(&self, id: u64) -> Option<usize> {
        if let Some(&i) = self.direct.get(id as usize) {
            if i != ABSENT {
                return Some(i as usize);
            }
        }
        if self.far.is_empty() {
            None
        } else {
            self.far.get(&id).map(|&i| i as usize)
        }
    }

    /// The index of `id`, giving it the next free index if it has none; the flag says
    /// whether it was new.
    #[inline]
    pub(crate) fn get_or_add(&mut self, id: u64) -> (usize, bool) {
        match self.get(id) {
            Some(i) => (i, false),
            None => (self.add(id), true),
        }
    }

    #[cold]
    fn add(&mut self, id: u64) -> usize {
        let i = self.len;
        self.len += 1;
        // Up to 64 K ids the table is small anyway (256 KB at most).
        let dense_enough = id < ALWAYS_DIRECT || id < 8 * u64::from(self.len);
        if id < DIRECT_LIMIT && (dense_enough || (id as usize) < self.direct.len()) {
            let at = id as usize;
            if self.direct.len() <= at {
                self.direct.resize(at + 1, ABSENT);
            }
            self.direct[at] = i;
        } else {
            self.far.insert(id, i);
        }
        i as usize
    }
}

/// A map from ids to values, stored densely.
#[derive(Debug)]
pub(crate) struct DenseMap<V> {
    index: IdIndex,
    vals: Vec<V>,
}

impl<V> Default for DenseMap<V> {
    fn default() -> Self {
        DenseMap {
            index: IdIndex::default(),
            vals: Vec::new(),
        }
    }
}

impl<V> DenseMap<V> {
    #[inline]
    pub(crate) fn get(&self, id: &u64) -> Option<&V> {
        self.index.get(*id).map(|i| &self.vals[i])
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, id: &u64) -> Option<&mut V> {
        self.index.get(*id).map(|i| &mut self.vals[i])
    }

    #[inline]
    pub(crate) fn contains_key(&self, id: &u64) -> bool {
        self.index.get(*id).is_some()
    }

    /// Sets the value of `id`, returning the previous one.
    pub(crate) fn insert(&mut self, id: u64, v: V) -> Option<V> {
        let (i, new) = self.index.get_or_add(id);
        if new {
            self.vals.push(v);
            None
        } else {
            Some(std::mem::replace(&mut self.vals[i], v))
        }
    }

    /// The value at `pos` (see [`DenseMap::position_or_insert_with`]).
    #[inline]
    pub(crate) fn at(&self, pos: usize) -> Option<&V> {
        self.vals.get(pos)
    }

    /// The value at `pos` (see [`DenseMap::position_or_insert_with`]).
    #[inline]
    pub(crate) fn at_mut(&mut self, pos: usize) -> Option<&mut V> {
        self.vals.get_mut(pos)
    }

    /// Every value, in insertion order.
    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.vals.iter()
    }

    /// Every value, in insertion order.
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.vals.iter_mut()
    }

    /// The position of `id`'s value, created by `make` if there is none.
    #[inline(always)]
    pub(crate) fn position_or_insert_with(&mut self, id: u64, make: impl FnOnce() -> V) -> usize {
        if let Some(i) = self.index.get(id) {
            return i;
        }
        let (i, new) = self.index.get_or_add(id);
        if new {
            self.vals.push(make());
        }
        i
    }

    /// The value of `id`, created by `make` if there is none.
    #[inline(always)]
    pub(crate) fn get_or_insert_with(&mut self, id: u64, make: impl FnOnce() -> V) -> &mut V {
        if let Some(i) = self.index.get(id) {
            return &mut self.vals[i];
        }
        let (i, new) = self.index.get_or_add(id);
        if new {
            self.vals.push(make());
        }
        &mut self.vals[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_and_far_ids() {
        let mut m: DenseMap<&str> = DenseMap::default();
        assert_eq!(m.insert(3, "a"), None);
        assert_eq!(m.insert(u64::MAX, "b"), None);
        assert_eq!(m.insert(3, "c"), Some("a"));
        assert_eq!(m.get(&3), Some(&"c"));
        assert_eq!(m.get(&u64::MAX), Some(&"b"));
        assert_eq!(m.get(&2), None);
        assert_eq!(m.get(&(1 << 40)), None);
        assert!(!m.contains_key(&100));
        *m.get_or_insert_with(100, || "d") = "e";
        assert_eq!(m.get(&100), Some(&"e"));
        assert_eq!(m.index.get(100), Some(2));
    }

    #[test]
    fn sparse_ids_do_not_grow_the_table() {
        let mut ix = IdIndex::default();
        assert_eq!(ix.get_or_add(4_000_000), (0, true));
        assert!(ix.direct.is_empty());
        assert_eq!(ix.get_or_add(1 << 20), (1, true));
        assert!(ix.direct.is_empty());
        assert_eq!(ix.get_or_add(5), (2, true));
        assert_eq!(ix.get_or_add(4_000_000), (0, false));
        assert_eq!(ix.get(5), Some(2));
        // Dense ids fill the table; an id first held in the map stays found.
        for id in 0..200 {
            ix.get_or_add(id);
        }
        assert!(ix.direct.len() >= 200);
        assert_eq!(ix.get(5), Some(2));
        assert_eq!(ix.get(4_000_000), Some(0));
        assert_eq!(ix.get(1 << 20), Some(1));
        assert_eq!(ix.get(300), None);
    }
}
