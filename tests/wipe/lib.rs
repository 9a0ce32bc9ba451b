//! A global allocator for tests that searches every block it frees for given secrets, so that a
//! test can show that freed heap memory holds no copy of them (`wipe.rs`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, counting the freed blocks that held each needle.
///
/// `realloc` is left to `GlobalAlloc`'s default (allocate, copy, free the old block), so the
/// block a growing buffer leaves behind is searched too.
pub struct Searching<const N: usize> {
    needles: [&'static [u8; 16]; N],
    found: [AtomicUsize; N],
}

impl<const N: usize> Searching<N> {
    /// An allocator that looks for `needles`, each 16 bytes that nothing else should contain,
    /// forwards or backwards.
    pub const fn new(needles: [&'static [u8; 16]; N]) -> Self {
        Searching {
            needles,
            found: [const { AtomicUsize::new(0) }; N],
        }
    }

    /// How many freed blocks have held needle `i` so far.
    pub fn found(&self, i: usize) -> usize {
        self.found[i].load(Ordering::SeqCst)
    }

    /// Counts `block` for each needle it holds, forwards or backwards (a number stored
    /// little-endian in memory is encoded big-endian).
    fn search(&self, block: &[u8]) {
        for (needle, found) in self.needles.iter().zip(&self.found) {
            let forwards = |window: &[u8]| window == &needle[..];
            let backwards = |window: &[u8]| window.iter().eq(needle.iter().rev());
            if block.windows(16).any(|w| forwards(w) || backwards(w)) {
                found.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
}

// One of the two places in the workspace with `unsafe` (the other is tests/fuzz's measuring
// allocator): a global allocator cannot be written without it. It forwards to `System` and
// only reads a block before freeing it.
#[allow(unsafe_code)]
mod allocator {
    use super::*;

    // SAFETY: every call is forwarded to `System` with the caller's arguments unchanged.
    unsafe impl<const N: usize> GlobalAlloc for Searching<N> {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            // SAFETY: the caller's contract for `alloc` is `System.alloc`'s.
            unsafe { System.alloc(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: `ptr` is a live block of `layout.size()` bytes until `System.dealloc`
            // below. Bytes never written are read as well: they hold no needle, and a test
            // allocator may accept reading them.
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            self.search(block);
            // SAFETY: the caller's contract for `dealloc` is `System.dealloc`'s.
            unsafe { System.dealloc(ptr, layout) }
        }
    }
}
