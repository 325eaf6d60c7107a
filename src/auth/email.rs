//! Email syntax as zod 4 checks it (docs/compatibility.md §5.3), and the stored form.

use std::sync::LazyLock;

use regex::Regex;

/// zod's pattern without its two look-aheads, which `is_valid` checks by hand:
/// `^(?!\.)(?!.*\.\.)([A-Za-z0-9_'+\-\.]*)[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}$`
static EMAIL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"^[A-Za-z0-9_'+\-\.]*[A-Za-z0-9_+\-]@([A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}$")
        .ok()
});

/// Longest address accepted (RFC 5321's path limit); longer input is refused, not truncated.
pub const MAX_EMAIL_LEN: usize = 254;

pub fn is_valid(email: &str) -> bool {
    email.len() <= MAX_EMAIL_LEN
        && !email.starts_with('.')
        && !email.contains("..")
        && EMAIL.as_ref().is_some_and(|re| re.is_match(email))
}

/// Better Auth stores and compares emails lower-cased, untrimmed.
pub fn normalize(email: &str) -> String {
    email.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_zod_accepts() {
        for ok in [
            "a@b.co",
            "first.last+tag@sub.example.com",
            "o'neil@x.io",
            "A_B-c@d-e.fr",
        ] {
            assert!(is_valid(ok), "{ok}");
        }
    }

    #[test]
    fn rejects_what_zod_rejects() {
        for bad in [
            "",
            "plain",
            ".a@b.co",
            "a..b@c.co",
            "a.@b.co",
            "a@b",
            "a@b.c",
            "a@-b.co",
            "a b@c.co",
            "a@b..co",
            "ü@b.co",
            "a@b.co ",
            "a@b.c0",
        ] {
            assert!(!is_valid(bad), "{bad}");
        }
        assert!(!is_valid(&format!("{}@b.co", "a".repeat(260))));
    }
}
