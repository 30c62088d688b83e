//! The modem's "signature": textbook RSA with its 512-bit public key, no padding.
//!
//! The firmware calls it a signature but it is encryption with the public key: the sign string is
//! cut into key-sized chunks, the last one right-padded with NUL bytes, and each chunk is raised
//! to `e` modulo `n`. It protects nothing (the note's §6); it is implemented because the modem
//! refuses requests without it.

use num_bigint::BigUint;

use crate::error::{BridgeError, ProtocolMismatch};

/// The modem's RSA public key as `getGDPRParm` announces it.
#[derive(Clone, PartialEq, Eq)]
pub struct RsaPublicKey {
    n: BigUint,
    e: BigUint,
    /// Bytes per chunk: the modulus length (64 for the XX230v's 512-bit key).
    chunk: usize,
}

impl std::fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RsaPublicKey({} bits)", self.chunk * 8)
    }
}

/// Moduli the protocol is known to use; anything else means a firmware we do not speak.
const ALLOWED_MODULUS_HEX: [usize; 2] = [128, 256];

impl RsaPublicKey {
    /// Parses the hex modulus (`nn`) and exponent (`ee`).
    pub fn from_hex(nn: &str, ee: &str) -> Result<Self, BridgeError> {
        if !ALLOWED_MODULUS_HEX.contains(&nn.len()) {
            return Err(
                ProtocolMismatch::new(format!("RSA modulus of {} hex digits", nn.len())).into(),
            );
        }
        if ee.is_empty() || ee.len() > 8 {
            return Err(ProtocolMismatch::new("RSA exponent length").into());
        }
        let n = BigUint::parse_bytes(nn.as_bytes(), 16)
            .ok_or_else(|| ProtocolMismatch::new("RSA modulus is not hex"))?;
        let e = BigUint::parse_bytes(ee.as_bytes(), 16)
            .ok_or_else(|| ProtocolMismatch::new("RSA exponent is not hex"))?;
        if n.bits() < 8 || e.bits() < 2 {
            return Err(ProtocolMismatch::new("degenerate RSA key").into());
        }
        Ok(Self {
            n,
            e,
            chunk: nn.len() / 2,
        })
    }

    /// Hex digits one encrypted chunk occupies (128 for a 512-bit key).
    pub fn block_hex_len(&self) -> usize {
        self.chunk * 2
    }

    /// Encrypts `message` chunk by chunk and returns the lower-case hex of every block, each
    /// left-padded to the modulus length.
    pub fn encrypt_unpadded(&self, message: &[u8]) -> String {
        let mut out = String::with_capacity(message.len().div_ceil(self.chunk) * self.chunk * 2);
        for piece in message.chunks(self.chunk) {
            let mut block = vec![0u8; self.chunk];
            block[..piece.len()].copy_from_slice(piece);
            let c = BigUint::from_bytes_be(&block).modpow(&self.e, &self.n);
            let hex = c.to_str_radix(16);
            for _ in hex.len()..self.chunk * 2 {
                out.push('0');
            }
            out.push_str(&hex);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A throw-away 512-bit test key (public data; the lab emulator has its own).
    const N: &str = "c34acfa0f7d0007241d29061aa9aeb9a7e3cf7350766dea0285684035daf8b4b3ff5fcb2af8862e8df255daabc2fc5fe054780ccac223ba1e9174e06d07866eb";
    const D: &str = "7b64094beb47c10070165aa35ae80774d5ce2f639209ad20045ca58c7ae52f5c8142b6e998df064900c85d56dd7389331f7fb454b87201a08392d7b761374001";

    #[test]
    fn private_key_recovers_nul_padded_chunks() {
        let key = RsaPublicKey::from_hex(N, "010001").unwrap();
        let msg =
            b"key=1234567890123456&iv=6543210987654321&h=0123456789abcdef0123456789abcdef&s=1234";
        let hex = key.encrypt_unpadded(msg);
        assert_eq!(hex.len(), 256);
        let n = BigUint::parse_bytes(N.as_bytes(), 16).unwrap();
        let d = BigUint::parse_bytes(D.as_bytes(), 16).unwrap();
        let mut plain = Vec::new();
        for block in hex.as_bytes().chunks(128) {
            let c = BigUint::parse_bytes(block, 16).unwrap();
            let m = c.modpow(&d, &n).to_bytes_be();
            plain.extend(std::iter::repeat_n(0u8, 64 - m.len()));
            plain.extend(m);
        }
        while plain.last() == Some(&0) {
            plain.pop();
        }
        assert_eq!(plain, msg);
    }

    #[test]
    fn blocks_are_fixed_width_lower_hex_and_chunked_by_key_size() {
        let key = RsaPublicKey::from_hex(N, "010001").unwrap();
        assert_eq!(key.block_hex_len(), 128);
        let one = key.encrypt_unpadded(b"h=abc&s=12");
        assert_eq!(one.len(), 128);
        assert!(
            one.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        let two = key.encrypt_unpadded(&[b'x'; 65]);
        assert_eq!(two.len(), 256);
        // Deterministic: textbook RSA has no randomness.
        assert_eq!(one, key.encrypt_unpadded(b"h=abc&s=12"));
    }

    #[test]
    fn short_or_non_hex_keys_are_protocol_mismatches() {
        assert!(matches!(
            RsaPublicKey::from_hex("abcd", "010001"),
            Err(BridgeError::Protocol(_))
        ));
        let bad = "z".repeat(128);
        assert!(RsaPublicKey::from_hex(&bad, "010001").is_err());
        assert!(RsaPublicKey::from_hex(N, "").is_err());
    }
}
