//! A global allocator for the fuzz tests that records the largest single allocation each thread
//! makes, so that a test can show that no input makes a parser allocate beyond a bound of its
//! size (a length prefix of 2^60 must be refused, not honoured).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    // Const-initialised and without a destructor: reading it never allocates.
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

/// The system allocator, recording each thread's largest allocation.
pub struct Measuring;

impl Measuring {
    /// Runs `f`, and returns what it returned with the largest single allocation this thread
    /// made while it ran, in bytes.
    pub fn largest_during<R>(f: impl FnOnce() -> R) -> (R, usize) {
        let before = LARGEST.with(|l| l.replace(0));
        let result = f();
        let largest = LARGEST.with(|l| l.replace(before.max(l.get())));
        (result, largest)
    }
}

fn record(size: usize) {
    // `try_with`: a thread being torn down has no slot left, and its allocations go unmeasured.
    let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
}

// The second place in the workspace with `unsafe` (the first is tests/wipe): a global allocator
// cannot be written without it. It forwards to `System` and only notes the sizes asked for.
#[allow(unsafe_code)]
mod allocator {
    use super::*;

    // SAFETY: every call is forwarded to `System` with the caller's arguments unchanged.
    unsafe impl GlobalAlloc for Measuring {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            record(layout.size());
            // SAFETY: the caller's contract for `alloc` is `System.alloc`'s.
            unsafe { System.alloc(layout) }
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            record(layout.size());
            // SAFETY: the caller's contract for `alloc_zeroed` is `System.alloc_zeroed`'s.
            unsafe { System.alloc_zeroed(layout) }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            record(new_size);
            // SAFETY: the caller's contract for `realloc` is `System.realloc`'s.
            unsafe { System.realloc(ptr, layout, new_size) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: the caller's contract for `dealloc` is `System.dealloc`'s.
            unsafe { System.dealloc(ptr, layout) }
        }
    }
}
