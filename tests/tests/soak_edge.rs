//! The fault-injection soak (issue #16), CI-sized: 300 payments from 16 clients with 20 % of the
//! gateway-bound steps faulted and the edge (wrangler dev) restarted half-way on the same D1
//! state, through the real edge in workerd against both sandboxes; then the Cron Trigger's
//! sweep and a payment-by-payment comparison with the sandboxes' records. The long run is
//! `scripts/soak.sh` (10,000 payments by default); the soak itself is `kessai_tests::soak`.
//!
//! ```sh
//! cargo test -p kessai-tests --test soak_edge -- --test-threads=2
//! ```

use kessai_tests::soak::{SoakOptions, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_under_gateway_faults_and_an_edge_restart_end_exactly_as_the_gateways_say() {
    let opts = SoakOptions {
        payments: 300,
        fault_rate: 0.20,
        clients: 16,
        restart_edge: true,
        self_check: true,
        ..SoakOptions::default()
    };
    let report = run(opts).await;
    println!("{report}");

    // The run did what it says: every payment was made, faults reached both gateways, the edge
    // was restarted, and the checker flagged each of the changes made behind the edge's back.
    assert_eq!(report.payments, 300, "payments created\n{report}");
    let injected: usize = report.faults_injected.values().sum();
    assert!(
        injected >= 60,
        "only {injected} faults reached a gateway\n{report}"
    );
    for family in ["gmo_", "amazon_"] {
        assert!(
            report
                .faults_injected
                .iter()
                .any(|(k, n)| k.starts_with(family) && *n > 0),
            "no {family}* fault reached its gateway\n{report}"
        );
    }
    assert_eq!(report.edge_restarts, 1, "edge restart\n{report}");
    assert_eq!(report.self_check.len(), 3, "self-check\n{report}");
    assert!(
        report.self_check.iter().all(|(_, flagged)| *flagged),
        "the verification missed a change made behind the edge's back\n{report}"
    );

    // The goal: 0 / 0 / 0.
    assert!(report.double_charges.is_empty(), "double charges\n{report}");
    assert!(
        report.mismatches.is_empty(),
        "edge and gateway disagree\n{report}"
    );
    assert!(
        report.unreconciled.is_empty(),
        "left unreconciled after the sweep\n{report}"
    );
}
