//! SNMPv3 User-based Security Model, agent side (RFC 3414, RFC 3826 AES, RFC 7860 SHA-2): key
//! localisation, HMAC authentication and AES-128-CFB privacy for one configured user.

use aes::Aes128;
use cfb_mode::cipher::{AsyncStreamCipher, KeyIvInit};
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// The agent's authentication protocol for its user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimAuth {
    /// usmHMACSHAAuthProtocol (HMAC-SHA-1-96).
    Sha1,
    /// usmHMAC192SHA256AuthProtocol (HMAC-SHA-256, 24-byte MAC).
    Sha256,
}

impl SimAuth {
    /// Length of the MAC in msgAuthenticationParameters.
    pub(crate) fn mac_len(self) -> usize {
        match self {
            Self::Sha1 => 12,
            Self::Sha256 => 24,
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha1 => Sha1::digest(data).to_vec(),
            Self::Sha256 => Sha256::digest(data).to_vec(),
        }
    }

    /// RFC 3414 A.2: hash 1 MiB of the repeated password, then localise with the engine id.
    pub(crate) fn localize(self, password: &[u8], engine_id: &[u8]) -> Vec<u8> {
        let ku = if password.is_empty() {
            self.hash(&[])
        } else {
            let mut buf = Vec::with_capacity(1 << 20);
            while buf.len() < 1 << 20 {
                let take = password.len().min((1 << 20) - buf.len());
                buf.extend_from_slice(&password[..take]);
            }
            self.hash(&buf)
        };
        let mut l = ku.clone();
        l.extend_from_slice(engine_id);
        l.extend_from_slice(&ku);
        self.hash(&l)
    }

    /// The truncated HMAC of a whole message (with its MAC field zeroed).
    pub(crate) fn mac(self, key: &[u8], msg: &[u8]) -> Vec<u8> {
        let full = match self {
            Self::Sha1 => {
                let Ok(mut m) = <Hmac<Sha1> as KeyInit>::new_from_slice(key) else {
                    return Vec::new();
                };
                m.update(msg);
                m.finalize().into_bytes().to_vec()
            }
            Self::Sha256 => {
                let Ok(mut m) = <Hmac<Sha256> as KeyInit>::new_from_slice(key) else {
                    return Vec::new();
                };
                m.update(msg);
                m.finalize().into_bytes().to_vec()
            }
        };
        full[..self.mac_len()].to_vec()
    }
}

/// The agent's one v3 user, with keys localised to this engine.
#[derive(Clone)]
pub(crate) struct UsmUser {
    /// User name.
    pub(crate) name: Vec<u8>,
    /// Auth protocol.
    pub(crate) auth: SimAuth,
    pub(crate) auth_key: Vec<u8>,
    /// AES-128 key, when privacy is configured.
    pub(crate) priv_key: Option<[u8; 16]>,
}

impl std::fmt::Debug for UsmUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsmUser")
            .field("name", &String::from_utf8_lossy(&self.name))
            .field("auth", &self.auth)
            .field("privacy", &self.priv_key.is_some())
            .finish_non_exhaustive()
    }
}

impl UsmUser {
    /// Localises the user's passwords to `engine_id`.
    pub(crate) fn new(
        name: &str,
        auth: SimAuth,
        auth_password: &str,
        priv_password: Option<&str>,
        engine_id: &[u8],
    ) -> Self {
        let priv_key = priv_password.map(|p| {
            let k = auth.localize(p.as_bytes(), engine_id);
            let mut out = [0u8; 16];
            out.copy_from_slice(&k[..16]);
            out
        });
        Self {
            name: name.as_bytes().to_vec(),
            auth,
            auth_key: auth.localize(auth_password.as_bytes(), engine_id),
            priv_key,
        }
    }
}

/// RFC 3826: IV = engineBoots ‖ engineTime ‖ salt (the 8-byte msgPrivacyParameters).
fn iv(boots: u32, time: u32, salt: &[u8; 8]) -> [u8; 16] {
    let mut iv = [0u8; 16];
    iv[..4].copy_from_slice(&boots.to_be_bytes());
    iv[4..8].copy_from_slice(&time.to_be_bytes());
    iv[8..].copy_from_slice(salt);
    iv
}

/// Decrypts a scopedPDU in place.
pub(crate) fn decrypt(key: &[u8; 16], boots: u32, time: u32, salt: &[u8; 8], data: &mut [u8]) {
    cfb_mode::Decryptor::<Aes128>::new(key.into(), &iv(boots, time, salt).into()).decrypt(data);
}

/// Encrypts a scopedPDU in place.
pub(crate) fn encrypt(key: &[u8; 16], boots: u32, time: u32, salt: &[u8; 8], data: &mut [u8]) {
    cfb_mode::Encryptor::<Aes128>::new(key.into(), &iv(boots, time, salt).into()).encrypt(data);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3414_a3_2_sha1_key_localisation() {
        // RFC 3414 A.3.2: password "maplesyrup", engine id 00..02.
        let engine = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
        let k = SimAuth::Sha1.localize(b"maplesyrup", &engine);
        assert_eq!(
            k.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "6695febc9288e36282235fc7151f128497b38f3f"
        );
    }

    #[test]
    fn cfb_round_trip() {
        let key = [7u8; 16];
        let salt = [1u8; 8];
        let mut data = b"scoped pdu bytes of odd length".to_vec();
        encrypt(&key, 1, 99, &salt, &mut data);
        assert_ne!(&data[..], b"scoped pdu bytes of odd length");
        decrypt(&key, 1, 99, &salt, &mut data);
        assert_eq!(&data[..], b"scoped pdu bytes of odd length");
    }
}
