//! The process tree below `fibreplane run`, read from `/proc`: to find its Chromium, and to make
//! sure nothing it started outlives the scenario. (A process left behind keeps every file
//! descriptor it inherited open, the build lock of a `flock cargo test` among them.)

/// One process as `/proc/<pid>/stat` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Proc {
    pub(crate) pid: u32,
    pub(crate) comm: String,
    pub(crate) ppid: u32,
    /// Start time in clock ticks since boot: with the pid, it names the process even after the
    /// pid is reused.
    pub(crate) start: u64,
}

/// Parses `/proc/<pid>/stat`: `pid (comm) state ppid …`, where `comm` may hold spaces and
/// parentheses, so the fields are counted after its last closing parenthesis.
fn parse_stat(text: &str) -> Option<Proc> {
    let (head, rest) = text.rsplit_once(')')?;
    let (pid, comm) = head.split_once(" (")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(Proc {
        pid: pid.trim().parse().ok()?,
        comm: comm.to_owned(),
        ppid: fields.get(1)?.parse().ok()?,
        start: fields.get(19)?.parse().ok()?,
    })
}

/// One process, if it exists.
pub(crate) fn get(pid: u32) -> Option<Proc> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Every process.
fn all() -> Vec<Proc> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(get)
        .collect()
}

/// Every descendant of `root` (children, their children, …).
pub(crate) fn descendants(root: u32) -> Vec<Proc> {
    let procs = all();
    let mut out: Vec<Proc> = Vec::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for p in procs.iter().filter(|p| p.ppid == parent) {
            frontier.push(p.pid);
            out.push(p.clone());
        }
    }
    out
}

/// The Chromium browser among `parent`'s children.
pub(crate) fn browser_of(parent: u32) -> Option<u32> {
    all()
        .into_iter()
        .find(|p| p.ppid == parent && p.comm.starts_with("chromium"))
        .map(|p| p.pid)
}

/// SIGKILL to each of `procs` that still is the same process (same pid and start time).
pub(crate) fn kill_survivors(procs: &[Proc]) {
    for p in procs {
        if get(p.pid).is_some_and(|now| now.start == p.start) {
            let _ = signal(p.pid, "KILL");
        }
    }
}

/// Sends a signal to one process by its id.
pub(crate) fn signal(pid: u32, sig: &str) -> anyhow::Result<()> {
    let status = std::process::Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()?;
    anyhow::ensure!(status.success(), "kill -{sig} {pid} failed");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_parse_whatever_the_command_name() {
        let p = parse_stat(
            "4242 (chromium (x) y) S 17 4242 4242 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 9 0 123456 789",
        )
        .unwrap();
        assert_eq!(
            (p.pid, p.comm.as_str(), p.ppid, p.start),
            (4242, "chromium (x) y", 17, 123456)
        );
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn this_process_is_found_and_has_no_browser() {
        let me = get(std::process::id()).expect("this process");
        assert_eq!(me.pid, std::process::id());
        assert_eq!(browser_of(std::process::id()), None);
    }
}
