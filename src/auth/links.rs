//! The links mailed to users and the redirect targets built from callback URLs, as Better Auth
//! builds them (tokens-and-emails.md §1, §4; endpoints.md §1.5, §3.3).

use url::Url;

use super::crypto::encode_uri_component;

/// Any origin works: relative URLs are resolved against it and it is cut off again.
const REFERENCE_ORIGIN: &str = "http://relative.invalid";

/// `<baseURL>/verify-email?token=<jwt>&callbackURL=<enc(callbackURL || "/")>`.
pub fn verify_email_url(base_url: &str, token: &str, callback: Option<&str>) -> String {
    let callback = callback.filter(|c| !c.is_empty()).unwrap_or("/");
    format!(
        "{base_url}/verify-email?token={token}&callbackURL={}",
        encode_uri_component(callback)
    )
}

/// `<baseURL>/reset-password/<token>?callbackURL=<enc(redirectTo) or "">`.
pub fn reset_password_url(base_url: &str, token: &str, redirect_to: Option<&str>) -> String {
    let callback = redirect_to
        .filter(|c| !c.is_empty())
        .map(encode_uri_component)
        .unwrap_or_default();
    format!("{base_url}/reset-password/{token}?callbackURL={callback}")
}

/// `<baseURL>/delete-user/callback?token=<t>&callbackURL=<enc(callbackURL || "/")>`.
pub fn delete_account_url(base_url: &str, token: &str, callback: Option<&str>) -> String {
    let callback = callback.filter(|c| !c.is_empty()).unwrap_or("/");
    format!(
        "{base_url}/delete-user/callback?token={token}&callbackURL={}",
        encode_uri_component(callback)
    )
}

/// `appendQueryParams` of `@better-auth/core`: the callback URL (absolute, or relative and
/// kept relative) with `key=value` appended to its query. `None` if it is not a URL.
pub fn append_query(input: &str, key: &str, value: &str) -> Option<String> {
    append_query_pairs(input, &[(key, value)])
}

/// `appendQueryParams` with several pairs, encoded as `URLSearchParams` does (`+` for a space).
pub fn append_query_pairs(input: &str, pairs: &[(&str, &str)]) -> Option<String> {
    let relative = input.starts_with('/');
    if input.starts_with("//") || input.starts_with("/\\") {
        return None;
    }
    let mut url = if relative {
        Url::parse(REFERENCE_ORIGIN).ok()?.join(input).ok()?
    } else {
        Url::parse(input).ok()?
    };
    let pair: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    if pair.is_empty() {
        return Some(input.to_owned());
    }
    let query = match url.query() {
        Some(q) if !q.is_empty() => {
            let sep = if q.ends_with('&') { "" } else { "&" };
            format!("{q}{sep}{pair}")
        }
        _ => pair,
    };
    url.set_query(Some(&query));
    if relative {
        let s = url.as_str();
        let path = &s[url.origin().ascii_serialization().len()..];
        // Dot segments are resolved on the way: `/..//evil.com` passed the relative check but
        // comes out as `//evil.com`, another host. Better Auth 1.7.25 sends it; refused here.
        if path.starts_with("//") || path.starts_with("/\\") {
            return None;
        }
        Some(path.to_owned())
    } else {
        Some(url.into())
    }
}

/// `new URL(callbackURL, baseURL)` with `searchParams.set(key, value)` (password.mjs
/// `redirectCallback`): an absolute URL.
pub fn resolve_with_param(
    base_url: &str,
    callback: &str,
    key: &str,
    value: &str,
) -> Option<String> {
    let mut url = Url::parse(base_url).ok()?.join(callback).ok()?;
    // URLSearchParams.set: the first `key` takes the value in place, later ones go.
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut set = false;
    for (k, v) in url.query_pairs() {
        if k == key {
            if !set {
                pairs.push((key.to_owned(), value.to_owned()));
                set = true;
            }
        } else {
            pairs.push((k.into_owned(), v.into_owned()));
        }
    }
    if !set {
        pairs.push((key.to_owned(), value.to_owned()));
    }
    url.query_pairs_mut().clear().extend_pairs(pairs);
    Some(url.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "http://localhost:3000/api/auth";

    #[test]
    fn mailed_links_match_better_auth() {
        assert_eq!(
            verify_email_url(BASE, "T", Some("/dashboard")),
            "http://localhost:3000/api/auth/verify-email?token=T&callbackURL=%2Fdashboard"
        );
        assert_eq!(
            verify_email_url(BASE, "T", Some("")),
            "http://localhost:3000/api/auth/verify-email?token=T&callbackURL=%2F"
        );
        assert_eq!(
            reset_password_url(BASE, "T", None),
            "http://localhost:3000/api/auth/reset-password/T?callbackURL="
        );
        assert_eq!(
            reset_password_url(BASE, "T", Some("http://localhost:3000/reset")),
            "http://localhost:3000/api/auth/reset-password/T?callbackURL=http%3A%2F%2Flocalhost%3A3000%2Freset"
        );
        assert_eq!(
            delete_account_url(BASE, "t", None),
            "http://localhost:3000/api/auth/delete-user/callback?token=t&callbackURL=%2F"
        );
    }

    #[test]
    fn errors_are_appended_to_the_callback_query() {
        assert_eq!(
            append_query("/verified", "error", "INVALID_TOKEN").as_deref(),
            Some("/verified?error=INVALID_TOKEN")
        );
        assert_eq!(
            append_query("/verified?a=1", "error", "TOKEN_EXPIRED").as_deref(),
            Some("/verified?a=1&error=TOKEN_EXPIRED")
        );
        assert_eq!(
            append_query("http://localhost:3000", "error", "X").as_deref(),
            Some("http://localhost:3000/?error=X")
        );
        assert_eq!(append_query("//evil.com", "error", "X"), None);
        for dotted in [
            "/..//evil.com",
            "/.//evil.com",
            "/a/..//evil.com",
            "/a/b/../..//evil.com",
        ] {
            assert_eq!(append_query(dotted, "error", "X"), None, "{dotted}");
        }
    }

    #[test]
    fn reset_redirects_resolve_against_the_base_url() {
        assert_eq!(
            resolve_with_param(BASE, "/reset?token=old&x=1", "token", "abc").as_deref(),
            Some("http://localhost:3000/reset?token=abc&x=1")
        );
        assert_eq!(
            resolve_with_param(BASE, "http://localhost:3000/r", "error", "INVALID_TOKEN")
                .as_deref(),
            Some("http://localhost:3000/r?error=INVALID_TOKEN")
        );
    }
}
