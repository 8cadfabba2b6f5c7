//! Configuration from `wrangler.toml` vars and secrets. `live` mode refuses sandbox hosts.
//! A bottom room: it imports only [`crate::http`] (for its errors and URL helpers).

use crate::http::{ApiError, ApiResult, origin_of};
use kessai_core::amazon::signing::base64_decode;
use kessai_core::gmo::api::ShopAuth;
use kessai_core::gmo::installments::InstallmentPlan;
use kessai_core::gmo::site::SiteAuth;
use kessai_core::gmo::tds2::{ThreeDSecurePolicy, encode_tenant_name};
use kessai_core::subscription::RetrySchedule;
use serde_json::Value;
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
    /// Amazon Pay; `None` (no button, endpoints answer 404) when `AMAZON_PAY_MERCHANT_ID` is empty.
    pub amazon: Option<AmazonConfig>,
    /// `TEST_CLOCK=on` (test mode only): tests may freeze the edge's clock (`flows::test_clock`).
    pub test_clock: bool,
    /// `CONSOLE_OPERATORS` (operator credentials, a secret), parsed by the console on login.
    pub console_operators: Option<String>,
    /// EMV 3-D Secure 2 on card payments (`THREE_D_SECURE`, default `required`).
    pub three_d_secure: ThreeDSecureConfig,
    /// Card-testing limits (issue #13).
    pub card_testing: CardTestingConfig,
    /// Stored cards (会員カード, issue #14): GMO's Site credentials; `None` (the endpoints
    /// answer 404 `stored_cards_disabled`) without `GMO_SITE_ID`.
    pub site: Option<SiteAuth>,
    /// 支払回数 the shop's card contract allows beyond 一括 (`CARD_INSTALLMENTS`).
    pub installments: InstallmentPlan,
    /// 定期購入 (#15): days after a failed charge on which it is tried again
    /// (`SUBSCRIPTION_RETRY_DAYS`, default `1,3,7`); after the last, the subscription is 未決済.
    pub subscription_retry: RetrySchedule,
    /// The shop's webhook receiver (`WEBHOOK_URL`, with the secret `WEBHOOK_SIGNING_KEY`);
    /// `None`: no webhooks.
    pub webhook: Option<WebhookConfig>,
}

pub struct WebhookConfig {
    pub url: String,
    pub signing_key: String,
}

impl WebhookConfig {
    fn from_env(env: &Env, mode: AccessMode) -> Result<Option<WebhookConfig>, ApiError> {
        Ok(match value(env, "WEBHOOK_URL") {
            None => None,
            // Live: https to a host that is not this machine.
            Some(url)
                if mode.allows_url(&url)
                    && (url.starts_with("https://")
                        || (mode == AccessMode::Test && url.starts_with("http://"))) =>
            {
                Some(WebhookConfig {
                    url,
                    signing_key: required(env, "WEBHOOK_SIGNING_KEY")?,
                })
            }
            Some(_) => {
                return Err(ApiError::internal(
                    "WEBHOOK_URL must be an https URL (http only in test mode), not loopback in live",
                ));
            }
        })
    }
}

/// `CARD_ATTEMPTS_PER_PAYMENT` (default 5) and `CARD_FAILURES_PER_IP` (default 10, per
/// [`CardTestingConfig::IP_WINDOW_MS`]).
#[derive(Debug, Clone, Copy)]
pub struct CardTestingConfig {
    pub attempts_per_payment: u32,
    pub failures_per_ip: u32,
}

impl CardTestingConfig {
    /// The window an IP's failures count in: 10 minutes.
    pub const IP_WINDOW_MS: i64 = 10 * 60 * 1000;
    /// How long attempts (with the shopper's IP) are kept: 90 days, long enough for an
    /// operator's look back at an attack and for chargeback questions, short enough not to hoard
    /// addresses. The attempts that lock a still-open payment stay until it is unlocked.
    pub const RETENTION_MS: i64 = 90 * 24 * 60 * 60 * 1000;

    fn from_env(env: &Env) -> Result<CardTestingConfig, ApiError> {
        let limit = |name: &str, default: u32| match value(env, name) {
            None => Ok(default),
            Some(v) => match v.trim().parse::<u32>() {
                Ok(n) if (1..=1000).contains(&n) => Ok(n),
                Ok(_) | Err(_) => Err(ApiError::internal(&format!(
                    "{name} must be a whole number from 1 to 1000"
                ))),
            },
        };
        Ok(CardTestingConfig {
            attempts_per_payment: limit("CARD_ATTEMPTS_PER_PAYMENT", 5)?,
            failures_per_ip: limit("CARD_FAILURES_PER_IP", 10)?,
        })
    }
}

/// The shop's 3-D Secure settings.
#[derive(Debug, Clone)]
pub struct ThreeDSecureConfig {
    pub policy: ThreeDSecurePolicy,
    /// `TDS_TENANT_NAME` encoded as GMO takes it (EUC-JP, Base64); `None` = GMO's default.
    pub tenant_name: Option<String>,
    /// This worker's public origin (`EDGE_PUBLIC_URL`), where the issuer's page sends the
    /// browser back (`RetUrl`). Empty only with the policy `off`.
    pub edge_public_url: String,
}

impl ThreeDSecureConfig {
    fn from_env(env: &Env, mode: AccessMode) -> Result<ThreeDSecureConfig, ApiError> {
        let policy = match value(env, "THREE_D_SECURE") {
            None => ThreeDSecurePolicy::Required,
            Some(v) => ThreeDSecurePolicy::parse(&v).ok_or_else(|| {
                ApiError::internal("THREE_D_SECURE must be required, if_available or off")
            })?,
        };
        let tenant_name = match value(env, "TDS_TENANT_NAME") {
            None => None,
            Some(name) => Some(encode_tenant_name(&name).map_err(|e| {
                ApiError::internal(&format!(
                    "TDS_TENANT_NAME must be at most 25 bytes of EUC-JP ({e:?})"
                ))
            })?),
        };
        let edge_public_url = match (policy, value(env, "EDGE_PUBLIC_URL")) {
            (_, Some(url)) => url.trim_end_matches('/').to_string(),
            (ThreeDSecurePolicy::Off, None) => String::new(),
            (ThreeDSecurePolicy::Required | ThreeDSecurePolicy::IfAvailable, None) => {
                return Err(ApiError::internal(
                    "configuration EDGE_PUBLIC_URL is missing (3-D Secure needs it)",
                ));
            }
        };
        if !edge_public_url.is_empty() && !mode.allows_url(&edge_public_url) {
            return Err(ApiError::internal(
                "EDGE_PUBLIC_URL is not allowed in this mode",
            ));
        }
        Ok(ThreeDSecureConfig {
            policy,
            tenant_name,
            edge_public_url,
        })
    }
}

/// Amazon Pay settings. The private key and the assertion key never leave this struct except
/// into WebCrypto; `Debug` hides them.
pub struct AmazonConfig {
    pub merchant_id: String,
    pub store_id: String,
    pub public_key_id: String,
    pub region: String,
    /// Scheme + host (+ port) of the API, without a trailing slash.
    pub api_base: String,
    pub checkout_js_url: String,
    /// `sandbox` for アクセスモード テスト, `live` for 本番.
    pub env_segment: &'static str,
    /// Where Amazon sends the shopper back to (this worker's public origin).
    pub edge_public_url: String,
    pub private_key_pem: String,
    pub assertion_signing_key: String,
    pub timeout_ms: u64,
    /// IPN endpoint settings; `None` (404) without `AMAZON_PAY_IPN_TOPIC_ARN`.
    pub ipn: Option<IpnConfig>,
}

impl std::fmt::Debug for AmazonConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmazonConfig")
            .field("merchant_id", &self.merchant_id)
            .field("store_id", &self.store_id)
            .field("public_key_id", &self.public_key_id)
            .field("api_base", &self.api_base)
            .field("env_segment", &self.env_segment)
            .finish_non_exhaustive()
    }
}

impl AmazonConfig {
    fn from_env(env: &Env, mode: AccessMode) -> Result<Option<AmazonConfig>, ApiError> {
        let Some(merchant_id) = value(env, "AMAZON_PAY_MERCHANT_ID") else {
            return Ok(None);
        };
        let api_base = required(env, "AMAZON_PAY_API_BASE")?
            .trim_end_matches('/')
            .to_string();
        let checkout_js_url = required(env, "AMAZON_PAY_CHECKOUT_JS_URL")?;
        let edge_public_url = required(env, "EDGE_PUBLIC_URL")?
            .trim_end_matches('/')
            .to_string();
        if !mode.allows_url(&api_base)
            || !mode.allows_url(&checkout_js_url)
            || !mode.allows_url(&edge_public_url)
        {
            return Err(ApiError::internal(
                "live mode refuses loopback Amazon Pay hosts",
            ));
        }
        let region = value(env, "AMAZON_PAY_REGION").unwrap_or_else(|| "jp".to_string());
        Ok(Some(AmazonConfig {
            merchant_id,
            store_id: required(env, "AMAZON_PAY_STORE_ID")?,
            public_key_id: required(env, "AMAZON_PAY_PUBLIC_KEY_ID")?,
            region,
            api_base,
            checkout_js_url,
            env_segment: match mode {
                AccessMode::Test => "sandbox",
                AccessMode::Live => "live",
            },
            edge_public_url,
            private_key_pem: required(env, "AMAZON_PAY_PRIVATE_KEY")?,
            assertion_signing_key: required(env, "ASSERTION_SIGNING_KEY")?,
            timeout_ms: value(env, "AMAZON_PAY_TIMEOUT_MS")
                .and_then(|v| v.parse().ok())
                .unwrap_or(20_000),
            ipn: IpnConfig::from_values(
                mode,
                value(env, "AMAZON_PAY_IPN_TOPIC_ARN"),
                value(env, "AMAZON_PAY_IPN_SANDBOX_CERT_BASE"),
                value(env, "AMAZON_PAY_IPN_SANDBOX_CA"),
            )?,
        }))
    }

    pub fn sandbox(&self) -> bool {
        self.env_segment == "sandbox"
    }
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
            amazon: AmazonConfig::from_env(env, mode)?,
            test_clock: match (mode, value(env, "TEST_CLOCK").as_deref()) {
                (_, None | Some("off")) => false,
                (AccessMode::Test, Some("on")) => true,
                (AccessMode::Live, Some(_)) => {
                    return Err(ApiError::internal("live mode refuses TEST_CLOCK"));
                }
                (AccessMode::Test, Some(_)) => {
                    return Err(ApiError::internal("TEST_CLOCK must be on or off"));
                }
            },
            console_operators: value(env, "CONSOLE_OPERATORS"),
            three_d_secure: ThreeDSecureConfig::from_env(env, mode)?,
            card_testing: CardTestingConfig::from_env(env)?,
            site: match value(env, "GMO_SITE_ID") {
                None => None,
                Some(site_id) => Some(SiteAuth {
                    site_id,
                    site_pass: required(env, "GMO_SITE_PASS")?,
                }),
            },
            installments: InstallmentPlan::parse(
                &value(env, "CARD_INSTALLMENTS").unwrap_or_default(),
            )
            .map_err(|item| {
                ApiError::internal(&format!(
                    "CARD_INSTALLMENTS: {item} is not 3, 5, 6, 10, 12, 15, 18, 20, 24, bonus or revolving"
                ))
            })?,
            subscription_retry: match value(env, "SUBSCRIPTION_RETRY_DAYS") {
                None => RetrySchedule::default(),
                Some(days) => RetrySchedule::parse(&days).map_err(|e| {
                    ApiError::internal(&format!("SUBSCRIPTION_RETRY_DAYS: {}", e.message_en()))
                })?,
            },
            webhook: WebhookConfig::from_env(env, mode)?,
        };
        Ok(cfg)
    }

    /// The Site credentials, or 404 `stored_cards_disabled` when the shop has no GMO site.
    pub fn stored_cards(&self) -> ApiResult<&SiteAuth> {
        self.site.as_ref().ok_or_else(|| {
            ApiError::new(
                404,
                "stored_cards_disabled",
                "stored cards are not enabled for this shop (GMO_SITE_ID)",
                "このショップではカードの登録をご利用いただけません。",
            )
        })
    }

    /// The Amazon Pay settings, or 404 `amazon_pay_disabled` when this shop has Amazon Pay off.
    pub fn amazon_pay(&self) -> ApiResult<&AmazonConfig> {
        self.amazon.as_ref().ok_or_else(|| {
            ApiError::new(
                404,
                "amazon_pay_disabled",
                "Amazon Pay is not enabled for this shop",
                "このショップではAmazon Payをご利用いただけません。",
            )
        })
    }

    pub fn origin_allowed(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|o| o == origin)
    }

    /// Whether `url` is an absolute http(s) URL on one of the storefront origins (a safe place to
    /// send a shopper or an assertion to).
    pub fn url_on_allowed_origin(&self, url: &str) -> bool {
        origin_of(url).is_some_and(|o| self.origin_allowed(&o))
    }

    /// The body's `return_url` (trimmed): where Amazon's buttons send the shopper back. 400
    /// unless it is a page on one of the storefront origins.
    pub fn storefront_return_url<'a>(&self, body: &'a Value) -> Result<&'a str, ApiError> {
        let return_url = body
            .get("return_url")
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim();
        if !self.url_on_allowed_origin(return_url) {
            return Err(ApiError::bad_request(
                "return_url must be a page on an allowed storefront origin",
                "戻り先のページが正しくありません。",
            )
            .with("param", "return_url"));
        }
        Ok(return_url)
    }
}

/// IPN settings (from `AMAZON_PAY_IPN_*`).
#[derive(Debug, Clone)]
pub struct IpnConfig {
    /// The SNS topic Amazon Pay publishes this merchant's notifications to.
    pub topic_arn: String,
    /// Test mode with the local sandbox only: its certificate base URL and CA public key.
    pub sandbox: Option<SandboxTrust>,
}

#[derive(Debug, Clone)]
pub struct SandboxTrust {
    /// URL prefix (ending in `/`) the signing certificates must lie directly under.
    pub cert_base: String,
    /// The sandbox CA's SubjectPublicKeyInfo (DER).
    pub ca_spki: Vec<u8>,
}

impl IpnConfig {
    /// `None` when `AMAZON_PAY_IPN_TOPIC_ARN` is not set (the endpoint then answers 404).
    /// Live mode refuses any sandbox trust setting.
    pub fn from_values(
        mode: AccessMode,
        topic_arn: Option<String>,
        cert_base: Option<String>,
        ca_spki_b64: Option<String>,
    ) -> Result<Option<IpnConfig>, ApiError> {
        let sandbox = match (mode, cert_base, ca_spki_b64) {
            (_, None, None) => None,
            (AccessMode::Live, _, _) => {
                return Err(ApiError::internal(
                    "live mode refuses AMAZON_PAY_IPN_SANDBOX_* settings",
                ));
            }
            (AccessMode::Test, Some(base), Some(ca)) => {
                let ca_spki = base64_decode(ca.trim()).ok_or_else(|| {
                    ApiError::internal("AMAZON_PAY_IPN_SANDBOX_CA is not base64 SPKI DER")
                })?;
                if !base.ends_with('/') || origin_of(&base).is_none() {
                    return Err(ApiError::internal(
                        "AMAZON_PAY_IPN_SANDBOX_CERT_BASE must be an http(s) URL ending in /",
                    ));
                }
                Some(SandboxTrust {
                    cert_base: base,
                    ca_spki,
                })
            }
            (AccessMode::Test, _, _) => {
                return Err(ApiError::internal(
                    "AMAZON_PAY_IPN_SANDBOX_CERT_BASE and AMAZON_PAY_IPN_SANDBOX_CA go together",
                ));
            }
        };
        Ok(topic_arn.map(|topic_arn| IpnConfig { topic_arn, sandbox }))
    }
}
