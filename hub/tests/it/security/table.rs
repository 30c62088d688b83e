//! The route × credential table: every route of every surface, the credentials tried on it and
//! the status each must get. It is data: `mod.rs` sends every cell over loopback, `doc.rs`
//! renders it into SECURITY.md, and the coverage checks compare it with `openapi.json` and
//! `nbi::ROUTES`.

/// A listener of the control plane (or of a lab CPE) that takes requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Surface {
    /// The hub API (`openapi.json`), with Kuma's webhook and the provisioner's routes mounted.
    Hub,
    /// The GenieACS-compatible NBI.
    Nbi,
    /// The file server CPEs download from.
    Files,
    /// The modem bridge's own service API (`fibreplane modem serve`).
    Bridge,
    /// The ACS's CWMP port.
    Cwmp,
    /// A CPE's connection-request endpoint (lab cpe-sim).
    CpeCr,
}

impl Surface {
    /// Every surface, in the document's order.
    pub(crate) const ALL: [Self; 6] = [
        Self::Hub,
        Self::Nbi,
        Self::Files,
        Self::Bridge,
        Self::Cwmp,
        Self::CpeCr,
    ];

    /// The heading of its section in SECURITY.md.
    pub(crate) fn title(self) -> &'static str {
        match self {
            Self::Hub => "Hub API (with the Kuma webhook and the provisioner's routes)",
            Self::Nbi => "NBI (GenieACS-compatible)",
            Self::Files => "File server",
            Self::Bridge => "Modem bridge service API",
            Self::Cwmp => "ACS CWMP port",
            Self::CpeCr => "CPE connection-request endpoint (cpe-sim)",
        }
    }

    /// The credentials tried on every route of this surface (the table's columns).
    pub(crate) fn creds(self) -> &'static [Cred] {
        use Cred::*;
        match self {
            Self::Hub => &[
                None,
                Malformed,
                WrongBearer,
                Staff,
                StaffQuery,
                NbiToken,
                TechRight,
                TechOtherJob,
                TechOtherLoc,
                TechExpired,
                TechBadSig,
                TechAlgNone,
                ProxyTrusted,
                ProxyUntrusted,
                KumaWrong,
                KumaBearer,
                KumaHeader,
                KumaQueryWrong,
                KumaQuery,
            ],
            Self::Nbi => &[
                None,
                Malformed,
                WrongBearer,
                Staff,
                TechRight,
                BasicWrong,
                BasicRight,
                NbiToken,
            ],
            Self::Files => &[None, WrongBearer, NbiToken],
            Self::Bridge => &[None, Malformed, WrongBearer, Staff, BridgeToken],
            Self::Cwmp => &[
                None,
                Malformed,
                BasicPlain,
                DigestWrong,
                DigestOtherDevice,
                DigestRight,
            ],
            Self::CpeCr => &[None, Malformed, BasicPlain, DigestWrong, DigestRight],
        }
    }
}

/// One way of (not) authenticating a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Cred {
    /// No credentials at all.
    None,
    /// An `Authorization` header no scheme parses (`Bearer` without a token, a broken Digest).
    Malformed,
    /// A bearer token nobody issued.
    WrongBearer,
    /// The hub's staff token as a bearer token.
    Staff,
    /// The staff token as the `token` query parameter (for browsers' EventSource).
    StaffQuery,
    /// The NBI's token as a bearer token (a different secret from the hub's).
    NbiToken,
    /// HTTP Basic with a wrong password.
    BasicWrong,
    /// HTTP Basic with the right password (the NBI token).
    BasicRight,
    /// A technician token for device 0's location.
    TechRight,
    /// A technician token for another job at device 0's location.
    TechOtherJob,
    /// A technician token for another location.
    TechOtherLoc,
    /// A technician token past its expiry.
    TechExpired,
    /// A technician token signed with another key.
    TechBadSig,
    /// A technician token with `alg: none` and no signature.
    TechAlgNone,
    /// `X-Forwarded-User` from the configured proxy address (127.0.0.2).
    ProxyTrusted,
    /// `X-Forwarded-User` from any other address (127.0.0.1).
    ProxyUntrusted,
    /// A wrong Kuma secret as a bearer token.
    KumaWrong,
    /// The Kuma secret as a bearer token.
    KumaBearer,
    /// The Kuma secret in `X-Kuma-Token`.
    KumaHeader,
    /// A wrong Kuma secret as `?token=`.
    KumaQueryWrong,
    /// The Kuma secret as `?token=`.
    KumaQuery,
    /// The modem bridge's API token.
    BridgeToken,
    /// HTTP Basic with the right password over plain HTTP, where Digest is required.
    BasicPlain,
    /// A correct Digest answer computed with a wrong password.
    DigestWrong,
    /// Another device's own, correct Digest credentials.
    DigestOtherDevice,
    /// The right Digest answer.
    DigestRight,
}

impl Cred {
    /// The column label in SECURITY.md.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Malformed => "malformed",
            Self::WrongBearer => "wrong bearer",
            Self::Staff => "staff",
            Self::StaffQuery => "staff ?token",
            Self::NbiToken => "NBI token",
            Self::BasicWrong => "Basic wrong",
            Self::BasicRight => "Basic right",
            Self::TechRight => "tech",
            Self::TechOtherJob => "tech other job",
            Self::TechOtherLoc => "tech other loc",
            Self::TechExpired => "tech expired",
            Self::TechBadSig => "tech bad sig",
            Self::TechAlgNone => "tech alg none",
            Self::ProxyTrusted => "proxy trusted",
            Self::ProxyUntrusted => "proxy untrusted",
            Self::KumaWrong => "Kuma wrong",
            Self::KumaBearer => "Kuma bearer",
            Self::KumaHeader => "X-Kuma-Token",
            Self::KumaQueryWrong => "Kuma ?token wrong",
            Self::KumaQuery => "Kuma ?token",
            Self::BridgeToken => "bridge token",
            Self::BasicPlain => "Basic (plain HTTP)",
            Self::DigestWrong => "Digest wrong pw",
            Self::DigestOtherDevice => "Digest other device",
            Self::DigestRight => "Digest right",
        }
    }
}

/// Who a route lets in; with the route's success status it gives every cell's expectation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Anyone (health, the OpenAPI document, static page, speed tests, file downloads).
    Open,
    /// Staff (bearer token or trusted proxy); the query token only where `query` is true.
    Staff { query: bool },
    /// Staff, or a technician whose job is at the device's location.
    Scoped { query: bool },
    /// Uptime Kuma's shared secret (bearer, `X-Kuma-Token` or `?token=`).
    Kuma,
    /// Only the staff bearer token, checked by the provisioner's own API.
    StaffBearerOnly,
    /// The NBI token (bearer, or Basic's password).
    NbiAuth,
    /// The modem bridge's API token.
    BridgeAuth,
    /// No method of this route exists: 405 whatever the credentials.
    NotAllowed,
    /// A correct Digest answer of the device itself.
    Digest,
}

impl Access {
    /// The status `cred` must get on a route with this access whose success status is `ok`.
    pub(crate) fn expect(self, cred: Cred, ok: u16) -> u16 {
        use Cred::*;
        let tech_valid = matches!(cred, TechRight | TechOtherJob | TechOtherLoc);
        match self {
            Self::Open => ok,
            Self::NotAllowed => 405,
            Self::Staff { query } => match cred {
                Staff | ProxyTrusted => ok,
                StaffQuery if query => ok,
                _ if tech_valid => 403,
                _ => 401,
            },
            Self::Scoped { query } => match cred {
                Staff | ProxyTrusted | TechRight | TechOtherJob => ok,
                StaffQuery if query => ok,
                TechOtherLoc => 403,
                _ => 401,
            },
            Self::Kuma => match cred {
                KumaBearer | KumaHeader | KumaQuery => ok,
                _ => 401,
            },
            Self::StaffBearerOnly => match cred {
                Staff => ok,
                _ => 401,
            },
            Self::NbiAuth => match cred {
                NbiToken | BasicRight => ok,
                _ => 401,
            },
            Self::BridgeAuth => match cred {
                BridgeToken => ok,
                _ => 401,
            },
            Self::Digest => match cred {
                DigestRight => ok,
                _ => 401,
            },
        }
    }
}

/// One route of one surface.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Row {
    pub(crate) surface: Surface,
    pub(crate) method: &'static str,
    /// The route as documented (`/devices/{id}/summary`).
    pub(crate) route: &'static str,
    /// What is requested: the route with `{dev0}`, `{dev1}`, `{modem}` filled in at run time.
    pub(crate) target: &'static str,
    /// The request body, if any.
    pub(crate) body: Option<&'static str>,
    pub(crate) access: Access,
    /// The status of an authorised call.
    pub(crate) ok: u16,
}

impl Row {
    /// The expected status of each of the surface's credentials, in column order.
    pub(crate) fn expected(&self) -> Vec<(Cred, u16)> {
        self.surface
            .creds()
            .iter()
            .map(|&c| (c, self.access.expect(c, self.ok)))
            .collect()
    }
}

const fn row(
    surface: Surface,
    method: &'static str,
    route: &'static str,
    target: &'static str,
    access: Access,
    ok: u16,
) -> Row {
    Row {
        surface,
        method,
        route,
        target,
        body: None,
        access,
        ok,
    }
}

const fn with_body(mut r: Row, body: &'static str) -> Row {
    r.body = Some(body);
    r
}

const STAFF_GET: Access = Access::Staff { query: true };
const STAFF_POST: Access = Access::Staff { query: false };
const KUMA_TEST: &str = r#"{"heartbeat":null,"monitor":null,"msg":"Fibreplane security test"}"#;
const TASK: &str = r#"{"name":"getParameterValues","parameterNames":["Device.DeviceInfo.UpTime"]}"#;
const PRESET: &str =
    r#"{"weight":0,"channel":"sec","precondition":"{\"_tags\":\"sec-none\"}","configurations":[]}"#;

/// The table.
pub(crate) fn rows() -> Vec<Row> {
    use Access::*;
    use Surface::*;
    vec![
        // The hub API, in openapi.json's order.
        row(Hub, "GET", "/healthz", "/healthz", Open, 200),
        row(Hub, "GET", "/openapi.json", "/openapi.json", Open, 200),
        row(Hub, "GET", "/metrics", "/metrics", STAFF_GET, 200),
        row(
            Hub,
            "GET",
            "/events",
            "/events?topics=device:{dev0}",
            Scoped { query: true },
            200,
        ),
        with_body(
            row(Hub, "POST", "/tech/tokens", "/tech/tokens", STAFF_POST, 200),
            r#"{"technician":"t-9","job":"JOB-9","location":"LOC-00001","ttl_secs":60}"#,
        ),
        row(
            Hub,
            "GET",
            "/devices/lookup",
            "/devices/lookup?serial=FPSIM00000000",
            STAFF_GET,
            200,
        ),
        row(
            Hub,
            "GET",
            "/network/topology",
            "/network/topology",
            STAFF_GET,
            200,
        ),
        row(Hub, "GET", "/olt", "/olt", STAFF_GET, 200),
        row(Hub, "GET", "/olt/{id}", "/olt/olt-demo", STAFF_GET, 200),
        row(
            Hub,
            "GET",
            "/modem/{id}/{section}",
            "/modem/{modem}/device",
            STAFF_GET,
            200,
        ),
        row(Hub, "GET", "/j/diagnostic", "/j/diagnostic", Open, 200),
        row(
            Hub,
            "GET",
            "/devices/{id}/summary",
            "/devices/{dev0}/summary?refresh=never",
            Scoped { query: true },
            200,
        ),
        with_body(
            row(
                Hub,
                "POST",
                "/devices/{id}/diagnostics/{kind}",
                "/devices/{dev0}/diagnostics/ping",
                Scoped { query: false },
                200,
            ),
            r#"{"count":1,"timeout_secs":30}"#,
        ),
        row(
            Hub,
            "GET",
            "/speedtest/download",
            "/speedtest/download?bytes=16",
            Open,
            200,
        ),
        with_body(
            row(
                Hub,
                "PUT",
                "/speedtest/upload",
                "/speedtest/upload",
                Open,
                200,
            ),
            "sixteen bytes...",
        ),
        with_body(
            row(
                Hub,
                "POST",
                "/speedtest/upload",
                "/speedtest/upload",
                Open,
                200,
            ),
            "sixteen bytes...",
        ),
        row(Hub, "GET", "/outages", "/outages", STAFF_GET, 200),
        row(
            Hub,
            "GET",
            "/outages/{id}",
            "/outages/no-such-outage",
            STAFF_GET,
            404,
        ),
        with_body(
            row(Hub, "POST", "/webhook/kuma", "/webhook/kuma", Kuma, 200),
            KUMA_TEST,
        ),
        row(
            Hub,
            "GET",
            "/webhook/kuma",
            "/webhook/kuma?msg=test",
            Kuma,
            200,
        ),
        // The provisioner's routes, mounted on the hub's listener.
        row(
            Hub,
            "GET",
            "/provisioning/quarantine",
            "/provisioning/quarantine",
            StaffBearerOnly,
            200,
        ),
        row(
            Hub,
            "GET",
            "/provisioning/{device}",
            "/provisioning/{dev1}",
            StaffBearerOnly,
            200,
        ),
        row(
            Hub,
            "POST",
            "/provisioning/{device}/retry",
            "/provisioning/{dev1}/retry",
            StaffBearerOnly,
            202,
        ),
        // The NBI, in nbi::ROUTES's order.
        row(
            Nbi,
            "GET",
            "/devices",
            "/devices/?projection=_id",
            NbiAuth,
            200,
        ),
        row(Nbi, "HEAD", "/devices", "/devices/", NbiAuth, 200),
        row(Nbi, "GET", "/tasks", "/tasks/", NbiAuth, 200),
        row(Nbi, "HEAD", "/tasks", "/tasks/", NbiAuth, 200),
        row(Nbi, "GET", "/faults", "/faults/", NbiAuth, 200),
        row(Nbi, "HEAD", "/faults", "/faults/", NbiAuth, 200),
        row(Nbi, "GET", "/presets", "/presets/", NbiAuth, 200),
        row(Nbi, "HEAD", "/presets", "/presets/", NbiAuth, 200),
        row(Nbi, "GET", "/objects", "/objects/", NbiAuth, 200),
        row(Nbi, "HEAD", "/objects", "/objects/", NbiAuth, 200),
        row(Nbi, "GET", "/provisions", "/provisions/", NbiAuth, 200),
        row(Nbi, "HEAD", "/provisions", "/provisions/", NbiAuth, 200),
        row(
            Nbi,
            "GET",
            "/virtual_parameters",
            "/virtual_parameters/",
            NbiAuth,
            200,
        ),
        row(
            Nbi,
            "HEAD",
            "/virtual_parameters",
            "/virtual_parameters/",
            NbiAuth,
            200,
        ),
        row(Nbi, "GET", "/files", "/files/", NbiAuth, 200),
        row(Nbi, "HEAD", "/files", "/files/", NbiAuth, 200),
        row(Nbi, "GET", "/discovery", "/discovery/", NbiAuth, 200),
        row(Nbi, "HEAD", "/discovery", "/discovery/", NbiAuth, 200),
        with_body(
            row(
                Nbi,
                "PUT",
                "/presets/{name}",
                "/presets/sec-preset",
                NbiAuth,
                200,
            ),
            PRESET,
        ),
        row(
            Nbi,
            "DELETE",
            "/presets/{name}",
            "/presets/sec-preset",
            NbiAuth,
            200,
        ),
        with_body(
            row(
                Nbi,
                "PUT",
                "/objects/{name}",
                "/objects/sec-object",
                NbiAuth,
                200,
            ),
            r#"{"_keys":[]}"#,
        ),
        row(
            Nbi,
            "DELETE",
            "/objects/{name}",
            "/objects/sec-object",
            NbiAuth,
            200,
        ),
        with_body(
            row(
                Nbi,
                "PUT",
                "/provisions/{name}",
                "/provisions/sec-prov",
                NbiAuth,
                200,
            ),
            "log('security test');",
        ),
        row(
            Nbi,
            "DELETE",
            "/provisions/{name}",
            "/provisions/sec-prov",
            NbiAuth,
            200,
        ),
        with_body(
            row(
                Nbi,
                "PUT",
                "/virtual_parameters/{name}",
                "/virtual_parameters/sec-vp",
                NbiAuth,
                200,
            ),
            "return {writable: false, value: ['x', 'xsd:string']};",
        ),
        row(
            Nbi,
            "DELETE",
            "/virtual_parameters/{name}",
            "/virtual_parameters/sec-vp",
            NbiAuth,
            200,
        ),
        with_body(
            row(
                Nbi,
                "PUT",
                "/files/{name}",
                "/files/sec-file.bin",
                NbiAuth,
                201,
            ),
            "firmware image bytes",
        ),
        row(
            Nbi,
            "DELETE",
            "/files/{name}",
            "/files/sec-gone.bin",
            NbiAuth,
            404,
        ),
        with_body(
            row(
                Nbi,
                "POST",
                "/devices/{id}/tasks",
                "/devices/{dev1}/tasks",
                NbiAuth,
                202,
            ),
            TASK,
        ),
        row(
            Nbi,
            "POST",
            "/devices/{id}/tags/{tag}",
            "/devices/{dev1}/tags/sec",
            NbiAuth,
            200,
        ),
        row(
            Nbi,
            "DELETE",
            "/devices/{id}/tags/{tag}",
            "/devices/{dev1}/tags/sec",
            NbiAuth,
            200,
        ),
        row(
            Nbi,
            "DELETE",
            "/devices/{id}",
            "/devices/1C61B4-Device2-NOSUCHDEVICE",
            NbiAuth,
            200,
        ),
        row(
            Nbi,
            "DELETE",
            "/faults/{id}",
            "/faults/no-such-fault",
            NbiAuth,
            200,
        ),
        row(
            Nbi,
            "DELETE",
            "/tasks/{id}",
            "/tasks/000000000000000000000000",
            NbiAuth,
            404,
        ),
        row(
            Nbi,
            "POST",
            "/tasks/{id}/retry",
            "/tasks/000000000000000000000000/retry",
            NbiAuth,
            404,
        ),
        row(Nbi, "GET", "/ping/{host}", "/ping/127.0.0.1", NbiAuth, 200),
        row(Nbi, "HEAD", "/ping/{host}", "/ping/127.0.0.1", NbiAuth, 200),
        // The file server: downloads for anyone (CPEs), no writes for anyone but a CPE's
        // upload to a slot an `upload` task opened (an unknown token is not found).
        row(Files, "GET", "/{name}", "/sec-file.bin", Open, 200),
        row(Files, "HEAD", "/{name}", "/sec-file.bin", Open, 200),
        row(
            Files,
            "PUT",
            "/upload/{token}",
            "/upload/00000000000000000000000000000000",
            Open,
            404,
        ),
        row(
            Files,
            "POST",
            "/upload/{token}",
            "/upload/00000000000000000000000000000000",
            Open,
            404,
        ),
        row(Files, "PUT", "/{name}", "/sec-file.bin", NotAllowed, 405),
        row(Files, "POST", "/{name}", "/sec-file.bin", NotAllowed, 405),
        row(Files, "DELETE", "/{name}", "/sec-file.bin", NotAllowed, 405),
        // The modem bridge's own API.
        row(
            Bridge,
            "GET",
            "/modem/{id}/diagnostics",
            "/modem/{modem}/diagnostics",
            BridgeAuth,
            200,
        ),
        row(
            Bridge,
            "GET",
            "/modem/{id}/{section}",
            "/modem/{modem}/wan",
            BridgeAuth,
            200,
        ),
        // CWMP: an Inform from device FPSECURITY0.
        row(Cwmp, "POST", "/", "/", Digest, 200),
        row(Cwmp, "GET", "/", "/", NotAllowed, 405),
        // A CPE's connection-request URL.
        row(CpeCr, "GET", "/cr/{i}", "/cr/0", Digest, 200),
        row(CpeCr, "POST", "/cr/{i}", "/cr/0", NotAllowed, 405),
    ]
}
