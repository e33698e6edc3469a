//! A per-call arena allocator for the wasm build.
//!
//! The host gives every request a fresh instance and throws its memory away
//! afterwards, so freeing small objects one by one is wasted work: most of
//! the guest's allocations (JSON values, strings, maps) live until the
//! response is built. Small allocations are bumped out of chunks of fresh
//! pages; freeing them only reclaims the most recent one. Large buffers, and
//! everything once the arena is used up, go to the fallback allocator, so a
//! request that churns through memory still reuses it and stays under the
//! host's limit.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::UnsafeCell;

/// Allocations from this size up go to the fallback: big buffers grow by
/// reallocation, and copying them into fresh arena space would waste it.
const LARGE: usize = 64 << 10;
/// Pages are taken a chunk at a time. Small chunks keep the memory a call
/// touches small, so the host's per-call reset of it stays cheap.
const CHUNK: usize = 1 << 20;
/// The most the arena takes; then everything goes to the fallback.
const MAX_ARENA: usize = 64 << 20;
/// Chunks that follow each other are one range; the linear memory grows
/// contiguously unless the fallback grew it in between.
const MAX_RANGES: usize = 16;

/// Where the arena's chunks come from.
pub trait Pages {
    /// Fresh memory of `bytes` (a multiple of 64 KiB): its start address.
    fn take(&self, bytes: usize) -> Option<usize>;
}

/// Pages from growing the wasm linear memory.
#[cfg(target_arch = "wasm32")]
pub struct LinearMemory;

#[cfg(target_arch = "wasm32")]
impl Pages for LinearMemory {
    fn take(&self, bytes: usize) -> Option<usize> {
        const PAGE: usize = 64 << 10;
        match core::arch::wasm32::memory_grow(0, bytes / PAGE) {
            usize::MAX => None,
            previous => Some(previous * PAGE),
        }
    }
}

pub struct Arena<P, F> {
    state: UnsafeCell<State>,
    pages: P,
    fallback: F,
}

struct State {
    next: usize,
    end: usize,
    /// `(start, end)` of the memory taken so far.
    ranges: [(usize, usize); MAX_RANGES],
    len: usize,
    taken: usize,
}

// The wasm32-wasip2 guest is single-threaded: nothing else can touch the
// state while an allocator call runs.
unsafe impl<P: Sync, F: Sync> Sync for Arena<P, F> {}

impl<P: Pages, F: GlobalAlloc> Arena<P, F> {
    pub const fn new(pages: P, fallback: F) -> Self {
        Self {
            state: UnsafeCell::new(State {
                next: 0,
                end: 0,
                ranges: [(0, 0); MAX_RANGES],
                len: 0,
                taken: 0,
            }),
            pages,
            fallback,
        }
    }

    #[allow(clippy::mut_from_ref)] // single-threaded, see the Sync impl
    fn state(&self) -> &mut State {
        unsafe { &mut *self.state.get() }
    }

    /// Sends every allocation from now on to the fallback. `wasmtime run`
    /// needs it: wasi-libc frees what a WASI import returned (stdin's
    /// bytes) with its own `free`, and the canonical ABI allocated those
    /// through this allocator, so they must come from the fallback
    /// (wasi-libc's `malloc`). What the arena already gave out is still
    /// freed here.
    pub fn close(&self) {
        let state = self.state();
        state.taken = MAX_ARENA;
        state.end = 0;
    }

    fn owns(&self, ptr: *mut u8) -> bool {
        let addr = ptr as usize;
        let state = self.state();
        state.ranges[..state.len]
            .iter()
            .any(|&(start, end)| (start..end).contains(&addr))
    }

    /// Bumps `layout` out of the current chunk, taking a new chunk when it
    /// does not fit; `None` once the arena is used up.
    fn bump(&self, layout: Layout) -> Option<*mut u8> {
        let state = self.state();
        loop {
            let start = state.next.checked_add(layout.align() - 1)? & !(layout.align() - 1);
            let end = start.checked_add(layout.size())?;
            if state.end != 0 && end <= state.end {
                state.next = end;
                return Some(start as *mut u8);
            }
            self.take_chunk()?;
        }
    }

    fn take_chunk(&self) -> Option<()> {
        let state = self.state();
        if state.taken + CHUNK > MAX_ARENA {
            return None;
        }
        let start = self.pages.take(CHUNK)?;
        let end = start + CHUNK;
        state.taken += CHUNK;
        // `state.end` is where the newest range ends.
        if state.len > 0 && start == state.end {
            state.ranges[state.len - 1].1 = end;
            state.end = end;
            return Some(());
        }
        if state.len == MAX_RANGES {
            // Out of bookkeeping: the chunk stays unused and the arena closes.
            state.taken = MAX_ARENA;
            return None;
        }
        state.ranges[state.len] = (start, end);
        state.len += 1;
        (state.next, state.end) = (start, end);
        Some(())
    }
}

unsafe impl<P: Pages, F: GlobalAlloc> GlobalAlloc for Arena<P, F> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() < LARGE
            && let Some(ptr) = self.bump(layout)
        {
            return ptr;
        }
        unsafe { self.fallback.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if !self.owns(ptr) {
            return unsafe { self.fallback.dealloc(ptr, layout) };
        }
        let state = self.state();
        if ptr as usize + layout.size() == state.next {
            state.next = ptr as usize;
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !self.owns(ptr) {
            return unsafe { self.fallback.realloc(ptr, layout, new_size) };
        }
        let state = self.state();
        let addr = ptr as usize;
        // The newest allocation grows or shrinks in place.
        if addr + layout.size() == state.next && new_size < LARGE && addr + new_size <= state.end {
            state.next = addr + new_size;
            return ptr;
        }
        if new_size <= layout.size() {
            return ptr;
        }
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
            return std::ptr::null_mut();
        };
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            unsafe { std::ptr::copy_nonoverlapping(ptr, new, layout.size()) };
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::alloc::System;

    /// Pages from the system allocator: never contiguous, so every chunk
    /// is its own range.
    struct SystemPages;
    impl Pages for SystemPages {
        fn take(&self, bytes: usize) -> Option<usize> {
            Some(unsafe { System.alloc(Layout::from_size_align(bytes, 16).unwrap()) } as usize)
        }
    }

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn a_closed_arena_sends_new_allocations_to_the_fallback_and_still_frees_its_own() {
        let arena = Arena::new(SystemPages, System);
        let before = unsafe { arena.alloc(layout(64, 8)) };
        assert!(arena.owns(before));
        arena.close();
        let after = unsafe { arena.alloc(layout(64, 8)) };
        assert!(!arena.owns(after));
        unsafe {
            arena.dealloc(after, layout(64, 8));
            arena.dealloc(before, layout(64, 8));
        }
    }

    #[test]
    fn small_allocations_are_bumped_aligned_and_the_newest_is_reclaimed() {
        let arena = Arena::new(SystemPages, System);
        unsafe {
            let a = arena.alloc(layout(3, 1));
            let b = arena.alloc(layout(8, 8));
            assert!(arena.owns(a) && arena.owns(b));
            assert_eq!(b as usize % 8, 0);
            assert!(b as usize >= a as usize + 3);
            arena.dealloc(b, layout(8, 8));
            assert_eq!(arena.alloc(layout(8, 8)), b, "the newest block is reused");
        }
    }

    #[test]
    fn the_newest_block_grows_in_place_and_others_move_with_their_contents() {
        let arena = Arena::new(SystemPages, System);
        unsafe {
            let a = arena.alloc(layout(4, 1));
            a.copy_from(b"abcd".as_ptr(), 4);
            assert_eq!(arena.realloc(a, layout(4, 1), 100), a);
            let _b = arena.alloc(layout(4, 1));
            let moved = arena.realloc(a, layout(100, 1), 200);
            assert_ne!(moved, a);
            assert_eq!(std::slice::from_raw_parts(moved, 4), b"abcd");
        }
    }

    #[test]
    fn large_buffers_and_overflow_go_to_the_fallback() {
        let arena = Arena::new(SystemPages, System);
        unsafe {
            let big = arena.alloc(layout(LARGE, 8));
            assert!(!big.is_null() && !arena.owns(big));
            arena.dealloc(big, layout(LARGE, 8));

            // Fill every chunk; what follows still allocates, from the fallback.
            let mut bumped = 0;
            loop {
                let block = arena.alloc(layout(LARGE - 1, 1));
                assert!(!block.is_null());
                if !arena.owns(block) {
                    arena.dealloc(block, layout(LARGE - 1, 1));
                    break;
                }
                bumped += LARGE - 1;
            }
            // Separate chunks: the ranges run out before the size cap.
            let capacity = MAX_RANGES * CHUNK;
            assert!(bumped <= capacity && bumped > capacity - MAX_RANGES * LARGE);
            assert_eq!(arena.state().len, MAX_RANGES);
        }
    }

    /// Pages handed out one after the other, as `memory.grow` does.
    struct ContiguousPages(std::cell::Cell<usize>);
    impl Pages for ContiguousPages {
        fn take(&self, bytes: usize) -> Option<usize> {
            Some(self.0.replace(self.0.get() + bytes))
        }
    }

    #[test]
    fn contiguous_chunks_are_one_range_up_to_the_size_cap() {
        let backing = unsafe { System.alloc(layout(MAX_ARENA, 16)) };
        let arena = Arena::new(
            ContiguousPages(std::cell::Cell::new(backing as usize)),
            System,
        );
        unsafe {
            let mut bumped = 0;
            loop {
                let block = arena.alloc(layout(LARGE - 1, 1));
                if !arena.owns(block) {
                    arena.dealloc(block, layout(LARGE - 1, 1));
                    break;
                }
                block.write_bytes(1, LARGE - 1);
                bumped += LARGE - 1;
            }
            assert_eq!(arena.state().len, 1);
            assert_eq!(arena.state().taken, MAX_ARENA);
            assert!(bumped > MAX_ARENA - LARGE);
            System.dealloc(backing, layout(MAX_ARENA, 16));
        }
    }
}
