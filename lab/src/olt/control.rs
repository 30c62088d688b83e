//! The control API of an olt-sim process: small JSON-over-HTTP calls that change the simulated
//! networks, each authenticated by a bearer token compared in constant time.
//!
//! `POST /cut {"agent":0,"port":3}` cuts a port's fibre (its ONUs go down with LOS);
//! `POST /cut {"agent":0,"port":3,"onus":[4,5,6]}` cuts a splitter branch (only those ONU ids of
//! the port go down with LOS);
//! `POST /power {"agent":0,"onus":[0,1,2]}` or `{"agent":0,"port":2,"count":20}` is a power
//! outage (dying gasp); `POST /restore {"agent":0,"port":3}` (or no port: all) brings ONUs back;
//! `POST /drift {"agent":0,"onu":5,"rx_dbm":-28.4}` moves an ONU's receive level;
//! `POST /faults {"agent":0,"stall_ms":3000,"drop_next":2,"drop_all":false,"too_big_above":100}`
//! injects agent faults (`too_big_above`: tooBig for GETBULK responses above that many varbinds,
//! 0 clears); `GET /state` lists every agent with its counts. `agent` defaults to 0.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use fibreplane_types::ct_eq;
use http::header::AUTHORIZATION;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::agent::{Faults, OltSimHandle};

const MAX_BODY: usize = 64 * 1024;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Call {
    #[serde(default)]
    agent: usize,
    port: Option<u32>,
    onus: Option<Vec<usize>>,
    count: Option<usize>,
    onu: Option<usize>,
    rx_dbm: Option<f64>,
    stall_ms: Option<u64>,
    drop_next: Option<u64>,
    drop_all: Option<bool>,
    too_big_above: Option<usize>,
}

/// Serves the control API until `shutdown` flips to true.
pub async fn serve(
    listener: TcpListener,
    agents: Arc<Vec<OltSimHandle>>,
    token: Arc<String>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => return,
        };
        let Ok((stream, _)) = accepted else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let (agents, token) = (agents.clone(), token.clone());
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let (agents, token) = (agents.clone(), token.clone());
                async move { Ok::<_, Infallible>(handle(&agents, &token, req).await) }
            });
            let _ = http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn reply(status: StatusCode, body: &serde_json::Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r
}

async fn handle(
    agents: &[OltSimHandle],
    token: &str,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let presented = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !ct_eq(presented.as_bytes(), token.as_bytes()) {
        return reply(
            StatusCode::UNAUTHORIZED,
            &json!({"error": "bad or missing bearer token"}),
        );
    }
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    if method == Method::GET && path == "/state" {
        let list: Vec<_> = agents
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let (online, los, dg, admin) = a.read(super::network::Network::counts);
                json!({"agent": i, "addr": a.addr().to_string(), "online": online, "los": los,
                       "dying_gasp": dg, "admin": admin})
            })
            .collect();
        return reply(StatusCode::OK, &json!(list));
    }
    if method != Method::POST {
        return reply(StatusCode::METHOD_NOT_ALLOWED, &json!({"error": "POST"}));
    }
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return reply(
                StatusCode::PAYLOAD_TOO_LARGE,
                &json!({"error": "body too large"}),
            );
        }
    };
    let call: Call = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => return reply(StatusCode::BAD_REQUEST, &json!({"error": e.to_string()})),
    };
    let Some(agent) = agents.get(call.agent) else {
        return reply(StatusCode::NOT_FOUND, &json!({"error": "no such agent"}));
    };
    let bad = |m: &str| reply(StatusCode::BAD_REQUEST, &json!({"error": m}));
    let changed = match path.as_str() {
        "/cut" => {
            let Some(port) = call.port else {
                return bad("port required");
            };
            match call.onus {
                None => agent.change(|n| n.cut_port(port)),
                Some(ids) => {
                    let ids: Vec<u32> = ids.iter().filter_map(|&i| u32::try_from(i).ok()).collect();
                    agent.change(|n| n.cut_onus(port, &ids))
                }
            }
        }
        "/power" => {
            let positions: Vec<usize> = match (call.onus, call.port, call.count) {
                (Some(list), None, None) => list,
                (None, Some(port), count) => agent.read(|n| {
                    let per = n.onus_per_port as usize;
                    let first = port as usize * per;
                    (first..first + count.unwrap_or(per).min(per)).collect()
                }),
                _ => return bad("give onus, or port (and count)"),
            };
            agent.change(|n| n.power_outage(&positions))
        }
        "/restore" => agent.change(|n| n.restore(call.port)),
        "/drift" => {
            let (Some(onu), Some(rx)) = (call.onu, call.rx_dbm) else {
                return bad("onu and rx_dbm required");
            };
            if !agent.change(|n| n.set_rx(onu, rx)) {
                return bad("no such onu, or rx_dbm outside -60..10");
            }
            1
        }
        "/faults" => {
            let mut f: Faults = agent.faults();
            if let Some(ms) = call.stall_ms {
                f.stall = Duration::from_millis(ms.min(600_000));
            }
            if let Some(n) = call.drop_next {
                f.drop_next = n;
            }
            if let Some(all) = call.drop_all {
                f.drop_all = all;
            }
            if let Some(n) = call.too_big_above {
                // 0 clears the fault.
                f.too_big_above = (n > 0).then_some(n);
            }
            agent.set_faults(f);
            0
        }
        _ => return reply(StatusCode::NOT_FOUND, &json!({"error": "unknown call"})),
    };
    reply(StatusCode::OK, &json!({"changed": changed}))
}
