//! Who is calling: the client IP and the user agent.

use std::net::IpAddr;

use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderMap};
use actix_web::{web, FromRequest, HttpRequest};

use crate::config::Settings;
use crate::error::ApiError;
use crate::state::AppState;

pub use crate::auth::session::ClientInfo;

/// Better Auth's `normalizeIP` (`@better-auth/core/src/utils/ip.ts`): IPv4 as is, IPv4-mapped
/// IPv6 as IPv4, other IPv6 expanded and cut to its first `subnet` bits (`ipv6Subnet`, 64 by
/// default).
pub fn normalize_ip(ip: IpAddr, subnet: u8) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let bits = u128::from(v6);
                let masked = match subnet {
                    0 => 0,
                    s if s >= 128 => bits,
                    s => bits & (u128::MAX << (128 - u32::from(s))),
                };
                std::net::Ipv6Addr::from(masked)
                    .segments()
                    .iter()
                    .map(|g| format!("{g:04x}"))
                    .collect::<Vec<_>>()
                    .join(":")
            }
        },
    }
}

/// An address of a forwarded header, as Better Auth reads it (IPv4-mapped IPv6 is IPv4).
fn parse_ip(s: &str) -> Option<IpAddr> {
    let ip = s.parse::<IpAddr>().ok()?;
    Some(match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    })
}

/// Better Auth's `getIPFromHeader`: with trusted proxies, the rightmost address that is not
/// one of them (the hops left of it could be written by the client); without, only a header
/// holding exactly one address counts.
fn ip_from_header(value: &str, settings: &Settings) -> Option<String> {
    let adv = &settings.advanced;
    let entries: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    if !adv.trusted_proxies.is_empty() {
        for entry in entries.iter().rev() {
            let ip = parse_ip(entry)?;
            if !adv.trusted_proxies.iter().any(|p| p.contains(ip)) {
                return Some(normalize_ip(ip, adv.ipv6_subnet));
            }
        }
        return None;
    }
    match entries.as_slice() {
        [one] => parse_ip(one).map(|ip| normalize_ip(ip, adv.ipv6_subnet)),
        _ => None,
    }
}

/// The client IP the forwarded headers give, if they are to be believed: every header of
/// `ip_address_headers` in turn (Better Auth `getIP`). With `trusted_proxies`, only when the
/// connection comes from one of them: a client that reaches the service directly cannot name
/// its own address (Better Auth, which never sees the connection, reads the header from
/// anyone).
fn forwarded_ip(settings: &Settings, headers: &HeaderMap, peer: Option<IpAddr>) -> Option<String> {
    let adv = &settings.advanced;
    if adv.disable_ip_tracking {
        return None;
    }
    if !adv.trusted_proxies.is_empty()
        && !peer.is_some_and(|p| adv.trusted_proxies.iter().any(|t| t.contains(p)))
    {
        return None;
    }
    adv.ip_address_headers.iter().find_map(|name| {
        headers
            .get(name.as_str())
            .and_then(|v| v.to_str().ok())
            .and_then(|v| ip_from_header(v, settings))
    })
}

/// The client IP as Better Auth stores it in `session.ipAddress` (`getIP`,
/// `@better-auth/core/src/utils/ip.ts`): from the forwarded headers ([`forwarded_ip`]); when they
/// give none, `127.0.0.1` if `BETTER_AUTH_ENV` is set to `development` or `test`, else none
/// (stored as `""`). Never the connection's address (`docs/compatibility.md` §13.4).
pub fn client_ip(settings: &Settings, headers: &HeaderMap, peer: Option<IpAddr>) -> Option<String> {
    if settings.advanced.disable_ip_tracking {
        return None;
    }
    forwarded_ip(settings, headers, peer).or_else(|| {
        settings
            .development_explicit
            .then(|| "127.0.0.1".to_owned())
    })
}

/// The address the rate limiter counts a request under: the forwarded one, else the
/// connection's (`docs/compatibility.md` §13.4). `None` only without a connection address.
pub fn rate_limit_ip(
    settings: &Settings,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
) -> Option<String> {
    forwarded_ip(settings, headers, peer)
        .or_else(|| peer.map(|p| normalize_ip(p, settings.advanced.ipv6_subnet)))
}

impl ClientInfo {
    pub fn from_request(state: &AppState, req: &HttpRequest) -> Self {
        let headers = req.headers();
        let peer = req.peer_addr().map(|a| a.ip());
        let ip = client_ip(&state.settings, headers, peer);
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
            normalize_ip("2001:db8::1".parse().unwrap(), 64),
            "2001:0db8:0000:0000:0000:0000:0000:0000"
        );
        assert_eq!(
            normalize_ip("2001:db8:1:2:3:4:5:6".parse().unwrap(), 128),
            "2001:0db8:0001:0002:0003:0004:0005:0006"
        );
        assert_eq!(
            normalize_ip("2001:db8:ffff::1".parse().unwrap(), 36),
            "2001:0db8:f000:0000:0000:0000:0000:0000"
        );
        assert_eq!(
            normalize_ip("::ffff:192.0.2.1".parse().unwrap(), 64),
            "192.0.2.1"
        );
        assert_eq!(
            normalize_ip("203.0.113.7".parse().unwrap(), 64),
            "203.0.113.7"
        );
    }
}
