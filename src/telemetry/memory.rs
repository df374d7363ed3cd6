//! Handing memory back to the operating system.
//!
//! A burst over thousands of channels allocates a few hundred MB that the idle-channel
//! eviction later frees. jemalloc (the default allocator, see `main.rs`) returns such pages
//! by itself; glibc keeps them mapped (fragmented between live blocks) unless asked:
//! `malloc_trim` walks every arena and returns whole free pages, which is what an operator
//! on a small VPS expects once the rush is over.
//!
//! The other large part of a small bot's resident set is its own program text: start-up
//! (settings, migrations, building the slash commands, the TLS and HTTP stacks) runs code
//! that is never run again, yet its pages stay mapped, and the kernel's fault-around maps
//! 64 KiB around every page touched. `release_program_text` unmaps them once start-up is
//! over; the code still running faults its pages back in from the page cache (minor faults,
//! no disk read), and what is left unmapped is the first memory the kernel reclaims.

/// Returns glibc's free heap pages to the OS. Under jemalloc (the binary's allocator) this
/// trims only glibc's unused arena, at no cost: jemalloc's background thread returns its
/// own pages within a second. The library cannot know which allocator the program chose
/// (tests and benches use glibc's), so it always asks. Takes a few milliseconds on a glibc
/// heap of hundreds of MB, so callers run it off the async workers.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases memory glibc's allocator holds unused.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Everything a quiet bot can give back: free heap pages, then the program text (what runs
/// next faults its pages back in). A few milliseconds: call it off the async workers.
pub fn release_idle_memory() {
    release_free_memory();
    if let Err(error) = release_program_text() {
        tracing::debug!(%error, "could not unmap the program text");
    }
}

/// One mapping of `/proc/self/smaps`, as far as releasing it is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub start: usize,
    pub end: usize,
    pub writable: bool,
    pub path: String,
    /// Pages of this file mapping that are private copies (relocated or written): these
    /// differ from the file, and dropping them would lose that content.
    pub anonymous_kb: u64,
    /// Resident pages of the mapping.
    pub rss_kb: u64,
}

impl Mapping {
    /// A read-only view of `exe` holding nothing but the file's own bytes: its pages can be
    /// dropped and faulted back in unchanged.
    pub fn is_releasable_text_of(&self, exe: &str) -> bool {
        self.path == exe && !self.writable && self.anonymous_kb == 0 && self.end > self.start
    }
}

/// Parses `/proc/<pid>/smaps`: a header line per mapping, then `Key: value` lines.
pub fn parse_smaps(text: &str) -> Vec<Mapping> {
    let mut mappings: Vec<Mapping> = Vec::new();
    for line in text.lines() {
        if let Some(mapping) = parse_header(line) {
            mappings.push(mapping);
        } else if let Some(last) = mappings.last_mut() {
            if let Some(rest) = line.strip_prefix("Anonymous:") {
                // A value we cannot read counts as "has private pages": the mapping is kept.
                last.anonymous_kb = kilobytes(rest).unwrap_or(u64::MAX);
            } else if let Some(rest) = line.strip_prefix("Rss:") {
                last.rss_kb = kilobytes(rest).unwrap_or(0);
            }
        }
    }
    mappings
}

/// A process's mappings from `/proc/<pid>/smaps` (`"self"`: this process).
pub fn mappings_of(pid: &str) -> std::io::Result<Vec<Mapping>> {
    Ok(parse_smaps(&std::fs::read_to_string(format!(
        "/proc/{pid}/smaps"
    ))?))
}

fn kilobytes(value: &str) -> Option<u64> {
    value.trim().trim_end_matches("kB").trim().parse().ok()
}

/// `start-end perms offset dev inode [path]`; `None` for a `Key: value` line.
fn parse_header(line: &str) -> Option<Mapping> {
    let mut fields = line.split_whitespace();
    let (start, end) = fields.next()?.split_once('-')?;
    let start = usize::from_str_radix(start, 16).ok()?;
    let end = usize::from_str_radix(end, 16).ok()?;
    let perms = fields.next()?;
    if perms.len() != 4 {
        return None;
    }
    let (_offset, _device, _inode) = (fields.next()?, fields.next()?, fields.next()?);
    // The path is the rest of the line (it may hold spaces, or end in " (deleted)").
    let path = line
        .splitn(6, char::is_whitespace)
        .nth(5)
        .map(str::trim)
        .unwrap_or_default()
        .to_owned();
    Some(Mapping {
        start,
        end,
        writable: perms.as_bytes()[1] == b'w',
        path,
        anonymous_kb: 0,
        rss_kb: 0,
    })
}

/// Unmaps the resident pages of this program's own code and constants (see the module
/// docs); returns how many bytes of mappings were released. Worth calling once start-up is
/// over, and when the bot goes quiet after a rush.
#[cfg(target_os = "linux")]
pub fn release_program_text() -> std::io::Result<usize> {
    let exe = std::fs::read_link("/proc/self/exe")?;
    let exe = exe.to_string_lossy();
    let mut released = 0;
    for mapping in mappings_of("self")? {
        if !mapping.is_releasable_text_of(&exe) {
            continue;
        }
        let len = mapping.end - mapping.start;
        // SAFETY: the range is one whole mapping of the executable that is not writable
        // and holds no private (copied-on-write) page, so every page equals the file's
        // bytes: MADV_DONTNEED only drops the page-table entries and the next access maps
        // the same bytes again from the page cache. No Rust object lives in such a mapping.
        let status =
            unsafe { libc::madvise(mapping.start as *mut libc::c_void, len, libc::MADV_DONTNEED) };
        if status != 0 {
            return Err(std::io::Error::last_os_error());
        }
        released += len;
    }
    Ok(released)
}

/// Nothing to release where `/proc` does not describe the mappings.
#[cfg(not(target_os = "linux"))]
pub fn release_program_text() -> std::io::Result<usize> {
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMAPS: &str = "\
55d0c0a00000-55d0c0b00000 r--p 00000000 fe:00 42    /opt/bot/personabot
Size:               1024 kB
Rss:                 512 kB
Pss:                 512 kB
Anonymous:             0 kB
55d0c0b00000-55d0c1000000 r-xp 00100000 fe:00 42    /opt/bot/personabot
Anonymous:             0 kB
55d0c1000000-55d0c1010000 r--p 00600000 fe:00 42    /opt/bot/personabot
Anonymous:            64 kB
55d0c1010000-55d0c1020000 rw-p 00610000 fe:00 42    /opt/bot/personabot
Anonymous:             8 kB
55d0c1020000-55d0c1030000 rw-p 00000000 00:00 0 
Anonymous:            64 kB
7f0000000000-7f0000100000 r-xp 00000000 fe:00 7    /usr/lib/x86_64-linux-gnu/libc.so.6
Anonymous:             0 kB
7f0000200000-7f0000300000 r-xp 00000000 fe:00 9    /tmp/old build/personabot (deleted)
Anonymous:             0 kB
";

    #[test]
    fn only_the_programs_unmodified_read_only_mappings_are_released() {
        let mappings = parse_smaps(SMAPS);
        assert_eq!(mappings.len(), 7);
        let releasable: Vec<_> = mappings
            .iter()
            .filter(|m| m.is_releasable_text_of("/opt/bot/personabot"))
            .map(|m| (m.start, m.end))
            .collect();
        // Constants and code; not the relocated read-only part, the data, the heap or libc.
        assert_eq!(
            releasable,
            vec![
                (0x55d0_c0a0_0000, 0x55d0_c0b0_0000),
                (0x55d0_c0b0_0000, 0x55d0_c100_0000)
            ]
        );
        assert_eq!(mappings[6].path, "/tmp/old build/personabot (deleted)");
        assert_eq!(mappings[2].anonymous_kb, 64);
        assert_eq!((mappings[0].rss_kb, mappings[1].rss_kb), (512, 0));
    }

    #[test]
    fn an_unreadable_anonymous_count_keeps_the_mapping() {
        let mappings = parse_smaps("1000-2000 r-xp 00000000 fe:00 42 /bin/bot\nAnonymous: lots\n");
        assert!(!mappings[0].is_releasable_text_of("/bin/bot"));
    }

    /// Run on this very test binary: if a page that differs from the file were dropped
    /// (relocations, written data), what follows would crash or compute nonsense.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_running_program_keeps_working_after_its_pages_are_released() {
        let released = release_program_text().expect("madvise succeeds");
        assert!(released > 0, "the test binary has code mappings");
        let words: Vec<String> = (0..1000).map(|i| format!("word{i}")).collect();
        let joined = words.join(" ");
        assert_eq!(joined.split(' ').count(), 1000);
        assert_eq!(
            crate::domain::budget::count_tokens("hello there"),
            crate::domain::budget::count_tokens("hello there")
        );
        // Twice is as safe as once.
        assert!(release_program_text().is_ok());
    }
}
