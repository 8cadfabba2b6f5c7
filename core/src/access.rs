//! アクセスモード: which gateway endpoints a deployment may talk to.

/// テスト (sandboxes or the gateways' test hosts) or 本番 (live).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessMode {
    Test,
    Live,
}

impl AccessMode {
    /// `None` for anything but `test` / `live` (an absent value means `test`).
    pub fn parse(s: Option<&str>) -> Option<AccessMode> {
        match s {
            None | Some("test") => Some(AccessMode::Test),
            Some("live") => Some(AccessMode::Live),
            Some(_) => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            AccessMode::Test => "test",
            AccessMode::Live => "live",
        }
    }
    /// Live mode refuses loopback hosts: a production shop must never be wired to a sandbox.
    pub fn allows_url(self, url: &str) -> bool {
        match self {
            AccessMode::Test => true,
            AccessMode::Live => !is_loopback_url(url),
        }
    }
}

/// Whether a URL points at this machine (where the sandboxes run).
pub fn is_loopback_url(url: &str) -> bool {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let authority = rest.split('/').next().unwrap_or("");
    let host = if authority.starts_with('[') {
        authority
            .split(']')
            .next()
            .map(|h| format!("{h}]"))
            .unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or("").to_string()
    };
    let host = host.to_ascii_lowercase();
    let ipv4_loopback = host
        .parse::<std::net::Ipv4Addr>()
        .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified());
    host == "localhost" || host.ends_with(".localhost") || ipv4_loopback || host == "[::1]"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_detection() {
        assert!(is_loopback_url("http://127.0.0.1:8790"));
        assert!(is_loopback_url("http://127.1.2.3/x"));
        assert!(is_loopback_url("http://LOCALHOST/x"));
        assert!(is_loopback_url("http://[::1]:8080/"));
        assert!(!is_loopback_url("https://p01.mul-pay.jp"));
        assert!(!is_loopback_url("https://127.0.0.1.example.com/"));
    }

    #[test]
    fn live_refuses_sandboxes() {
        assert!(!AccessMode::Live.allows_url("http://127.0.0.1:8790/payment"));
        assert!(AccessMode::Live.allows_url("https://p01.mul-pay.jp"));
        assert!(AccessMode::Test.allows_url("http://127.0.0.1:8790"));
        assert_eq!(AccessMode::parse(Some("prod")), None);
        assert_eq!(AccessMode::parse(None), Some(AccessMode::Test));
    }
}
