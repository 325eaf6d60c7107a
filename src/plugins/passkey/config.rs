//! `[plugins.passkey]`: Better Auth's `passkey()` options (`packages/passkey/src/index.ts`,
//! `types.ts` of `@better-auth/passkey`).

use serde::Deserialize;

/// One origin or several (Better Auth's `origin: string | string[] | null`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Origins {
    One(String),
    Many(Vec<String>),
}

impl Origins {
    pub fn list(&self) -> Vec<String> {
        match self {
            Self::One(o) => vec![o.clone()],
            Self::Many(v) => v.clone(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasskeySettings {
    pub enabled: bool,
    /// The relying party id (`rpID`); default: the host name of the base URL.
    pub rp_id: Option<String>,
    /// The relying party name shown by authenticators (`rpName`); default: Better Auth's
    /// `appName` default, `Better Auth`.
    pub rp_name: Option<String>,
    /// The origin(s) a ceremony must come from (`origin`); default: the request's `Origin`
    /// header, as Better Auth does.
    pub origin: Option<Origins>,
}

impl PasskeySettings {
    /// Every problem, naming the setting.
    pub fn validate(&self, errors: &mut Vec<String>) {
        if !self.enabled {
            return;
        }
        for origin in self.origin.iter().flat_map(Origins::list) {
            match url::Url::parse(&origin) {
                Ok(u) if u.has_host() => {}
                _ => errors.push(format!(
                    "plugins.passkey.origin: `{origin}` is not an origin such as https://example.com"
                )),
            }
        }
        if self
            .rp_id
            .as_deref()
            .is_some_and(|id| id.is_empty() || id.contains('/'))
        {
            errors.push("plugins.passkey.rp_id: a host name such as example.com".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> PasskeySettings {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn origin_is_one_or_many_and_each_must_be_an_origin() {
        let one = parse("enabled = true\norigin = \"https://app.example.com\"");
        assert_eq!(one.origin.unwrap().list(), ["https://app.example.com"]);
        let many =
            parse("enabled = true\norigin = [\"https://a.example\", \"nope\"]\nrp_id = \"\"");
        let mut errors = Vec::new();
        many.validate(&mut errors);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].starts_with("plugins.passkey.origin: `nope`"));
        assert!(errors[1].starts_with("plugins.passkey.rp_id"));
        assert!(toml::from_str::<PasskeySettings>("enabled = true\nrp_idd = \"x\"").is_err());
    }
}
