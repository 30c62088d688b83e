//! How fresh each section of a summary is, and what to refresh to make it fresh.
//!
//! A section is judged by its oldest fact: older than the section's maximum age, it is stale.
//! A section without facts is missing when the device has (or may have) its objects, and
//! unsupported when the discovered tree shows it has none (a router without optics).

use super::{Section, optics};
use crate::datamodel::{DataModel, View};
use serde::Serialize;
use std::time::Duration;

/// How old each section's oldest fact may be before the section is stale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staleness {
    /// Identity and firmware (changes with an upgrade, which Informs report anyway).
    pub identity: Duration,
    /// WAN connections.
    pub wan: Duration,
    /// LAN and DHCP settings.
    pub lan: Duration,
    /// Radios and SSIDs.
    pub wifi: Duration,
    /// Connected hosts (they come and go).
    pub hosts: Duration,
    /// Optical levels.
    pub optics: Duration,
    /// SIP lines.
    pub voice: Duration,
}

impl Default for Staleness {
    fn default() -> Self {
        let min = |m: u64| Duration::from_secs(60 * m);
        Self {
            identity: min(24 * 60),
            wan: min(15),
            lan: min(60),
            wifi: min(15),
            hosts: min(5),
            optics: min(15),
            voice: min(60),
        }
    }
}

impl Staleness {
    /// The maximum age of a section's facts.
    pub fn max_age(&self, section: Section) -> Duration {
        match section {
            Section::Identity => self.identity,
            Section::Wan => self.wan,
            Section::Lan => self.lan,
            Section::Wifi => self.wifi,
            Section::Hosts => self.hosts,
            Section::Optics => self.optics,
            Section::Voice => self.voice,
        }
    }
}

/// A section's freshness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every fact is younger than the section's maximum age.
    Fresh,
    /// Some fact is older.
    Stale,
    /// No facts, but the device has or may have them: refresh to read them.
    Missing,
    /// The discovered tree has none of the section's objects.
    Unsupported,
}

/// One section's freshness and what to refresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SectionState {
    /// The section.
    pub section: Section,
    /// Fresh, stale, missing or unsupported.
    pub status: Status,
    /// When its oldest fact was read.
    pub oldest_ms: Option<i64>,
    /// Objects to refresh (empty when fresh or unsupported).
    pub refresh: Vec<String>,
}

/// What judging a section needs besides its facts.
pub(crate) struct Judge<'a> {
    pub(crate) model: Option<DataModel>,
    pub(crate) view: View<'a>,
    pub(crate) now_ms: i64,
    pub(crate) staleness: &'a Staleness,
}

impl Judge<'_> {
    /// Judges a section from the times its facts were read; `sources` overrides the section's
    /// standard objects.
    pub(crate) fn judge(
        &self,
        section: Section,
        stamps: Vec<i64>,
        found: bool,
        sources: Option<Vec<String>>,
    ) -> SectionState {
        let oldest = stamps.into_iter().min();
        let candidates = sources.unwrap_or_else(|| {
            self.model
                .map(|m| candidates(section, m, &self.view))
                .unwrap_or_default()
        });
        let existing: Vec<String> = candidates
            .iter()
            .filter(|p| self.view.exists(p))
            .cloned()
            .collect();
        let (status, refresh) = if found {
            let max =
                i64::try_from(self.staleness.max_age(section).as_millis()).unwrap_or(i64::MAX);
            let age = self.now_ms.saturating_sub(oldest.unwrap_or(self.now_ms));
            if age > max {
                (Status::Stale, existing)
            } else {
                (Status::Fresh, Vec::new())
            }
        } else if !existing.is_empty() {
            (Status::Missing, existing)
        } else if self.model.is_some_and(|m| !self.view.discovered(m)) {
            // The tree was never discovered: the standard objects are worth a try.
            (Status::Missing, candidates)
        } else if self.model.is_none() {
            (Status::Missing, Vec::new())
        } else {
            (Status::Unsupported, Vec::new())
        };
        SectionState {
            section,
            status,
            oldest_ms: oldest,
            refresh: minimal(refresh),
        }
    }
}

/// The objects a section reads, for a data model (TR-098 tables expanded to the instances the
/// tree has, or instance 1).
fn candidates(section: Section, model: DataModel, view: &View<'_>) -> Vec<String> {
    let lan = |leaf: &str| -> Vec<String> {
        let table = "InternetGatewayDevice.LANDevice";
        let mut ids = view.instances(table);
        if ids.is_empty() {
            ids.push(1);
        }
        ids.iter().map(|i| format!("{table}.{i}.{leaf}")).collect()
    };
    let fixed = |paths: &[&str]| paths.iter().map(|p| (*p).to_owned()).collect();
    match (model, section) {
        (DataModel::Tr181, Section::Identity) => fixed(&["Device.DeviceInfo"]),
        (DataModel::Tr181, Section::Wan) => fixed(&[
            "Device.IP.Interface",
            "Device.PPP.Interface",
            "Device.DHCPv4.Client",
            "Device.Routing.Router",
            "Device.DNS.Client",
        ]),
        (DataModel::Tr181, Section::Lan) => fixed(&["Device.IP.Interface", "Device.DHCPv4.Server"]),
        (DataModel::Tr181, Section::Wifi) => fixed(&[
            "Device.WiFi.Radio",
            "Device.WiFi.SSID",
            "Device.WiFi.AccessPoint",
        ]),
        (DataModel::Tr181, Section::Hosts) => fixed(&["Device.Hosts"]),
        (DataModel::Tr181, Section::Voice) => fixed(&[
            "Device.Services.VoiceService",
            "Device.X_TP_Services.VoiceService",
        ]),
        (DataModel::Tr098, Section::Identity) => fixed(&["InternetGatewayDevice.DeviceInfo"]),
        (DataModel::Tr098, Section::Wan) => fixed(&[
            "InternetGatewayDevice.WANDevice",
            "InternetGatewayDevice.Layer3Forwarding",
        ]),
        (DataModel::Tr098, Section::Lan) => lan("LANHostConfigManagement"),
        (DataModel::Tr098, Section::Wifi) => lan("WLANConfiguration"),
        (DataModel::Tr098, Section::Hosts) => lan("Hosts"),
        (DataModel::Tr098, Section::Voice) => {
            fixed(&["InternetGatewayDevice.Services.VoiceService"])
        }
        (_, Section::Optics) => optics::candidates(model),
    }
}

/// Sorted, deduplicated paths without any that lies below another.
pub(crate) fn minimal(paths: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut all: Vec<String> = paths.into_iter().collect();
    all.sort();
    all.dedup();
    let mut out: Vec<String> = Vec::with_capacity(all.len());
    for p in all {
        // An ancestor sorts before its descendants; a handful of paths make this cheap.
        let covered = out
            .iter()
            .any(|q| p.starts_with(q.as_str()) && p.as_bytes().get(q.len()) == Some(&b'.'));
        if !covered {
            out.push(p);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_drops_descendants_and_duplicates() {
        let got = minimal(
            [
                "Device.WiFi.SSID",
                "Device.WiFi",
                "Device.WiFiX",
                "Device.WiFi.Radio",
                "Device.WiFi",
                "Device.WiFi-2",
            ]
            .map(String::from),
        );
        assert_eq!(got, ["Device.WiFi", "Device.WiFi-2", "Device.WiFiX"]);
    }
}
