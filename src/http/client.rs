//! Who is calling: the client IP and the user agent.

use std::net::IpAddr;

use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderMap};
use actix_web::{web, FromRequest, HttpRequest};

use crate::config::Settings;
use crate::error::ApiError;
use crate::state::AppState;

pub use crate::auth::session::ClientInfo;

/// IPv4 as is; IPv4-mapped IPv6 as IPv4; other IPv6 expanded and masked to /64 (rate-limit.md §4).
pub fn normalize_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                let masked = [s[0], s[1], s[2], s[3], 0, 0, 0, 0];
                masked
                    .iter()
                    .map(|g| format!("{g:04x}"))
                    .collect::<Vec<_>>()
                    .join(":")
            }
        },
    }
}

/// The client IP as Better Auth reads it (`getIp`, `packages/better-auth/src/utils/get-request-ip.ts`):
/// from the first configured header holding a single valid address; in development, loopback
/// when none does.
pub fn client_ip(settings: &Settings, headers: &HeaderMap) -> Option<String> {
    let mut ip = None;
    for name in &settings.advanced.ip_address_headers {
        let Some(value) = headers.get(name.as_str()).and_then(|v| v.to_str().ok()) else {
            continue;
        };
        let entries: Vec<&str> = value
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .collect();
        // A multi-hop list can be spoofed by its first hop: only a single entry counts.
        if let [one] = entries.as_slice() {
            if let Ok(addr) = one.parse::<IpAddr>() {
                ip = Some(normalize_ip(addr));
                break;
            }
        }
    }
    if ip.is_none() && !settings.is_production() {
        ip = Some("127.0.0.1".to_owned());
    }
    ip
}

impl ClientInfo {
    pub fn from_request(state: &AppState, req: &HttpRequest) -> Self {
        let headers = req.headers();
        let ip = client_ip(&state.settings, headers);
        let user_agent = headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        Self { ip, user_agent }
    }
}

impl FromRequest for ClientInfo {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(match req.app_data::<web::Data<AppState>>() {
            Some(state) => Ok(ClientInfo::from_request(state, req)),
            None => Err(ApiError::Internal(anyhow::anyhow!(
                "application state missing"
            ))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_is_expanded_and_masked() {
        assert_eq!(
            normalize_ip("2001:db8::1".parse().unwrap()),
            "2001:0db8:0000:0000:0000:0000:0000:0000"
        );
        assert_eq!(
            normalize_ip("::ffff:192.0.2.1".parse().unwrap()),
            "192.0.2.1"
        );
        assert_eq!(normalize_ip("203.0.113.7".parse().unwrap()), "203.0.113.7");
    }
}
