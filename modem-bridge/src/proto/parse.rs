//! Parsers for the modem's plain-text answers: the key announcement of `getGDPRParm`, the
//! `$.ret=…;` result lines, and the `var token="…";` of the main page.
//!
//! Every input comes from the network, so each parser bounds what it reads ([`MAX_TEXT`]) and
//! answers a clear error instead of panicking.

use crate::error::{BridgeError, ProtocolMismatch};
use crate::proto::rsa::RsaPublicKey;

/// Longest plain-text answer parsed (the main page is a few KiB on real firmware).
pub const MAX_TEXT: usize = 256 * 1024;

/// `$.ret` of a successful call.
pub const RET_OK: i64 = 0;
/// `$.ret` of a wrong username or password (also during a lock-out, with `currForbidTime`).
pub const RET_BAD_PASSWORD: i64 = 71233;
/// `$.ret` of a malformed request.
pub const RET_BAD_REQUEST: i64 = 71234;
/// `$.ret` when another user holds the modem's one web session. Not observed on a real modem
/// (the UI shows a prompt); it is the code the lab emulator and this bridge agree on, so the
/// refusal to kick a logged-in technician out is tested end to end.
pub const RET_OTHER_USER: i64 = 71239;

/// The `getGDPRParm` announcement: key and sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GdprParams {
    /// The modem's RSA public key.
    pub key: RsaPublicKey,
    /// The sequence number the `s=` field of every sign adds the data length to.
    pub seq: u64,
}

/// The value of `var <name>="…";` or `var <name>=…;` in JavaScript-ish text.
pub fn js_var<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let mut rest = text;
    while let Some(at) = rest.find("var ") {
        let after = &rest[at + 4..];
        rest = after;
        let Some(eq) = after.find('=') else { break };
        if after[..eq].trim() != name {
            continue;
        }
        let value = after[eq + 1..].trim_start();
        let end = value.find(';')?;
        let v = value[..end].trim();
        return Some(
            v.strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v),
        );
    }
    None
}

/// The number in `$.ret=<n>;`, if present.
pub fn ret_code(text: &str) -> Option<i64> {
    let at = text.find("$.ret=")?;
    let rest = &text[at + 6..];
    let end = rest.find(';')?;
    rest[..end].trim().parse().ok()
}

fn bounded(text: &str) -> Result<&str, ProtocolMismatch> {
    if text.len() > MAX_TEXT {
        return Err(ProtocolMismatch::new(format!(
            "answer of {} bytes exceeds the limit",
            text.len()
        )));
    }
    Ok(text)
}

/// Parses `getGDPRParm`'s answer.
pub fn gdpr_params(text: &str) -> Result<GdprParams, BridgeError> {
    let text = bounded(text)?;
    if ret_code(text) != Some(RET_OK) {
        return Err(ProtocolMismatch::new("getGDPRParm without $.ret=0").into());
    }
    let field = |name: &str| {
        js_var(text, name)
            .ok_or_else(|| ProtocolMismatch::new(format!("getGDPRParm lacks `{name}`")))
    };
    let key = RsaPublicKey::from_hex(field("nn")?, field("ee")?)?;
    let seq = field("seq")?
        .parse::<u64>()
        .map_err(|_| ProtocolMismatch::new("getGDPRParm `seq` is not a number"))?;
    // `seq + len(data)` must not overflow for any body we send.
    if seq > u64::MAX / 2 {
        return Err(ProtocolMismatch::new("getGDPRParm `seq` out of range").into());
    }
    Ok(GdprParams { key, seq })
}

/// Interprets the decrypted login answer.
pub fn login_result(text: &str) -> Result<(), BridgeError> {
    let text = bounded(text)?;
    let num = |name: &str| {
        js_var(text, name)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    match ret_code(text) {
        Some(RET_OK) => Ok(()),
        Some(RET_BAD_PASSWORD) => {
            let forbid = num("currForbidTime");
            if forbid > 0 {
                Err(BridgeError::LockedOut { seconds: forbid })
            } else {
                Err(BridgeError::Login {
                    attempts: u32::try_from(num("currAuthTimes")).unwrap_or(u32::MAX),
                })
            }
        }
        Some(RET_OTHER_USER) => Err(BridgeError::Busy),
        Some(code) => Err(BridgeError::Refused {
            oid: "/cgi/login".into(),
            code,
        }),
        None => Err(ProtocolMismatch::new("login answer without $.ret").into()),
    }
}

/// The session token in the main page (`var token="…";`).
pub fn token(html: &str) -> Result<String, BridgeError> {
    let html = bounded(html)?;
    let t =
        js_var(html, "token").ok_or_else(|| ProtocolMismatch::new("main page without a token"))?;
    if t.is_empty() || t.len() > 128 || !t.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ProtocolMismatch::new("main page token is malformed").into());
    }
    Ok(t.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NN: &str = "c34acfa0f7d0007241d29061aa9aeb9a7e3cf7350766dea0285684035daf8b4b3ff5fcb2af8862e8df255daabc2fc5fe054780ccac223ba1e9174e06d07866eb";

    #[test]
    fn parses_the_key_announcement_in_one_or_several_lines() {
        let one = format!(
            "var adminSetting=1; var userSetting=1; var logoUrl=\"\"; var ee=\"010001\"; var nn=\"{NN}\"; var seq=\"47294808\"; $.ret=0;"
        );
        let p = gdpr_params(&one).unwrap();
        assert_eq!(p.seq, 47_294_808);
        assert_eq!(p.key.block_hex_len(), 128);
        let lines = format!("var ee=\"010001\";\nvar nn=\"{NN}\";\nvar seq=\"5\";\n$.ret=0;\n");
        assert_eq!(gdpr_params(&lines).unwrap().seq, 5);
    }

    #[test]
    fn key_announcement_errors_are_mismatches() {
        for bad in [
            String::new(),
            "$.ret=0;".to_owned(),
            format!("var ee=\"010001\"; var nn=\"{NN}\"; var seq=\"x\"; $.ret=0;"),
            format!("var ee=\"010001\"; var nn=\"{NN}\"; var seq=\"1\"; $.ret=1;"),
            format!(
                "var ee=\"010001\"; var nn=\"{}\"; var seq=\"1\"; $.ret=0;",
                &NN[2..]
            ),
        ] {
            assert!(
                matches!(gdpr_params(&bad), Err(BridgeError::Protocol(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn login_codes_map_to_errors() {
        assert!(login_result("$.ret=0;").is_ok());
        assert!(matches!(
            login_result("var currAuthTimes=2;\nvar currForbidTime=0;\n$.ret=71233;"),
            Err(BridgeError::Login { attempts: 2 })
        ));
        assert!(matches!(
            login_result("var currAuthTimes=5;\nvar currForbidTime=58;\n$.ret=71233;"),
            Err(BridgeError::LockedOut { seconds: 58 })
        ));
        assert!(matches!(
            login_result("$.ret=71239;"),
            Err(BridgeError::Busy)
        ));
        assert!(matches!(
            login_result("$.ret=71234;"),
            Err(BridgeError::Refused { code: 71234, .. })
        ));
        assert!(matches!(
            login_result("hello"),
            Err(BridgeError::Protocol(_))
        ));
    }

    #[test]
    fn token_is_found_and_validated() {
        let page =
            "<html><script type=\"text/javascript\">var token=\"086724f57013f16e042e\";</script>";
        assert_eq!(token(page).unwrap(), "086724f57013f16e042e");
        assert!(token("<html>").is_err());
        assert!(token("var token=\"a b\";").is_err());
        assert!(token(&"x".repeat(MAX_TEXT + 1)).is_err());
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in ".{0,400}") {
            let _ = gdpr_params(&s);
            let _ = login_result(&s);
            let _ = token(&s);
            let _ = ret_code(&s);
        }
    }
}
