//! A device's consolidated summary, extracted from its stored parameter tree: identity and
//! firmware, WAN, LAN, Wi-Fi, connected hosts, optics and voice lines.
//!
//! Pure code over a [`ParamTree`] (and the device's [`DeviceMeta`]): TR-181 and TR-098 trees of
//! any vendor, each fact with the path it came from and when it was read. Every section reports
//! whether it is fresh, stale or missing, and which objects to refresh (the hub refreshes them
//! with `RefreshObject` tasks and a connection request). Nothing here panics on a strange tree:
//! values that do not parse are left out.
//!
//! Architecture invariant: no extractor reads a password, passphrase or key; secrets are not in
//! a summary even when a CPE wrongly reports them.

mod device;
mod fresh;
mod optics;
mod voice;
mod wan;
mod wifi;

pub use fresh::{SectionState, Staleness, Status};
pub use optics::{OpticalProfile, PROFILES, PowerUnit};

use crate::datamodel::{DataModel, View, parse_bool, parse_u64};
use acs_store::{DeviceMeta, ParamTree};
use serde::Serialize;

/// One fact read from the tree.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fact<T> {
    /// The value, converted to the summary's unit.
    pub value: T,
    /// The parameter it comes from.
    pub path: String,
    /// When that parameter was read (ms since the epoch).
    pub read_ms: i64,
}

impl<T> Fact<T> {
    /// The same provenance with another value (a conversion or a derivation).
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Fact<U> {
        Fact {
            value: f(self.value),
            path: self.path,
            read_ms: self.read_ms,
        }
    }
}

/// The sections of a summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    /// Manufacturer, model, serial, firmware, uptime.
    Identity,
    /// WAN connections.
    Wan,
    /// LAN address and DHCP server.
    Lan,
    /// Radios and SSIDs.
    Wifi,
    /// Connected hosts.
    Hosts,
    /// ONU optical levels.
    Optics,
    /// SIP lines.
    Voice,
}

impl Section {
    /// Every section, in summary order.
    pub const ALL: [Self; 7] = [
        Self::Identity,
        Self::Wan,
        Self::Lan,
        Self::Wifi,
        Self::Hosts,
        Self::Optics,
        Self::Voice,
    ];
}

pub use device::{Identity, Lan};
pub use optics::Optics;
pub use voice::VoiceLine;
pub use wan::{WanConnection, WanKind};
pub use wifi::{Host, Radio, Ssid, Wifi};

/// Everything the technician and network pages show about a device.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceSummary {
    /// The device id, when the metadata was given.
    pub device: Option<String>,
    /// TR-181 or TR-098; `None` when the tree says neither.
    pub data_model: Option<DataModel>,
    /// Identity and firmware.
    pub identity: Identity,
    /// WAN connections, the one carrying the default route first.
    pub wan: Vec<WanConnection>,
    /// The LAN side.
    pub lan: Option<Lan>,
    /// Radios and SSIDs.
    pub wifi: Wifi,
    /// Hosts the device knows.
    pub hosts: Vec<Host>,
    /// ONU optical levels in dBm.
    pub optics: Option<Optics>,
    /// SIP lines (never their passwords).
    pub voice: Vec<VoiceLine>,
    /// The GenieACS virtual parameters scripts computed (`VirtualParameters.<name>`), by name,
    /// as text; left out of the JSON when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub virtual_parameters: Vec<Fact<(String, String)>>,
    /// How fresh each section is.
    pub sections: Vec<SectionState>,
    /// Objects to refresh so that no section is stale or missing (deduplicated, no path below
    /// another).
    pub refresh: Vec<String>,
}

/// Builds the summary of a device from its tree, judging freshness at `now_ms`.
pub fn summarize(
    tree: &ParamTree,
    meta: Option<&DeviceMeta>,
    now_ms: i64,
    staleness: &Staleness,
) -> DeviceSummary {
    let model = DataModel::of(meta, tree);
    let mut r = Reader::new(tree);
    let judge = fresh::Judge {
        model,
        view: r.view,
        now_ms,
        staleness,
    };
    let identity = device::identity(&mut r, model, meta);
    let found = identity.serial_number.is_some();
    let mut sections = vec![judge.judge(Section::Identity, r.take_stamps(), found, None)];
    let mut s = DeviceSummary {
        device: meta.map(|m| m.id.to_string()),
        data_model: model,
        identity,
        wan: Vec::new(),
        lan: None,
        wifi: Wifi::default(),
        hosts: Vec::new(),
        optics: None,
        voice: Vec::new(),
        virtual_parameters: virtual_parameters(tree),
        sections: Vec::new(),
        refresh: Vec::new(),
    };
    if let Some(model) = model {
        s.wan = wan::connections(&mut r, model);
        let found = !s.wan.is_empty();
        sections.push(judge.judge(Section::Wan, r.take_stamps(), found, None));
        s.lan = device::lan(&mut r, model);
        let found = s.lan.is_some();
        sections.push(judge.judge(Section::Lan, r.take_stamps(), found, None));
        s.wifi = wifi::wifi(&mut r, model);
        let found = !s.wifi.ssids.is_empty() || !s.wifi.radios.is_empty();
        sections.push(judge.judge(Section::Wifi, r.take_stamps(), found, None));
        s.hosts = wifi::hosts(&mut r, model);
        let found = !s.hosts.is_empty();
        sections.push(judge.judge(Section::Hosts, r.take_stamps(), found, None));
        s.optics = optics::optics(&mut r, model);
        // Optics refresh only the object the levels were found in.
        let sources = s.optics.as_ref().map(|o| vec![o.interface.clone()]);
        let found = s.optics.is_some();
        sections.push(judge.judge(Section::Optics, r.take_stamps(), found, sources));
        s.voice = voice::lines(&mut r, model);
        let found = !s.voice.is_empty();
        sections.push(judge.judge(Section::Voice, r.take_stamps(), found, None));
    }
    s.refresh = fresh::minimal(sections.iter().flat_map(|x| x.refresh.iter().cloned()));
    s.sections = sections;
    s
}

/// The computed virtual parameters in the tree. None is a password: their scripts decide
/// what they hold, and GenieACS shows them all alike.
fn virtual_parameters(tree: &ParamTree) -> Vec<Fact<(String, String)>> {
    let prefix = format!("{}.", crate::provision::script::VIRTUAL);
    tree.iter()
        .filter_map(|(path, p)| {
            let name = path.strip_prefix(&prefix)?;
            let value = p.value.as_ref()?.text().into_owned();
            Some(Fact {
                value: (name.to_owned(), value),
                path: path.to_owned(),
                read_ms: p.timestamp_ms,
            })
        })
        .collect()
}

/// Reads facts from the tree, remembering when each was read (for the section's freshness).
pub(crate) struct Reader<'a> {
    pub(crate) view: View<'a>,
    stamps: Vec<i64>,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(tree: &'a ParamTree) -> Self {
        Self {
            view: View::new(tree),
            stamps: Vec::new(),
        }
    }

    fn take_stamps(&mut self) -> Vec<i64> {
        std::mem::take(&mut self.stamps)
    }

    /// A fact from outside the tree (the Inform's identity), counted in the section's age.
    pub(crate) fn noted<T>(&mut self, value: T, path: &str, read_ms: i64) -> Fact<T> {
        self.stamps.push(read_ms);
        Fact {
            value,
            path: path.to_owned(),
            read_ms,
        }
    }

    /// A non-empty text fact.
    pub(crate) fn text(&mut self, path: &str) -> Option<Fact<String>> {
        let value = self.view.nonempty(path)?;
        let read_ms = self.view.stamp(path)?;
        self.stamps.push(read_ms);
        Some(Fact {
            value,
            path: path.to_owned(),
            read_ms,
        })
    }

    /// An unsigned number.
    pub(crate) fn u64(&mut self, path: &str) -> Option<Fact<u64>> {
        let f = self.text(path)?;
        let n = parse_u64(&f.value)?;
        Some(f.map(|_| n))
    }

    /// A boolean (also `Enabled`/`Disabled`).
    pub(crate) fn bool(&mut self, path: &str) -> Option<Fact<bool>> {
        let f = self.text(path)?;
        let b = parse_bool(&f.value)?;
        Some(f.map(|_| b))
    }
}
