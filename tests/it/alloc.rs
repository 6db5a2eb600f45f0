//! The script-tag wasm's allocator (`src/web/alloc.rs`), driven natively over a fake
//! `memory.grow`: random alloc/realloc/free sequences checked against a model (alignment,
//! no overlap between live blocks, contents kept across realloc, reuse, growth failure,
//! non-contiguous growth).

#![allow(dead_code, unreachable_pub)]

#[path = "../../src/web/alloc.rs"]
mod heap;

use heap::{class, Heap, Pages, PAGE};

/// A fake linear memory: a 64 KiB-aligned buffer handed out page by page. `gap` leaves
/// pages unused before each growth (another grower), `limit` caps the total.
struct Fake {
    base: usize,
    used: usize,
    limit: usize,
    gap: usize,
    grows: usize,
}

impl Fake {
    fn new(limit_pages: usize, gap: usize) -> Fake {
        // Leaked on purpose: blocks point into it for the whole test.
        let buf: &'static mut [u8] =
            Box::leak(vec![0u8; (limit_pages + 1) * PAGE].into_boxed_slice());
        let base = (buf.as_mut_ptr() as usize).div_ceil(PAGE) * PAGE;
        Fake {
            base,
            used: 0,
            limit: limit_pages,
            gap,
            grows: 0,
        }
    }
}

impl Pages for Fake {
    fn grow(&mut self, pages: usize) -> Option<usize> {
        let start = self.used + self.gap;
        if start + pages > self.limit {
            return None;
        }
        self.used = start + pages;
        self.grows += 1;
        Some(self.base + start * PAGE)
    }
}

/// xorshift64*
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Live {
    ptr: usize,
    size: usize,
    align: usize,
    seed: u8,
}

fn fill(b: &Live) {
    for i in 0..b.size {
        unsafe { *((b.ptr + i) as *mut u8) = b.seed.wrapping_add(i as u8) };
    }
}

fn check(b: &Live, upto: usize) {
    for i in 0..upto.min(b.size) {
        let v = unsafe { *((b.ptr + i) as *const u8) };
        assert_eq!(
            v,
            b.seed.wrapping_add(i as u8),
            "block {:#x} byte {i} clobbered",
            b.ptr
        );
    }
}

fn assert_disjoint(live: &[Live]) {
    let mut spans: Vec<(usize, usize)> = live
        .iter()
        .map(|b| (b.ptr, b.ptr + (1usize << class(b.size, b.align))))
        .collect();
    spans.sort();
    for w in spans.windows(2) {
        assert!(w[0].1 <= w[1].0, "blocks overlap: {:x?} {:x?}", w[0], w[1]);
    }
}

fn size_of(rng: &mut Rng) -> usize {
    match rng.below(50) {
        0..=29 => 1 + rng.below(64) as usize,
        30..=48 => 1 + rng.below(4096) as usize,
        _ => 1 + rng.below(300_000) as usize,
    }
}

fn soak(seed: u64, gap: usize, steps: usize) {
    let mut heap = Heap::new(Fake::new(1024, gap));
    let mut rng = Rng(seed);
    let mut live: Vec<Live> = Vec::new();
    for step in 0..steps {
        match rng.below(10) {
            0..=3 => {
                let size = size_of(&mut rng);
                let strict = rng.below(20) == 0;
                let align = 1usize << rng.below(if strict { 13 } else { 4 });
                let ptr = unsafe { heap.alloc(size, align) } as usize;
                assert_ne!(ptr, 0, "step {step}: out of memory");
                assert_eq!(ptr % align, 0, "step {step}: misaligned");
                let b = Live {
                    ptr,
                    size,
                    align,
                    seed: rng.next() as u8,
                };
                fill(&b);
                live.push(b);
            }
            4..=6 if !live.is_empty() => {
                let i = rng.below(live.len() as u64) as usize;
                let b = live.swap_remove(i);
                check(&b, b.size);
                unsafe { heap.dealloc(b.ptr as *mut u8, b.size, b.align) };
            }
            7..=9 if !live.is_empty() => {
                let i = rng.below(live.len() as u64) as usize;
                let new_size = size_of(&mut rng);
                let b = &mut live[i];
                check(b, b.size);
                let ptr =
                    unsafe { heap.realloc(b.ptr as *mut u8, b.size, b.align, new_size) } as usize;
                assert_ne!(ptr, 0);
                assert_eq!(ptr % b.align, 0);
                b.ptr = ptr;
                check(b, new_size);
                b.size = new_size;
                fill(b);
            }
            _ => {}
        }
        if step % 64 == 0 {
            assert_disjoint(&live);
        }
    }
    assert_disjoint(&live);
    for b in &live {
        check(b, b.size);
    }
}

#[test]
fn classes() {
    assert_eq!(class(0, 1), 4);
    assert_eq!(class(1, 1), 4);
    assert_eq!(class(16, 8), 4);
    assert_eq!(class(17, 1), 5);
    assert_eq!(class(32, 4), 5);
    assert_eq!(class(33, 4), 6);
    assert_eq!(class(3, 64), 6);
    assert_eq!(class(65_536, 8), 16);
    assert_eq!(class(65_537, 8), 17);
}

#[test]
fn soak_contiguous_growth() {
    for seed in 1..=8 {
        soak(0x9E37_79B9_7F4A_7C15 ^ seed, 0, 4000);
    }
}

#[test]
fn soak_with_gaps_between_growths() {
    for seed in 1..=4 {
        soak(0xD1B5_4A32_D192_ED03 ^ seed, 1, 3000);
    }
}

#[test]
fn freed_blocks_are_reused_per_class() {
    let mut heap = Heap::new(Fake::new(64, 0));
    unsafe {
        let a = heap.alloc(24, 8);
        let b = heap.alloc(24, 8);
        assert_ne!(a, b);
        heap.dealloc(a, 24, 8);
        // Same class (32 bytes): the freed block comes back.
        assert_eq!(heap.alloc(30, 4), a);
        // Another class does not take it.
        heap.dealloc(b, 24, 8);
        let c = heap.alloc(100, 8);
        assert_ne!(c, b);
        assert_eq!(heap.alloc(17, 1), b);
    }
}

#[test]
fn realloc_within_a_class_keeps_the_block() {
    let mut heap = Heap::new(Fake::new(64, 0));
    unsafe {
        let a = heap.alloc(20, 1);
        *a = 7;
        assert_eq!(heap.realloc(a, 20, 1, 32), a);
        let b = heap.realloc(a, 32, 1, 33);
        assert_ne!(b, a);
        assert_eq!(*b, 7);
        // The old block went back to its class.
        assert_eq!(heap.alloc(32, 1), a);
    }
}

#[test]
fn large_blocks_grow_memory_and_failure_is_null() {
    let mut heap = Heap::new(Fake::new(40, 0));
    unsafe {
        let a = heap.alloc(1 << 20, 8); // 16 pages + alignment slack
        assert!(!a.is_null());
        core::ptr::write_bytes(a, 1, 1 << 20);
        let b = heap.alloc(1 << 20, 8);
        assert!(!b.is_null());
        assert!((b as usize) >= a as usize + (1 << 20));
        // 40 pages are used up: the next megabyte fails cleanly, and a failed realloc
        // leaves the old block alone.
        assert!(heap.alloc(1 << 20, 8).is_null());
        assert!(heap.realloc(b, 1 << 20, 8, (1 << 20) + 1).is_null());
        assert_eq!(*a, 1);
        // Beyond the largest class.
        assert!(heap.alloc(usize::MAX / 2, 8).is_null());
        // Freed, it is reused without growing.
        heap.dealloc(b, 1 << 20, 8);
        assert_eq!(heap.alloc((1 << 19) + 1, 8), b);
    }
}

#[test]
fn strict_alignment_is_honoured() {
    let mut heap = Heap::new(Fake::new(64, 0));
    unsafe {
        let _ = heap.alloc(16, 16);
        let a = heap.alloc(100, 4096);
        assert_eq!(a as usize % 4096, 0);
        heap.dealloc(a, 100, 4096);
        // A recycled block is only 16-aligned for sure: a 4096-aligned request carves anew.
        let small = heap.alloc(16, 16);
        let b = heap.alloc(100, 4096);
        assert_eq!(b as usize % 4096, 0);
        assert_eq!(small as usize % 16, 0);
    }
}

#[test]
fn memory_grows_geometrically_and_then_by_what_is_needed() {
    // 8,000 blocks of 1 KiB (125 pages) in few growths, not one growth per page.
    let mut heap = Heap::new(Fake::new(4096, 0));
    unsafe {
        for _ in 0..8000 {
            assert!(!heap.alloc(1024, 8).is_null());
        }
    }
    assert!(heap_grows(&heap) <= 12, "{} growths", heap_grows(&heap));
    // Near the limit, a growth that large is refused: exactly what is needed is taken, until
    // every page is used.
    let mut heap = Heap::new(Fake::new(7, 0));
    unsafe {
        for i in 0..7 * (PAGE / 1024) {
            assert!(!heap.alloc(1024, 8).is_null(), "block {i} of 7 pages");
        }
        assert!(heap.alloc(1024, 8).is_null());
    }
}

fn heap_grows(heap: &Heap<Fake>) -> usize {
    heap.pages().grows
}
