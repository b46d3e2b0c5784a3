//! Gives the system back the memory a pass freed. glibc's allocator returns freed memory only
//! from the top of each arena, so after a pass (parsed pages, plans, a report) the pages below
//! the objects the agent keeps stay resident: about a fifth of an idle agent's RSS at 10,000
//! objects. `malloc_trim(0)` releases them; elsewhere (musl, macOS) this does nothing, their
//! allocators return memory themselves. Large blocks are kept out of the heap for the same
//! reason ([`keep_large_blocks_apart`]).

/// Releases what the allocator holds free; true when it gave anything back.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn release() -> bool {
    // SAFETY: malloc_trim takes no pointers and touches only glibc's own free lists, which it
    // locks arena by arena while other threads go on allocating.
    unsafe { libc::malloc_trim(0) == 1 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release() -> bool {
    false
}

/// Blocks of [`LARGE`] and more (LIST pages, response buffers) come from and go back to the
/// system directly. glibc starts there too but raises the bar each time such a block is freed,
/// after which large blocks live in the heap and the pages under them stay resident: 7 MiB of
/// a 10,000-object diff's peak. Call once, before any thread starts.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn keep_large_blocks_apart() -> bool {
    // SAFETY: mallopt only sets a glibc tunable; called before other threads allocate.
    unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, LARGE as libc::c_int) == 1 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn keep_large_blocks_apart() -> bool {
    false
}

/// Two arenas for the whole process unless `MALLOC_ARENA_MAX` says otherwise. glibc gives each
/// thread that allocates while others do an arena of its own (up to 8 per core), and memory one
/// arena freed is never reused by another: render threads, runtime workers and the main thread
/// each kept their own: 51-52 MiB at the peak of a 10,000-object diff, 49 with two (41
/// with one, which costs a fifth more CPU in lock waits). Call once, before any thread starts.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn share_arenas() -> bool {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return false;
    }
    // SAFETY: mallopt only sets a glibc tunable; called before other threads allocate.
    unsafe { libc::mallopt(libc::M_ARENA_MAX, ARENAS) == 1 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn share_arenas() -> bool {
    false
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
const ARENAS: libc::c_int = 2;

/// glibc's own starting threshold, kept fixed.
const LARGE: usize = 128 * 1024;

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    #[test]
    fn memory_freed_below_a_live_allocation_is_released() {
        // Many small blocks with one kept above them: free() alone cannot shrink the heap.
        let mut blocks: Vec<Vec<u8>> = (0..20_000).map(|i| vec![i as u8; 2048]).collect();
        let kept = blocks.pop();
        drop(blocks);
        assert!(super::release(), "malloc_trim released nothing");
        assert_eq!(kept.map(|k| k.len()), Some(2048));
    }

    /// Bytes the allocator holds in blocks of their own (mmap).
    #[allow(unsafe_code)]
    fn mapped() -> usize {
        // SAFETY: mallinfo2 only reads glibc's counters.
        unsafe { libc::mallinfo2().hblkhd }
    }

    #[test]
    fn arenas_are_shared_unless_the_environment_says_otherwise() {
        let unset = std::env::var_os("MALLOC_ARENA_MAX").is_none();
        assert_eq!(super::share_arenas(), unset);
    }

    #[test]
    fn large_blocks_stay_out_of_the_heap_after_a_larger_one_was_freed() {
        assert!(super::keep_large_blocks_apart());
        // Freeing a 4 MiB block would raise glibc's own threshold to 4 MiB.
        drop(std::hint::black_box(vec![1u8; 4 << 20]));
        // Other tests allocate meanwhile: one clean reading out of three is enough.
        let apart = (0..3).any(|_| {
            let before = mapped();
            let block = std::hint::black_box(vec![1u8; 1 << 20]);
            let grew = mapped().saturating_sub(before);
            drop(block);
            grew >= 1 << 20
        });
        assert!(apart, "a 1 MiB block came from the heap");
    }
}
