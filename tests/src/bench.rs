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

/// The launcher of this stack's edge runtime (the `wrangler dev`, or the Node process of
/// `tools/edge-runtime/serve.mjs`, whose command line names our state directory) and every
/// process under it.
pub fn runtime_pids(state_dir: &std::path::Path) -> Vec<i32> {
    let needle = state_dir.to_string_lossy().to_string();
    let mut out = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            let runtime = (cmdline.contains("wrangler") && cmdline.contains(" dev "))
                || cmdline.contains("edge-runtime/serve.mjs");
            if runtime && cmdline.contains(&needle) {
                out.push(pid);
                out.extend(descendants(pid));
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The workerd processes of this stack (under [`runtime_pids`]'s launcher).
pub fn workerd_pids(state_dir: &std::path::Path) -> Vec<i32> {
    runtime_pids(state_dir)
        .into_iter()
        .filter(|p| comm(*p).contains("workerd"))
        .collect()
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
            "no workerd process found under the edge runtime for {}",
            urls.state_dir.display()
        );
        std::process::exit(2);
    }
    (n, urls, pids)
}

// Set-ups shared by the benchmarks and `profile_edge` (scripts/profile-edge.sh).

/// A customer with one card stored by a registration (`THREE_D_SECURE=off` in the bench stack),
/// and `n` subscriptions on it, all due today (JST). Answers the subscription ids.
pub async fn due_subscriptions(n: usize) -> Vec<String> {
    use crate::*;
    use serde_json::json;
    let customer = order_id("bench-member");
    let (status, p) = merchant(
        reqwest::Method::POST,
        "/v1/payments",
        Some(json!({ "order_id": order_id("CARD"), "capture": "verify", "customer": customer })),
    )
    .await;
    assert_eq!(status, 201, "{p}");
    let token = token_for(kessai_sandbox::test_cards::APPROVED).await;
    let (status, answer) = widget_post(&p, json!({ "token": token })).await;
    assert_eq!(status, 200, "{answer}");
    let mut ids = Vec::new();
    for i in 0..n {
        let (status, sub) = merchant(
            reqwest::Method::POST,
            "/v1/subscriptions",
            Some(json!({ "customer": customer, "card_seq": 0, "amount": 1_000 + i as i64, "cycle": "days:30" })),
        )
        .await;
        assert_eq!(status, 201, "subscription {i}: {sub}");
        ids.push(sub["id"].as_str().unwrap_or_default().to_string());
    }
    ids
}

/// The earliest next charge date of `ids`: their first date when set up by
/// [`due_subscriptions`] (all due the same day); charged ones move past it.
pub async fn first_due_date(ids: &[String]) -> String {
    next_dates(ids).await.into_iter().min().unwrap_or_default()
}

/// The next charge date of each of `ids` (the shop's list of active subscriptions).
pub async fn next_dates(ids: &[String]) -> Vec<String> {
    let (_, list) = crate::merchant(
        reqwest::Method::GET,
        "/v1/subscriptions?status=active",
        None,
    )
    .await;
    list["data"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|s| {
                    s["id"]
                        .as_str()
                        .is_some_and(|id| ids.iter().any(|x| x == id))
                })
                .filter_map(|s| s["next_charge_on"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// `n` authorised (仮売上) card payments, 8 set up at a time; answers their ids.
pub async fn authorized_card_payments(n: usize) -> Vec<String> {
    use futures_util::StreamExt;
    futures_util::stream::iter(0..n)
        .map(|i| async move { crate::authorized_card_payment(1_000 + (i as i64 % 500)).await })
        .buffered(8)
        .map(|p| crate::id_of(&p))
        .collect()
        .await
}

/// `n` IPN envelopes signed by the Amazon sandbox, each its own NotificationId, for a charge
/// permission no payment holds (no Amazon call follows on the edge).
pub async fn signed_ipns(n: usize, run: &str) -> Vec<String> {
    let urls = crate::stack();
    let http = crate::client();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let message = serde_json::json!({
            "MerchantID": "A3KESSAISANDBOX",
            "ObjectType": "CHARGE",
            "ObjectId": format!("S03-BENCH-{run}-C{i:05}"),
            "ChargePermissionId": format!("S03-BENCH-{run}"),
            "NotificationType": "STATE_CHANGE",
            "NotificationId": format!("bench-{run}-{i}"),
            "NotificationVersion": "V2",
        })
        .to_string();
        let env: serde_json::Value = http
            .post(format!("{}/__sandbox/amazon/ipn/sign", urls.amazon_sandbox))
            .json(&serde_json::json!({ "message": message }))
            .send()
            .await
            .expect("sandbox reachable")
            .json()
            .await
            .expect("envelope");
        out.push(env.to_string());
    }
    out
}

/// POSTs one IPN envelope to the edge; it must answer 200.
pub async fn post_ipn(envelope: &str) {
    let r = crate::client()
        .post(format!("{}/api/amazonpay2/ipn.php", crate::stack().edge))
        .header("content-type", "text/plain; charset=UTF-8")
        .body(envelope.to_string())
        .send()
        .await
        .expect("edge reachable");
    assert_eq!(r.status().as_u16(), 200, "{:?}", r.text().await);
}

/// On-CPU time of every thread of `pids`, in nanoseconds: the first field of
/// `/proc/<pid>/task/<tid>/schedstat` (the scheduler's own account, to the nanosecond; utime +
/// stime move in 10 ms ticks, too coarse for one request).
pub fn cpu_ns(pids: &[i32]) -> u64 {
    let mut total = 0;
    for pid in pids {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let path = task.path().join("schedstat");
            if let Some(ns) = std::fs::read_to_string(path).ok().and_then(|t| {
                t.split_whitespace()
                    .next()
                    .and_then(|v| v.parse::<u64>().ok())
            }) {
                total += ns;
            }
        }
    }
    total
}

/// Now on CLOCK_MONOTONIC, in µs: the clock of V8's CPU profiles on Linux (a `.cpuprofile`'s
/// `startTime` and sample times), so the runner's request times can cut a profile of the edge's
/// isolate into requests (`scripts/profile-edge.sh`).
pub fn monotonic_us() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1_000
}

/// Per-request workerd CPU (ms, from [`cpu_ns`]) of requests sent one at a time.
pub struct PerRequest {
    pub sorted_ms: Vec<f64>,
}

impl PerRequest {
    /// From unsorted per-request values (ms).
    pub fn from_ms(mut ms: Vec<f64>) -> Self {
        ms.sort_by(f64::total_cmp);
        PerRequest { sorted_ms: ms }
    }

    pub fn mean(&self) -> f64 {
        self.sorted_ms.iter().sum::<f64>() / self.sorted_ms.len().max(1) as f64
    }

    /// The `q` quantile (0.5 = median, 0.99 = p99), nearest rank.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.sorted_ms.is_empty() {
            return 0.0;
        }
        let rank =
            ((q * self.sorted_ms.len() as f64).ceil() as usize).clamp(1, self.sorted_ms.len());
        self.sorted_ms[rank - 1]
    }
}

/// [`measure`], with each request's own workerd CPU (threads' schedstat before and after it).
pub async fn measure_each<F, Fut>(pids: &[i32], n: usize, mut one: F) -> (Sample, PerRequest)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let cpu0 = cpu_ms(pids);
    let t0 = Instant::now();
    let mut each = Vec::with_capacity(n);
    for _ in 0..n {
        let before = cpu_ns(pids);
        one().await;
        each.push(cpu_ns(pids).saturating_sub(before) as f64 / 1e6);
    }
    let wall = t0.elapsed().as_secs_f64() * 1000.0;
    let cpu = cpu_ms(pids) - cpu0;
    each.sort_by(f64::total_cmp);
    (
        Sample {
            cpu_ms_per_req: cpu / n as f64,
            wall_ms_per_req: wall / n as f64,
        },
        PerRequest { sorted_ms: each },
    )
}
