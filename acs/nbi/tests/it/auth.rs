//! Authentication: GenieACS's NBI has none; this one refuses every unauthenticated request.

use crate::harness::{self, TOKEN, raw};

#[tokio::test]
async fn requests_without_the_token_are_refused_and_both_schemes_work() {
    let t = harness::start().await;
    for headers in [
        vec![],
        vec![("Authorization", "Bearer wrong")],
        vec![("Authorization", "Basic Zm9vOmJhcg==")],
    ] {
        for (method, path) in [
            ("GET", "/devices/"),
            ("DELETE", "/devices/x"),
            ("POST", "/devices/x/tags/t"),
        ] {
            let r = raw(t.nbi, method, path, None, &headers).await;
            assert_eq!(r.status, 401, "{method} {path} {headers:?}");
            assert!(!r.body.contains(TOKEN));
        }
    }
    let basic = format!("Basic {}", base64_encode(&format!("nbi:{TOKEN}")));
    let r = raw(
        t.nbi,
        "GET",
        "/devices/",
        None,
        &[("Authorization", basic.as_str())],
    )
    .await;
    assert_eq!((r.status, r.body.as_str()), (200, "[\n\n]"));
}

#[tokio::test]
async fn anonymous_access_is_only_for_loopback() {
    let t = harness::start_with(nbi::Access::Anonymous).await;
    assert_eq!(raw(t.nbi, "GET", "/devices/", None, &[]).await.status, 200);
    let open = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let config = nbi::NbiConfig {
        access: nbi::Access::Anonymous,
        fs_base_url: None,
        files: None,
    };
    let err = nbi::serve(t.acs.clone(), config, open, async {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("loopback"), "{err}");
}

fn base64_encode(s: &str) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &c)| n | u32::from(c) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `nbi::ROUTES` is the list the security tests check: every method the dispatcher serves on
/// each of those paths must be listed, and every listed one must be served (not 404/405).
#[tokio::test]
async fn the_route_list_names_every_method_the_dispatcher_serves() {
    let t = harness::start().await;
    let mut patterns: Vec<&str> = nbi::ROUTES.iter().map(|(_, p)| *p).collect();
    patterns.sort_unstable();
    patterns.dedup();
    let mut wrong = Vec::new();
    for pattern in patterns {
        let target = pattern
            .replace("{name}", "probe")
            .replace("{id}", "1C61B4-Device2-PROBE")
            .replace("{tag}", "probe")
            .replace("{host}", "127.0.0.1");
        for method in ["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH"] {
            let listed = nbi::ROUTES.contains(&(method, pattern));
            let body = matches!(method, "PUT" | "POST").then_some("{}");
            let auth = format!("Bearer {TOKEN}");
            let r = raw(t.nbi, method, &target, body, &[("Authorization", &auth)]).await;
            let routed = r.status != 405 && !(r.status == 404 && r.body == "404 Not Found");
            if routed != listed {
                wrong.push(format!("{method} {pattern}: {} {:?}", r.status, r.body));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "served but unlisted, or listed but not served: {wrong:#?}"
    );
}
