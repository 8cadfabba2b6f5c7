//! `kessai-sandbox [--port 8790] [--host 127.0.0.1] [--auth-validity-days 60] [--lenient-cancel]
//! [--site-id tsite00000001] [--site-pass sitepass01] [--installments 3,5,6,…,bonus,revolving]
//! [--amazon-port 8791 [--amazon-key-file PATH]]`: runs the GMO-PG simulator (and, with
//! `--amazon-port`, the Amazon Pay one) until Ctrl-C.

use std::net::{IpAddr, SocketAddr};

use kessai_sandbox::amazon::{AmazonSandboxConfig, MerchantKey};
use kessai_sandbox::{SandboxConfig, start};

fn usage() -> ! {
    eprintln!(
        "usage: kessai-sandbox [--port N (8790)] [--host IP (127.0.0.1)] \
         [--auth-validity-days N (60)] [--lenient-cancel] \
         [--site-id ID (tsite00000001)] [--site-pass PASS (sitepass01)] \
         [--installments LIST (3,5,6,10,12,15,18,20,24,bonus,revolving; \"\" = lump only)] \
         [--amazon-port N [--amazon-key-file PATH]]"
    );
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let mut port: u16 = 8790;
    let mut host: IpAddr = IpAddr::from([127, 0, 0, 1]);
    let mut config = SandboxConfig::default();
    let mut amazon_port: Option<u16> = None;
    let mut amazon_key_file: Option<String> = None;
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
            "--site-id" => config.site_id = args.next().unwrap_or_else(|| usage()),
            "--site-pass" => config.site_pass = args.next().unwrap_or_else(|| usage()),
            // The edge's CARD_INSTALLMENTS syntax, read by the same parser.
            "--installments" => {
                config.installments = args
                    .next()
                    .and_then(|v| kessai_sandbox::parse_installments(&v).ok())
                    .unwrap_or_else(|| usage())
            }
            "--amazon-port" => {
                amazon_port = Some(
                    args.next()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or_else(|| usage()),
                )
            }
            "--amazon-key-file" => amazon_key_file = Some(args.next().unwrap_or_else(|| usage())),
            _ => usage(),
        }
    }
    let shop_id = config.shop_id.clone();
    let site_id = config.site_id.clone();
    let installments = kessai_sandbox::installments_string(&config.installments);
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
    println!("  site id:      {site_id}");
    if installments.is_empty() {
        println!("  installments: lump only");
    } else {
        println!("  installments: lump,{installments}");
    }
    let amazon = match amazon_port {
        Some(port) => Some(start_amazon(host, port, amazon_key_file.as_deref()).await),
        None => None,
    };
    let _ = tokio::signal::ctrl_c().await;
    if let Some(a) = amazon {
        a.stop().await;
    }
    sandbox.stop().await;
}

/// The merchant key: read from `key_file` when it exists, else generated (and written there when
/// a path was given, so the edge's `AMAZON_PAY_PRIVATE_KEY` can be set from it).
fn merchant_key(key_file: Option<&str>) -> MerchantKey {
    if let Some(path) = key_file
        && let Ok(pem) = std::fs::read_to_string(path)
    {
        return MerchantKey::from_private_pem(&pem).unwrap_or_else(|| {
            eprintln!("kessai-sandbox: {path} is not an RSA PKCS#8 private key PEM");
            std::process::exit(1)
        });
    }
    let key = MerchantKey::generate();
    if let Some(path) = key_file
        && let Err(e) = std::fs::write(path, &key.private_pkcs8_pem)
    {
        eprintln!("kessai-sandbox: cannot write {path}: {e}");
        std::process::exit(1);
    }
    key
}

async fn start_amazon(
    host: IpAddr,
    port: u16,
    key_file: Option<&str>,
) -> kessai_sandbox::amazon::AmazonSandboxHandle {
    let key = merchant_key(key_file);
    let cfg = AmazonSandboxConfig::for_key(&key);
    let amazon = match kessai_sandbox::amazon::start(cfg, SocketAddr::new(host, port)).await {
        Ok(a) => a,
        Err(e) => {
            eprintln!("kessai-sandbox: cannot listen on {host}:{port} for Amazon Pay: {e}");
            std::process::exit(1);
        }
    };
    println!("kessai Amazon Pay sandbox listening on {}", amazon.base_url);
    println!("  API:          {}/sandbox/v2/…", amazon.base_url);
    println!("  checkout.js:  {}", amazon.checkout_js_url());
    println!("  merchant id:  {}", amazon.config.merchant_id);
    println!("  store id:     {}", amazon.config.store_id);
    println!("  key id:       {}", amazon.config.public_key_id);
    match key_file {
        Some(path) => println!("  private key:  {path}"),
        None => println!("  private key:  (generated; pass --amazon-key-file PATH to keep it)"),
    }
    amazon
}
