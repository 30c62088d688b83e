//! The modem's side of the EX web crypto, written from the protocol description independently of
//! the bridge's client (so a mistake shared by both cannot hide): the private-key half of the
//! textbook RSA "sign", and AES with the key and IV the client chose.

use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, block_padding::Pkcs7};
use aes_gcm::aead::{AeadInPlace, KeyInit};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use num_bigint::BigUint;

/// The emulator's fixed 512-bit key (two 256-bit primes; common libraries refuse to generate
/// keys this small, and real firmware uses this size). Public test data, not a secret.
const N_HEX: &str = "c34acfa0f7d0007241d29061aa9aeb9a7e3cf7350766dea0285684035daf8b4b3ff5fcb2af8862e8df255daabc2fc5fe054780ccac223ba1e9174e06d07866eb";
const D_HEX: &str = "7b64094beb47c10070165aa35ae80774d5ce2f639209ad20045ca58c7ae52f5c8142b6e998df064900c85d56dd7389331f7fb454b87201a08392d7b761374001";
/// `ee` as the firmware prints it.
pub(crate) const E_HEX: &str = "010001";

/// The AES mode the emulated firmware speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SimCipher {
    /// AES-128-CBC/PKCS#7 with a 16-character IV (the XX230v).
    Cbc,
    /// AES-128-GCM with a 12-character nonce and a separate tag.
    Gcm,
}

/// The modem's RSA key pair.
#[derive(Debug, Clone)]
pub(crate) struct KeyPair {
    n: BigUint,
    d: BigUint,
}

impl KeyPair {
    pub(crate) fn fixed() -> Self {
        // Constants above are valid hex; a failure would be a source edit error caught by tests.
        let parse = |h: &str| BigUint::parse_bytes(h.as_bytes(), 16).unwrap_or_default();
        Self {
            n: parse(N_HEX),
            d: parse(D_HEX),
        }
    }

    pub(crate) fn modulus_hex(&self) -> &'static str {
        N_HEX
    }

    /// Decrypts a hex sign of whole 128-digit blocks; trailing NULs of the last block dropped.
    pub(crate) fn decrypt_sign(&self, hex: &str) -> Option<String> {
        if hex.is_empty() || !hex.len().is_multiple_of(128) || hex.len() > 128 * 8 {
            return None;
        }
        let mut plain = Vec::with_capacity(hex.len() / 2);
        for block in hex.as_bytes().chunks(128) {
            let c = BigUint::parse_bytes(block, 16)?;
            if c >= self.n {
                return None;
            }
            let m = c.modpow(&self.d, &self.n).to_bytes_be();
            if m.len() > 64 {
                return None;
            }
            plain.extend(std::iter::repeat_n(0u8, 64 - m.len()));
            plain.extend(m);
        }
        while plain.last() == Some(&0) {
            plain.pop();
        }
        String::from_utf8(plain).ok()
    }
}

/// The fields of a decrypted sign string (`key=…&iv=…&h=…&s=…` or `h=…&s=…`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct SignFields {
    pub(crate) key: Option<String>,
    pub(crate) iv: Option<String>,
    pub(crate) h: String,
    pub(crate) s: u64,
}

pub(crate) fn parse_sign(text: &str) -> Option<SignFields> {
    let mut f = SignFields::default();
    let mut has_s = false;
    for part in text.split('&') {
        let (k, v) = part.split_once('=')?;
        match k {
            "key" => f.key = Some(v.to_owned()),
            "iv" => f.iv = Some(v.to_owned()),
            "h" => f.h = v.to_owned(),
            "s" => {
                f.s = v.parse().ok()?;
                has_s = true;
            }
            _ => return None,
        }
    }
    has_s.then_some(f)
}

/// A client's AES key and IV/nonce, as raw bytes.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ClientKey {
    pub(crate) cipher: SimCipher,
    key: [u8; 16],
    iv: Vec<u8>,
}

impl std::fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClientKey({:?}, ***)", self.cipher)
    }
}

impl ClientKey {
    /// From the login sign's `key`/`iv` fields (ASCII for CBC, base64 of ASCII for GCM).
    pub(crate) fn from_sign(cipher: SimCipher, key: &str, iv: &str) -> Option<Self> {
        let (key, iv) = match cipher {
            SimCipher::Cbc => (key.as_bytes().to_vec(), iv.as_bytes().to_vec()),
            SimCipher::Gcm => (B64.decode(key).ok()?, B64.decode(iv).ok()?),
        };
        let iv_len = if cipher == SimCipher::Cbc { 16 } else { 12 };
        if iv.len() != iv_len {
            return None;
        }
        Some(Self {
            cipher,
            key: key.try_into().ok()?,
            iv,
        })
    }

    /// Decrypts a request's `data` (and `tag` for GCM).
    pub(crate) fn open(&self, data: &str, tag: Option<&str>) -> Option<String> {
        let mut buf = B64.decode(data.trim()).ok()?;
        let plain = match self.cipher {
            SimCipher::Cbc => {
                cbc::Decryptor::<aes::Aes128>::new((&self.key).into(), self.iv.as_slice().into())
                    .decrypt_padded_vec_mut::<Pkcs7>(&buf)
                    .ok()?
            }
            SimCipher::Gcm => {
                let tag = B64.decode(tag?.trim()).ok()?;
                if tag.len() != 16 {
                    return None;
                }
                aes_gcm::Aes128Gcm::new((&self.key).into())
                    .decrypt_in_place_detached(
                        self.iv.as_slice().into(),
                        b"",
                        &mut buf,
                        tag.as_slice().into(),
                    )
                    .ok()?;
                buf
            }
        };
        String::from_utf8(plain).ok()
    }

    /// Encrypts an answer: base64 ciphertext, with the base64 tag appended for GCM.
    pub(crate) fn seal(&self, plain: &str) -> String {
        match self.cipher {
            SimCipher::Cbc => B64.encode(
                cbc::Encryptor::<aes::Aes128>::new((&self.key).into(), self.iv.as_slice().into())
                    .encrypt_padded_vec_mut::<Pkcs7>(plain.as_bytes()),
            ),
            SimCipher::Gcm => {
                let mut buf = plain.as_bytes().to_vec();
                let tag = aes_gcm::Aes128Gcm::new((&self.key).into())
                    .encrypt_in_place_detached(self.iv.as_slice().into(), b"", &mut buf)
                    .unwrap_or_default();
                format!("{}{}", B64.encode(buf), B64.encode(tag))
            }
        }
    }
}

/// Lower-case hex MD5 of username ‖ password.
pub(crate) fn credential_hash(user: &str, password: &str) -> String {
    use md5::Digest as _;
    let mut h = md5::Md5::new();
    h.update(user.as_bytes());
    h.update(password.as_bytes());
    hex::encode(h.finalize())
}

/// The `sign=`, `data=` and `tag=` lines of a request body.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Body<'a> {
    pub(crate) sign: &'a str,
    pub(crate) data: &'a str,
    pub(crate) tag: Option<&'a str>,
}

pub(crate) fn parse_body(text: &str) -> Option<Body<'_>> {
    let mut b = Body::default();
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        let (k, v) = line.split_once('=')?;
        match k {
            "sign" => b.sign = v,
            "data" => b.data = v,
            "tag" => b.tag = Some(v),
            _ => return None,
        }
    }
    (!b.sign.is_empty() && !b.data.is_empty()).then_some(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixed_key_pair_is_consistent() {
        let k = KeyPair::fixed();
        // The client right-pads the sign string with NULs to the 64-byte block.
        let mut block = b"h=0123&s=42".to_vec();
        block.resize(64, 0);
        let m = BigUint::from_bytes_be(&block);
        let c = m.modpow(&BigUint::from(65_537u32), &k.n);
        let mut hex = c.to_str_radix(16);
        while hex.len() < 128 {
            hex.insert(0, '0');
        }
        assert_eq!(k.decrypt_sign(&hex).as_deref(), Some("h=0123&s=42"));
    }

    #[test]
    fn bodies_and_signs_parse_strictly() {
        let b = parse_body("sign=ab\r\ndata=Zm9v\r\n").unwrap();
        assert_eq!((b.sign, b.data, b.tag), ("ab", "Zm9v", None));
        assert!(parse_body("sign=ab\r\n").is_none());
        assert!(parse_body("junk").is_none());
        let s = parse_sign("key=1&iv=2&h=abc&s=77").unwrap();
        assert_eq!(
            (s.key.as_deref(), s.h.as_str(), s.s),
            (Some("1"), "abc", 77)
        );
        assert!(parse_sign("h=abc").is_none());
        assert_eq!(credential_hash("user", "pw").len(), 32);
    }

    proptest::proptest! {
        #[test]
        fn peer_input_never_panics(text in ".{0,600}", hex in "[0-9a-f]{0,512}") {
            let k = KeyPair::fixed();
            let _ = k.decrypt_sign(&hex);
            let _ = k.decrypt_sign(&text);
            let _ = parse_body(&text);
            let _ = parse_sign(&text);
            let keys = [
                ClientKey::from_sign(SimCipher::Cbc, "1234567890123456", "1234567890123456"),
                ClientKey::from_sign(SimCipher::Gcm, "MTIzNDU2Nzg5MDEyMzQ1Ng==", "MTIzNDU2Nzg5MDEy"),
            ];
            for key in keys {
                let key = key.expect("valid test keys");
                let _ = key.open(&text, Some(&text));
                proptest::prop_assert_eq!(key.open(&key.seal(&text), None).is_some(), key.cipher == SimCipher::Cbc);
            }
        }
    }
}
