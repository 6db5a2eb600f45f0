//! The persisted segment state: a compact, versioned binary encoding in one base64 string
//! (one localStorage value). Pure: no I/O.
//!
//! **API boundary**: past and future SDK versions read this. Layout (v1): `"SG"`, version
//! byte, then LEB128 varints (signed values zigzag-encoded, floats as raw IEEE bits):
//! last `now`, last activity, histories keyed by selector canonical text, memberships keyed
//! by segment key. Ring timestamps are delta-encoded. Decoding never panics: every length
//! is bounded and checked against the remaining input.

use super::engine::StateError;
use super::history::{Agg, Bucket, History, Needs};
use super::membership::Member;

const MAGIC: &[u8; 2] = b"SG";
const VERSION: u8 = 1;
const MAX_ITEMS: u64 = 100_000;

/// Everything persisted.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// The engine's last `now`.
    pub last_now: i64,
    /// Last activity (sessions).
    pub last_activity: Option<i64>,
    /// Histories by selector canonical text.
    pub histories: Vec<(String, History)>,
    /// Memberships by segment key.
    pub members: Vec<(String, Member)>,
}

struct W(Vec<u8>);

impl W {
    fn u(&mut self, mut v: u64) {
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
    fn i(&mut self, v: i64) {
        self.u(((v << 1) ^ (v >> 63)) as u64);
    }
    fn opt(&mut self, v: Option<i64>) {
        match v {
            Some(x) => {
                self.0.push(1);
                self.i(x);
            }
            None => self.0.push(0),
        }
    }
    fn f(&mut self, x: f64) {
        self.0.extend_from_slice(&x.to_bits().to_le_bytes());
    }
    fn s(&mut self, s: &str) {
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

struct R<'a> {
    b: &'a [u8],
    pos: usize,
}

type Res<T> = Result<T, StateError>;

impl R<'_> {
    fn byte(&mut self) -> Res<u8> {
        let b = *self.b.get(self.pos).ok_or(StateError::Malformed)?;
        self.pos += 1;
        Ok(b)
    }
    fn u(&mut self) -> Res<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f)
                .checked_shl(shift)
                .ok_or(StateError::Malformed)?;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(StateError::Malformed)
    }
    fn i(&mut self) -> Res<i64> {
        let v = self.u()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }
    fn opt(&mut self) -> Res<Option<i64>> {
        match self.byte()? {
            0 => Ok(None),
            1 => Ok(Some(self.i()?)),
            _ => Err(StateError::Malformed),
        }
    }
    fn f(&mut self) -> Res<f64> {
        let bytes = self
            .b
            .get(self.pos..self.pos + 8)
            .ok_or(StateError::Malformed)?;
        let mut arr = [0u8; 8];
        arr.copy_from_slice(bytes);
        self.pos += 8;
        Ok(f64::from_bits(u64::from_le_bytes(arr)))
    }
    fn len(&mut self) -> Res<usize> {
        let n = self.u()?;
        if n > MAX_ITEMS || n as usize > self.b.len().saturating_sub(self.pos) + 1 {
            return Err(StateError::Malformed);
        }
        Ok(n as usize)
    }
    fn s(&mut self) -> Res<String> {
        let n = self.len()?;
        let bytes = self
            .b
            .get(self.pos..self.pos + n)
            .ok_or(StateError::Malformed)?;
        self.pos += n;
        String::from_utf8(bytes.to_vec()).map_err(|_| StateError::Malformed)
    }
    fn bool(&mut self) -> Res<bool> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(StateError::Malformed),
        }
    }
    fn agg(&mut self) -> Res<Agg> {
        let n = u32::try_from(self.u()?).map_err(|_| StateError::Malformed)?;
        if n == 0 {
            return Ok(Agg::default());
        }
        Ok(Agg {
            n,
            sum: self.f()?,
            min: self.f()?,
            max: self.f()?,
        })
    }
}

/// Encodes a snapshot as base64 text.
pub fn encode(snap: &Snapshot) -> String {
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
/// [`StateError`] for anything but a well-formed v1 state.
pub fn decode(text: &str) -> Result<Snapshot, StateError> {
    let bytes = crate::base64::decode(text).ok_or(StateError::Malformed)?;
    let mut r = R { b: &bytes, pos: 0 };
    if r.byte()? != MAGIC[0] || r.byte()? != MAGIC[1] {
        return Err(StateError::Malformed);
    }
    if r.byte()? != VERSION {
        return Err(StateError::UnknownVersion);
    }
    let mut snap = Snapshot {
        last_now: r.i()?,
        last_activity: r.opt()?,
        ..Snapshot::default()
    };
    let n_hist = r.len()?;
    for _ in 0..n_hist {
        let canonical = r.s()?;
        let ring_cap = r.len()?;
        let bucket_ms = r.i()?;
        let buckets_cap = r.len()?;
        let n_paths = r.len()?;
        if ring_cap > 32
            || !(bucket_ms == 0 || bucket_ms == 3_600_000 || bucket_ms == 86_400_000)
            || buckets_cap > 1000
            || n_paths > 8
        {
            return Err(StateError::Malformed);
        }
        let mut paths = Vec::with_capacity(n_paths);
        for _ in 0..n_paths {
            paths.push(r.s()?);
        }
        let needs = Needs {
            ring: ring_cap,
            bucket_ms,
            buckets: buckets_cap,
            paths,
        };
        let mut h = History::new(needs, r.i()?);
        h.first = r.opt()?;
        h.last = r.opt()?;
        h.count = r.u()?;
        h.life_days = u32::try_from(r.u()?).map_err(|_| StateError::Malformed)?;
        h.pruned_before = r.i()?;
        let n_ring = r.len()?;
        if n_ring > ring_cap {
            return Err(StateError::Malformed);
        }
        let mut prev = h.horizon;
        let mut ring = Vec::with_capacity(n_ring);
        for _ in 0..n_ring {
            prev = prev.checked_add(r.i()?).ok_or(StateError::Malformed)?;
            ring.push(prev);
        }
        h.ring = ring;
        for a in h.life.iter_mut() {
            *a = r.agg()?;
        }
        let n_buckets = r.len()?;
        if n_buckets > buckets_cap {
            return Err(StateError::Malformed);
        }
        for _ in 0..n_buckets {
            let idx = r.i()?;
            let count = u32::try_from(r.u()?).map_err(|_| StateError::Malformed)?;
            let mut aggs = Vec::with_capacity(h.needs.paths.len());
            for _ in 0..h.needs.paths.len() {
                aggs.push(r.agg()?);
            }
            h.buckets.push(Bucket { idx, count, aggs });
        }
        snap.histories.push((canonical, h));
    }
    let n_members = r.len()?;
    for _ in 0..n_members {
        let key = r.s()?;
        let version = r.u()?;
        let state = match r.byte()? {
            0 => None,
            1 => Some(false),
            2 => Some(true),
            _ => return Err(StateError::Malformed),
        };
        let m = Member {
            version,
            state,
            since: r.i()?,
            pending_since: r.opt()?,
            entered_once: r.bool()?,
            last_exit: r.opt()?,
            baseline: r.bool()?,
        };
        snap.members.push((key, m));
    }
    if r.pos != bytes.len() {
        return Err(StateError::Malformed);
    }
    Ok(snap)
}

#[cfg(test)]
mod tests;
