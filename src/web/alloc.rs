//! The global allocator of both wasm modules: power-of-two size classes with one free list
//! each, carved from a bump region that grows with `memory.grow`. No headers, no splitting,
//! no coalescing: `dealloc` gets the layout back, so the class is recomputed from it.
//!
//! It replaces std's dlmalloc (≈ 5 KB of code, ≈ 2 KB gzip in each module; `../shared/notes/
//! wasm-size-lab.md` §A.5b) for a workload of small, short-lived strings and maps plus a few
//! large batch bodies (the core), and the segment engine's definitions and bounded history.
//! The cost is up to 2× internal waste per block and memory that a class keeps for reuse
//! (wasm memory never shrinks anyway).
//!
//! The logic is generic over [`Pages`] so that native tests (`tests/it/alloc.rs`) can drive it
//! over an ordinary buffer; this file has no wasm or std dependencies.

/// Bytes per wasm page.
pub(crate) const PAGE: usize = 65_536;
/// The smallest class (16 bytes): every block can hold the free-list link and is 16-aligned.
const MIN_CLASS: u32 = 4;
/// The smallest growth of memory, in pages (256 KiB).
const MIN_GROW: usize = 4;
/// The largest class (1 GiB); larger requests fail (return null).
const MAX_CLASS: usize = 30;

/// Where fresh memory comes from.
pub(crate) trait Pages {
    /// Adds `pages` pages; returns the address of the first new byte, or `None`.
    fn grow(&mut self, pages: usize) -> Option<usize>;
}

/// The size class of a request: log2 of its block size.
pub(crate) fn class(size: usize, align: usize) -> usize {
    let n = size.max(align).max(1 << MIN_CLASS);
    (usize::BITS - (n - 1).leading_zeros()) as usize
}

/// The allocator state. Single-threaded: the caller serializes access.
#[derive(Debug)]
pub(crate) struct Heap<P> {
    pages: P,
    /// Head of each class's free list (0: empty); a free block's first word links the next.
    free: [usize; MAX_CLASS + 1],
    /// The next unused byte of the current region (always 16-aligned), and its end.
    bump: usize,
    end: usize,
    /// Pages grown so far: the next growth is at least half of it (see [`Heap::alloc`]).
    grown: usize,
}

impl<P: Pages> Heap<P> {
    /// An empty heap; the first allocation grows memory.
    pub(crate) const fn new(pages: P) -> Heap<P> {
        Heap {
            pages,
            free: [0; MAX_CLASS + 1],
            bump: 0,
            end: 0,
            grown: 0,
        }
    }

    /// The page source (native tests count its growths).
    #[cfg(test)]
    pub(crate) fn pages(&self) -> &P {
        &self.pages
    }

    /// A block for `size` bytes aligned to `align` (a power of two), or null.
    ///
    /// # Safety
    /// The memory handed out by [`Pages`] must be valid and unused by anyone else.
    #[inline(never)]
    pub(crate) unsafe fn alloc(&mut self, size: usize, align: usize) -> *mut u8 {
        let k = class(size, align);
        if k > MAX_CLASS {
            return core::ptr::null_mut();
        }
        let head = self.free[k];
        // Recycled blocks are only known to be 16-aligned: stricter requests carve fresh.
        if head != 0 && align <= 16 {
            self.free[k] = *(head as *const usize);
            return head as *mut u8;
        }
        let block = 1usize << k;
        let mut start = (self.bump + align - 1) & !(align - 1);
        if start > self.end || self.end - start < block {
            // Memory grows geometrically (by half of what was grown so far, at least
            // MIN_GROW pages): in Chromium a `memory.grow` can cost a copy of the whole memory
            // (measured: 84 grows of a page or two for 2000 queued track() calls, four of them
            // over 1 ms). When that much is refused, exactly what is needed is asked for.
            let need = (block + align).div_ceil(PAGE);
            let want = need.max(self.grown / 2).max(MIN_GROW);
            let (pages, base) = match self.pages.grow(want) {
                Some(base) => (want, base),
                None => match self.pages.grow(need) {
                    Some(base) => (need, base),
                    None => return core::ptr::null_mut(),
                },
            };
            self.grown += pages;
            if base != self.end {
                // Not contiguous with the current region: its tail is abandoned.
                self.bump = base;
            }
            self.end = base + pages * PAGE;
            start = (self.bump + align - 1) & !(align - 1);
        }
        self.bump = start + block;
        start as *mut u8
    }

    /// Returns a block from [`Heap::alloc`] with the same `size` and `align`.
    ///
    /// # Safety
    /// `ptr` must be live and come from this heap with this layout.
    #[inline(never)]
    pub(crate) unsafe fn dealloc(&mut self, ptr: *mut u8, size: usize, align: usize) {
        let k = class(size, align);
        *(ptr as *mut usize) = self.free[k];
        self.free[k] = ptr as usize;
    }

    /// Resizes a block: the same block when the class does not change, else a new one with
    /// the contents copied (the old one is freed). Null (old block untouched) on failure.
    ///
    /// # Safety
    /// As [`Heap::dealloc`] for `ptr`, `size`, `align`.
    #[inline(never)]
    pub(crate) unsafe fn realloc(
        &mut self,
        ptr: *mut u8,
        size: usize,
        align: usize,
        new_size: usize,
    ) -> *mut u8 {
        if class(size, align) == class(new_size, align) {
            return ptr;
        }
        let new = self.alloc(new_size, align);
        if !new.is_null() {
            core::ptr::copy_nonoverlapping(ptr, new, size.min(new_size));
            self.dealloc(ptr, size, align);
        }
        new
    }
}

/// `memory.grow` on memory 0.
#[cfg(target_arch = "wasm32")]
#[derive(Debug)]
pub(crate) struct WasmPages;

#[cfg(target_arch = "wasm32")]
impl Pages for WasmPages {
    fn grow(&mut self, pages: usize) -> Option<usize> {
        let old = core::arch::wasm32::memory_grow(0, pages);
        (old != usize::MAX).then(|| old * PAGE)
    }
}

/// The `#[global_allocator]` of both wasm modules (single-threaded wasm32).
#[cfg(target_arch = "wasm32")]
#[derive(Debug)]
pub(crate) struct Global(core::cell::UnsafeCell<Heap<WasmPages>>);

#[cfg(target_arch = "wasm32")]
impl Global {
    /// The empty allocator.
    pub(crate) const fn new() -> Global {
        Global(core::cell::UnsafeCell::new(Heap::new(WasmPages)))
    }
}

// SAFETY: wasm32 without the atomics feature has one thread.
#[cfg(target_arch = "wasm32")]
unsafe impl Sync for Global {}

#[cfg(target_arch = "wasm32")]
unsafe impl core::alloc::GlobalAlloc for Global {
    unsafe fn alloc(&self, layout: core::alloc::Layout) -> *mut u8 {
        (*self.0.get()).alloc(layout.size(), layout.align())
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: core::alloc::Layout) {
        (*self.0.get()).dealloc(ptr, layout.size(), layout.align())
    }
    unsafe fn realloc(
        &self,
        ptr: *mut u8,
        layout: core::alloc::Layout,
        new_size: usize,
    ) -> *mut u8 {
        (*self.0.get()).realloc(ptr, layout.size(), layout.align(), new_size)
    }
}
