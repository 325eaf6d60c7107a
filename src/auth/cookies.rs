//! The one cookie factory: names, attributes, signing, removal (`spec/cookies.md`).

use std::collections::HashMap;

use cookie::time::Duration;
use cookie::{Cookie, SameSite};
use percent_encoding::percent_decode_str;

use super::crypto::{encode_uri_component, sign_value, verify_signed, Signed};

pub const SESSION_TOKEN: &str = "session_token";
pub const SESSION_DATA: &str = "session_data";
pub const DONT_REMEMBER: &str = "dont_remember";

/// Everything that decides how our cookies look, fixed at startup.
#[derive(Debug, Clone)]
pub struct CookieJar {
    prefix: String,
    secure: bool,
    session_max_age: i64,
    cache_max_age: i64,
}

impl CookieJar {
    pub fn new(prefix: &str, secure: bool, session_max_age: i64, cache_max_age: i64) -> Self {
        Self {
            prefix: prefix.to_owned(),
            secure,
            session_max_age,
            cache_max_age,
        }
    }

    /// `[__Secure-]<prefix>.<logical>` (cookies.md §1).
    pub fn name(&self, logical: &str) -> String {
        let secure = if self.secure { "__Secure-" } else { "" };
        format!("{secure}{}.{logical}", self.prefix)
    }

    fn build(&self, logical: &str, wire_value: String, max_age: Option<i64>) -> Cookie<'static> {
        let mut c = Cookie::new(self.name(logical), wire_value);
        c.set_path("/");
        c.set_http_only(true);
        c.set_same_site(SameSite::Lax);
        if self.secure {
            c.set_secure(true);
        }
        if let Some(age) = max_age {
            c.set_max_age(Duration::seconds(age));
        }
        c
    }

    /// The signed session cookie; a browser-session cookie when "remember me" is off.
    pub fn session_token(
        &self,
        secret: &[u8],
        token: &str,
        dont_remember: bool,
    ) -> Cookie<'static> {
        let value = encode_uri_component(&sign_value(secret, token));
        self.build(
            SESSION_TOKEN,
            value,
            (!dont_remember).then_some(self.session_max_age),
        )
    }

    /// The signed `dont_remember=true` flag (cookies.md §4).
    pub fn dont_remember(&self, secret: &[u8]) -> Cookie<'static> {
        self.build(
            DONT_REMEMBER,
            encode_uri_component(&sign_value(secret, "true")),
            None,
        )
    }

    /// The cookie-cache cookie; its value is already URL-safe.
    pub fn session_data(&self, value: String, dont_remember: bool) -> Cookie<'static> {
        self.build(
            SESSION_DATA,
            encode_uri_component(&value),
            (!dont_remember).then_some(self.cache_max_age),
        )
    }

    /// A signed cookie `<prefix>.<logical>` with the session cookie's attributes, for the
    /// plugins' cookies (`admin_session`, `two_factor`, ...); `max_age` in seconds, `None` for
    /// a browser-session cookie.
    pub fn signed(
        &self,
        secret: &[u8],
        logical: &str,
        value: &str,
        max_age: Option<i64>,
    ) -> Cookie<'static> {
        self.build(
            logical,
            encode_uri_component(&sign_value(secret, value)),
            max_age,
        )
    }

    /// An unsigned cookie `<prefix>.<logical>` with the session cookie's attributes, its value
    /// already URL-safe (the encrypted OAuth state).
    pub fn plain(&self, logical: &str, value: String, max_age: Option<i64>) -> Cookie<'static> {
        self.build(logical, value, max_age)
    }

    /// The session cookie's lifetime, seconds (`session.expires_in`).
    pub fn session_max_age(&self) -> i64 {
        self.session_max_age
    }

    /// Removal: same name and attributes, empty value, `Max-Age=0`.
    pub fn removal(&self, full_name: &str) -> Cookie<'static> {
        let mut c = Cookie::new(full_name.to_owned(), "");
        c.set_path("/");
        c.set_http_only(true);
        c.set_same_site(SameSite::Lax);
        if self.secure {
            c.set_secure(true);
        }
        c.set_max_age(Duration::ZERO);
        c
    }

    /// Expire every session cookie, plus any `session_data.N` chunk the client sent
    /// (cookies.md §7).
    pub fn clear_session(&self, request: &RequestCookies) -> Vec<Cookie<'static>> {
        let mut names = vec![
            self.name(SESSION_TOKEN),
            self.name(SESSION_DATA),
            self.name(DONT_REMEMBER),
        ];
        let data = self.name(SESSION_DATA);
        for name in request.names() {
            if name.starts_with(&format!("{data}.")) && !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
        }
        names.iter().map(|n| self.removal(n)).collect()
    }
}

/// The request's `Cookie` header, parsed like Better Auth (one pair of quotes stripped,
/// percent-decoded when possible), except that of several cookies of one name the LAST wins,
/// where Better Auth (better-call's `parseCookies`) takes the first. A browser sends the cookie
/// of the longest path first: a cookie tossed from a sibling subdomain with a narrower path
/// (`Domain=.example.com; Path=/api/auth`) would come before the user's own `Path=/` session and
/// sign them in as the attacker. Every cookie of the service has `Path=/`, so for two of them
/// the last is the newer one (`docs/compatibility.md` §6).
#[derive(Debug, Default, Clone)]
pub struct RequestCookies {
    pairs: HashMap<String, String>,
    order: Vec<String>,
}

impl RequestCookies {
    pub fn parse<'a>(headers: impl IntoIterator<Item = &'a str>) -> Self {
        let mut out = Self::default();
        for header in headers {
            for part in header.split(';') {
                let part = part.trim_matches(|c| c == ' ' || c == '\t');
                let Some((name, value)) = part.split_once('=') else {
                    continue;
                };
                let name = name.trim();
                if name.is_empty() {
                    continue;
                }
                let mut value = value.trim();
                if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
                    value = &value[1..value.len() - 1];
                }
                let decoded = if value.contains('%') {
                    percent_decode_str(value)
                        .decode_utf8()
                        .map(|v| v.into_owned())
                        .unwrap_or_else(|_| value.to_owned())
                } else {
                    value.to_owned()
                };
                if out.pairs.insert(name.to_owned(), decoded).is_none() {
                    out.order.push(name.to_owned());
                }
            }
        }
        out
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.get(name).map(String::as_str)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.order.iter().map(String::as_str)
    }

    /// A cookie that may have been split in chunks: `<name>` or `<name>.0`, `<name>.1`, …
    pub fn chunked(&self, name: &str) -> Option<String> {
        if let Some(v) = self.get(name) {
            return Some(v.to_owned());
        }
        let prefix = format!("{name}.");
        let mut chunks: Vec<(u32, &str)> = self
            .pairs
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix(&prefix)?
                    .parse::<u32>()
                    .ok()
                    .map(|i| (i, v.as_str()))
            })
            .collect();
        if chunks.is_empty() {
            return None;
        }
        chunks.sort_by_key(|(i, _)| *i);
        Some(chunks.into_iter().map(|(_, v)| v).collect())
    }

    /// The session token from the signed cookie, if well-formed and correctly signed.
    pub fn signed(&self, secret: &[u8], name: &str) -> Signed<'_> {
        match self.get(name) {
            Some(v) => verify_signed(secret, v),
            None => Signed::Absent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"spec-example-secret-0123456789abcdef";

    #[test]
    fn session_cookie_serializes_with_better_auth_attributes() {
        let jar = CookieJar::new("better-auth", false, 604_800, 300);
        let c = jar
            .session_token(SECRET, "Xq7mK2pL9vR4tY6wZ1aB3cD5eF8gH0jN", false)
            .to_string();
        assert!(c.starts_with(
            "better-auth.session_token=Xq7mK2pL9vR4tY6wZ1aB3cD5eF8gH0jN.eZs2OOPHhmpR5N1DNsjTpcgkgu%2BhqnVMGe%2FtqxwQxu0%3D;"
        ));
        for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=604800"] {
            assert!(c.contains(attr), "{c} lacks {attr}");
        }
        assert!(!c.contains("Secure"));
    }

    #[test]
    fn secure_cookies_get_the_prefix_and_attribute() {
        let jar = CookieJar::new("better-auth", true, 604_800, 300);
        let c = jar.session_token(SECRET, "t", true).to_string();
        assert!(c.starts_with("__Secure-better-auth.session_token="));
        assert!(c.contains("Secure"));
        assert!(
            !c.contains("Max-Age"),
            "don't-remember sessions are browser-session cookies: {c}"
        );
    }

    #[test]
    fn removal_has_max_age_zero_and_empty_value() {
        let jar = CookieJar::new("better-auth", false, 604_800, 300);
        let c = jar.removal("better-auth.session_token").to_string();
        assert!(c.starts_with("better-auth.session_token=;"));
        assert!(c.contains("Max-Age=0"));
    }

    #[test]
    fn header_parsing_keeps_the_first_and_decodes() {
        let c = RequestCookies::parse(["a=1; b=\"x%2By\"; a=2", "c=%ZZ; d.1=two; d.0=one"]);
        assert_eq!(c.get("a"), Some("2"), "the last of one name wins");
        assert_eq!(c.names().filter(|n| *n == "a").count(), 1);
        assert_eq!(c.get("b"), Some("x+y"));
        assert_eq!(c.get("c"), Some("%ZZ"));
        assert_eq!(c.chunked("d").as_deref(), Some("onetwo"));
    }
}
