//! Outward TLS: the one rustls client configuration every Fibreplane client builds from (the
//! provisioner's ERPNext client, MQTT, the remote modem bridge, HTTPS connection requests).
//!
//! A server is verified against the system's roots (read from the operating system's store by
//! `rustls-native-certs`) plus, optionally, the CAs of a PEM file the operator names: a private
//! CA for ERPNext or a broker, the CA that signed a fleet's CPE certificates. The crypto is
//! rustls with *ring*, never OpenSSL. Skipping verification is possible only for connection
//! requests, where CPEs often carry self-signed certificates, and only through
//! [`crate::CrTls::skip_verify`], which the ACS logs.

use crate::AcsError;
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use std::path::Path;
use std::sync::Arc;
/// The rustls these configurations are built with, for callers that hold one.
pub use tokio_rustls::rustls;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::{DigitallySignedStruct, SignatureScheme};

/// A client configuration that verifies servers against the system's roots and the CAs of
/// `ca_file`. A missing, unreadable or empty CA file is an error naming it: a client that
/// silently ran without the operator's CA would fail later with a less useful message.
pub fn verified(ca_file: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, AcsError> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for e in &native.errors {
        tracing::debug!(error = %e, "a system root certificate could not be read");
    }
    let (_, rejected) = roots.add_parsable_certificates(native.certs);
    if rejected > 0 {
        tracing::debug!(rejected, "system root certificates rustls cannot use");
    }
    if let Some(path) = ca_file {
        for cert in read_ca_file(path)? {
            roots.add(cert).map_err(|e| {
                AcsError::Config(format!("CA file {}: unusable CA: {e}", path.display()))
            })?;
        }
    }
    if roots.is_empty() {
        tracing::warn!("no system root certificates found and no CA file: TLS servers will fail");
    }
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| AcsError::Config(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A client configuration that accepts any server certificate, though it still checks that the
/// server holds the certificate's key. Only [`crate::CrTls::skip_verify`] leads here.
pub(crate) fn unverified() -> Result<Arc<rustls::ClientConfig>, AcsError> {
    let provider = provider();
    let verifier = Arc::new(AnyCertificate(Arc::clone(&provider)));
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| AcsError::Config(format!("TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The certificates of a PEM file, at least one.
fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, AcsError> {
    let bad = |why: String| AcsError::Config(format!("CA file {}: {why}", path.display()));
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(pem_error(&e)))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(pem_error(&e)))?;
    if certs.is_empty() {
        return Err(bad("holds no PEM certificate".into()));
    }
    Ok(certs)
}

fn pem_error(e: &pem::Error) -> String {
    match e {
        pem::Error::Io(e) => e.to_string(),
        other => format!("not PEM certificates ({other:?})"),
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// An HTTP/1.1 client for `http://` and `https://` URLs that verifies servers with `config`.
/// Its body type is [`HttpsBody`]; requests time out only as their caller bounds them.
pub type HttpsClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    HttpsBody,
>;

/// The request body of an [`HttpsClient`]: a whole body in memory.
pub type HttpsBody = http_body_util::Full<bytes::Bytes>;

/// Builds an [`HttpsClient`] over `config` (from [`verified`]): plain HTTP for `http://` URLs,
/// TLS for `https://`, idle connections kept for reuse.
pub fn https_client(config: Arc<rustls::ClientConfig>) -> HttpsClient {
    let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
    // The TLS layer above decides the scheme; the TCP connector must let `https://` through.
    http.enforce_http(false);
    http.set_nodelay(true);
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config((*config).clone())
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build(connector)
}

/// The TLS failure inside an error chain, said plainly ("invalid peer certificate:
/// UnknownIssuer"), or `None` when the failure was not TLS. HTTP and MQTT clients wrap rustls'
/// error in an `io::Error`, whose `source` skips the error it wraps, so both links are followed.
pub fn tls_failure(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut next = Some(err);
    // Bounded: a chain is short, and a cycle must not hang a caller.
    for _ in 0..16 {
        let e = next?;
        if let Some(t) = e.downcast_ref::<rustls::Error>() {
            return Some(t.to_string());
        }
        // An `io::Error` that wraps another error (possibly another `io::Error`) is followed
        // into it, since its own `source` skips that error.
        next = match e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    None
}

/// The name a client verifies a server's certificate against: a DNS name or an IP address
/// (CPEs are usually reached by address, so their certificates carry an IP SAN).
pub fn server_name(host: &str) -> Result<ServerName<'static>, AcsError> {
    ServerName::try_from(host.trim_matches(['[', ']']).to_owned())
        .map_err(|e| AcsError::Config(format!("TLS server name {host:?}: {e}")))
}

/// Accepts every certificate; signatures over the handshake are still checked with the
/// provider's algorithms, so the peer must hold the key of the certificate it sent.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_ca_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let err = verified(Some(&missing)).unwrap_err().to_string();
        assert!(err.contains("missing.pem"), "{err}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = verified(Some(&empty)).unwrap_err().to_string();
        assert!(err.contains("empty.pem") && err.contains("no PEM"), "{err}");
    }

    #[test]
    fn a_ca_file_is_trusted_beside_the_system_roots() {
        let dir = tempfile::tempdir().unwrap();
        let ca = rcgen::generate_simple_self_signed(vec!["ca.test".to_owned()]).unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, ca.cert.pem()).unwrap();
        assert!(verified(Some(&path)).is_ok());
        assert!(verified(None).is_ok());
        assert!(unverified().is_ok());
    }

    #[test]
    fn tls_failures_are_found_inside_io_errors() {
        let inner = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, inner);
        let said = tls_failure(&io).unwrap();
        assert!(said.starts_with("invalid peer certificate"), "{said}");
        let twice = std::io::Error::other(io);
        assert_eq!(tls_failure(&twice).as_deref(), Some(said.as_str()));
        let plain = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(tls_failure(&plain), None);
    }

    #[test]
    fn server_names_are_names_or_addresses() {
        assert!(matches!(
            server_name("erp.example").unwrap(),
            ServerName::DnsName(_)
        ));
        assert!(matches!(
            server_name("[::1]").unwrap(),
            ServerName::IpAddress(_)
        ));
        assert!(server_name("bad name!").is_err());
    }
}
