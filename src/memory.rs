//! Gives the system back the memory a pass freed. glibc's allocator returns freed memory only
//! from the top of each arena, so after a pass (parsed pages, plans, a report) the pages below
//! the objects the agent keeps stay resident: about a fifth of an idle agent's RSS at 10,000
//! objects. `malloc_trim(0)` releases them; elsewhere (musl, macOS) this does nothing, their
//! allocators return memory themselves.

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
}
