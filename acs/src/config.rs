//! ACS configuration: every knob has a default that works on a lab machine.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

// Passwords and tokens are the workspace's one `Secret` type: `Debug` and `Display` print `***`,
// so a value cannot leak through logs or error messages by accident.
pub use fibreplane_types::Secret;

/// How the ACS authenticates CPEs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpeAuthMode {
    /// HTTP Digest (MD5, qop=auth); Basic is accepted only over TLS.
    Digest,
    /// No authentication: only for the lab.
    None,
}

/// Which storage engine backs the device store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreBackend {
    /// redb, the embedded default.
    Redb,
    /// sled 0.34 (needs the `sled` cargo feature).
    Sled,
}

/// PEM files for the optional TLS listener.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// Certificate chain, PEM.
    pub cert: PathBuf,
    /// Private key, PEM.
    pub key: PathBuf,
}

/// How connection requests to `https://` ConnectionRequestURLs check the CPE's certificate.
/// CPE certificates are usually self-signed; the default still verifies them, against the
/// system's roots and `ca_file`, and skipping verification is a deliberate, logged choice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrTls {
    /// A PEM file of the CAs that signed the fleet's CPE certificates, trusted beside the
    /// system's roots.
    pub ca_file: Option<PathBuf>,
    /// Accept any CPE certificate. The channel is still encrypted and the CPE must hold its
    /// certificate's key, but anyone on the path could pose as the CPE; the ACS logs a warning
    /// at start-up and at the first such request.
    pub skip_verify: bool,
}

/// Everything the ACS needs to run.
#[derive(Debug, Clone)]
pub struct AcsConfig {
    /// Where the CWMP listener binds (the caller binds it; this is for logs and defaults).
    pub cwmp_listen: SocketAddr,
    /// Directory that holds the store file.
    pub data_dir: PathBuf,
    /// Storage engine.
    pub backend: StoreBackend,
    /// CPE authentication mode.
    pub cpe_auth: CpeAuthMode,
    /// Secret from which per-device CPE passwords are derived when a device has none of its own:
    /// `hex(HMAC-SHA256(secret, username))[..20]`.
    pub cpe_secret: Secret,
    /// Digest realm.
    pub realm: String,
    /// Optional TLS (rustls).
    pub tls: Option<TlsFiles>,
    /// Parser limits for authenticated sessions.
    pub limits: cwmp::Limits,
    /// Largest body accepted before the CPE has authenticated (an Inform is a few KiB).
    pub max_unauthenticated_body: usize,
    /// CWMP session timeout when the CPE does not announce its own.
    pub session_timeout: Duration,
    /// How long a completed task's record is kept for callers waiting on it before it is
    /// deleted (GenieACS deletes it at once; the NBI never lists completed tasks).
    pub done_task_retention: Duration,
    /// Time allowed to receive a request's headers.
    pub header_timeout: Duration,
    /// A keep-alive connection idle this long is closed.
    pub idle_timeout: Duration,
    /// Concurrent CWMP sessions; above it new Informs get 503 with a spread Retry-After.
    pub max_sessions: usize,
    /// Bounds of the Retry-After seconds given with 503. Within them it is drawn at random up
    /// to the time the ACS needs to serve the Informs it refused lately, spreading a herd over
    /// that time.
    pub retry_after_secs: (u32, u32),
    /// Connection-request timeout.
    pub cr_timeout: Duration,
    /// How long the NBI waits for a device's session to start after a connection request when
    /// the request names no `timeout` (GenieACS's `cwmp.deviceOnlineThreshold`).
    pub device_online_threshold: Duration,
    /// Certificate checks of connection requests over HTTPS.
    pub cr_tls: CrTls,
    /// First retry delay of a faulted task; doubled on every further fault.
    pub task_retry_base: Duration,
    /// Faults after which a task stops being retried and is reported faulted for good.
    pub task_max_attempts: u32,
    /// How long after a Download (Upload, ScheduleDownload, ChangeDUState) the CPE accepted
    /// for later its task waits for the completion before it faults `timeout`: GenieACS's
    /// `cwmp.downloadTimeout`, 3600 s by default. Checked at the device's next session.
    pub download_timeout: Duration,
    /// Whether the ACS sets connection-request credentials on devices that have none it knows.
    pub manage_cr_credentials: bool,
    /// Whether a new or bootstrapping device's whole tree is discovered (GPN + GPV of the root).
    pub refresh_on_bootstrap: bool,
    /// Base URL of the file server (`http://host:7567`) that Downloads declared by presets point
    /// CPEs at; the NBI's `download` tasks use the same server.
    pub file_server_url: Option<String>,
    /// Added to a diagnostic's own worst-case duration before the ACS stops waiting for its
    /// `8 DIAGNOSTICS COMPLETE` and reads the state itself.
    pub diagnostic_margin: Duration,
    /// Pause between reads of the state of a diagnostic still `Requested`.
    pub diagnostic_poll_interval: Duration,
    /// Most reads of a diagnostic's state before it is given up as timed out.
    pub diagnostic_polls: u32,
    /// How long after it began an adoption admits its device without verified credentials
    /// (see [`crate::credentials`]).
    pub adoption_window: Duration,
    /// Vendors' factory-default ACS credentials by model: a known CPE back with `0 BOOTSTRAP`
    /// and these is adopted again (re-keyed, never trusted with secrets before that).
    pub vendor_defaults: Vec<crate::credentials::VendorDefault>,
    /// GenieACS's `EXT_DIR`: where the extensions scripts call with `ext()` are (Node.js
    /// modules, run as child processes); `None`, and `ext()` is a fault.
    pub ext_dir: Option<PathBuf>,
}

impl Default for AcsConfig {
    fn default() -> Self {
        Self {
            cwmp_listen: SocketAddr::from(([0, 0, 0, 0], 7547)),
            data_dir: PathBuf::from("data"),
            backend: StoreBackend::Redb,
            cpe_auth: CpeAuthMode::Digest,
            cpe_secret: Secret::default(),
            realm: "Fibreplane".to_owned(),
            tls: None,
            limits: cwmp::Limits::default(),
            max_unauthenticated_body: 64 * 1024,
            session_timeout: Duration::from_secs(30),
            done_task_retention: Duration::from_secs(600),
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_sessions: 2048,
            retry_after_secs: (1, 180),
            cr_timeout: Duration::from_secs(3),
            device_online_threshold: Duration::from_secs(4),
            cr_tls: CrTls::default(),
            task_retry_base: Duration::from_secs(300),
            task_max_attempts: 5,
            download_timeout: Duration::from_secs(3600),
            manage_cr_credentials: true,
            refresh_on_bootstrap: true,
            file_server_url: None,
            diagnostic_margin: Duration::from_secs(10),
            diagnostic_poll_interval: Duration::from_secs(10),
            diagnostic_polls: 6,
            adoption_window: Duration::from_secs(14 * 86_400),
            vendor_defaults: Vec::new(),
            ext_dir: None,
        }
    }
}
