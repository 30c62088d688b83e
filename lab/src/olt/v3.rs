//! The SNMPv3 message layer of the agent (RFC 3412 message format, RFC 3414 USM processing):
//! discovery and error reports, MAC verification, the time window, AES privacy.

use fibreplane_types::ct_eq;

use super::ber::{self, BerError, Reader, tag};
use super::mib::MibView;
use super::proto::{HEADER_ROOM, MAX_DATAGRAM, Responder, pdu_bytes, process_pdu};
use super::usm::{self, UsmUser};

const USM_STATS: [u32; 9] = [1, 3, 6, 1, 6, 3, 15, 1, 1];
const UNSUPPORTED_SEC_LEVELS: u32 = 1;
const NOT_IN_TIME_WINDOWS: u32 = 2;
const UNKNOWN_USER_NAMES: u32 = 3;
const UNKNOWN_ENGINE_IDS: u32 = 4;
const WRONG_DIGESTS: u32 = 5;
const DECRYPTION_ERRORS: u32 = 6;

impl Responder {
    pub(crate) fn v3(
        &mut self,
        view: &MibView,
        dgram: &[u8],
        mut msg: Reader<'_>,
        time: u32,
    ) -> Result<Option<Vec<u8>>, BerError> {
        let mut global = msg.sequence()?;
        let msg_id = global.integer()?;
        let max_size = usize::try_from(global.integer()?)
            .unwrap_or(0)
            .clamp(484, MAX_DATAGRAM);
        let flags = *global.octets()?.first().ok_or(BerError("empty msgFlags"))?;
        if global.integer()? != 3 {
            return Ok(None);
        }
        let sec_bytes = msg.octets()?;
        let mut sec = Reader::new(sec_bytes).sequence()?;
        let engine = sec.octets()?;
        let msg_boots = sec.integer()?;
        let msg_time = sec.integer()?;
        let user_name = sec.octets()?;
        let auth_params = sec.octets()?;
        let priv_params = sec.octets()?;
        let (data_tag, data) = msg.any()?;
        let (auth, privacy, reportable) = (flags & 1 != 0, flags & 2 != 0, flags & 4 != 0);
        // The plaintext request id, for reports to unauthenticated requests.
        let plain_req_id = if data_tag == tag::SEQUENCE {
            scoped_req_id(data)
        } else {
            0
        };
        let report = |s: &mut Self, which: u32, authed: bool| {
            if reportable {
                Ok(Some(s.report(msg_id, plain_req_id, which, authed, time)))
            } else {
                Ok(None)
            }
        };
        if engine.is_empty() || engine != self.engine_id.as_slice() {
            return report(self, UNKNOWN_ENGINE_IDS, false);
        }
        let Some(user) = self.user.clone().filter(|u| ct_eq(&u.name, user_name)) else {
            return report(self, UNKNOWN_USER_NAMES, false);
        };
        if !auth || (user.priv_key.is_some() != privacy) {
            return report(self, UNSUPPORTED_SEC_LEVELS, false);
        }
        // Verify the MAC over the whole message with the MAC field zeroed.
        let offset =
            sub_offset(dgram, auth_params).ok_or(BerError("auth params outside message"))?;
        if auth_params.len() != user.auth.mac_len() {
            return report(self, WRONG_DIGESTS, false);
        }
        let mut zeroed = dgram.to_vec();
        zeroed[offset..offset + auth_params.len()].fill(0);
        if !ct_eq(&user.auth.mac(&user.auth_key, &zeroed), auth_params) {
            return report(self, WRONG_DIGESTS, false);
        }
        if msg_boots != i64::from(self.boots) || (msg_time - i64::from(time)).abs() > 150 {
            return report(self, NOT_IN_TIME_WINDOWS, true);
        }
        let mut plain;
        let scoped: &[u8] = match (privacy, user.priv_key, data_tag) {
            (true, Some(key), tag::OCTETS) => {
                let salt: [u8; 8] = priv_params.try_into().map_err(|_| BerError("bad salt"))?;
                plain = data.to_vec();
                usm::decrypt(
                    &key,
                    self.boots,
                    u32::try_from(msg_time).unwrap_or(0),
                    &salt,
                    &mut plain,
                );
                match Reader::new(&plain).expect(tag::SEQUENCE) {
                    Ok(s) => s,
                    Err(_) => return report(self, DECRYPTION_ERRORS, false),
                }
            }
            (false, _, tag::SEQUENCE) => data,
            _ => return Ok(None),
        };
        let mut sp = Reader::new(scoped);
        let _context_engine = sp.octets()?;
        let context_name = sp.octets()?.to_vec();
        let (t, pdu) = sp.any()?;
        let Some(resp) = process_pdu(
            view,
            t,
            pdu,
            max_size.saturating_sub(HEADER_ROOM),
            self.too_big_above,
        )?
        else {
            return Ok(None);
        };
        Ok(Some(self.wrap_v3(
            msg_id,
            &user,
            flags & 3,
            &context_name,
            &resp,
            time,
        )))
    }

    /// A Report PDU with one usmStats counter.
    fn report(&mut self, msg_id: i64, req_id: i64, which: u32, authed: bool, time: u32) -> Vec<u8> {
        let i = (which - 1) as usize;
        self.usm_counters[i] = self.usm_counters[i].wrapping_add(1);
        let mut oid = USM_STATS.to_vec();
        oid.extend_from_slice(&[which, 0]);
        let mut vb_inner = Vec::new();
        ber::oid_tlv(&mut vb_inner, &oid);
        ber::tlv(
            &mut vb_inner,
            tag::COUNTER32,
            &ber::uint_bytes(u64::from(self.usm_counters[i])),
        );
        let mut vbs = Vec::new();
        ber::tlv(&mut vbs, tag::SEQUENCE, &vb_inner);
        let pdu = pdu_bytes(tag::REPORT, req_id, 0, 0, &vbs);
        match (&self.user, authed) {
            (Some(user), true) => {
                let user = user.clone();
                self.wrap_v3(msg_id, &user, 1, &[], &pdu, time)
            }
            _ => {
                let scoped = scoped_pdu(&self.engine_id, &[], &pdu);
                let sec = sec_params(&self.engine_id, self.boots, time, &[], 0, &[]).0;
                message(msg_id, 0, &sec, &scoped).0
            }
        }
    }

    /// Wraps a response PDU in an authenticated (and, with privacy, encrypted) v3 message.
    fn wrap_v3(
        &mut self,
        msg_id: i64,
        user: &UsmUser,
        flags: u8,
        context: &[u8],
        pdu: &[u8],
        time: u32,
    ) -> Vec<u8> {
        let scoped = scoped_pdu(&self.engine_id, context, pdu);
        let (data, salt) = match user.priv_key.filter(|_| flags & 2 != 0) {
            Some(key) => {
                self.salt = self.salt.wrapping_add(1);
                let salt = self.salt.to_be_bytes();
                let mut enc = scoped.clone();
                usm::encrypt(&key, self.boots, time, &salt, &mut enc);
                let mut d = Vec::with_capacity(enc.len() + 4);
                ber::tlv(&mut d, tag::OCTETS, &enc);
                (d, salt.to_vec())
            }
            None => (scoped, Vec::new()),
        };
        let (sec, mac_at) = sec_params(
            &self.engine_id,
            self.boots,
            time,
            &user.name,
            user.auth.mac_len(),
            &salt,
        );
        let (mut out, sec_at) = message(msg_id, flags, &sec, &data);
        let mac = user.auth.mac(&user.auth_key, &out);
        let at = sec_at + mac_at;
        out[at..at + mac.len()].copy_from_slice(&mac);
        out
    }
}

/// Offset of `inner` inside `outer`, if it is a sub-slice of it.
fn sub_offset(outer: &[u8], inner: &[u8]) -> Option<usize> {
    let o = outer.as_ptr() as usize;
    let i = inner.as_ptr() as usize;
    (i >= o && i + inner.len() <= o + outer.len()).then(|| i - o)
}

fn scoped_req_id(scoped: &[u8]) -> i64 {
    let mut r = Reader::new(scoped);
    let _ = r.octets();
    let _ = r.octets();
    r.any()
        .ok()
        .and_then(|(_, pdu)| Reader::new(pdu).integer().ok())
        .unwrap_or(0)
}

fn scoped_pdu(engine: &[u8], context: &[u8], pdu: &[u8]) -> Vec<u8> {
    let mut inner = Vec::with_capacity(pdu.len() + engine.len() + 8);
    ber::tlv(&mut inner, tag::OCTETS, engine);
    ber::tlv(&mut inner, tag::OCTETS, context);
    inner.extend_from_slice(pdu);
    let mut out = Vec::with_capacity(inner.len() + 4);
    ber::tlv(&mut out, tag::SEQUENCE, &inner);
    out
}

/// UsmSecurityParameters; returns the encoding and the offset of the (zeroed) MAC inside it.
fn sec_params(
    engine: &[u8],
    boots: u32,
    time: u32,
    user: &[u8],
    mac_len: usize,
    salt: &[u8],
) -> (Vec<u8>, usize) {
    let mut inner = Vec::with_capacity(64);
    ber::tlv(&mut inner, tag::OCTETS, engine);
    ber::integer(&mut inner, i64::from(boots));
    ber::integer(&mut inner, i64::from(time));
    ber::tlv(&mut inner, tag::OCTETS, user);
    ber::header(&mut inner, tag::OCTETS, mac_len);
    let mac_in_inner = inner.len();
    inner.extend(std::iter::repeat_n(0u8, mac_len));
    ber::tlv(&mut inner, tag::OCTETS, salt);
    let mut out = Vec::with_capacity(inner.len() + 4);
    ber::header(&mut out, tag::SEQUENCE, inner.len());
    let at = out.len() + mac_in_inner;
    out.extend_from_slice(&inner);
    (out, at)
}

/// SNMPv3Message; returns it and the offset of the security parameters' content.
fn message(msg_id: i64, flags: u8, sec: &[u8], data: &[u8]) -> (Vec<u8>, usize) {
    let mut inner = Vec::with_capacity(sec.len() + data.len() + 32);
    ber::integer(&mut inner, 3);
    let mut global = Vec::new();
    ber::integer(&mut global, msg_id);
    ber::integer(&mut global, MAX_DATAGRAM as i64);
    ber::tlv(&mut global, tag::OCTETS, &[flags]);
    ber::integer(&mut global, 3);
    ber::tlv(&mut inner, tag::SEQUENCE, &global);
    ber::header(&mut inner, tag::OCTETS, sec.len());
    let sec_in_inner = inner.len();
    inner.extend_from_slice(sec);
    inner.extend_from_slice(data);
    let mut out = Vec::with_capacity(inner.len() + 4);
    ber::header(&mut out, tag::SEQUENCE, inner.len());
    let at = out.len() + sec_in_inner;
    out.extend_from_slice(&inner);
    (out, at)
}
