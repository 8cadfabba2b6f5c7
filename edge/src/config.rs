//! Configuration from `wrangler.toml` vars and secrets. `live` mode refuses sandbox hosts.

use crate::http::ApiError;
use kessai_core::gmo::api::ShopAuth;
use worker::Env;

pub use kessai_core::access::AccessMode;

pub struct Config {
    pub mode: AccessMode,
    pub gmo: ShopAuth,
    pub gmo_api_base: String,
    pub gmo_token_js_url: String,
    pub gmo_timeout_ms: u64,
    pub allowed_origins: Vec<String>,
    pub merchant_secret_key: String,
}

/// Reads a value set either as a secret (`wrangler secret put`, `.dev.vars`) or a plain var.
fn value(env: &Env, name: &str) -> Option<String> {
    env.secret(name)
        .map(|s| s.to_string())
        .or_else(|_| env.var(name).map(|v| v.to_string()))
        .ok()
        .filter(|s| !s.is_empty())
}

fn required(env: &Env, name: &str) -> Result<String, ApiError> {
    value(env, name).ok_or_else(|| ApiError::internal(&format!("configuration {name} is missing")))
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Config, ApiError> {
        let mode = AccessMode::parse(value(env, "ACCESS_MODE").as_deref())
            .ok_or_else(|| ApiError::internal("ACCESS_MODE must be test or live"))?;
        let gmo_api_base = required(env, "GMO_API_BASE")?
            .trim_end_matches('/')
            .to_string();
        let gmo_token_js_url = required(env, "GMO_TOKEN_JS_URL")?;
        if !mode.allows_url(&gmo_api_base) || !mode.allows_url(&gmo_token_js_url) {
            return Err(ApiError::internal(
                "live mode refuses sandbox gateway hosts",
            ));
        }
        let cfg = Config {
            mode,
            gmo: ShopAuth {
                shop_id: required(env, "GMO_SHOP_ID")?,
                shop_pass: required(env, "GMO_SHOP_PASS")?,
            },
            gmo_api_base,
            gmo_token_js_url,
            gmo_timeout_ms: value(env, "GMO_TIMEOUT_MS")
                .and_then(|v| v.parse().ok())
                .unwrap_or(20_000),
            allowed_origins: value(env, "ALLOWED_ORIGINS")
                .unwrap_or_default()
                .split(',')
                .map(|s| s.trim().trim_end_matches('/').to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            merchant_secret_key: required(env, "MERCHANT_SECRET_KEY")?,
        };
        Ok(cfg)
    }

    pub fn origin_allowed(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|o| o == origin)
    }
}
