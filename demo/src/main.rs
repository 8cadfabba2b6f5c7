//! `kessai-demo`: runs the GMO sandbox, the edge (wrangler dev) and the demo storefront on fixed
//! loopback ports until Ctrl-C.

use kessai_demo::stack::{Stack, StackOptions};

fn port_arg(name: &str, default: u16) -> u16 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let opts = StackOptions {
        sandbox_port: port_arg("--sandbox-port", 8790),
        amazon_sandbox_port: port_arg("--amazon-sandbox-port", 8791),
        edge_port: port_arg("--edge-port", 8787),
        storefront_port: port_arg("--port", 8080),
        gmo_timeout_ms: 20_000,
        amazon_timeout_ms: 20_000,
        state_dir: Some(kessai_demo::stack::repo_root().join(".wrangler/demo")),
        // The demo runs at the real time; only tests freeze the edge clock.
        test_clock: false,
    };
    let mut stack = match Stack::start(opts).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("could not start the demo: {e}");
            std::process::exit(1);
        }
    };
    // The demo shows what a real shop sees: Amazon's own changes arrive as IPNs.
    stack.enable_amazon_ipn();
    stack.enable_gmo_notifications();
    println!();
    println!("  kessai demo is running (テストモード / sandbox)");
    println!("  storefront (デモショップ): {}/", stack.storefront_url);
    println!("  edge API:                 {}", stack.edge_url);
    println!("  管理画面 (console):        {}/console/", stack.edge_url);
    for op in &stack.operators {
        println!(
            "    login: {} / {}  (generated for this run)",
            op.name, op.password
        );
    }
    println!("  GMO-PG sandbox:           {}", stack.sandbox_url);
    println!("  Amazon Pay sandbox:       {}", stack.amazon_sandbox_url);
    println!("  Amazon Pay IPN endpoint:  {}", stack.amazon_ipn_url());
    println!("  logs: {}", stack.state_dir.display());
    println!("  Ctrl-C to stop.");
    let _ = tokio::signal::ctrl_c().await;
    println!("stopping…");
    stack.stop().await;
}
