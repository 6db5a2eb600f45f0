//! The persisted segment state: a compact, versioned binary encoding in one base64 string
//! (one localStorage value). Pure: no I/O.
//!
//! **API boundary**: past and future SDK versions read this. Layout (v1): `"SG"`, version
//! byte, then LEB128 varints (signed values zigzag-encoded, floats as raw IEEE bits):
//! last `now`, last activity, histories keyed by selector canonical text, memberships keyed
//! by segment key. Ring timestamps are delta-encoded. Decoding never panics: every length
//! is bounded and checked against the remaining input.

use super::history::{Agg, Bucket, History, Needs};
use super::membership::Member;

const MAGIC: &[u8; 2] = b"SG";
const VERSION: u8 = 1;
const MAX_ITEMS: u64 = 100_000;

/// Everything persisted.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Snapshot {
    /// The engine's last `now`.
    pub last_now: i64,
    /// Last activity (sessions).
    pub last_activity: Option<i64>,
    /// Histories by selector canonical text.
    pub histories: Vec<(String, History)>,
    /// Memberships by segment key.
    pub members: Vec<(String, Member)>,
}

/// The writer of both encodings (this state and [`compiled`](super::compiled)).
pub(super) struct W(pub(super) Vec<u8>);

impl W {
    pub(super) fn u(&mut self, mut v: u64) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.0.push(b);
                return;
            }
            self.0.push(b | 0x80);
        }
    }
    pub(super) fn i(&mut self, v: i64) {
        self.u(((v << 1) ^ (v >> 63)) as u64);
    }
    pub(super) fn opt(&mut self, v: Option<i64>) {
        match v {
            Some(x) => {
                self.0.push(1);
                self.i(x);
            }
            None => self.0.push(0),
        }
    }
    pub(super) fn f(&mut self, x: f64) {
        self.0.extend_from_slice(&x.to_bits().to_le_bytes());
    }
    pub(super) fn s(&mut self, s: &str) {
        self.u(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }
    fn agg(&mut self, a: &Agg) {
        self.u(u64::from(a.n));
        if a.n > 0 {
            self.f(a.sum);
            self.f(a.min);
            self.f(a.max);
        }
    }
}

/// The reader of both encodings. Errors are sticky: a read past the end or a value out of
/// range sets `bad` and answers 0 (an empty string, `None`, …), so decoding runs straight
/// through without an early return per field (measured: the engine wasm −0.9 KB gzip against
/// `Result` at every read), and the caller refuses the result if `bad` is set. Every length
/// is checked against the remaining input, so garbage cannot make it allocate or loop much.
pub(super) struct R<'a> {
    b: &'a [u8],
    pos: usize,
    /// Something did not decode.
    pub(super) bad: bool,
}

impl<'a> R<'a> {
    /// Reads `b` from byte `pos`.
    pub(super) fn new(b: &'a [u8], pos: usize) -> R<'a> {
        R { b, pos, bad: false }
    }
    /// Whether the whole input was read without an error.
    pub(super) fn done(&self) -> bool {
        !self.bad && self.pos == self.b.len()
    }
    pub(super) fn byte(&mut self) -> u8 {
        match self.b.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                b
            }
            None => {
                self.bad = true;
                0
            }
        }
    }
    /// A byte below `n` (else `bad`).
    pub(super) fn tag(&mut self, n: u8) -> u8 {
        let b = self.byte();
        if b >= n {
            self.bad = true;
        }
        b
    }
    pub(super) fn u(&mut self) -> u64 {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte();
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return v;
            }
        }
        self.bad = true;
        0
    }
    pub(super) fn i(&mut self) -> i64 {
        let v = self.u();
        ((v >> 1) as i64) ^ -((v & 1) as i64)
    }
    pub(super) fn opt(&mut self) -> Option<i64> {
        self.bool().then(|| self.i())
    }
    pub(super) fn f(&mut self) -> f64 {
        let mut bits = 0u64;
        for k in 0..8 {
            bits |= u64::from(self.byte()) << (8 * k);
        }
        f64::from_bits(bits)
    }
    /// A count, at most the bytes left (every item takes one at least) and [`MAX_ITEMS`].
    pub(super) fn len(&mut self) -> usize {
        let n = self.u();
        if n > MAX_ITEMS || n as usize > self.b.len().saturating_sub(self.pos) {
            self.bad = true;
            return 0;
        }
        n as usize
    }
    pub(super) fn s(&mut self) -> String {
        let n = self.len();
        let bytes = self.b.get(self.pos..self.pos + n).unwrap_or_default();
        self.pos += n;
        match std::str::from_utf8(bytes) {
            Ok(s) => s.to_owned(),
            Err(_) => {
                self.bad = true;
                String::new()
            }
        }
    }
    pub(super) fn bool(&mut self) -> bool {
        self.tag(2) == 1
    }
    /// A `u32` (else `bad`).
    pub(super) fn u32(&mut self) -> u32 {
        let v = self.u();
        u32::try_from(v).unwrap_or_else(|_| {
            self.bad = true;
            0
        })
    }
    fn agg(&mut self) -> Agg {
        let n = self.u32();
        if n == 0 {
            return Agg::default();
        }
        Agg {
            n,
            sum: self.f(),
            min: self.f(),
            max: self.f(),
        }
    }
}

/// Encodes a snapshot as base64 text.
pub(crate) fn encode(snap: &Snapshot) -> String {
    let mut w = W(Vec::with_capacity(256));
    w.0.extend_from_slice(MAGIC);
    w.0.push(VERSION);
    w.i(snap.last_now);
    w.opt(snap.last_activity);
    w.u(snap.histories.len() as u64);
    for (canonical, h) in &snap.histories {
        w.s(canonical);
        w.u(h.needs.ring as u64);
        w.i(h.needs.bucket_ms);
        w.u(h.needs.buckets as u64);
        w.u(h.needs.paths.len() as u64);
        for p in &h.needs.paths {
            w.s(p);
        }
        w.i(h.horizon);
        w.opt(h.first);
        w.opt(h.last);
        w.u(h.count);
        w.u(u64::from(h.life_days));
        w.i(h.pruned_before.max(i64::MIN / 2));
        w.u(h.ring.len() as u64);
        let mut prev = h.horizon;
        for &t in &h.ring {
            w.i(t - prev);
            prev = t;
        }
        for a in &h.life {
            w.agg(a);
        }
        w.u(h.buckets.len() as u64);
        for b in &h.buckets {
            w.i(b.idx);
            w.u(u64::from(b.count));
            for a in &b.aggs {
                w.agg(a);
            }
        }
    }
    w.u(snap.members.len() as u64);
    for (key, m) in &snap.members {
        w.s(key);
        w.u(m.version);
        w.0.push(match m.state {
            None => 0,
            Some(false) => 1,
            Some(true) => 2,
        });
        w.i(m.since);
        w.opt(m.pending_since);
        w.0.push(u8::from(m.entered_once));
        w.opt(m.last_exit);
        w.0.push(u8::from(m.baseline));
    }
    crate::base64::encode(&w.0)
}

/// Decodes base64 text written by [`encode`].
///
/// # Errors
/// Why [`crate::segments::Engine::restore_state`] ignored a stored state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateError {
    /// Not base64, or truncated, or inconsistent.
    Malformed,
    /// Written by an unknown format version.
    UnknownVersion,
}

impl StateError {
    /// A short, lowercase description.
    pub fn message(self) -> &'static str {
        match self {
            StateError::Malformed => "stored segment state is malformed",
            StateError::UnknownVersion => "stored segment state has an unknown version",
        }
    }
}

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for StateError {}

/// [`StateError`] for anything but a well-formed v1 state.
pub(crate) fn decode(text: &str) -> Result<Snapshot, StateError> {
    let bytes = crate::base64::decode(text).ok_or(StateError::Malformed)?;
    if bytes.get(..2) != Some(&MAGIC[..]) {
        return Err(StateError::Malformed);
    }
    if bytes.get(2) != Some(&VERSION) {
        return Err(StateError::UnknownVersion);
    }
    let mut r = R::new(&bytes, 3);
    let mut snap = Snapshot {
        last_now: r.i(),
        last_activity: r.opt(),
        ..Snapshot::default()
    };
    let n_hist = r.len();
    for _ in 0..n_hist {
        let canonical = r.s();
        let ring_cap = r.len();
        let bucket_ms = r.i();
        let buckets_cap = r.len();
        let n_paths = r.len();
        if ring_cap > 32
            || !(bucket_ms == 0 || bucket_ms == 3_600_000 || bucket_ms == 86_400_000)
            || buckets_cap > 1000
            || n_paths > 8
        {
            return Err(StateError::Malformed);
        }
        let paths = (0..n_paths).map(|_| r.s()).collect();
        let needs = Needs {
            ring: ring_cap,
            bucket_ms,
            buckets: buckets_cap,
            paths,
        };
        let mut h = History::new(needs, r.i());
        h.first = r.opt();
        h.last = r.opt();
        h.count = r.u();
        h.life_days = r.u32();
        h.pruned_before = r.i();
        let n_ring = r.len();
        if n_ring > ring_cap {
            return Err(StateError::Malformed);
        }
        let mut prev = h.horizon;
        for _ in 0..n_ring {
            prev = prev.saturating_add(r.i());
            h.ring.push(prev);
        }
        for a in h.life.iter_mut() {
            *a = r.agg();
        }
        let n_buckets = r.len();
        if n_buckets > buckets_cap {
            return Err(StateError::Malformed);
        }
        for _ in 0..n_buckets {
            let idx = r.i();
            let count = r.u32();
            let aggs = (0..h.needs.paths.len()).map(|_| r.agg()).collect();
            h.buckets.push(Bucket { idx, count, aggs });
        }
        snap.histories.push((canonical, h));
    }
    let n_members = r.len();
    for _ in 0..n_members {
        let key = r.s();
        let version = r.u();
        let state = match r.tag(3) {
            0 => None,
            1 => Some(false),
            _ => Some(true),
        };
        let m = Member {
            version,
            state,
            since: r.i(),
            pending_since: r.opt(),
            entered_once: r.bool(),
            last_exit: r.opt(),
            baseline: r.bool(),
        };
        snap.members.push((key, m));
    }
    if !r.done() {
        return Err(StateError::Malformed);
    }
    Ok(snap)
}

#[cfg(test)]
mod tests;
