//! The per-session AES layer: AES-128-CBC with PKCS#7 (the XX230v's firmware) or AES-128-GCM
//! (newer EX firmware), keyed with ASCII characters the client makes up.
//!
//! Which variant a modem speaks is configuration ([`CipherVariant`]), never probed: every
//! failed login counts toward the firmware's lock-out.

use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, block_padding::Pkcs7};
use aes_gcm::aead::{AeadInPlace, KeyInit};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use crate::error::ProtocolMismatch;

type CbcEnc = cbc::Encryptor<aes::Aes128>;
type CbcDec = cbc::Decryptor<aes::Aes128>;

/// The AES mode a firmware family uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CipherVariant {
    /// AES-128-CBC, PKCS#7, a 16-character IV (the XX230v).
    #[default]
    Cbc,
    /// AES-128-GCM, a 12-character nonce, the tag sent as a third body line.
    Gcm,
}

impl CipherVariant {
    /// Length of the IV (CBC) or nonce (GCM) in characters.
    pub fn iv_len(self) -> usize {
        match self {
            Self::Cbc => 16,
            Self::Gcm => 12,
        }
    }
}

/// Characters of a base64 GCM tag (16 bytes).
const TAG_B64_LEN: usize = 24;

/// A request body's ciphertext: base64 data and, for GCM, the base64 tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// `data=` line.
    pub data: String,
    /// `tag=` line (GCM only).
    pub tag: Option<String>,
}

/// One session's AES key and IV/nonce, both ASCII digits as the web UI makes them.
#[derive(Clone, PartialEq, Eq)]
pub struct AesSession {
    variant: CipherVariant,
    key: [u8; 16],
    iv: Vec<u8>,
}

impl std::fmt::Debug for AesSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key decrypts every captured request of the session: never print it.
        write!(f, "AesSession({:?}, key ***)", self.variant)
    }
}

impl AesSession {
    /// A session key from `seed`: 16 key and N IV characters taken from decimal digits, as the
    /// web UI does (a timestamp plus random digits). The caller supplies the randomness, which
    /// keeps this module free of IO and clocks.
    pub fn from_digits(variant: CipherVariant, key_digits: &str, iv_digits: &str) -> Option<Self> {
        let ok = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_graphic());
        if !ok(key_digits, 16) || !ok(iv_digits, variant.iv_len()) {
            return None;
        }
        let mut key = [0u8; 16];
        key.copy_from_slice(key_digits.as_bytes());
        Some(Self {
            variant,
            key,
            iv: iv_digits.as_bytes().to_vec(),
        })
    }

    /// A fresh random session key.
    pub fn random(variant: CipherVariant) -> Self {
        use rand::Rng as _;
        let mut rng = rand::rng();
        let mut digits = |n: usize| -> String {
            (0..n)
                .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
                .collect()
        };
        let (k, iv) = (digits(16), digits(variant.iv_len()));
        // Both strings have the lengths `from_digits` checks.
        Self::from_digits(variant, &k, &iv).unwrap_or_else(|| unreachable!("fixed lengths"))
    }

    /// The variant.
    pub fn variant(&self) -> CipherVariant {
        self.variant
    }

    /// The `key=…&iv=…` part of the login sign string (base64 of the characters for GCM).
    pub fn sign_fields(&self) -> String {
        let (k, iv) = (as_str(&self.key), as_str(&self.iv));
        match self.variant {
            CipherVariant::Cbc => format!("key={k}&iv={iv}"),
            CipherVariant::Gcm => format!("key={}&iv={}", B64.encode(k), B64.encode(iv)),
        }
    }

    /// Encrypts a request payload.
    pub fn seal(&self, plain: &[u8]) -> Sealed {
        match self.variant {
            CipherVariant::Cbc => {
                let enc = CbcEnc::new((&self.key).into(), self.iv.as_slice().into());
                Sealed {
                    data: B64.encode(enc.encrypt_padded_vec_mut::<Pkcs7>(plain)),
                    tag: None,
                }
            }
            CipherVariant::Gcm => {
                let cipher = aes_gcm::Aes128Gcm::new((&self.key).into());
                let mut buf = plain.to_vec();
                // A 12-byte nonce and an in-memory buffer cannot fail to encrypt.
                let tag = cipher
                    .encrypt_in_place_detached(self.iv.as_slice().into(), b"", &mut buf)
                    .unwrap_or_default();
                Sealed {
                    data: B64.encode(buf),
                    tag: Some(B64.encode(tag)),
                }
            }
        }
    }

    /// Decrypts a response body (base64 CBC ciphertext, or GCM ciphertext followed by the last
    /// 24 characters of base64 tag).
    pub fn open(&self, body: &str) -> Result<Vec<u8>, ProtocolMismatch> {
        let body = body.trim();
        match self.variant {
            CipherVariant::Cbc => {
                let ct = B64
                    .decode(body)
                    .map_err(|_| ProtocolMismatch::new("response is not base64"))?;
                let dec = CbcDec::new((&self.key).into(), self.iv.as_slice().into());
                dec.decrypt_padded_vec_mut::<Pkcs7>(&ct)
                    .map_err(|_| ProtocolMismatch::new("response does not decrypt with AES-CBC"))
            }
            CipherVariant::Gcm => {
                if body.len() < TAG_B64_LEN {
                    return Err(ProtocolMismatch::new("GCM response shorter than its tag"));
                }
                // Split as bytes: peer text need not be ASCII, and base64 decoding rejects what is not.
                let (ct, tag) = body.as_bytes().split_at(body.len() - TAG_B64_LEN);
                let mut buf = B64
                    .decode(ct)
                    .map_err(|_| ProtocolMismatch::new("response is not base64"))?;
                let tag = B64
                    .decode(tag)
                    .map_err(|_| ProtocolMismatch::new("GCM tag is not base64"))?;
                if tag.len() != 16 {
                    return Err(ProtocolMismatch::new("GCM tag length"));
                }
                let cipher = aes_gcm::Aes128Gcm::new((&self.key).into());
                cipher
                    .decrypt_in_place_detached(
                        self.iv.as_slice().into(),
                        b"",
                        &mut buf,
                        tag.as_slice().into(),
                    )
                    .map_err(|_| {
                        ProtocolMismatch::new("response does not authenticate with AES-GCM")
                    })?;
                Ok(buf)
            }
        }
    }
}

fn as_str(b: &[u8]) -> &str {
    // Constructed only from checked ASCII.
    std::str::from_utf8(b).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cbc_known_answer_matches_the_reference_construction() {
        // AES-128-CBC/PKCS#7 of "{}" under key "1234567890123456", IV "6543210987654321",
        // computed independently with `openssl enc -aes-128-cbc`.
        let s = AesSession::from_digits(CipherVariant::Cbc, "1234567890123456", "6543210987654321")
            .unwrap();
        let sealed = s.seal(b"{}");
        assert_eq!(sealed.data, KAT_CBC);
        assert_eq!(s.open(&sealed.data).unwrap(), b"{}");
        assert_eq!(s.sign_fields(), "key=1234567890123456&iv=6543210987654321");
    }

    const KAT_CBC: &str = include_str!("testdata/cbc_kat.txt");

    #[test]
    fn gcm_appends_the_tag_and_rejects_tampering() {
        let s = AesSession::from_digits(CipherVariant::Gcm, "1234567890123456", "123456789012")
            .unwrap();
        let sealed = s.seal(b"{\"a\":1}");
        let tag = sealed.tag.clone().unwrap();
        assert_eq!(tag.len(), 24);
        let body = format!("{}{}", sealed.data, tag);
        assert_eq!(s.open(&body).unwrap(), b"{\"a\":1}");
        let mut bad = body.into_bytes();
        bad[0] = if bad[0] == b'A' { b'B' } else { b'A' };
        assert!(s.open(std::str::from_utf8(&bad).unwrap()).is_err());
        assert_eq!(
            s.sign_fields(),
            "key=MTIzNDU2Nzg5MDEyMzQ1Ng==&iv=MTIzNDU2Nzg5MDEy"
        );
    }

    proptest! {
        #[test]
        fn round_trip_and_garbage_never_panics(plain in proptest::collection::vec(any::<u8>(), 0..300), junk in ".{0,200}") {
            for v in [CipherVariant::Cbc, CipherVariant::Gcm] {
                let s = AesSession::random(v);
                let sealed = s.seal(&plain);
                let body = format!("{}{}", sealed.data, sealed.tag.unwrap_or_default());
                prop_assert_eq!(s.open(&body).unwrap(), plain.clone());
                let _ = s.open(&junk);
            }
        }
    }
}
