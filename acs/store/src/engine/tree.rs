//! Parameter trees stored in sections.
//!
//! A device's tree is split by its first two path segments (`Device.WiFi`, `Device.IP`, ...);
//! paths with fewer segments (`Device`, `Device.WiFi` the object itself) live in the section named
//! by their first segment. Each section is one record under `(device, section)`, so refreshing one
//! subtree rewrites one or two small records instead of the whole multi-hundred-KB tree, which
//! matters for both write amplification and redb's copy-on-write page churn.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

use crate::keys::{self, Key, KeyReader};
use crate::kv::{KvRead, KvWrite};
use crate::model::tree_in_subtree as in_subtree;
use crate::model::{DeviceId, Param, ParamTree};
use crate::{StoreError, codec};

use super::dict::{Dict, DictTxn};

/// The section a path belongs to.
pub(crate) fn section_of(path: &str) -> &str {
    let mut dots = path.match_indices('.').map(|(i, _)| i);
    match (dots.next(), dots.next()) {
        (Some(_), Some(second)) => &path[..second],
        (Some(first), None) => &path[..first],
        _ => path,
    }
}

/// Reads a device's whole tree.
pub(crate) fn read(r: &dyn KvRead, dict: &Dict, id: &DeviceId) -> Result<ParamTree, StoreError> {
    let prefix = Key::new(keys::SECTION).dev(id);
    let mut tree = ParamTree::new();
    for (_, bytes) in r.range(prefix.bytes(), &prefix.prefix_end(), usize::MAX)? {
        let (model, entries) = codec::decode_section(&bytes)?;
        for (path_id, param) in entries {
            tree.insert(dict.path(r, &model, path_id)?, param);
        }
    }
    Ok(tree)
}

/// Removes a device's whole tree.
pub(crate) fn clear(w: &mut dyn KvWrite, id: &DeviceId) -> Result<(), StoreError> {
    let prefix = Key::new(keys::SECTION).dev(id);
    for (key, _) in w.range(prefix.bytes(), &prefix.prefix_end(), usize::MAX)? {
        w.delete(&key)?;
    }
    Ok(())
}

/// Applies `remove_subtrees` then `set`, touching only the sections involved.
pub(crate) fn update(
    w: &mut dyn KvWrite,
    dict: &mut DictTxn<'_>,
    id: &DeviceId,
    model: &str,
    set: Vec<(String, Param)>,
    remove_subtrees: Vec<String>,
) -> Result<(), StoreError> {
    // Sections read so far (possibly emptied), and which of them must be written back.
    let mut sections: BTreeMap<String, ParamTree> = BTreeMap::new();
    let mut dirty: BTreeSet<String> = BTreeSet::new();

    for prefix in &remove_subtrees {
        let prefix = prefix.strip_suffix('.').unwrap_or(prefix);
        // Whole sections at or below the prefix are dropped without being read.
        for name in section_names(w, id, prefix)? {
            if in_subtree(&name, prefix) {
                sections.insert(name.clone(), ParamTree::new());
                dirty.insert(name);
            }
        }
        // The section holding the prefix itself may hold it and other paths: edit it.
        if !prefix.is_empty() {
            let name = section_of(prefix);
            load(w, dict, id, name, &mut sections)?.remove_subtree(prefix);
            dirty.insert(name.to_owned());
        }
    }
    for (path, param) in set {
        let path = path.strip_suffix('.').map(str::to_owned).unwrap_or(path);
        let name = section_of(&path).to_owned();
        load(w, dict, id, &name, &mut sections)?.insert(path, param);
        dirty.insert(name);
    }

    for name in dirty {
        let key = Key::new(keys::SECTION).dev(id).str(&name);
        let tree = &sections[&name];
        if tree.is_empty() {
            w.delete(key.bytes())?;
            continue;
        }
        let entries = tree
            .iter()
            .map(|(path, param)| Ok((dict.id(w, model, path)?, param)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        w.put(key.bytes(), &codec::encode_section(model, entries))?;
    }
    Ok(())
}

/// The section `name`, read from storage on first use within this update.
fn load<'s>(
    w: &mut dyn KvWrite,
    dict: &DictTxn<'_>,
    id: &DeviceId,
    name: &str,
    sections: &'s mut BTreeMap<String, ParamTree>,
) -> Result<&'s mut ParamTree, StoreError> {
    match sections.entry(name.to_owned()) {
        Entry::Occupied(loaded) => Ok(loaded.into_mut()),
        Entry::Vacant(slot) => {
            let mut tree = ParamTree::new();
            if let Some(bytes) = w.get(Key::new(keys::SECTION).dev(id).str(name).bytes())? {
                let (model, entries) = codec::decode_section(&bytes)?;
                for (path_id, param) in entries {
                    tree.insert(dict.path(w, &model, path_id)?, param);
                }
            }
            Ok(slot.insert(tree))
        }
    }
}

/// Names of the device's sections that start with `prefix` (as strings; callers filter on path
/// segment boundaries).
fn section_names(r: &dyn KvRead, id: &DeviceId, prefix: &str) -> Result<Vec<String>, StoreError> {
    let start = Key::new(keys::SECTION).dev(id).str_prefix(prefix);
    r.range(start.bytes(), &start.prefix_end(), usize::MAX)?
        .iter()
        .map(|(k, _)| {
            let mut r = KeyReader::new(k, keys::SECTION)?;
            r.str()?;
            r.str()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::section_of;

    #[test]
    fn sections_are_the_first_two_segments() {
        assert_eq!(section_of("Device.WiFi.SSID.1.SSID"), "Device.WiFi");
        assert_eq!(section_of("Device.WiFi"), "Device");
        assert_eq!(section_of("Device"), "Device");
        assert_eq!(section_of(""), "");
    }
}
