//! The demo's console operator: a random password made at every start (printed by the demo, read
//! by tests from the Stack), of which the edge only gets the PBKDF2 hash (`CONSOLE_OPERATORS`).
//! Nothing real is in the repository. Host side only: the edge verifies with WebCrypto.

use hmac::{Hmac, Mac};
use kessai_core::console::{MAX_ITERATIONS, OperatorCredential, format_operator};
use sha2::Sha256;

/// The demo's operators (login names); each gets its own random password at start.
pub const OPERATOR_NAMES: [&str; 2] = ["operator", "manager"];

/// A freshly made operator login.
#[derive(Clone)]
pub struct OperatorLogin {
    pub name: String,
    pub password: String,
    /// The `CONSOLE_OPERATORS` value for the edge (hash only).
    pub operators_var: String,
}

/// PBKDF2-HMAC-SHA-256 (RFC 8018), one 32-byte block: what WebCrypto derives on the edge.
pub fn pbkdf2_sha256(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    let prf = || Hmac::<Sha256>::new_from_slice(password).expect("HMAC takes any key length");
    let mut mac = prf();
    mac.update(salt);
    mac.update(&1u32.to_be_bytes());
    let mut u: [u8; 32] = mac.finalize().into_bytes().into();
    let mut out = u;
    for _ in 1..iterations {
        let mut mac = prf();
        mac.update(&u);
        u = mac.finalize().into_bytes().into();
        out.iter_mut().zip(u.iter()).for_each(|(o, x)| *o ^= x);
    }
    out
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::getrandom(&mut buf).expect("the OS random source is available");
    buf
}

/// A random password (20 characters without look-alikes) and its credential entry.
pub fn generate(name: &str) -> OperatorLogin {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let password: String = random_bytes::<20>()
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    let salt = random_bytes::<16>().to_vec();
    let hash = pbkdf2_sha256(password.as_bytes(), &salt, MAX_ITERATIONS).to_vec();
    let credential = OperatorCredential {
        name: name.to_string(),
        iterations: MAX_ITERATIONS,
        salt,
        hash,
    };
    OperatorLogin {
        name: name.to_string(),
        password,
        operators_var: format_operator(&credential),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pbkdf2_matches_rfc_7914_vector() {
        // RFC 7914 §11: PBKDF2-HMAC-SHA256 (P="passwd", S="salt", c=1), first 32 bytes.
        let out = pbkdf2_sha256(b"passwd", b"salt", 1);
        let hex: String = out.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
        );
    }

    #[test]
    fn generated_login_parses_and_verifies() {
        let login = generate("op");
        let parsed = kessai_core::console::parse_operators(&login.operators_var).unwrap();
        assert_eq!(parsed[0].name, "op");
        assert!(!login.operators_var.contains(&login.password));
        let again = pbkdf2_sha256(
            login.password.as_bytes(),
            &parsed[0].salt,
            parsed[0].iterations,
        );
        assert_eq!(again.to_vec(), parsed[0].hash);
    }
}
