//! The members' data (会員, sessions, pending Amazon profiles), kept in memory for the demo. A
//! leaf module: the shop's state ([`crate::shop::Storefront`]) owns a [`MemberStore`] and the
//! member pages ([`crate::members`]) work on it, so the state type need not import the handlers.

use std::collections::HashMap;

/// What an Amazon sign-in was for: the nonce of one cannot be used for the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Login,
    Link,
}

/// The Amazon profile from a verified assertion (no furigana: Amazon has none).
#[derive(Clone, Debug, Default)]
pub struct AmazonProfile {
    pub buyer_id: String,
    pub name: String,
    pub email: String,
    pub postal_code: String,
    pub prefecture: String,
    pub city: String,
    pub address1: String,
    pub address2: String,
    pub phone: String,
}

#[derive(Clone, Debug, Default)]
pub struct Session {
    pub(crate) nonces: Vec<(String, Purpose)>,
    pub(crate) member_id: Option<String>,
    /// The Amazon profile waiting to prefill 会員登録.
    pub(crate) pending: Option<AmazonProfile>,
    /// A one-time message for the next page: (is it good news, text).
    pub(crate) flash: Option<(bool, String)>,
}

#[derive(Clone, Debug, Default)]
pub struct Member {
    pub id: String,
    pub name: String,
    pub kana: String,
    pub email: String,
    pub postal_code: String,
    pub prefecture: String,
    pub city: String,
    pub address1: String,
    pub address2: String,
    pub phone: String,
    pub(crate) password_salt: String,
    pub(crate) password_hash: String,
}

/// The session cookie's name (the member pages set it; the shop's checkout reads it to name the
/// customer).
pub const SESSION_COOKIE: &str = "kessai_demo_sid";

/// The session id in a `Cookie` header, if there is one.
pub fn session_in_cookies(cookies: &str) -> Option<String> {
    cookies
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_string())
}

#[derive(Default)]
pub struct MemberStore {
    pub(crate) sessions: HashMap<String, Session>,
    pub(crate) members: HashMap<String, Member>,
}

impl MemberStore {
    /// The member logged in on session `sid`.
    pub fn member_of_session(&self, sid: &str) -> Option<Member> {
        let id = self.sessions.get(sid)?.member_id.clone()?;
        self.members.get(&id).cloned()
    }
}
