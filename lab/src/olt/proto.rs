//! The agent's protocol core, sans-IO: one datagram in, at most one datagram out (RFC 3416
//! operations over v2c communities and v3 USM). Anything malformed is dropped and counted, as
//! real agents do (snmpInASNParseErrs); nothing here panics on any input.

use fibreplane_types::ct_eq;

use super::ber::{self, BerError, Reader, tag};
use super::mib::{Entry, MibView};
use super::usm::UsmUser;

/// Varbinds accepted in one request.
const MAX_REQUEST_VARBINDS: usize = 256;
/// Largest response, whatever the manager offers (the UDP payload limit).
pub(crate) const MAX_DATAGRAM: usize = 65_507;
/// Bytes kept free for the message header around the varbind list.
pub(crate) const HEADER_ROOM: usize = 200;

/// SNMP error-status values the agent uses.
pub(crate) const TOO_BIG: i64 = 1;
const NOT_WRITABLE: i64 = 17;

/// Agent identity and credentials.
#[derive(Debug, Clone)]
pub(crate) struct Responder {
    pub(crate) community: Option<Vec<u8>>,
    pub(crate) user: Option<UsmUser>,
    pub(crate) engine_id: Vec<u8>,
    pub(crate) boots: u32,
    pub(crate) salt: u64,
    pub(crate) usm_counters: [u32; 7],
    /// Datagrams dropped as malformed or unauthorised.
    pub(crate) dropped: u64,
    /// Fault injection: answer tooBig to a GETBULK whose response would carry more varbinds
    /// (some OLTs do this instead of sending fewer repetitions as RFC 3416 asks).
    pub(crate) too_big_above: Option<usize>,
}

impl Responder {
    pub(crate) fn new(
        community: Option<Vec<u8>>,
        user: Option<UsmUser>,
        engine_id: Vec<u8>,
    ) -> Self {
        Self {
            community,
            user,
            engine_id,
            boots: 1,
            salt: 0x5eed,
            usm_counters: [0; 7],
            dropped: 0,
            too_big_above: None,
        }
    }

    /// Answers one datagram; `engine_time` is seconds since the agent started.
    pub(crate) fn handle(
        &mut self,
        view: &MibView,
        dgram: &[u8],
        engine_time: u32,
    ) -> Option<Vec<u8>> {
        let r = self.try_handle(view, dgram, engine_time);
        match r {
            Ok(out) => out,
            Err(_) => {
                self.dropped += 1;
                None
            }
        }
    }

    fn try_handle(
        &mut self,
        view: &MibView,
        dgram: &[u8],
        time: u32,
    ) -> Result<Option<Vec<u8>>, BerError> {
        let mut top = Reader::new(dgram);
        let mut msg = top.sequence()?;
        match msg.integer()? {
            1 => {
                let community = msg.octets()?;
                let Some(want) = &self.community else {
                    return Ok(None);
                };
                if !ct_eq(community, want) {
                    return Ok(None);
                }
                let (t, pdu) = msg.any()?;
                let Some(resp) = process_pdu(view, t, pdu, MAX_DATAGRAM, self.too_big_above)?
                else {
                    return Ok(None);
                };
                let mut inner = Vec::with_capacity(resp.len() + community.len() + 8);
                ber::integer(&mut inner, 1);
                ber::tlv(&mut inner, tag::OCTETS, community);
                inner.extend_from_slice(&resp);
                let mut out = Vec::with_capacity(inner.len() + 4);
                ber::tlv(&mut out, tag::SEQUENCE, &inner);
                Ok(Some(out))
            }
            3 => self.v3(view, dgram, msg, time),
            _ => Ok(None),
        }
    }
}

pub(crate) fn pdu_bytes(t: u8, req_id: i64, status: i64, index: i64, varbinds: &[u8]) -> Vec<u8> {
    let mut inner = Vec::with_capacity(varbinds.len() + 24);
    ber::integer(&mut inner, req_id);
    ber::integer(&mut inner, status);
    ber::integer(&mut inner, index);
    ber::tlv(&mut inner, tag::SEQUENCE, varbinds);
    let mut out = Vec::with_capacity(inner.len() + 6);
    ber::tlv(&mut out, t, &inner);
    out
}

fn exception(out: &mut Vec<u8>, oid: &[u32], t: u8) {
    let mut inner = Vec::with_capacity(oid.len() + 6);
    ber::oid_tlv(&mut inner, oid);
    inner.extend_from_slice(&[t, 0]);
    ber::tlv(out, tag::SEQUENCE, &inner);
}

/// The first entry strictly after `oid`.
fn next_after<'a>(view: &'a MibView, oid: &[u32]) -> Option<&'a Entry> {
    let i = view.entries.partition_point(|e| &*e.oid <= oid);
    view.entries.get(i)
}

/// Varbinds in an encoded varbind list.
fn bulk_count(list: &[u8]) -> usize {
    let mut r = Reader::new(list);
    let mut n = 0;
    while r.any().is_ok() {
        n += 1;
    }
    n
}

/// Runs one request PDU; `None` for PDU types an agent does not answer.
pub(crate) fn process_pdu(
    view: &MibView,
    t: u8,
    pdu: &[u8],
    budget: usize,
    too_big_above: Option<usize>,
) -> Result<Option<Vec<u8>>, BerError> {
    let mut r = Reader::new(pdu);
    let req_id = r.integer()?;
    let a = r.integer()?;
    let b = r.integer()?;
    let mut list = r.sequence()?;
    let mut oids = Vec::new();
    while !list.is_empty() {
        if oids.len() == MAX_REQUEST_VARBINDS {
            return Err(BerError("too many varbinds"));
        }
        let mut vb = list.sequence()?;
        oids.push(ber::oid(vb.expect(tag::OID)?)?);
        vb.any()?;
    }
    let mut out = Vec::with_capacity(1024);
    match t {
        tag::GET => {
            for o in &oids {
                match view.entries.binary_search_by(|e| (*e.oid).cmp(o)) {
                    Ok(i) => out.extend_from_slice(&view.entries[i].varbind),
                    Err(_) => {
                        let i = view
                            .objects
                            .partition_point(|x| x.as_slice() <= o.as_slice());
                        let known = i > 0 && o.starts_with(&view.objects[i - 1]);
                        let ex = if known {
                            tag::NO_SUCH_INSTANCE
                        } else {
                            tag::NO_SUCH_OBJECT
                        };
                        exception(&mut out, o, ex);
                    }
                }
            }
        }
        tag::GET_NEXT => {
            for o in &oids {
                match next_after(view, o) {
                    Some(e) => out.extend_from_slice(&e.varbind),
                    None => exception(&mut out, o, tag::END_OF_MIB_VIEW),
                }
            }
        }
        tag::GET_BULK => {
            let n = usize::try_from(a).unwrap_or(0).min(oids.len());
            let m = usize::try_from(b).unwrap_or(0).min(10_000);
            for o in &oids[..n] {
                match next_after(view, o) {
                    Some(e) => out.extend_from_slice(&e.varbind),
                    None => exception(&mut out, o, tag::END_OF_MIB_VIEW),
                }
            }
            if out.len() > budget {
                return Ok(Some(pdu_bytes(tag::RESPONSE, req_id, TOO_BIG, 0, &[])));
            }
            let mut cursors: Vec<Vec<u32>> = oids[n..].to_vec();
            'reps: for _ in 0..m {
                let mut all_end = true;
                for c in &mut cursors {
                    let before = out.len();
                    match next_after(view, c) {
                        Some(e) => {
                            out.extend_from_slice(&e.varbind);
                            c.clone_from(&e.oid.to_vec());
                            all_end = false;
                        }
                        None => exception(&mut out, c, tag::END_OF_MIB_VIEW),
                    }
                    if out.len() > budget {
                        // RFC 3416 4.2.3: send fewer repetitions rather than tooBig.
                        out.truncate(before);
                        break 'reps;
                    }
                }
                if all_end {
                    break;
                }
            }
            let count = bulk_count(&out);
            if too_big_above.is_some_and(|max| count > max) {
                return Ok(Some(pdu_bytes(tag::RESPONSE, req_id, TOO_BIG, 0, &[])));
            }
        }
        tag::SET => {
            for o in &oids {
                exception(&mut out, o, tag::NULL);
            }
            return Ok(Some(pdu_bytes(
                tag::RESPONSE,
                req_id,
                NOT_WRITABLE,
                1,
                &out,
            )));
        }
        _ => return Ok(None),
    }
    if out.len() > budget {
        return Ok(Some(pdu_bytes(tag::RESPONSE, req_id, TOO_BIG, 0, &[])));
    }
    Ok(Some(pdu_bytes(tag::RESPONSE, req_id, 0, 0, &out)))
}
