//! Where a simulated diagnostic may send traffic: loopback addresses only.
//!
//! The simulator runs on developer machines and CI; a test the ACS requests must never reach
//! the network. Names are not resolved at all (a DNS query is traffic too): `localhost` is the
//! one name understood, any other name fails as `Error_CannotResolveHostName`, and an address
//! outside `127.0.0.0/8` and `::1` fails as `Error_NoRouteToHost` (or the nearest state the
//! object's enumeration has).

use std::net::{IpAddr, Ipv4Addr};

use super::Failure;
use crate::client::HttpUrl;

/// The loopback address a test host stands for, or why the simulator refuses it.
pub(crate) fn resolve(host: &str) -> Result<IpAddr, Failure> {
    let h = host.trim();
    let h = h.strip_suffix('.').unwrap_or(h);
    let h = h
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(h);
    if h.eq_ignore_ascii_case("localhost") {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    match h.parse::<IpAddr>() {
        Ok(ip) if ip.is_loopback() => Ok(ip),
        Ok(_) => Err(Failure::NoRouteToHost),
        Err(_) => Err(Failure::CannotResolveHostName),
    }
}

/// A TR-143 test URL: plain HTTP to a loopback host.
pub(crate) fn url(text: &str) -> Result<(HttpUrl, IpAddr), Failure> {
    let url = HttpUrl::parse(text.trim()).map_err(|_| Failure::Unsupported)?;
    let ip = resolve(&url.host)?;
    Ok((url, ip))
}

/// The local address a test to `target` leaves from.
pub(crate) fn source_for(target: IpAddr) -> IpAddr {
    match target {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_is_a_target() {
        assert_eq!(resolve("127.0.0.1"), Ok(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        assert_eq!(resolve("127.8.9.10").map(|ip| ip.is_loopback()), Ok(true));
        assert_eq!(resolve("::1").map(|ip| ip.is_ipv6()), Ok(true));
        assert_eq!(resolve("[::1]").map(|ip| ip.is_ipv6()), Ok(true));
        assert_eq!(resolve("LocalHost."), Ok(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        assert_eq!(resolve("8.8.8.8"), Err(Failure::NoRouteToHost));
        assert_eq!(resolve("::ffff:127.0.0.1"), Err(Failure::NoRouteToHost));
        assert_eq!(
            resolve("www.google.com"),
            Err(Failure::CannotResolveHostName)
        );
        assert_eq!(resolve(""), Err(Failure::CannotResolveHostName));
    }

    #[test]
    fn urls_must_be_plain_http_to_loopback() {
        let (u, ip) = url("http://127.0.0.1:8080/file.bin").unwrap();
        assert_eq!(
            (u.port, u.path.as_str(), ip.is_loopback()),
            (8080, "/file.bin", true)
        );
        assert_eq!(url("ftp://127.0.0.1/x").err(), Some(Failure::Unsupported));
        assert_eq!(url("https://127.0.0.1/x").err(), Some(Failure::Unsupported));
        assert_eq!(
            url("http://192.168.88.6:25752/measure").err(),
            Some(Failure::NoRouteToHost)
        );
        assert_eq!(
            url("http://speedtest.example/x").err(),
            Some(Failure::CannotResolveHostName)
        );
    }
}
