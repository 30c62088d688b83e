//! The credential API of the ACS: explicit credentials set and cleared (the NBI), adoptions
//! begun by the importer and by adoption files, the listing the NBI shows, vendors' default
//! credentials, and the count of open adoptions behind the `adopting` gauge.

use super::{AdoptReason, Adoption, BY_SERIAL, COLLECTION, CredentialRecord, url_host_ip};
use crate::{Acs, AcsError};
use acs_store::{DeviceId, DeviceMeta, Index, Op};
use fibreplane_types::Secret;
use std::net::IpAddr;

/// A vendor's factory-default ACS credentials for one model (OUI and ProductClass as the CPE
/// reports them), from configuration.
#[derive(Clone, PartialEq, Eq)]
pub struct VendorDefault {
    /// `OUI`.
    pub oui: String,
    /// `ProductClass`.
    pub product_class: String,
    /// The default `ManagementServer.Username`.
    pub username: String,
    /// The default `ManagementServer.Password`.
    pub password: Secret,
}

impl std::fmt::Debug for VendorDefault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VendorDefault")
            .field("oui", &self.oui)
            .field("product_class", &self.product_class)
            .field("username", &self.username)
            .field("password", &self.password)
            .finish()
    }
}

/// Why a credential request was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialsError {
    /// No such device.
    #[error("unknown device")]
    UnknownDevice,
    /// The request is not usable (empty username or password, a bad line).
    #[error("{0}")]
    Invalid(String),
    /// The ACS failed.
    #[error(transparent)]
    Acs(#[from] AcsError),
}

impl From<acs_store::StoreError> for CredentialsError {
    fn from(e: acs_store::StoreError) -> Self {
        Self::Acs(AcsError::from(e))
    }
}

/// One line of an adoption file: a serial number, and the addresses its device may adopt from
/// (each an address, or a URL whose host is one: the ConnectionRequestURL, which then is also
/// where the confirming connection request goes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdoptionEntry {
    /// `SerialNumber`.
    pub serial: String,
    /// Source addresses.
    pub bound: Vec<IpAddr>,
    /// The ConnectionRequestURL, when the line gives one.
    pub cr_url: Option<String>,
}

/// Reads an adoption file: one device per line, `SERIAL [ADDRESS | URL]...`, separated by
/// spaces, tabs or commas; `#` starts a comment. Every error names its line.
pub fn parse_adoption_file(text: &str) -> Result<Vec<AdoptionEntry>, CredentialsError> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        let mut fields = line.split([' ', '\t', ',']).filter(|f| !f.is_empty());
        let Some(serial) = fields.next() else {
            continue;
        };
        let mut entry = AdoptionEntry {
            serial: serial.to_owned(),
            bound: Vec::new(),
            cr_url: None,
        };
        for f in fields {
            if f.contains("://") {
                let ip = url_host_ip(f).ok_or_else(|| {
                    CredentialsError::Invalid(format!(
                        "line {}: {f}: the URL's host is not an address",
                        n + 1
                    ))
                })?;
                entry.bound.push(ip);
                entry.cr_url = Some(f.to_owned());
            } else {
                let ip = f.parse::<IpAddr>().map_err(|_| {
                    CredentialsError::Invalid(format!("line {}: {f}: not an address", n + 1))
                })?;
                entry.bound.push(ip.to_canonical());
            }
        }
        out.push(entry);
    }
    Ok(out)
}

/// Reads a file of vendors' default credentials: one model per line, `OUI PRODUCTCLASS
/// USERNAME [PASSWORD]` separated by spaces or tabs (the password is the rest of the line, and
/// may be empty, as some vendors ship it); `#` starts a comment. Every error names its line.
pub fn parse_vendor_defaults(text: &str) -> Result<Vec<VendorDefault>, CredentialsError> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut rest = line;
        let mut next = || {
            let t = rest.trim_start();
            let end = t.find([' ', '\t']).unwrap_or(t.len());
            let (field, tail) = t.split_at(end);
            rest = tail;
            field.to_owned()
        };
        let (oui, product_class, username) = (next(), next(), next());
        if username.is_empty() {
            return Err(CredentialsError::Invalid(format!(
                "line {}: expected OUI PRODUCTCLASS USERNAME [PASSWORD]",
                n + 1
            )));
        }
        out.push(VendorDefault {
            oui,
            product_class,
            username,
            password: Secret::new(rest.trim()),
        });
    }
    Ok(out)
}

/// The addresses a known device may adopt from: the host of its ConnectionRequestURL and its
/// reported WAN address (when they are address literals), and `extra`.
pub(crate) fn bound_of(meta: &DeviceMeta, extra: &[IpAddr]) -> Vec<IpAddr> {
    let mut bound: Vec<IpAddr> = extra.iter().map(|ip| ip.to_canonical()).collect();
    bound.extend(url_host_ip(&meta.connection_request_url));
    bound.extend(
        meta.wan_ip
            .parse::<IpAddr>()
            .ok()
            .map(|ip| ip.to_canonical()),
    );
    bound.sort();
    bound.dedup();
    bound
}

/// The write that gives an imported device its credentials: explicit when the import read a
/// username and a password, else an adoption bound to what the import knows of the device;
/// `None` when it knows no address to bind to (the device keeps derived credentials).
pub fn import_op(meta: &DeviceMeta, username: &str, password: &str, now_ms: i64) -> Option<Op> {
    let record = if !username.is_empty() && !password.is_empty() {
        CredentialRecord::Explicit {
            username: username.to_owned(),
            password: Secret::new(password),
        }
    } else {
        let bound = bound_of(meta, &[]);
        if bound.is_empty() {
            return None;
        }
        CredentialRecord::Adopting(
            Adoption::new(
                AdoptReason::Imported,
                now_ms,
                bound,
                meta.connection_request_url.clone(),
            )
            .with_known_cr(&meta.cr_username, &meta.cr_password),
        )
    };
    Some(Op::PutDoc {
        collection: COLLECTION.to_owned(),
        name: meta.id.as_str().to_owned(),
        body: record.encode(),
    })
}

/// A device's credential state as the NBI lists it: never a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialView {
    /// The device (a serial for an adoption whose device was never seen).
    pub name: String,
    /// Whether `name` is a serial number.
    pub by_serial: bool,
    /// `explicit`, `adopting` or `rekeyed`.
    pub state: &'static str,
    /// The explicit username.
    pub username: Option<String>,
    /// The adoption, when adopting.
    pub adoption: Option<Adoption>,
    /// When the adoption window closes.
    pub expires_ms: Option<i64>,
}

impl Adoption {
    /// The same adoption with old credentials that can be verified (a vendor's defaults).
    pub(crate) fn with_old(mut self, username: String, password: String) -> Self {
        self.old = Some((username, password));
        self
    }
}

impl Acs {
    /// The configured defaults of a CPE's model, if any.
    pub(crate) fn vendor_default(&self, id: &cwmp::DeviceIdStruct) -> Option<&VendorDefault> {
        self.config
            .vendor_defaults
            .iter()
            .find(|v| v.oui.eq_ignore_ascii_case(&id.oui) && v.product_class == id.product_class)
    }

    pub(crate) fn adoption_window_ms(&self) -> i64 {
        i64::try_from(self.config.adoption_window.as_millis()).unwrap_or(i64::MAX)
    }

    /// Whether any adoption is open: only then does a request without credentials get its
    /// Inform read (an adopting device is not challenged), instead of the cheap 401.
    pub(crate) fn adoption_open(&self) -> bool {
        self.metrics.adopting.get() > 0
    }

    /// Counts the open adoptions again (done at start, every minute and after each change made
    /// through this API: another node, the importer and closing windows change the count).
    pub async fn count_adoptions(&self) -> Result<(), AcsError> {
        let now = self.clock_ms();
        let window = self.adoption_window_ms();
        let mut n = 0i64;
        for collection in [COLLECTION, BY_SERIAL] {
            for (name, bytes) in self.store.docs(collection).await? {
                if let Some(CredentialRecord::Adopting(a)) = CredentialRecord::decode(&name, &bytes)
                    && a.expires_ms(window) >= now
                {
                    n += 1;
                }
            }
        }
        self.metrics.adopting.set(n);
        Ok(())
    }

    /// Gives a device explicit credentials: from now on it authenticates with these only.
    pub async fn set_credentials(
        &self,
        device: &DeviceId,
        username: &str,
        password: Secret,
    ) -> Result<(), CredentialsError> {
        if username.is_empty() || password.is_empty() {
            return Err(CredentialsError::Invalid(
                "username and password must not be empty".into(),
            ));
        }
        if self.store.get(device).await?.is_none() {
            return Err(CredentialsError::UnknownDevice);
        }
        let record = CredentialRecord::Explicit {
            username: username.to_owned(),
            password,
        };
        self.write(vec![Op::PutDoc {
            collection: COLLECTION.to_owned(),
            name: device.as_str().to_owned(),
            body: record.encode(),
        }])
        .await?;
        self.count_adoptions().await?;
        Ok(())
    }

    /// Returns a device to derived credentials (ends an explicit state or an adoption).
    pub async fn clear_credentials(&self, device: &DeviceId) -> Result<(), CredentialsError> {
        self.write(vec![Op::DeleteDoc {
            collection: COLLECTION.to_owned(),
            name: device.as_str().to_owned(),
        }])
        .await?;
        self.count_adoptions().await?;
        Ok(())
    }

    /// Opens adoptions for the devices an adoption file names. A serial of a device in the
    /// store adopts that device, bound to the file's addresses and what its record knows; a
    /// serial the store does not know is kept by serial, bound to the file's addresses (which it
    /// must give). Returns how many entries were recorded.
    pub async fn adopt(&self, entries: &[AdoptionEntry]) -> Result<usize, CredentialsError> {
        let now = self.clock_ms();
        let mut ops = Vec::new();
        for e in entries {
            let devices = self.store.scan_index(Index::Serial, &e.serial).await?;
            if devices.len() > 1 {
                return Err(CredentialsError::Invalid(format!(
                    "serial {} names {} devices; adopt them by device id",
                    e.serial,
                    devices.len()
                )));
            }
            let known = match devices.first() {
                Some(id) => self.store.get(id).await?.map(|v| v.value),
                None => None,
            };
            let (name, collection, bound, url, cr) = match &known {
                Some(meta) => (
                    meta.id.as_str().to_owned(),
                    COLLECTION,
                    bound_of(meta, &e.bound),
                    e.cr_url
                        .clone()
                        .unwrap_or_else(|| meta.connection_request_url.clone()),
                    (meta.cr_username.as_str(), meta.cr_password.as_str()),
                ),
                None => (
                    e.serial.clone(),
                    BY_SERIAL,
                    e.bound.clone(),
                    e.cr_url.clone().unwrap_or_default(),
                    ("", ""),
                ),
            };
            if bound.is_empty() {
                return Err(CredentialsError::Invalid(format!(
                    "serial {}: no address to bind the adoption to",
                    e.serial
                )));
            }
            let record = CredentialRecord::Adopting(
                Adoption::new(AdoptReason::File, now, bound, url).with_known_cr(cr.0, cr.1),
            );
            ops.push(Op::PutDoc {
                collection: collection.to_owned(),
                name,
                body: record.encode(),
            });
        }
        let n = ops.len();
        self.write(ops).await?;
        self.count_adoptions().await?;
        Ok(n)
    }

    /// Every device whose credentials are not derived, and every adoption by serial, in name
    /// order: state, explicit username, adoption details. Passwords are never part of it.
    pub async fn credentials(&self) -> Result<Vec<CredentialView>, AcsError> {
        let window = self.adoption_window_ms();
        let mut out = Vec::new();
        for (collection, by_serial) in [(COLLECTION, false), (BY_SERIAL, true)] {
            for (name, bytes) in self.store.docs(collection).await? {
                let Some(record) = CredentialRecord::decode(&name, &bytes) else {
                    continue;
                };
                let state = record.state();
                let (username, adoption) = match record {
                    CredentialRecord::Explicit { username, .. } => (Some(username), None),
                    CredentialRecord::Adopting(a) => (None, Some(a)),
                };
                out.push(CredentialView {
                    name,
                    by_serial,
                    state,
                    username,
                    expires_ms: adoption.as_ref().map(|a| a.expires_ms(window)),
                    adoption,
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adoption_files_name_serials_and_addresses() {
        let text = "# serial, then where it may come from\n\
                    FPSIM00000001 192.0.2.7\n\
                    \n\
                    FPSIM00000002, http://198.51.100.4:7547/cr  2001:db8::2 # two ways\n\
                    FPSIM00000003\n";
        let e = parse_adoption_file(text).unwrap();
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].bound, ["192.0.2.7".parse::<IpAddr>().unwrap()]);
        assert_eq!(e[1].cr_url.as_deref(), Some("http://198.51.100.4:7547/cr"));
        assert_eq!(e[1].bound.len(), 2);
        assert!(e[2].bound.is_empty());
        let err = parse_adoption_file("A 1.2.3\n").unwrap_err().to_string();
        assert!(err.contains("line 1"), "{err}");
        let err = parse_adoption_file("\nA http://cpe.example/\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn vendor_defaults_are_read_per_model() {
        let v = parse_vendor_defaults("# vendor defaults\n1C61B4 Device2 admin\n00259E HG8245H telecomadmin admintelecom pw\n").unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(
            (
                v[0].oui.as_str(),
                v[0].product_class.as_str(),
                v[0].username.as_str()
            ),
            ("1C61B4", "Device2", "admin")
        );
        assert!(v[0].password.is_empty());
        assert_eq!(v[1].password.expose(), "admintelecom pw");
        assert!(!format!("{v:?}").contains("admintelecom"));
        let err = parse_vendor_defaults("\nA B\n").unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn imports_are_explicit_with_credentials_and_bound_adoptions_without() {
        let id = DeviceId::parse("1C61B4-Device2-X").unwrap();
        let mut meta = DeviceMeta::new(id, acs_store::Identity::default());
        assert!(import_op(&meta, "", "", 5).is_none(), "nothing to bind to");
        meta.connection_request_url = "http://192.0.2.9:7547/".into();
        let Some(Op::PutDoc { body, .. }) = import_op(&meta, "u", "p", 5) else {
            panic!("an explicit record")
        };
        assert_eq!(
            CredentialRecord::decode("x", &body).unwrap().state(),
            "explicit"
        );
        let Some(Op::PutDoc { body, .. }) = import_op(&meta, "u", "", 5) else {
            panic!("an adoption")
        };
        let Some(CredentialRecord::Adopting(a)) = CredentialRecord::decode("x", &body) else {
            panic!("adopting")
        };
        assert_eq!(a.bound, ["192.0.2.9".parse::<IpAddr>().unwrap()]);
        assert_eq!(a.known_cr_url, "http://192.0.2.9:7547/");
        assert_eq!(a.reason, AdoptReason::Imported);
    }
}
