//! The request signer: turns plaintext calls into the `sign=…\r\ndata=…\r\n[tag=…\r\n]` bodies
//! the modem accepts and opens its encrypted answers. Pure code: the caller does the HTTP.

use md5::{Digest, Md5};

use crate::Secret;
use crate::proto::cipher::AesSession;
use crate::proto::parse::GdprParams;

/// One login session's crypto state: the modem's key and sequence number, our AES key, and the
/// credential hash every sign carries.
#[derive(Debug, Clone)]
pub struct Signer {
    params: GdprParams,
    aes: AesSession,
    /// Lower-case hex MD5 of username ‖ password; it authenticates every request, so it is
    /// treated as a secret.
    hash: Secret,
}

impl Signer {
    /// A signer for a session with `params` (from `getGDPRParm`) and the AES key `aes`.
    pub fn new(params: GdprParams, aes: AesSession, username: &str, password: &Secret) -> Self {
        let mut md5 = Md5::new();
        md5.update(username.as_bytes());
        md5.update(password.expose().as_bytes());
        let hash = Secret::new(hex::encode(md5.finalize()));
        Self { params, aes, hash }
    }

    /// The body of the login call, with the credentials base64-encoded inside the ciphertext.
    /// `takeover` is the answer to the "another user is logged in" prompt (`Action` 2, as the
    /// lab's page sends it; not verified on real firmware, where it only fails to log in).
    pub fn login_body(&self, username: &str, password: &Secret, takeover: bool) -> String {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let payload = serde_json::json!({
            "data": {
                "UserName": b64.encode(username),
                "Passwd": b64.encode(password.expose()),
                "Action": if takeover { "2" } else { "1" },
                "stack": "0,0,0,0,0,0",
                "pstack": "0,0,0,0,0,0",
            },
            "operation": "cgi",
            "oid": "/cgi/login",
        });
        self.body(&payload.to_string(), true)
    }

    /// The body of a data-model call whose plaintext is `payload`.
    pub fn request_body(&self, payload: &str) -> String {
        self.body(payload, false)
    }

    /// Decrypts an answer of this session.
    pub fn open(&self, body: &str) -> Result<String, crate::error::ProtocolMismatch> {
        let plain = self.aes.open(body)?;
        String::from_utf8(plain)
            .map_err(|_| crate::error::ProtocolMismatch::new("answer is not UTF-8"))
    }

    fn body(&self, payload: &str, login: bool) -> String {
        let sealed = self.aes.seal(payload.as_bytes());
        let s = self.params.seq + sealed.data.len() as u64;
        let sign_str = if login {
            format!("{}&h={}&s={s}", self.aes.sign_fields(), self.hash.expose())
        } else {
            format!("h={}&s={s}", self.hash.expose())
        };
        let sign = self.params.key.encrypt_unpadded(sign_str.as_bytes());
        match sealed.tag {
            None => format!("sign={sign}\r\ndata={}\r\n", sealed.data),
            Some(tag) => format!("sign={sign}\r\ndata={}\r\ntag={tag}\r\n", sealed.data),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::cipher::CipherVariant;
    use crate::proto::rsa::RsaPublicKey;

    const NN: &str = "c34acfa0f7d0007241d29061aa9aeb9a7e3cf7350766dea0285684035daf8b4b3ff5fcb2af8862e8df255daabc2fc5fe054780ccac223ba1e9174e06d07866eb";

    fn signer(v: CipherVariant) -> Signer {
        let params = GdprParams {
            key: RsaPublicKey::from_hex(NN, "010001").unwrap(),
            seq: 1000,
        };
        Signer::new(params, AesSession::random(v), "user", &Secret::new("pw"))
    }

    #[test]
    fn login_signs_two_blocks_and_requests_one() {
        let s = signer(CipherVariant::Cbc);
        let login = s.login_body("user", &Secret::new("pw"), false);
        let lines: Vec<_> = login.split("\r\n").collect();
        assert_eq!(lines.len(), 3, "two lines and the final CRLF");
        assert_eq!(lines[0].len(), "sign=".len() + 256);
        let req = s.request_body("{}");
        assert_eq!(req.split("\r\n").next().unwrap().len(), "sign=".len() + 128);
        assert!(!login.contains("pw"));
    }

    #[test]
    fn gcm_bodies_carry_a_tag_line() {
        let s = signer(CipherVariant::Gcm);
        let body = s.request_body("{\"a\":1}");
        let lines: Vec<_> = body.split("\r\n").collect();
        assert!(lines[2].starts_with("tag=") && lines[2].len() == 4 + 24);
    }
}
