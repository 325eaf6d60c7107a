//! Trusted-origin matching (docs/compatibility.md §3.1): exact origins, globs, relative callback
//! URLs and custom schemes.

use std::sync::LazyLock;

use percent_encoding::percent_decode_str;
use regex::Regex;
use url::Url;

/// A relative callback URL Better Auth accepts: one leading `/` not followed by `/`, `\`,
/// `%2f` or `%5c`, a restricted path alphabet, an optional restricted query.
static RELATIVE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^/[A-Za-z0-9_\-.+/@]*(\?[A-Za-z0-9_\-.+/=&%@]*)?$").ok());

fn is_safe_relative(url: &str) -> bool {
    let rest = &url[1..];
    let lower = rest.to_ascii_lowercase();
    if rest.starts_with('/')
        || rest.starts_with('\\')
        || lower.starts_with("%2f")
        || lower.starts_with("%5c")
    {
        return false;
    }
    RELATIVE.as_ref().is_some_and(|re| re.is_match(url))
}

/// Glob to regex, as Better Auth's `wildcardMatch`: `*` any run without `/` or `\`, `?` one
/// such character, `/` one or more separators, `**` as a whole segment any number of segments.
/// Used for trusted origins and for rate-limit rule paths.
pub fn glob_regex(pattern: &str) -> Option<Regex> {
    let mut re = String::from("^");
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' if chars.get(i + 1) == Some(&'*') => {
                re.push_str(".*");
                i += 1;
            }
            '*' => re.push_str(r"[^/\\]*"),
            '?' => re.push_str(r"[^/\\]"),
            '/' => re.push_str(r"[/\\]+"),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
        i += 1;
    }
    re.push('$');
    Regex::new(&re).ok()
}

fn is_glob(pattern: &str) -> bool {
    pattern.contains('*') || pattern.contains('?')
}

/// `host[:port]` as the URL parser renders it (default port dropped).
fn host_port(u: &Url) -> Option<String> {
    let host = u.host_str()?;
    Some(match u.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    })
}

/// Does one absolute URL match one trusted entry?
fn matches_absolute(url: &str, pattern: &str) -> bool {
    let Ok(parsed) = Url::parse(url) else {
        return false;
    };
    if is_glob(pattern) {
        let Some(re) = glob_regex(pattern) else {
            return false;
        };
        return if pattern.contains("://") {
            re.is_match(&parsed.origin().ascii_serialization())
        } else {
            host_port(&parsed).is_some_and(|h| re.is_match(&h))
        };
    }
    match parsed.scheme() {
        "http" | "https" => parsed.origin().ascii_serialization() == pattern,
        scheme => matches_custom_scheme(&parsed, scheme, pattern),
    }
}

/// `myapp://`, `exp://host/path`: scheme, then authority, then path prefix.
fn matches_custom_scheme(url: &Url, scheme: &str, pattern: &str) -> bool {
    let Some((p_scheme, p_rest)) = pattern.split_once("://") else {
        return false;
    };
    if !p_scheme.eq_ignore_ascii_case(scheme) {
        return false;
    }
    let (p_auth, p_path) = match p_rest.find('/') {
        Some(i) => (&p_rest[..i], &p_rest[i..]),
        None => (p_rest, ""),
    };
    if !p_auth.is_empty() && !host_port(url).is_some_and(|h| h.eq_ignore_ascii_case(p_auth)) {
        return false;
    }
    if p_path.is_empty() || p_path == "/" {
        return true;
    }
    let path = percent_decode_str(url.path())
        .decode_utf8_lossy()
        .into_owned();
    path == p_path || path.starts_with(&format!("{}/", p_path.trim_end_matches('/')))
}

/// The `Origin` header (or a `Referer`) against the trusted list: relative never matches.
pub fn is_trusted_origin(value: &str, trusted: &[String]) -> bool {
    !value.starts_with('/') && trusted.iter().any(|p| matches_absolute(value, p))
}

/// A callback / redirect URL: safe relative paths pass, absolute ones must be trusted.
pub fn is_trusted_callback(value: &str, trusted: &[String]) -> bool {
    if value.starts_with('/') {
        return !trusted.is_empty() && is_safe_relative(value);
    }
    trusted.iter().any(|p| matches_absolute(value, p))
}

/// Whether a `Location` stays on the host its check allowed: a browser drops tabs and newlines
/// and leading spaces and control characters, and reads `\\` as `/`, so what is left must not
/// start with two slashes (a network-path reference: another host). Absolute URLs are the
/// callers' to check against the trusted origins.
pub fn is_safe_location(location: &str) -> bool {
    let cleaned: String = location
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let mut chars = cleaned
        .trim_start_matches(|c: char| c <= ' ')
        .chars()
        .map(|c| if c == '\\' { '/' } else { c });
    !(chars.next() == Some('/') && chars.next() == Some('/'))
}

/// The origin of a `Referer` value, if it is an absolute URL.
pub fn origin_of(value: &str) -> Option<String> {
    let u = Url::parse(value).ok()?;
    match u.scheme() {
        "http" | "https" => Some(u.origin().ascii_serialization()),
        _ => Some(value.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn exact_origins_compare_canonically() {
        let t = list(&["http://localhost:3000", "https://app.example.com"]);
        assert!(is_trusted_origin("http://localhost:3000", &t));
        assert!(is_trusted_origin("HTTPS://APP.example.com:443", &t));
        assert!(!is_trusted_origin("http://localhost:3001", &t));
        assert!(!is_trusted_origin("https://app.example.com.evil.com", &t));
        assert!(!is_trusted_origin("null", &t));
        assert!(!is_trusted_origin("/relative", &t));
        assert!(!is_trusted_origin("http://x", &list(&["http://x/"])));
    }

    #[test]
    fn globs_match_hosts_or_origins() {
        let t = list(&["*.example.com"]);
        assert!(is_trusted_origin("https://a.example.com", &t));
        assert!(is_trusted_origin("http://a.b.example.com", &t));
        assert!(!is_trusted_origin("https://example.com", &t));
        let t = list(&["https://*.example.com"]);
        assert!(is_trusted_origin("https://a.example.com", &t));
        assert!(!is_trusted_origin("http://a.example.com", &t));
    }

    #[test]
    fn relative_callbacks_are_allowed_when_safe() {
        let t = list(&["http://localhost:3000"]);
        for ok in ["/", "/dashboard", "/a/b?x=1&y=%20", "/user@home"] {
            assert!(is_trusted_callback(ok, &t), "{ok}");
        }
        for bad in [
            "//evil.com",
            "/\\evil.com",
            "/%2fevil.com",
            "/a#b",
            "/a b",
            "/a:b",
            "http://evil.com/x",
        ] {
            assert!(!is_trusted_callback(bad, &t), "{bad}");
        }
        assert!(is_trusted_callback("http://localhost:3000/welcome?x=1", &t));
    }

    #[test]
    fn locations_that_name_another_host_are_unsafe() {
        for ok in [
            "/",
            "/a//b",
            "/verified?error=X",
            "http://localhost:3000//x",
            "myapp://x",
        ] {
            assert!(is_safe_location(ok), "{ok}");
        }
        for bad in [
            "//evil.com",
            "/\\evil.com",
            "\\\\evil.com",
            " //evil.com",
            "/\t/evil.com",
            "\\/evil.com",
        ] {
            assert!(!is_safe_location(bad), "{bad}");
        }
    }

    #[test]
    fn custom_schemes_match_scheme_authority_and_path() {
        let t = list(&["myapp://", "exp://host/app"]);
        assert!(is_trusted_callback("myapp://anything/here", &t));
        assert!(is_trusted_callback("exp://host/app/screen", &t));
        assert!(!is_trusted_callback("exp://host/other", &t));
        assert!(!is_trusted_callback("exp://other/app", &t));
    }
}
