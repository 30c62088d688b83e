//! The thin tokio driver around `snmp2::AsyncSession`: what the crate lacks (see the note's §6)
//! is added here — a timeout per request, retries, v3 `AuthUpdated` repeats, and late replies
//! drained by retiring the socket.
//!
//! Why retire the socket instead of reading on: `snmp2` reads exactly one datagram per request
//! and offers no receive-only call, so after a timeout the late reply would be the next request's
//! answer (`RequestIdMismatch`) and every later request would stay one reply behind. A fresh
//! socket (a new local port) can never receive the old request's reply; the old one lands on a
//! closed port. A garbage or duplicated datagram is handled the same way.

use std::net::SocketAddr;
use std::time::Duration;

use snmp2::AsyncSession;

use crate::config::{AuthProtocol, Credentials, PrivProtocol};
use crate::error::OltError;
use crate::model::PollStats;
use crate::oid::Oid;
use crate::value::{SnmpValue, VarBind};

/// How one OLT is reached.
#[derive(Debug, Clone)]
pub struct SnmpTarget {
    /// Agent address.
    pub addr: SocketAddr,
    /// v2c community or v3 user (secrets inside print as `***`).
    pub credentials: Credentials,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub retries: u32,
}

/// A response copied out of `snmp2`'s buffer.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) error_status: u32,
    pub(crate) error_index: u32,
    pub(crate) varbinds: Vec<VarBind>,
}

enum Op<'a> {
    Get(&'a [Oid]),
    Bulk(&'a [Oid], u32),
}

/// One SNMP session to one OLT; one request in flight.
pub(crate) struct Session {
    target: SnmpTarget,
    inner: Option<Box<AsyncSession>>,
    pub(crate) stats: PollStats,
}

impl Session {
    pub(crate) fn new(target: SnmpTarget) -> Self {
        Self {
            target,
            inner: None,
            stats: PollStats::default(),
        }
    }

    /// GET of several OIDs.
    pub(crate) async fn get(&mut self, oids: &[Oid]) -> Result<Reply, OltError> {
        self.request(Op::Get(oids)).await
    }

    /// GETBULK with no non-repeaters.
    pub(crate) async fn get_bulk(&mut self, oids: &[Oid], reps: u32) -> Result<Reply, OltError> {
        self.request(Op::Bulk(oids, reps.max(1))).await
    }

    async fn open(&self) -> Result<Box<AsyncSession>, OltError> {
        // Random starting request ids make a reply meant for another socket's request unlikely
        // to match even if the kernel reused the port.
        let start = i32::from_ne_bytes(rand_bytes());
        let addr = self.target.addr;
        let mut s = match &self.target.credentials {
            Credentials::V2c { community } => {
                AsyncSession::new_v2c(addr, community.expose().as_bytes(), start).await?
            }
            Credentials::V3(v3) => {
                let mut sec = snmp2::v3::Security::new(
                    v3.user.as_bytes(),
                    v3.auth_password.expose().as_bytes(),
                )
                .with_auth_protocol(match v3.auth {
                    AuthProtocol::Sha1 => snmp2::v3::AuthProtocol::Sha1,
                    AuthProtocol::Sha256 => snmp2::v3::AuthProtocol::Sha256,
                });
                sec = match &v3.privacy {
                    Some((PrivProtocol::Aes128, pw)) => sec.with_auth(snmp2::v3::Auth::AuthPriv {
                        cipher: snmp2::v3::Cipher::Aes128,
                        privacy_password: pw.expose().as_bytes().to_vec(),
                    }),
                    None => sec.with_auth(snmp2::v3::Auth::AuthNoPriv),
                };
                AsyncSession::new_v3(addr, start, sec).await?
            }
        };
        if matches!(self.target.credentials, Credentials::V3(_)) {
            // Engine discovery: one round trip, bounded like any request.
            match tokio::time::timeout(self.target.timeout, s.init()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(classify(&e)),
                Err(_) => return Err(OltError::Timeout { attempts: 1 }),
            }
        }
        Ok(Box::new(s))
    }

    async fn request(&mut self, op: Op<'_>) -> Result<Reply, OltError> {
        let oids: Vec<snmp2::Oid<'static>> = match op {
            Op::Get(o) | Op::Bulk(o, _) => o.iter().map(Oid::to_snmp2).collect::<Result<_, _>>()?,
        };
        let refs: Vec<&snmp2::Oid<'_>> = oids.iter().collect();
        let attempts = self.target.retries + 1;
        let mut last = OltError::Timeout { attempts };
        for _ in 0..attempts {
            let mut s = match self.inner.take() {
                Some(s) => s,
                None => match self.open().await {
                    Ok(s) => s,
                    Err(OltError::Timeout { .. }) => {
                        self.stats.timeouts += 1;
                        continue;
                    }
                    Err(e) => return Err(e),
                },
            };
            self.stats.requests += 1;
            let fut = async {
                let pdu = match op {
                    Op::Get(_) => s.get_many(&refs).await,
                    Op::Bulk(_, reps) => s.getbulk(&refs, 0, reps).await,
                };
                pdu.map_err(|e| classify(&e))
                    .and_then(|pdu| copy_reply(&pdu))
            };
            match tokio::time::timeout(self.target.timeout, fut).await {
                Ok(Ok(reply)) => {
                    self.stats.varbinds += reply.varbinds.len() as u64;
                    self.inner = Some(s);
                    return Ok(reply);
                }
                // The engine's boots/time moved: snmp2 updated them, repeat on the same socket.
                Ok(Err(OltError::Security(m))) if m == AUTH_UPDATED => {
                    self.stats.discarded += 1;
                    self.inner = Some(s);
                    last = OltError::Security("engine time kept moving".into());
                }
                Ok(Err(e @ (OltError::Security(_) | OltError::BadOid(_)))) => return Err(e),
                Ok(Err(e)) => {
                    // A stale, duplicated or unparsable datagram: retire the socket (see above).
                    tracing::debug!(error = %e, "discarding reply; reopening the session");
                    self.stats.discarded += 1;
                    last = e;
                }
                Err(_) => {
                    self.stats.timeouts += 1;
                    last = OltError::Timeout { attempts };
                }
            }
        }
        Err(match last {
            OltError::Timeout { .. } => OltError::Timeout { attempts },
            e => e,
        })
    }
}

const AUTH_UPDATED: &str = "auth-updated";

fn classify(e: &snmp2::Error) -> OltError {
    use snmp2::Error as E;
    match e {
        E::AuthUpdated => OltError::Security(AUTH_UPDATED.into()),
        E::AuthFailure(k) => OltError::Security(format!("{k:?}")),
        E::Crypto(_) => OltError::Security("decryption failed".into()),
        E::Send | E::Receive => OltError::Peer(format!("socket: {e}")),
        other => OltError::Peer(other.to_string()),
    }
}

/// Parses one v1/v2c response datagram exactly as a poll reads it (`snmp2`'s PDU parser, then the
/// copy into owned varbinds): `(error-status, error-index, varbinds)`. Sans-IO, for fuzz-style
/// tests of what an agent may send; v3 messages need the session's keys and are not covered.
pub fn parse_response(dgram: &[u8]) -> Result<(u32, u32, Vec<VarBind>), OltError> {
    let pdu = snmp2::Pdu::from_bytes(dgram).map_err(|e| classify(&e))?;
    let reply = copy_reply(&pdu)?;
    Ok((reply.error_status, reply.error_index, reply.varbinds))
}

fn copy_reply(pdu: &snmp2::Pdu<'_>) -> Result<Reply, OltError> {
    let mut varbinds = Vec::new();
    for (oid, value) in pdu.varbinds.clone() {
        varbinds.push(VarBind {
            oid: Oid::from_snmp2(&oid)?,
            value: SnmpValue::from_snmp2(&value)?,
        });
    }
    Ok(Reply {
        error_status: pdu.error_status,
        error_index: pdu.error_index,
        varbinds,
    })
}

/// Four bytes of entropy from the std hasher's random keys (no rand dependency for this).
fn rand_bytes() -> [u8; 4] {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    let v = h.finish().to_le_bytes();
    [v[0], v[1], v[2], v[3]]
}
