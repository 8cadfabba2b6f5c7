//! The fault-injection soak (issue #16): `scripts/soak.sh [--payments N] [--fault-rate P]
//! [--clients C] [--seed S] [--amazon-share A] [--restart-edge | --no-restart-edge]`
//! (defaults N=10000, P=0.10, C=32, S=16, A=0.3, the edge restarted once half-way).
//! Prints the report (`kessai_tests::soak`) and exits 1 unless there were 0 double charges,
//! 0 lost or wrong state changes and 0 payments left unreconciled after the sweep.

use kessai_tests::soak::{SoakOptions, run};

fn usage() -> ! {
    eprintln!(
        "usage: soak [--payments N] [--fault-rate P] [--clients C] [--seed S] [--amazon-share A] [--restart-edge|--no-restart-edge]"
    );
    std::process::exit(2);
}

fn value<T: std::str::FromStr>(args: &mut impl Iterator<Item = String>) -> T {
    args.next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| usage())
}

#[tokio::main]
async fn main() {
    let mut opts = SoakOptions {
        restart_edge: true,
        ..SoakOptions::default()
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--payments" => opts.payments = value(&mut args),
            "--fault-rate" => opts.fault_rate = value(&mut args),
            "--clients" => opts.clients = value(&mut args),
            "--seed" => opts.seed = value(&mut args),
            "--amazon-share" => opts.amazon_share = value(&mut args),
            "--restart-edge" => opts.restart_edge = true,
            "--no-restart-edge" => opts.restart_edge = false,
            _ => usage(),
        }
    }
    if !(0.0..=1.0).contains(&opts.fault_rate)
        || !(0.0..=1.0).contains(&opts.amazon_share)
        || opts.clients == 0
    {
        usage();
    }
    eprintln!("soak: {opts:?}");
    let report = run(opts).await;
    println!("{report}");
    std::process::exit(if report.ok() { 0 } else { 1 });
}
