//! The built-in providers' endpoints and profile mappings, as Better Auth 1.7.25 has them
//! (`packages/core/src/social-providers/{github,google,discord,microsoft-entra-id,gitlab,apple,
//! linkedin,slack,spotify}.ts`),
//! and the generic OAuth plugin's profile mapping (`plugins/generic-oauth/index.ts`).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::{Http, Mapping, Profile, Provider, Tokens};
use crate::auth::id_token;
use crate::config::SocialProviderSettings;

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn or(value: &Option<String>, default: &str) -> String {
    value.clone().unwrap_or_else(|| default.to_owned())
}

/// The built-in provider `id` with its settings; `None` for an unknown id.
pub fn built_in(id: &str, c: &SocialProviderSettings) -> Option<Provider> {
    let (mapping, scopes, auth, token, user) = match id {
        "github" => (
            Mapping::Github,
            strings(&["read:user", "user:email"]),
            "https://github.com/login/oauth/authorize".to_owned(),
            "https://github.com/login/oauth/access_token".to_owned(),
            Some("https://api.github.com/user".to_owned()),
        ),
        "google" => (
            Mapping::Google,
            strings(&["email", "profile", "openid"]),
            "https://accounts.google.com/o/oauth2/v2/auth".to_owned(),
            "https://oauth2.googleapis.com/token".to_owned(),
            None,
        ),
        "discord" => (
            Mapping::Discord,
            strings(&["identify", "email"]),
            "https://discord.com/api/oauth2/authorize".to_owned(),
            "https://discord.com/api/oauth2/token".to_owned(),
            Some("https://discord.com/api/users/@me".to_owned()),
        ),
        "microsoft" => {
            let authority = or(&c.authority, "https://login.microsoftonline.com");
            let tenant = or(&c.tenant_id, "common");
            (
                Mapping::Microsoft,
                strings(&["openid", "profile", "email", "User.Read", "offline_access"]),
                format!("{authority}/{tenant}/oauth2/v2.0/authorize"),
                format!("{authority}/{tenant}/oauth2/v2.0/token"),
                // Only the profile photo is read from Graph (`<endpoint>/photos/...`).
                Some("https://graph.microsoft.com/v1.0/me".to_owned()),
            )
        }
        "gitlab" => {
            let base = or(&c.issuer, "https://gitlab.com");
            let base = base.trim_end_matches('/');
            (
                Mapping::Gitlab,
                strings(&["read_user"]),
                format!("{base}/oauth/authorize"),
                format!("{base}/oauth/token"),
                Some(format!("{base}/api/v4/user")),
            )
        }
        "apple" => (
            Mapping::Apple,
            strings(&["email", "name"]),
            "https://appleid.apple.com/auth/authorize".to_owned(),
            "https://appleid.apple.com/auth/token".to_owned(),
            None,
        ),
        "linkedin" => (
            Mapping::Linkedin,
            strings(&["profile", "email", "openid"]),
            "https://www.linkedin.com/oauth/v2/authorization".to_owned(),
            "https://www.linkedin.com/oauth/v2/accessToken".to_owned(),
            Some("https://api.linkedin.com/v2/userinfo".to_owned()),
        ),
        "slack" => (
            Mapping::Slack,
            strings(&["openid", "profile", "email"]),
            "https://slack.com/openid/connect/authorize".to_owned(),
            "https://slack.com/api/openid.connect.token".to_owned(),
            Some("https://slack.com/api/openid.connect.userInfo".to_owned()),
        ),
        "spotify" => (
            Mapping::Spotify,
            strings(&["user-read-email"]),
            "https://accounts.spotify.com/authorize".to_owned(),
            "https://accounts.spotify.com/api/token".to_owned(),
            Some("https://api.spotify.com/v1/me".to_owned()),
        ),
        _ => return None,
    };
    let mut p = Provider::new(id.to_owned(), mapping, c.client_id.clone());
    p.client_secret = c.client_secret.clone();
    p.default_scopes = if c.disable_default_scope {
        Vec::new()
    } else {
        scopes
    };
    p.config_scopes = c.scopes.clone();
    p.authorization_endpoint = c.authorization_endpoint.clone().unwrap_or(auth);
    p.token_endpoint = Some(c.token_endpoint.clone().unwrap_or(token));
    p.user_info_endpoint = c.user_info_endpoint.clone().or(user);
    p.disable_sign_up = c.disable_sign_up;
    p.disable_implicit_sign_up = c.disable_implicit_sign_up;
    p.override_user_info = c.override_user_info_on_sign_in;
    p.require_email_verification = c.require_email_verification;
    p.prompt = c.prompt.clone();
    p.redirect_uri = c.redirect_uri.clone();
    match mapping {
        Mapping::Google => {
            p.issuer = Some("https://accounts.google.com".into());
            p.id_token_issuers = strings(&["https://accounts.google.com", "accounts.google.com"]);
            p.id_token_algorithms = strings(&["RS256"]);
            p.id_token_max_age = Some(3600);
            p.jwks_uri = Some(or(
                &c.jwks_endpoint,
                "https://www.googleapis.com/oauth2/v3/certs",
            ));
            p.access_type = c.access_type.clone();
            p.hd = c.hd.clone();
            p.extra_params = vec![("include_granted_scopes".into(), "true".into())];
        }
        Mapping::Apple => {
            p.issuer = Some("https://appleid.apple.com".into());
            p.id_token_issuers = strings(&["https://appleid.apple.com"]);
            p.id_token_algorithms = strings(&["RS256"]);
            p.jwks_uri = Some(or(&c.jwks_endpoint, "https://appleid.apple.com/auth/keys"));
            p.response_mode = Some("form_post".into());
            p.response_type = Some("code id_token".into());
        }
        Mapping::Microsoft => {
            p.profile_photo_size =
                (!c.disable_profile_photo).then(|| c.profile_photo_size.unwrap_or(48));
            let authority = or(&c.authority, "https://login.microsoftonline.com");
            let tenant = or(&c.tenant_id, "common");
            if !matches!(tenant.as_str(), "common" | "organizations" | "consumers") {
                let iss = format!("{authority}/{tenant}/v2.0");
                p.issuer = Some(iss.clone());
                p.id_token_issuers = vec![iss];
                p.jwks_uri = Some(or(
                    &c.jwks_endpoint,
                    &format!("{authority}/{tenant}/discovery/v2.0/keys"),
                ));
            }
        }
        // Better Auth sends these without a PKCE challenge.
        Mapping::Linkedin | Mapping::Slack => p.pkce = false,
        Mapping::Discord => {
            p.pkce = false;
            p.prompt = Some(or(&c.prompt, "none"));
        }
        _ => {}
    }
    Some(p)
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Better Auth's `parseStringBoolean`: `true`/`"true"`.
fn truthy(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::Bool(true))) || matches!(v, Some(Value::String(s)) if s == "true")
}

fn subject(v: Option<&Value>) -> Option<String> {
    text(v).filter(|s| !s.trim().is_empty() && s != "undefined" && s != "null")
}

/// The profile a provider's ID-token claims describe (Google, Apple, Microsoft, generic OIDC).
pub fn profile_from_claims(
    p: &Provider,
    claims: &Map<String, Value>,
    apple_user: Option<&Value>,
) -> Option<Profile> {
    let data = Value::Object(claims.clone());
    let email = text(claims.get("email"));
    let s = |k: &str| text(claims.get(k));
    Some(match p.mapping {
        Mapping::Google => Profile {
            account_id: subject(claims.get("sub"))?,
            name: s("name").unwrap_or_default(),
            email,
            email_verified: truthy(claims.get("email_verified")),
            image: s("picture"),
            data,
        },
        Mapping::Microsoft => {
            let verified = match claims.get("email_verified") {
                Some(v) => truthy(Some(v)),
                None => email.as_ref().is_some_and(|e| {
                    ["verified_primary_email", "verified_secondary_email"]
                        .iter()
                        .any(|k| {
                            claims
                                .get(*k)
                                .and_then(Value::as_array)
                                .is_some_and(|l| l.iter().any(|x| x.as_str() == Some(e)))
                        })
                }),
            };
            Profile {
                account_id: subject(claims.get("oid"))?,
                name: s("name").unwrap_or_default(),
                email,
                email_verified: verified,
                image: s("picture"),
                data,
            }
        }
        Mapping::Apple => {
            let name = apple_user
                .and_then(|u| u.get("name"))
                .map(|n| {
                    let part = |k: &str| n.get(k).and_then(Value::as_str).unwrap_or("");
                    format!("{} {}", part("firstName"), part("lastName"))
                        .trim()
                        .to_owned()
                })
                .or_else(|| s("name"))
                .unwrap_or_default();
            let mut data = claims.clone();
            data.insert("name".into(), Value::String(name.clone()));
            Profile {
                account_id: subject(claims.get("sub"))?,
                name,
                email,
                email_verified: truthy(claims.get("email_verified")),
                image: None,
                data: Value::Object(data),
            }
        }
        _ => generic_profile(p, claims, claims.get("sub"))?,
    })
}

/// The generic plugin's `resolveUserInfo` over a user-info answer or ID-token claims.
fn generic_profile(p: &Provider, raw: &Map<String, Value>, sub: Option<&Value>) -> Option<Profile> {
    let oidc = matches!(p.mapping, Mapping::Generic { oidc: true });
    let account = if oidc { sub } else { raw.get("id").or(sub) };
    Some(Profile {
        account_id: subject(account)?,
        name: text(raw.get("name")).unwrap_or_default(),
        email: text(raw.get("email")),
        email_verified: truthy(raw.get("email_verified")) || truthy(raw.get("emailVerified")),
        image: text(raw.get("picture")).or_else(|| text(raw.get("image"))),
        data: Value::Object(raw.clone()),
    })
}

/// The signed-in user's Graph photo as Better Auth writes it (`data:image/jpeg;base64, ...`,
/// the space included); `None` when there is none or Graph fails.
async fn microsoft_photo(p: &Provider, http: &Http, token: &str, size: u32) -> Option<String> {
    use base64::Engine as _;
    let base = p.user_info_endpoint.as_deref()?;
    let url = format!("{base}/photos/{size}x{size}/$value");
    match http.get_bytes(&url, token).await {
        Ok(bytes) => Some(format!(
            "data:image/jpeg;base64, {}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )),
        Err(e) => {
            tracing::debug!(provider = %p.id, error = %e, "no profile photo");
            None
        }
    }
}

async fn fetch_profile(p: &Provider, http: &Http, token: &str) -> Option<Map<String, Value>> {
    let url = p.user_info_endpoint.as_deref()?;
    match http.get(url, Some(token)).await {
        Ok(Value::Object(m)) => Some(m),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(provider = %p.id, error = %e, "user info request failed");
            None
        }
    }
}

pub async fn user_info(
    p: &Provider,
    http: &Http,
    tokens: &Tokens,
    expected_nonce: Option<&str>,
    apple_user: Option<&Value>,
    now: DateTime<Utc>,
) -> Option<Profile> {
    let access = tokens.access_token.as_deref();
    match p.mapping {
        Mapping::Google | Mapping::Apple | Mapping::Microsoft => {
            // Decoded, not verified: the token came straight from the token endpoint over TLS.
            let claims = id_token::claims(tokens.id_token.as_deref()?)?;
            if p.mapping == Mapping::Google {
                if let Some(hd) = &p.hd {
                    let got = claims.get("hd").and_then(Value::as_str).unwrap_or("");
                    if got.is_empty() || (hd != "*" && got != hd) {
                        return None;
                    }
                }
            }
            let mut profile = profile_from_claims(p, &claims, apple_user)?;
            if let (Some(size), Some(token)) = (p.profile_photo_size, access) {
                profile.image = microsoft_photo(p, http, token, size)
                    .await
                    .or(profile.image);
            }
            Some(profile)
        }
        Mapping::Github => {
            let token = access?;
            let mut profile = fetch_profile(p, http, token).await?;
            let emails_url = format!("{}/emails", p.user_info_endpoint.as_deref()?);
            let emails = http.get(&emails_url, Some(token)).await.ok();
            let list = emails.as_ref().and_then(Value::as_array);
            let has_email = profile
                .get("email")
                .and_then(Value::as_str)
                .is_some_and(|e| !e.is_empty());
            if !has_email {
                let pick = list.and_then(|l| {
                    l.iter()
                        .find(|e| e.get("primary") == Some(&Value::Bool(true)))
                        .or_else(|| l.first())
                });
                if let Some(email) = pick.and_then(|e| e.get("email")).cloned() {
                    profile.insert("email".into(), email);
                }
            }
            let email = text(profile.get("email"));
            let verified = list.is_some_and(|l| {
                l.iter().any(|e| {
                    email.is_some() && text(e.get("email")) == email && truthy(e.get("verified"))
                })
            });
            let name = text(profile.get("name"))
                .filter(|n| !n.is_empty())
                .or_else(|| text(profile.get("login")))
                .unwrap_or_default();
            Some(Profile {
                account_id: subject(profile.get("id"))?,
                name,
                email,
                email_verified: verified,
                image: text(profile.get("avatar_url")),
                data: Value::Object(profile),
            })
        }
        Mapping::Discord => {
            let mut profile = fetch_profile(p, http, access?).await?;
            let id = subject(profile.get("id"))?;
            let image = match profile.get("avatar").and_then(Value::as_str) {
                Some(avatar) => {
                    let ext = if avatar.starts_with("a_") {
                        "gif"
                    } else {
                        "png"
                    };
                    format!("https://cdn.discordapp.com/avatars/{id}/{avatar}.{ext}")
                }
                None => {
                    let disc = text(profile.get("discriminator")).unwrap_or_default();
                    let n = if disc == "0" {
                        id.parse::<u64>().map(|v| (v >> 22) % 6).unwrap_or(0)
                    } else {
                        disc.parse::<u64>().map(|v| v % 5).unwrap_or(0)
                    };
                    format!("https://cdn.discordapp.com/embed/avatars/{n}.png")
                }
            };
            profile.insert("image_url".into(), Value::String(image.clone()));
            let name = text(profile.get("global_name"))
                .filter(|n| !n.is_empty())
                .or_else(|| text(profile.get("username")))
                .unwrap_or_default();
            Some(Profile {
                account_id: id,
                name,
                email: text(profile.get("email")),
                email_verified: truthy(profile.get("verified")),
                image: Some(image),
                data: Value::Object(profile),
            })
        }
        Mapping::Gitlab => {
            let profile = fetch_profile(p, http, access?).await?;
            Some(Profile {
                account_id: subject(profile.get("id"))?,
                name: text(profile.get("name"))
                    .or_else(|| text(profile.get("username")))
                    .unwrap_or_default(),
                email: text(profile.get("email")),
                email_verified: truthy(profile.get("email_verified")),
                image: text(profile.get("avatar_url")),
                data: Value::Object(profile),
            })
        }
        Mapping::Linkedin => {
            let profile = fetch_profile(p, http, access?).await?;
            Some(Profile {
                account_id: subject(profile.get("sub"))?,
                name: text(profile.get("name")).unwrap_or_default(),
                email: text(profile.get("email")),
                email_verified: truthy(profile.get("email_verified")),
                image: text(profile.get("picture")),
                data: Value::Object(profile),
            })
        }
        Mapping::Slack => {
            let profile = fetch_profile(p, http, access?).await?;
            Some(Profile {
                account_id: subject(profile.get("https://slack.com/user_id"))?,
                name: text(profile.get("name")).unwrap_or_default(),
                email: text(profile.get("email")),
                email_verified: truthy(profile.get("email_verified")),
                image: text(profile.get("picture"))
                    .filter(|s| !s.is_empty())
                    .or_else(|| text(profile.get("https://slack.com/user_image_512"))),
                data: Value::Object(profile),
            })
        }
        Mapping::Spotify => {
            let profile = fetch_profile(p, http, access?).await?;
            let image = profile
                .get("images")
                .and_then(Value::as_array)
                .and_then(|l| l.first())
                .and_then(|i| text(i.get("url")));
            Some(Profile {
                account_id: subject(profile.get("id"))?,
                name: text(profile.get("display_name")).unwrap_or_default(),
                email: text(profile.get("email")),
                // Spotify does not say whether the address was verified.
                email_verified: false,
                image,
                data: Value::Object(profile),
            })
        }
        Mapping::Generic { .. } => {
            // An ID token from a provider with a JWKS must verify (and carry the flow's nonce).
            let claims = match (&tokens.id_token, p.supports_id_token()) {
                (Some(t), true) => Some(p.verify_id_token(http, t, expected_nonce, now).await?),
                (Some(t), false) => id_token::claims(t),
                (None, _) => None,
            };
            if let Some(c) = &claims {
                let has = |k: &str| c.get(k).is_some_and(|v| !v.is_null());
                if has("sub") && has("email") {
                    return generic_profile(p, c, c.get("sub"));
                }
            }
            let raw = fetch_profile(p, http, access?).await?;
            if let Some(sub) = claims.as_ref().and_then(|c| c.get("sub")) {
                if text(raw.get("sub")) != text(Some(sub)) {
                    return None;
                }
            }
            let sub = claims
                .as_ref()
                .and_then(|c| c.get("sub"))
                .or_else(|| raw.get("sub"))
                .cloned();
            generic_profile(p, &raw, sub.as_ref())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::social::AuthorizationRequest;
    use serde_json::json;

    fn provider(id: &str, extra: impl FnOnce(&mut SocialProviderSettings)) -> Provider {
        let mut c = SocialProviderSettings {
            client_id: format!("{id}-client"),
            client_secret: Some("s".to_owned().into()),
            scopes: vec!["extra".into()],
            ..Default::default()
        };
        extra(&mut c);
        built_in(id, &c).unwrap()
    }

    fn query(p: &Provider) -> Vec<(String, String)> {
        let url = p
            .authorization_url(&AuthorizationRequest {
                state: "st",
                code_verifier: "v",
                nonce: None,
                redirect_uri: "http://localhost:3001/api/auth/callback/x",
                scopes: &["asked".to_owned()],
                login_hint: None,
                additional_params: &[("state".into(), "no".into()), ("foo".into(), "bar".into())],
            })
            .unwrap();
        url::Url::parse(&url)
            .unwrap()
            .query_pairs()
            .into_owned()
            .collect()
    }

    fn get<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
        q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }

    #[test]
    fn authorization_urls_follow_each_providers_defaults() {
        let q = query(&provider("github", |_| {}));
        assert_eq!(get(&q, "scope"), Some("read:user user:email extra asked"));
        assert_eq!(get(&q, "code_challenge_method"), Some("S256"));
        assert_eq!(get(&q, "state"), Some("st"));
        assert_eq!(get(&q, "foo"), Some("bar"));

        let q = query(&provider("google", |c| {
            c.access_type = Some("offline".into())
        }));
        assert_eq!(get(&q, "scope"), Some("email profile openid extra asked"));
        assert_eq!(get(&q, "include_granted_scopes"), Some("true"));
        assert_eq!(get(&q, "access_type"), Some("offline"));

        // Discord: no PKCE, prompt `none`, the request's scopes before the configured ones.
        let q = query(&provider("discord", |_| {}));
        assert_eq!(get(&q, "scope"), Some("identify email asked extra"));
        assert_eq!(get(&q, "prompt"), Some("none"));
        assert_eq!(get(&q, "code_challenge"), None);

        let q = query(&provider("apple", |_| {}));
        assert_eq!(get(&q, "response_mode"), Some("form_post"));
        assert_eq!(get(&q, "response_type"), Some("code id_token"));

        let p = provider("microsoft", |c| c.tenant_id = Some("contoso".into()));
        assert!(p
            .authorization_endpoint
            .starts_with("https://login.microsoftonline.com/contoso/oauth2/v2.0/authorize"));
        assert_eq!(
            p.issuer.as_deref(),
            Some("https://login.microsoftonline.com/contoso/v2.0")
        );
        let q = query(&p);
        assert_eq!(
            get(&q, "scope"),
            Some("openid profile email User.Read offline_access extra asked")
        );

        let p = provider("gitlab", |c| {
            c.issuer = Some("https://git.example.org/".into())
        });
        assert_eq!(
            p.user_info_endpoint.as_deref(),
            Some("https://git.example.org/api/v4/user")
        );
        assert_eq!(get(&query(&p), "scope"), Some("read_user extra asked"));
    }

    #[test]
    fn id_token_profiles_use_each_providers_subject() {
        let claims = |v: Value| v.as_object().unwrap().clone();
        let ms = provider("microsoft", |_| {});
        let p = profile_from_claims(
            &ms,
            &claims(json!({"oid": "o-1", "sub": "s", "email": "a@b.c", "verified_primary_email": ["a@b.c"], "name": "A"})),
            None,
        )
        .unwrap();
        assert_eq!((p.account_id.as_str(), p.email_verified), ("o-1", true));
        assert!(profile_from_claims(&ms, &claims(json!({"sub": "s"})), None).is_none());

        let apple = provider("apple", |_| {});
        let user = json!({"name": {"firstName": "Ada", "lastName": "Lovelace"}});
        let p = profile_from_claims(
            &apple,
            &claims(json!({"sub": "a-1", "email": "a@b.c", "email_verified": "true"})),
            Some(&user),
        )
        .unwrap();
        assert_eq!(
            (p.account_id.as_str(), p.name.as_str(), p.email_verified),
            ("a-1", "Ada Lovelace", true)
        );
    }
}
