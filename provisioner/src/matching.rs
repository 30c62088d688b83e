//! Which Service Equipment record a device is: by serial first, then by MAC, over normalised
//! keys. Anything but exactly one consistent answer is reported as such — ambiguity or conflict
//! — and the caller quarantines the device: a guess could put one customer's WiFi on another
//! customer's ONT.

use crate::model::{Equipment, EquipmentName, Mac, Serial};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

/// The records the provisioner knows, indexed by normalised serial and MAC.
#[derive(Debug, Default)]
pub struct Directory {
    records: HashMap<EquipmentName, Equipment>,
    by_serial: HashMap<Serial, BTreeSet<EquipmentName>>,
    by_mac: HashMap<Mac, BTreeSet<EquipmentName>>,
}

/// The one record a device matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    /// The record.
    pub name: EquipmentName,
    /// Whether the serial (true) or only a MAC (false) matched.
    pub by_serial: bool,
}

/// Why a device is in quarantine; kept in its durable state and shown by the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Quarantine {
    /// No record has its serial or MAC.
    Unknown,
    /// Several records claim one of its keys.
    Ambiguous {
        /// The key.
        key: String,
        /// The records.
        candidates: Vec<EquipmentName>,
    },
    /// Its serial and its MAC point to different records.
    Conflict {
        /// The record with the serial.
        by_serial: EquipmentName,
        /// The records with its MAC.
        by_mac: Vec<EquipmentName>,
    },
    /// The record it matches is already another device's.
    Claimed {
        /// The record.
        equipment: EquipmentName,
        /// The device holding it.
        holder: String,
    },
}

impl Directory {
    /// Adds or replaces a record; returns the previous version.
    pub fn upsert(&mut self, e: Equipment) -> Option<Equipment> {
        let old = self.remove(&e.name.clone());
        if e.is_active() {
            if let Some(s) = &e.serial {
                self.by_serial
                    .entry(s.clone())
                    .or_default()
                    .insert(e.name.clone());
            }
            if let Some(m) = &e.mac {
                self.by_mac
                    .entry(m.clone())
                    .or_default()
                    .insert(e.name.clone());
            }
        }
        self.records.insert(e.name.clone(), e);
        old
    }

    /// Removes a record; returns it.
    pub fn remove(&mut self, name: &EquipmentName) -> Option<Equipment> {
        let old = self.records.remove(name)?;
        if let Some(s) = &old.serial {
            unindex(&mut self.by_serial, s, name);
        }
        if let Some(m) = &old.mac {
            unindex(&mut self.by_mac, m, name);
        }
        Some(old)
    }

    /// The record with this name.
    pub fn get(&self, name: &EquipmentName) -> Option<&Equipment> {
        self.records.get(name)
    }

    /// Every record's name.
    pub fn names(&self) -> Vec<EquipmentName> {
        self.records.keys().cloned().collect()
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Matches a device reporting `serial` and `macs`: the serial decides when exactly one
    /// record has it (and no other record has one of the device's MACs); otherwise a MAC
    /// decides when exactly one record has any of them. Anything else is the reason for
    /// quarantine (never [`Quarantine::Claimed`], which only the engine can tell).
    pub fn match_device(
        &self,
        serial: Option<&Serial>,
        macs: &[Mac],
    ) -> Result<Matched, Quarantine> {
        let serial_hits: Vec<EquipmentName> = serial
            .and_then(|s| self.by_serial.get(s))
            .map(|set| set.iter().cloned().collect())
            .unwrap_or_default();
        let mut mac_hits = BTreeSet::new();
        for m in macs {
            if let Some(set) = self.by_mac.get(m) {
                mac_hits.extend(set.iter().cloned());
            }
        }
        match serial_hits.as_slice() {
            [one] => {
                let others: Vec<EquipmentName> =
                    mac_hits.into_iter().filter(|n| n != one).collect();
                if others.is_empty() {
                    Ok(Matched {
                        name: one.clone(),
                        by_serial: true,
                    })
                } else {
                    Err(Quarantine::Conflict {
                        by_serial: one.clone(),
                        by_mac: others,
                    })
                }
            }
            [] => match mac_hits.len() {
                0 => Err(Quarantine::Unknown),
                1 => Ok(Matched {
                    name: mac_hits.into_iter().next().expect("one"),
                    by_serial: false,
                }),
                _ => Err(Quarantine::Ambiguous {
                    key: format!(
                        "MAC {}",
                        macs.iter().map(Mac::as_str).collect::<Vec<_>>().join(",")
                    ),
                    candidates: mac_hits.into_iter().collect(),
                }),
            },
            many => Err(Quarantine::Ambiguous {
                key: format!("serial {}", serial.map_or("", Serial::as_str)),
                candidates: many.to_vec(),
            }),
        }
    }
}

fn unindex<K: std::hash::Hash + Eq>(
    map: &mut HashMap<K, BTreeSet<EquipmentName>>,
    key: &K,
    name: &EquipmentName,
) {
    if let Some(set) = map.get_mut(key) {
        set.remove(name);
        if set.is_empty() {
            map.remove(key);
        }
    }
}
