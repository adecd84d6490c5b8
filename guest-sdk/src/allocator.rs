//! The heap allocator of integrations, installed as the global allocator
//! when built for WebAssembly (feature `allocator`, on by default).
//!
//! Every execution runs in a fresh instance whose heap lives for one call,
//! and the host meters the instructions the guest runs as fuel, which is
//! what the user is billed for. So the allocator spends as few instructions
//! per call as it can: a request is rounded up to a size class (16-byte
//! steps up to 64 bytes, then four classes per power of two, so at most a
//! quarter is wasted), each class keeps a free list of the blocks given
//! back, and new blocks are carved from a bump region. Blocks are never
//! split or merged: a freed block serves the next request of its class. On
//! the benchmark's CPU-bound action (parse and summarise 119 KiB of JSON,
//! with fuel) this took about a tenth off the time the C library's `malloc`
//! gave (see the README's performance section).
//!
//! Where the bump region comes from depends on the target: on
//! `wasm32-unknown-unknown` it is the memory after the linker's static data
//! (`__heap_base`), then `memory.grow`; elsewhere (`wasm32-wasip2`, whose C
//! library keeps its own `malloc` heap, and the host for the unit tests) it
//! is chunks taken from the system allocator.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::ptr;

/// The alignment of every block: enough for any type but over-aligned ones.
const MIN_ALIGN: usize = 16;
/// Whether fresh bump memory is known to be zero: the memory after the
/// static data and grown memory are; chunks from `malloc` need not be.
const FRESH_IS_ZERO: bool = cfg!(all(target_arch = "wasm32", target_os = "unknown"));
/// The size of the first chunk taken from the system allocator.
const FIRST_CHUNK: usize = 16 * 1024;
/// Classes 0 to 3 are 16, 32, 48 and 64 bytes; after that four classes per
/// power of two, up to the largest size a 64-bit address space can hold.
const CLASSES: usize = 4 + 4 * (usize::BITS as usize - 6);

/// The allocator. One per component; it finds its memory on first use.
pub struct Allocator {
    heap: UnsafeCell<Heap>,
}

// SAFETY: WebAssembly components built without the `atomics` target
// feature run one thread, so the heap is never reached from two threads at
// once. On other targets the allocator is only used by this module's unit
// tests, each on its own instance and thread.
unsafe impl Sync for Allocator {}

struct Heap {
    /// The head of each class's free list; a free block holds the next one.
    free: [*mut u8; CLASSES],
    /// Where the next fresh block starts.
    next: usize,
    /// The end of the bump region.
    end: usize,
    /// The size of the next chunk taken from the system allocator.
    #[cfg_attr(all(target_arch = "wasm32", target_os = "unknown"), allow(dead_code))]
    chunk: usize,
}

impl Allocator {
    /// An allocator with an empty heap.
    pub const fn new() -> Self {
        Allocator {
            heap: UnsafeCell::new(Heap {
                free: [ptr::null_mut(); CLASSES],
                next: 0,
                end: 0,
                chunk: FIRST_CHUNK,
            }),
        }
    }

    /// The heap, for the duration of one allocator call.
    #[allow(clippy::mut_from_ref)] // one thread, one call at a time (see `Sync`)
    fn heap(&self) -> &mut Heap {
        // SAFETY: no two calls run at once (see `Sync`) and no reference to
        // the heap outlives the call that took it.
        unsafe { &mut *self.heap.get() }
    }
}

impl Default for Allocator {
    fn default() -> Self {
        Self::new()
    }
}

/// The class of a request of `size` bytes and the size of its blocks.
#[inline(always)]
fn class_of(size: usize) -> (usize, usize) {
    if size <= 64 {
        let steps = size.saturating_sub(1) / MIN_ALIGN;
        return (steps, (steps + 1) * MIN_ALIGN);
    }
    let last = size - 1;
    // `size` is in (2^k, 2^(k+1)] with k >= 6: four steps of 2^(k-2).
    let k = (usize::BITS - 1 - last.leading_zeros()) as usize;
    let shift = k - 2;
    let quarter = (last >> shift) - 4;
    (4 + (k - 6) * 4 + quarter, (5 + quarter) << shift)
}

/// The class, block size and alignment of `layout`: over-aligned requests
/// take a block at least as large as their alignment.
#[inline(always)]
fn layout_class(layout: &Layout) -> (usize, usize, usize) {
    let align = layout.align().max(MIN_ALIGN);
    let (class, size) = class_of(layout.size().max(align));
    (class, size, align)
}

impl Heap {
    /// `size` fresh bytes aligned to `align`, from the bump region.
    #[inline]
    fn bump(&mut self, size: usize, align: usize) -> *mut u8 {
        let start = (self.next + align - 1) & !(align - 1);
        match start.checked_add(size) {
            Some(stop) if stop <= self.end => {
                self.next = stop;
                start as *mut u8
            }
            _ => self.bump_slow(size, align),
        }
    }

    #[cold]
    fn bump_slow(&mut self, size: usize, align: usize) -> *mut u8 {
        let Some(needed) = size.checked_add(align) else {
            return ptr::null_mut();
        };
        if !self.refill(needed) {
            return ptr::null_mut();
        }
        let start = (self.next + align - 1) & !(align - 1);
        self.next = start + size;
        start as *mut u8
    }

    /// Make room for `needed` more bytes at the bump pointer: the memory
    /// after the static data, then grown memory.
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    fn refill(&mut self, needed: usize) -> bool {
        use core::arch::wasm32;
        const PAGE: usize = 65536;
        unsafe extern "C" {
            /// The first address after the stack and static data.
            static __heap_base: u8;
        }
        let memory_end = wasm32::memory_size(0) * PAGE;
        if self.end == 0 {
            self.next = ptr::addr_of!(__heap_base) as usize;
            self.end = memory_end;
        } else if self.end != memory_end {
            // Something else grew the memory: start after it.
            self.next = memory_end;
            self.end = memory_end;
        }
        if self.end - self.next >= needed {
            return true;
        }
        let pages = (needed - (self.end - self.next)).div_ceil(PAGE);
        if wasm32::memory_grow(0, pages) == usize::MAX {
            return false;
        }
        self.end += pages * PAGE;
        true
    }

    /// Make room for `needed` more bytes at the bump pointer: a new chunk
    /// from the system allocator, twice as large as the last (up to 1 MiB),
    /// or as large as `needed`. The rest of the old chunk is left.
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    fn refill(&mut self, needed: usize) -> bool {
        let size = self.chunk.max(needed);
        // `malloc`'s own alignment: the bump pointer aligns each block.
        let Ok(layout) = Layout::from_size_align(size, 8) else {
            return false;
        };
        // SAFETY: `layout` has a non-zero size.
        let chunk = unsafe { std::alloc::System.alloc(layout) };
        if chunk.is_null() {
            return false;
        }
        self.chunk = (self.chunk * 2).min(1 << 20);
        self.next = chunk as usize;
        self.end = chunk as usize + size;
        true
    }

    /// A block of `class` (`size` bytes, aligned to `align`): a freed one
    /// if there is one, else a fresh one; null when memory is exhausted.
    #[inline(always)]
    fn take(&mut self, class: usize, size: usize, align: usize) -> *mut u8 {
        match self.pop(class, align) {
            Some(block) => block,
            None => self.bump(size, align),
        }
    }

    /// Give `block` back to the free list of `class`.
    ///
    /// # Safety
    /// `block` is a block of `class` (at least 16 bytes, 16-aligned) that is
    /// no longer in use.
    #[inline(always)]
    unsafe fn push(&mut self, class: usize, block: *mut u8) {
        // SAFETY: see the function's contract.
        unsafe { block.cast::<*mut u8>().write(self.free[class]) };
        self.free[class] = block;
    }

    /// Take a block of `class` from its free list if its head is aligned to
    /// `align`.
    #[inline(always)]
    fn pop(&mut self, class: usize, align: usize) -> Option<*mut u8> {
        let head = self.free[class];
        if head.is_null() || (head as usize) & (align - 1) != 0 {
            return None;
        }
        // SAFETY: a block on a free list holds the next block's address.
        self.free[class] = unsafe { head.cast::<*mut u8>().read() };
        Some(head)
    }
}

// SAFETY: blocks are at least as large and as aligned as their layouts ask,
// a block is handed out again only after it was given back, and a null
// pointer reports exhaustion.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let heap = self.heap();
        let (class, size, align) = layout_class(&layout);
        heap.take(class, size, align)
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let heap = self.heap();
        let (class, size, align) = layout_class(&layout);
        let block = match heap.pop(class, align) {
            Some(block) => block,
            None if FRESH_IS_ZERO => return heap.bump(size, align),
            None => heap.bump(size, align),
        };
        if !block.is_null() {
            // SAFETY: the block has at least `layout.size()` bytes.
            unsafe { block.write_bytes(0, layout.size()) };
        }
        block
    }

    #[inline]
    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        let heap = self.heap();
        let (class, _, _) = layout_class(&layout);
        // SAFETY: `block` came from this allocator with `layout`.
        unsafe { heap.push(class, block) };
    }

    #[inline]
    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let heap = self.heap();
        let (class, size, align) = layout_class(&layout);
        let (new_class, new_block_size) = class_of(new_size.max(align));
        if new_class == class {
            return block;
        }
        // The newest block grows in place while its region has room.
        if new_class > class
            && block as usize + size == heap.next
            && block as usize + new_block_size <= heap.end
        {
            heap.next = block as usize + new_block_size;
            return block;
        }
        let fresh = heap.take(new_class, new_block_size, align);
        if !fresh.is_null() {
            // SAFETY: both blocks hold at least the smaller of the two sizes
            // and are distinct; the old block is given back afterwards.
            unsafe {
                ptr::copy_nonoverlapping(block, fresh, layout.size().min(new_size));
                heap.push(class, block);
            }
        }
        fresh
    }
}

#[cfg(test)]
mod tests {
    use super::{Allocator, class_of};
    use core::alloc::{GlobalAlloc, Layout};

    #[test]
    fn classes_cover_every_size_with_at_most_a_quarter_wasted() {
        let mut previous = (0, 16);
        for size in 1..=1 << 20 {
            let (class, block) = class_of(size);
            assert!(block >= size && block % 16 == 0, "size {size} -> {block}");
            assert!(
                size <= 64 || (block - size) * 4 < block,
                "size {size} -> {block}"
            );
            assert!(
                class == previous.0 && block == previous.1 || class == previous.0 + 1,
                "size {size}: class {class} after {previous:?}"
            );
            previous = (class, block);
        }
    }

    /// Fill `len` bytes at `block` with a pattern derived from `seed`.
    unsafe fn fill(block: *mut u8, len: usize, seed: u8) {
        for i in 0..len {
            unsafe { block.add(i).write(seed.wrapping_add(i as u8)) };
        }
    }

    unsafe fn holds(block: *const u8, len: usize, seed: u8) -> bool {
        (0..len).all(|i| unsafe { block.add(i).read() } == seed.wrapping_add(i as u8))
    }

    #[test]
    fn live_blocks_never_overlap_and_keep_their_contents() {
        let allocator = Allocator::new();
        let mut live: Vec<(*mut u8, Layout, u8)> = Vec::new();
        let mut state = 0x2545_f491_u32;
        for step in 0..20_000u32 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let size = 1 + (state % 3000) as usize * if step % 97 == 0 { 300 } else { 1 };
            let align = [1, 8, 16, 64, 4096][(state >> 20) as usize % 5];
            let seed = step as u8;
            unsafe {
                match state % 4 {
                    0 | 1 => {
                        let layout = Layout::from_size_align(size, align).expect("valid layout");
                        let block = allocator.alloc(layout);
                        assert!(!block.is_null());
                        assert_eq!(block as usize % align, 0);
                        fill(block, size, seed);
                        live.push((block, layout, seed));
                    }
                    2 if !live.is_empty() => {
                        let (block, layout, seed) = live.swap_remove(state as usize % live.len());
                        assert!(holds(block, layout.size(), seed));
                        allocator.dealloc(block, layout);
                    }
                    _ if !live.is_empty() => {
                        let index = state as usize % live.len();
                        let (block, layout, old_seed) = live[index];
                        let moved = allocator.realloc(block, layout, size);
                        assert!(!moved.is_null());
                        assert!(holds(moved, layout.size().min(size), old_seed));
                        let layout = Layout::from_size_align(size, layout.align()).expect("valid");
                        fill(moved, size, seed);
                        live[index] = (moved, layout, seed);
                    }
                    _ => {}
                }
            }
        }
        for (block, layout, seed) in live {
            assert!(unsafe { holds(block, layout.size(), seed) });
        }
    }

    #[test]
    fn zeroed_blocks_are_zero_even_when_reused() {
        let allocator = Allocator::new();
        let layout = Layout::from_size_align(200, 8).expect("valid layout");
        unsafe {
            let block = allocator.alloc(layout);
            block.write_bytes(0xAB, 200);
            allocator.dealloc(block, layout);
            let again = allocator.alloc_zeroed(layout);
            assert_eq!(again, block, "the freed block is reused");
            assert!((0..200).all(|i| again.add(i).read() == 0));
            let big = Layout::from_size_align(5 << 20, 16).expect("valid layout");
            let fresh = allocator.alloc_zeroed(big);
            assert!((0..5 << 20).step_by(4096).all(|i| fresh.add(i).read() == 0));
        }
    }
}
