//! Worker CPU measurement for the benchmark commands (`scripts/bench-*.sh`): the utime + stime
//! of the workerd processes under this stack's `wrangler dev`, read from `/proc`.

use std::time::Instant;

/// Every process id under `root` (children, grandchildren, …).
pub fn descendants(root: i32) -> Vec<i32> {
    let mut parents: Vec<(i32, i32)> = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            if let Some(ppid) = stat_fields(pid).and_then(|f| f.get(1).and_then(|p| p.parse().ok()))
            {
                parents.push((pid, ppid));
            }
        }
    }
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        let p = out[i];
        out.extend(parents.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    out.remove(0);
    out
}

/// Fields of `/proc/<pid>/stat` after the `(comm)` field: state, ppid, …
pub fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &text[text.rfind(')')? + 2..];
    Some(after.split_whitespace().map(str::to_string).collect())
}

pub fn comm(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The workerd processes of this stack: under the wrangler whose command line names our state
/// directory.
pub fn workerd_pids(state_dir: &std::path::Path) -> Vec<i32> {
    let needle = state_dir.to_string_lossy().to_string();
    let mut out = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.contains("wrangler")
                && cmdline.contains(" dev ")
                && cmdline.contains(&needle)
            {
                out.extend(
                    descendants(pid)
                        .into_iter()
                        .filter(|p| comm(*p).contains("workerd")),
                );
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// utime + stime of `pids`, in milliseconds.
pub fn cpu_ms(pids: &[i32]) -> f64 {
    let tick = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let ticks: u64 = pids
        .iter()
        .filter_map(|p| stat_fields(*p))
        // After `(comm)`: index 11 = utime, 12 = stime (fields 14 and 15 of proc(5)).
        .map(|f| {
            f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
                + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        })
        .sum();
    ticks as f64 * 1000.0 / tick
}

pub struct Sample {
    pub cpu_ms_per_req: f64,
    pub wall_ms_per_req: f64,
}

pub async fn measure<F, Fut>(pids: &[i32], n: usize, mut one: F) -> Sample
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let cpu0 = cpu_ms(pids);
    let t0 = Instant::now();
    for _ in 0..n {
        one().await;
    }
    let wall = t0.elapsed().as_secs_f64() * 1000.0;
    let cpu = cpu_ms(pids) - cpu0;
    Sample {
        cpu_ms_per_req: cpu / n as f64,
        wall_ms_per_req: wall / n as f64,
    }
}

/// The run size from the first argument (or `default`), the started stack, and its workerd
/// processes; exits with 2 when none is found.
pub fn start(default: usize) -> (usize, crate::Urls, Vec<i32>) {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default);
    let urls = crate::bench_stack();
    let pids = workerd_pids(&urls.state_dir);
    if pids.is_empty() {
        eprintln!(
            "no workerd process found under wrangler for {}",
            urls.state_dir.display()
        );
        std::process::exit(2);
    }
    (n, urls, pids)
}
