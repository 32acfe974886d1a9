//! Small containers that keep std's hashing and sorting out of the wasm.
//!
//! Owns: [`NameTable`], a map from names to values kept sorted by name, [`IdTable`], a map from
//! increasing ids (call ids, cids) to values kept in id order, and [`heapsort`]. They
//! replace `HashMap`/`HashSet` (hashbrown + SipHash) and `sort_unstable` (a pattern-defeating
//! quicksort monomorphised per element type), which together cost ~9 KB of gzipped wasm (issue
//! 10). Lookups stay O(log n); an insert or remove moves the tail of one `Vec` (pointers and
//! small values, never the strings' bytes), which is cheap at the sizes tables here reach
//! (channels, event names, listener slots).

#[allow(unused_imports)]
use crate::prelude::*;

use alloc::collections::VecDeque;
use core::cell::Cell;
use core::cmp::Ordering;

/// A map from names to values, sorted by name: `get`/`contains_key` are a binary search, `iter`
/// goes in name order.
#[derive(Debug, Clone)]
pub struct NameTable<V> {
    items: Vec<(String, V)>,
    /// The index of the last name found: tried first (a frame of channel messages is mostly
    /// one channel). Only ever a hint: a hit needs the name at that index to equal the one
    /// sought, so an insert or remove that moves or drops the entry can never make it stale.
    last: Cell<usize>,
}

impl<V> Default for NameTable<V> {
    fn default() -> Self {
        NameTable::new()
    }
}

impl<V> NameTable<V> {
    /// An empty table.
    pub const fn new() -> Self {
        NameTable {
            items: Vec::new(),
            last: Cell::new(0),
        }
    }

    fn find(&self, name: &str) -> Result<usize, usize> {
        let last = self.last.get();
        if matches!(self.items.get(last), Some((k, _)) if k == name) {
            return Ok(last);
        }
        let found = self.items.binary_search_by(|(k, _)| k.as_str().cmp(name));
        if let Ok(i) = found {
            self.last.set(i);
        }
        found
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&V> {
        let i = self.find(name).ok()?;
        self.items.get(i).map(|(_, v)| v)
    }

    /// The value of `name`, mutably.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut V> {
        let i = self.find(name).ok()?;
        self.items.get_mut(i).map(|(_, v)| v)
    }

    /// Whether `name` is in the table.
    pub fn contains_key(&self, name: &str) -> bool {
        self.find(name).is_ok()
    }

    /// Inserts `value` under `name`; returns the value it replaces, if any.
    pub fn insert(&mut self, name: String, value: V) -> Option<V> {
        match self.find(&name) {
            Ok(i) => self
                .items
                .get_mut(i)
                .map(|(_, v)| core::mem::replace(v, value)),
            Err(i) => {
                insert_at(&mut self.items, i, (name, value));
                None
            }
        }
    }

    /// Removes `name`, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<V> {
        let i = self.find(name).ok()?;
        remove_at(&mut self.items, i).map(|(_, v)| v)
    }

    /// Keeps the entries for which `keep` returns `true`.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &mut V) -> bool) {
        self.items.retain_mut(|(k, v)| keep(k, v));
    }

    /// The entries in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &V)> {
        self.items.iter().map(|(k, v)| (k, v))
    }

    /// The entries in name order, values mutable.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&String, &mut V)> {
        self.items.iter_mut().map(|(k, v)| (&*k, v))
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.items.clear();
    }
}

/// A map from ids to values, in id order. Ids are handed out increasing, so an insert goes to the
/// back (O(1)); a lookup or remove is a binary search (O(log n)) plus the shorter shift of a
/// `VecDeque` (answers mostly come in order: O(1) at the front).
#[derive(Debug)]
pub struct IdTable<V> {
    items: VecDeque<(u64, V)>,
}

impl<V> Default for IdTable<V> {
    fn default() -> Self {
        IdTable {
            items: VecDeque::new(),
        }
    }
}

impl<V> IdTable<V> {
    /// An empty table.
    pub const fn new() -> Self {
        IdTable {
            items: VecDeque::new(),
        }
    }

    /// Inserts `value` under `id` (at the back when `id` is the largest so far); replaces and
    /// returns the value already under `id`, if any.
    pub fn insert(&mut self, id: u64, value: V) -> Option<V> {
        if self.items.back().is_none_or(|(last, _)| *last < id) {
            self.items.push_back((id, value));
            return None;
        }
        match self.items.binary_search_by(|(k, _)| k.cmp(&id)) {
            Ok(i) => self
                .items
                .get_mut(i)
                .map(|(_, v)| core::mem::replace(v, value)),
            Err(i) => {
                self.items.insert(i, (id, value));
                None
            }
        }
    }

    /// The value of `id`.
    pub fn get(&self, id: u64) -> Option<&V> {
        let i = self.items.binary_search_by(|(k, _)| k.cmp(&id)).ok()?;
        self.items.get(i).map(|(_, v)| v)
    }

    /// Removes `id`, returning its value.
    pub fn remove(&mut self, id: u64) -> Option<V> {
        let i = self.items.binary_search_by(|(k, _)| k.cmp(&id)).ok()?;
        take_at(&mut self.items, i).map(|(_, v)| v)
    }

    /// Takes every entry out, in id order.
    pub fn take_all(&mut self) -> VecDeque<(u64, V)> {
        core::mem::take(&mut self.items)
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

// ---- Vec and slice edits without a panic path ---------------------------------------------------
//
// `Vec::insert`, `Vec::remove` and `<[T]>::swap` check their index and panic with a message
// that formats it: those are the last sites that keep core's integer formatting in the wasm
// (~1.2 KB raw). These do nothing with an index out of range.

/// Inserts `x` at `i` (shifting the rest up); nothing when `i > v.len()`.
pub fn insert_at<T>(v: &mut Vec<T>, i: usize, x: T) {
    if i <= v.len() {
        v.push(x);
        if let Some(tail) = v.get_mut(i..) {
            bubble(tail.iter_mut().rev()); // the new last element down to `i`
        }
    }
}

/// Removes and returns the element at `i` (shifting the rest down); `None` when out of range.
pub fn remove_at<T>(v: &mut Vec<T>, i: usize) -> Option<T> {
    bubble(v.get_mut(i..)?.iter_mut()); // element `i` up to the end
    if i < v.len() {
        v.pop()
    } else {
        None
    }
}

/// Removes and returns the element at `i` of a deque, moving the shorter side one place (by
/// swaps: `VecDeque::remove` costs ~0.8 KB of wasm per element type, its `wrap_copy`); `None`
/// when out of range.
pub fn take_at<T>(d: &mut VecDeque<T>, i: usize) -> Option<T> {
    let n = d.len();
    if i >= n {
        return None;
    }
    // (over the two halves: `VecDeque::swap` asserts its indices, with messages)
    let (a, b) = d.as_mut_slices();
    if i < n / 2 {
        for j in (0..i).rev() {
            swap_next(a, b, j);
        }
        d.pop_front()
    } else {
        for j in i..n - 1 {
            swap_next(a, b, j);
        }
        d.pop_back()
    }
}

/// Swaps the elements `j` and `j + 1` of the deque whose two halves are `a` and `b`.
fn swap_next<T>(a: &mut [T], b: &mut [T], j: usize) {
    let k = a.len();
    if j + 1 < k {
        swap_at(a, j, j + 1);
    } else if j + 1 == k {
        if let (Some(x), Some(y)) = (a.last_mut(), b.first_mut()) {
            core::mem::swap(x, y);
        }
    } else {
        swap_at(b, j - k, j + 1 - k);
    }
}

/// Moves the first element of `it` to its last place, each one in between one place back (by
/// swaps: `<[T]>::rotate_*` costs ~1.9 KB of wasm for two element types).
fn bubble<'a, T: 'a>(mut it: impl Iterator<Item = &'a mut T>) {
    if let Some(mut prev) = it.next() {
        for cur in it {
            core::mem::swap(prev, cur);
            prev = cur;
        }
    }
}

/// Swaps the elements at `a` and `b` (`a < b`); nothing when out of range.
fn swap_at<T>(v: &mut [T], a: usize, b: usize) {
    if let Some((lo, hi)) = v.split_at_mut_checked(b) {
        if let (Some(x), Some(y)) = (lo.get_mut(a), hi.first_mut()) {
            core::mem::swap(x, y);
        }
    }
}

/// Sorts `v` in place so that no element is `less` than one before it (O(n log n), not stable:
/// give `less` a unique tie-breaker where order matters). Never panics, whatever `less` says.
pub fn heapsort<T>(v: &mut [T], less: impl Fn(&T, &T) -> bool) {
    fn sift<T>(v: &mut [T], mut root: usize, less: &impl Fn(&T, &T) -> bool) {
        loop {
            let mut child = 2 * root + 1;
            let (Some(a), b) = (v.get(child), v.get(child + 1)) else {
                return;
            };
            if let Some(b) = b {
                if less(a, b) {
                    child += 1;
                }
            }
            match (v.get(root), v.get(child)) {
                (Some(r), Some(c)) if less(r, c) => swap_at(v, root, child),
                _ => return,
            }
            root = child;
        }
    }
    let n = v.len();
    for i in (0..n / 2).rev() {
        sift(v, i, &less);
    }
    for end in (1..n).rev() {
        swap_at(v, 0, end);
        if let Some(head) = v.get_mut(..end) {
            sift(head, 0, &less);
        }
    }
}

/// Whether `a` goes before `b`: `f64` keys descending, then `u64` keys ascending (a NaN key is
/// unordered, so only the `u64` key decides against it).
pub fn desc_then_asc(a: (f64, u64), b: (f64, u64)) -> bool {
    match a.0.partial_cmp(&b.0) {
        Some(Ordering::Greater) => true,
        Some(Ordering::Less) => false,
        _ => a.1 < b.1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_at_removes_like_vec_deque_remove() {
        for n in 0..9 {
            // (`front` of them pushed at the front: the deque's storage wraps, its two halves
            // split anywhere)
            for front in 0..=n {
                for i in 0..=n {
                    let mut d: VecDeque<u32> = VecDeque::with_capacity(8);
                    for x in 0..n as u32 {
                        if (x as usize) < front {
                            d.push_front(x);
                        } else {
                            d.push_back(x);
                        }
                    }
                    let mut want = d.clone();
                    let removed = want.remove(i);
                    assert_eq!(take_at(&mut d, i), removed, "n {n}, front {front}, i {i}");
                    assert_eq!(d, want, "n {n}, front {front}, i {i}");
                }
            }
        }
    }

    #[test]
    fn name_table_last_hit_is_never_stale() {
        let mut t = NameTable::new();
        t.insert("bench".to_string(), 1);
        t.insert("other".to_string(), 2);
        assert_eq!(t.get("other"), Some(&2)); // (remembered at index 1)
        t.insert("alpha".to_string(), 3); // "bench" moves to index 1
        assert_eq!(t.get("other"), Some(&2));
        assert_eq!(t.get("bench"), Some(&1)); // (remembered at index 1)
        assert_eq!(t.remove("bench"), Some(1)); // "other" moves to index 1
        assert!(!t.contains_key("bench"));
        assert_eq!(t.get("other"), Some(&2));
        assert_eq!(t.remove("other"), Some(2)); // index 1 is past the end
        assert_eq!(t.get("other"), None);
        assert_eq!(t.get("alpha"), Some(&3));
    }

    #[test]
    fn name_table_is_a_sorted_map() {
        let mut t = NameTable::new();
        assert!(t.is_empty());
        for (i, n) in ["m", "b", "z", "a", "q"].iter().enumerate() {
            assert_eq!(t.insert(n.to_string(), i), None);
        }
        assert_eq!(t.insert("b".to_string(), 10), Some(1));
        assert_eq!(t.len(), 5);
        assert_eq!(t.get("b"), Some(&10));
        assert_eq!(t.get("c"), None);
        assert!(t.contains_key("z"));
        *t.get_mut("z").unwrap() += 1;
        assert_eq!(t.get("z"), Some(&3));
        assert_eq!(t.remove("m"), Some(0));
        assert_eq!(t.remove("m"), None);
        let keys: Vec<&str> = t.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["a", "b", "q", "z"]);
        t.retain(|k, _| k != "q");
        assert_eq!(t.len(), 3);
        for (_, v) in t.iter_mut() {
            *v = 0;
        }
        assert!(t.iter().all(|(_, v)| *v == 0));
        t.clear();
        assert!(t.is_empty());
    }

    #[test]
    fn id_table_keeps_id_order_whatever_the_insert_order() {
        let mut t = IdTable::new();
        for id in [5u64, 6, 9, 7, 1, 8] {
            assert_eq!(t.insert(id, id * 10), None);
        }
        assert_eq!(t.insert(7, 0), Some(70));
        assert_eq!(t.len(), 6);
        assert_eq!(t.get(9), Some(&90));
        assert_eq!(t.get(2), None);
        assert_eq!(t.remove(5), Some(50));
        assert_eq!(t.remove(5), None);
        assert_eq!(t.remove(4), None);
        let all: Vec<(u64, u64)> = t.take_all().into_iter().collect();
        assert_eq!(all, [(1, 10), (6, 60), (7, 0), (8, 80), (9, 90)]);
        assert!(t.is_empty());
        // 10 000 in flight, answered in a random order.
        let mut rng = crate::proto::backoff::XorShift::new(3);
        let mut ids: Vec<u64> = (1..=10_000).collect();
        for id in &ids {
            t.insert(*id, *id);
        }
        for i in (1..ids.len()).rev() {
            ids.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
        }
        for id in ids {
            assert_eq!(t.remove(id), Some(id));
        }
        assert!(t.is_empty());
    }

    /// The panic-free edits do what `Vec::insert`/`Vec::remove` do, and nothing out of range.
    #[test]
    fn vec_edits_match_std_and_ignore_bad_indices() {
        let mut rng = crate::proto::backoff::XorShift::new(3);
        let (mut ours, mut std) = (Vec::new(), Vec::new());
        for k in 0..2000u64 {
            let i = (rng.next_u64() % (ours.len() as u64 + 2)) as usize; // sometimes len + 1
            if k % 3 == 2 {
                let want = (i < std.len()).then(|| std.remove(i));
                assert_eq!(remove_at(&mut ours, i), want);
            } else {
                insert_at(&mut ours, i, k);
                if i <= std.len() {
                    std.insert(i, k);
                }
            }
            assert_eq!(ours, std);
        }
        assert_eq!(remove_at(&mut Vec::<u8>::new(), 0), None);
        let mut v = vec![1, 2, 3];
        swap_at(&mut v, 0, 2);
        swap_at(&mut v, 1, 3);
        assert_eq!(v, [3, 2, 1]);
    }

    #[test]
    fn heapsort_sorts_like_std() {
        let mut rng = crate::proto::backoff::XorShift::new(7);
        for n in 0..200usize {
            let mut v: Vec<u64> = (0..n).map(|_| rng.next_u64() % 50).collect();
            let mut want = v.clone();
            want.sort();
            heapsort(&mut v, |a, b| a < b);
            assert_eq!(v, want);
        }
        // An inconsistent order must not panic.
        let mut v: Vec<f64> = vec![f64::NAN, 1.0, f64::NAN, 0.0, 2.0];
        heapsort(&mut v, |a, b| a.partial_cmp(b).is_none());
        assert_eq!(v.len(), 5);
    }

    #[test]
    fn priority_order() {
        let mut v = vec![(0.0, 3), (5.0, 2), (0.0, 1), (-1.0, 0), (5.0, 4)];
        heapsort(&mut v, |a, b| desc_then_asc(*a, *b));
        let seqs: Vec<u64> = v.iter().map(|p| p.1).collect();
        assert_eq!(seqs, [2, 4, 1, 3, 0]);
        let mut v = vec![(f64::NAN, 3), (5.0, 2), (f64::NAN, 1)];
        heapsort(&mut v, |a, b| desc_then_asc(*a, *b));
        assert_eq!(v.len(), 3);
    }
}
