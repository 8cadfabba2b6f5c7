//! `kessai-sandbox [--port 8790] [--host 127.0.0.1] [--auth-validity-days 60] [--lenient-cancel]`:
//! runs the GMO-PG simulator until Ctrl-C.

use std::net::{IpAddr, SocketAddr};

use kessai_sandbox::{SandboxConfig, start};

fn usage() -> ! {
    eprintln!(
        "usage: kessai-sandbox [--port N (8790)] [--host IP (127.0.0.1)] \
         [--auth-validity-days N (60)] [--lenient-cancel]"
    );
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let mut port: u16 = 8790;
    let mut host: IpAddr = IpAddr::from([127, 0, 0, 1]);
    let mut config = SandboxConfig::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => {
                port = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "--host" => {
                host = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "--auth-validity-days" => {
                config.auth_validity_days = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "--lenient-cancel" => config.lenient_cancel = true,
            _ => usage(),
        }
    }
    let shop_id = config.shop_id.clone();
    let sandbox = match start(config, SocketAddr::new(host, port)).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kessai-sandbox: cannot listen on {host}:{port}: {e}");
            std::process::exit(1);
        }
    };
    println!("kessai GMO-PG sandbox listening on {}", sandbox.base_url);
    println!(
        "  protocol API: {}/payment/EntryTran.idPass …",
        sandbox.base_url
    );
    println!("  token JS:     {}", sandbox.token_js_url());
    println!("  shop id:      {shop_id}");
    let _ = tokio::signal::ctrl_c().await;
    sandbox.stop().await;
}
