//! Email-verification tokens: stateless HS256 JWTs signed with the secret
//! (docs/compatibility.md §10.1), with the `userId` claim Better Auth 1.7.25 adds
//! (`api/routes/email-verification.mjs` `createEmailVerificationToken`).

use serde_json::{Map, Value};

use super::cookie_cache::{hs256_decode, hs256_encode};

/// `requestType` of the two email-change steps (docs/compatibility.md §5.11).
pub const CHANGE_EMAIL_CONFIRMATION: &str = "change-email-confirmation";
pub const CHANGE_EMAIL_VERIFICATION: &str = "change-email-verification";

/// What a verification token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailClaims {
    /// The address being verified, or the current address of an email change.
    pub email: String,
    /// The new address of an email change.
    pub update_to: Option<String>,
    pub request_type: Option<String>,
    pub user_id: Option<String>,
}

impl EmailClaims {
    /// A plain verification of `email` for the user `user_id`.
    pub fn verify(email: &str, user_id: &str) -> Self {
        Self {
            email: email.to_lowercase(),
            update_to: None,
            request_type: None,
            user_id: Some(user_id.to_owned()),
        }
    }

    /// One step of changing `email` to `update_to`.
    pub fn change(email: &str, update_to: &str, request_type: &str, user_id: &str) -> Self {
        Self {
            email: email.to_lowercase(),
            update_to: Some(update_to.to_lowercase()),
            request_type: Some(request_type.to_owned()),
            user_id: Some(user_id.to_owned()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    Expired,
    Invalid,
}

/// Signs the claims in Better Auth's member order, then `iat` and `exp` (seconds).
pub fn mint(secret: &[u8], claims: &EmailClaims, now_s: i64, expires_in: i64) -> String {
    let mut m = Map::new();
    m.insert("email".into(), claims.email.clone().into());
    if let Some(u) = &claims.update_to {
        m.insert("updateTo".into(), u.clone().into());
    }
    if let Some(r) = &claims.request_type {
        m.insert("requestType".into(), r.clone().into());
    }
    if let Some(u) = &claims.user_id {
        m.insert("userId".into(), u.clone().into());
    }
    m.insert("iat".into(), now_s.into());
    m.insert("exp".into(), (now_s + expires_in).into());
    hs256_encode(secret, &m)
}

/// Verifies signature (HS256 only) and expiry like `jose.jwtVerify`: expired when
/// `exp <= now`. A token without a usable `email` string is invalid.
pub fn verify(secret: &[u8], token: &str, now_s: i64) -> Result<EmailClaims, TokenError> {
    let claims = hs256_decode(secret, token).ok_or(TokenError::Invalid)?;
    match claims.get("exp") {
        None => {}
        Some(exp) => {
            let exp = exp.as_f64().ok_or(TokenError::Invalid)?;
            if exp <= now_s as f64 {
                return Err(TokenError::Expired);
            }
        }
    }
    let text = |k: &str| -> Result<Option<String>, TokenError> {
        match claims.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(TokenError::Invalid),
        }
    };
    let email = text("email")?
        .filter(|e| super::email::is_valid(e))
        .ok_or(TokenError::Invalid)?;
    Ok(EmailClaims {
        email,
        update_to: text("updateTo")?,
        request_type: text("requestType")?,
        user_id: text("userId")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"spec-example-secret-0123456789abcdef";

    #[test]
    fn tokens_round_trip_and_expire_at_exp() {
        let claims = EmailClaims::verify("Ada@Example.com", "u1");
        let t = mint(SECRET, &claims, 1_700_000_000, 3600);
        let got = verify(SECRET, &t, 1_700_003_599).unwrap();
        assert_eq!(got.email, "ada@example.com");
        assert_eq!(got.user_id.as_deref(), Some("u1"));
        assert_eq!(verify(SECRET, &t, 1_700_003_600), Err(TokenError::Expired));
        assert_eq!(
            verify(b"another-secret-0123456789abcdef0123", &t, 1_700_000_000),
            Err(TokenError::Invalid)
        );
        assert_eq!(verify(SECRET, "garbage", 0), Err(TokenError::Invalid));
    }

    #[test]
    fn claims_keep_better_auths_member_order() {
        // The recorded token (docs/compatibility.md §10.1) has only `email`: the encoder must give
        // the same bytes.
        let claims = EmailClaims {
            email: "user@example.com".into(),
            update_to: None,
            request_type: None,
            user_id: None,
        };
        assert_eq!(mint(SECRET, &claims, 1_700_000_000, 3600), "eyJhbGciOiJIUzI1NiJ9.eyJlbWFpbCI6InVzZXJAZXhhbXBsZS5jb20iLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDAwMzYwMH0.NJiAj6UJBEwFkq2EjxpKBMH0IVRX7vXN1WaphP5UXFY");
        let change = EmailClaims::change("a@b.co", "C@D.co", CHANGE_EMAIL_CONFIRMATION, "u1");
        let t = mint(SECRET, &change, 1_700_000_000, 60);
        let body = super::super::crypto::b64url_decode(t.split('.').nth(1).unwrap()).unwrap();
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"email":"a@b.co","updateTo":"c@d.co","requestType":"change-email-confirmation","userId":"u1","iat":1700000000,"exp":1700000060}"#
        );
    }

    #[test]
    fn a_signed_token_without_an_email_is_invalid() {
        let mut m = Map::new();
        m.insert("email".into(), "not-an-email".into());
        let t = hs256_encode(SECRET, &m);
        assert_eq!(verify(SECRET, &t, 0), Err(TokenError::Invalid));
    }
}
