//! Handing freed heap back to the operating system.
//!
//! A burst over thousands of channels allocates a few hundred MB that the idle-channel
//! eviction later frees; glibc keeps such memory mapped (fragmented between live blocks), so
//! without a trim the process stays at its peak size for good. `malloc_trim` walks every
//! arena and returns whole free pages, which is what an operator on a small VPS expects once
//! the rush is over.

/// Returns free heap pages to the OS (glibc); elsewhere nothing to do. Takes a few
/// milliseconds on a heap of hundreds of MB, so callers run it off the async workers.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases memory glibc's allocator holds unused.
    unsafe {
        libc::malloc_trim(0);
    }
}
