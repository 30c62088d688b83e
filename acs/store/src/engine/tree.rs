//! Parameter trees stored as page-sized chunks of interned entries.
//!
//! A device's tree is its entries in path-id order, cut into chunks (`codec::chunk`) keyed by
//! `(device, first id)`; chunk `c` holds the ids from its key up to the next chunk's key. So:
//!
//! - a registration (a fresh device's whole tree) is encoded straight from the caller's nodes,
//!   reading nothing but the (empty) key range;
//! - a partial update reads, merges and rewrites only the chunks whose id ranges it touches,
//!   copying untouched entries byte for byte rather than decoding them;
//! - all of a device's chunks use one model's ids. When a device changes model, its next update
//!   decodes the whole tree by path and re-encodes it with the new model's ids.

use std::sync::Arc;

use crate::StoreError;
use crate::codec::chunk::{ChunkWriter, chunk_model, decode_raw};
use crate::keys::{self, Key};
use crate::kv::{KvRead, KvWrite};
use crate::model::{DeviceId, Param, ParamTree, TreeScope};

use super::dict::{Dict, DictTxn, IdSet, ModelDict, stored_len};

/// redb's page size, and what a single-entry leaf needs besides key and value (a 4-byte header
/// and two 4-byte end offsets): chunks are sized so that one chunk and its key fill one page.
const PAGE: usize = 4096;
const LEAF_OVERHEAD: usize = 12;
/// Floor for absurdly long device ids, which then just take a larger page.
const MIN_CHUNK: usize = 1024;

/// Reads a device's whole tree.
pub(crate) fn read(r: &dyn KvRead, dict: &Dict, id: &DeviceId) -> Result<ParamTree, StoreError> {
    let prefix = Key::new(keys::TREE).dev(id);
    let mut tree = ParamTree::new();
    let mut models: Vec<(String, Arc<ModelDict>)> = Vec::new();
    for (_, bytes) in r.range(prefix.bytes(), &prefix.prefix_end(), usize::MAX)? {
        let (model, entries) = decode_raw(&bytes)?;
        let pos = match models.iter().position(|(m, _)| m == model) {
            Some(pos) => pos,
            None => {
                models.push((model.to_owned(), dict.snapshot(r, model, 0)?));
                models.len() - 1
            }
        };
        // Ids committed after the snapshot was cached are loaded on demand (ids only grow, so
        // the chunk's last id is its largest).
        let last = entries.last().map_or(0, |e| e.id);
        if models[pos].1.path(last).is_none() {
            models[pos].1 = dict.snapshot(r, model, stored_len(r, model)?)?;
        }
        let names = &models[pos].1;
        for e in entries {
            let path = names.path(e.id).ok_or_else(|| missing(model, e.id))?;
            tree.insert(path, e.param()?);
        }
    }
    Ok(tree)
}

/// Reads the nodes of a device's tree that `scope` selects.
///
/// Only the chunks holding a selected id are decoded, and only the selected entries become
/// nodes: for a script reading a few parameters of a 6,400-parameter device this is a few
/// chunks instead of the whole tree (the ids a scope selects are computed once per model and
/// scope, see `Dict::selection`).
pub(crate) fn read_scoped(
    r: &dyn KvRead,
    dict: &Dict,
    id: &DeviceId,
    scope: &TreeScope,
) -> Result<ParamTree, StoreError> {
    let prefix = Key::new(keys::TREE).dev(id);
    let chunks = r.range(prefix.bytes(), &prefix.prefix_end(), usize::MAX)?;
    let mut tree = ParamTree::new();
    let mut models: Vec<(String, Arc<ModelDict>, Arc<IdSet>)> = Vec::new();
    let firsts = chunks
        .iter()
        .map(|(k, _)| first_id(k, &prefix))
        .collect::<Result<Vec<u32>, _>>()?;
    for (i, (_, bytes)) in chunks.iter().enumerate() {
        let model = chunk_model(bytes)?;
        let pos = match models.iter().position(|(m, _, _)| m == model) {
            Some(pos) => pos,
            None => {
                let names = dict.snapshot(r, model, stored_len(r, model)?)?;
                let selected = dict.selection(model, &names, scope);
                models.push((model.to_owned(), names, selected));
                models.len() - 1
            }
        };
        let (_, names, selected) = &models[pos];
        // A chunk holds the ids from its key up to the next chunk's key.
        let lo = u64::from(firsts[i]);
        let hi = firsts.get(i + 1).map_or(u64::MAX, |&n| u64::from(n));
        if !selected.any_in(lo, hi) {
            continue;
        }
        let (_, entries) = decode_raw(bytes)?;
        for e in entries {
            if selected.contains(e.id) {
                let path = names.path(e.id).ok_or_else(|| missing(model, e.id))?;
                tree.insert(path, e.param()?);
            }
        }
    }
    Ok(tree)
}

/// Removes a device's whole tree.
pub(crate) fn clear(w: &mut dyn KvWrite, id: &DeviceId) -> Result<(), StoreError> {
    let prefix = Key::new(keys::TREE).dev(id);
    for key in w.keys(prefix.bytes(), &prefix.prefix_end())? {
        w.delete(&key)?;
    }
    Ok(())
}

/// Applies `remove_subtrees` then `set`, rewriting only the chunks involved.
pub(crate) fn update(
    w: &mut dyn KvWrite,
    dict: &mut DictTxn<'_>,
    id: &DeviceId,
    model: &str,
    set: Vec<(String, Param)>,
    remove_subtrees: Vec<String>,
) -> Result<(), StoreError> {
    let prefix = Key::new(keys::TREE).dev(id);
    let keys = w.keys(prefix.bytes(), &prefix.prefix_end())?;
    if let Some(first) = keys.first() {
        let bytes = w.get(first)?.ok_or_else(|| vanished(first))?;
        if chunk_model(&bytes)? != model {
            return rewrite(w, dict, &prefix, &keys, model, set, &remove_subtrees);
        }
    }
    let names = dict.model(w, model)?;
    let ids = names.ids(w, set.iter().map(|(p, _)| trim(p)))?;
    let order = by_id(&ids);
    let mut new = order.iter().map(|&i| (ids[i], &set[i].1)).peekable();
    let limit = chunk_limit(&prefix);
    if keys.is_empty() {
        let mut out = ChunkWriter::new(model, limit);
        new.for_each(|(id, p)| out.push_param(id, p));
        return put_chunks(w, &prefix, out.finish());
    }

    let starts = keys
        .iter()
        .map(|k| first_id(k, &prefix))
        .collect::<Result<Vec<u32>, _>>()?;
    let mut removed = IdSet::default();
    for p in &remove_subtrees {
        names.under(trim(p), &mut removed);
    }
    // Chunk `c` owns ids `lo(c)..hi(c)`; the first also owns any new id below its key.
    let n = keys.len();
    let lo = |c: usize| if c == 0 { 0 } else { u64::from(starts[c]) };
    let hi = |c: usize| starts.get(c + 1).map_or(u64::MAX, |&s| u64::from(s));
    let mut affected: Vec<bool> = (0..n).map(|c| removed.any_in(lo(c), hi(c))).collect();
    for &id in &ids {
        affected[starts.partition_point(|&s| s <= id).saturating_sub(1)] = true;
    }

    // Each run of consecutive affected chunks is merged with its new entries and re-cut.
    let mut c = 0;
    while c < n {
        if !affected[c] {
            c += 1;
            continue;
        }
        let run_start = c;
        while c < n && affected[c] {
            c += 1;
        }
        let run = &keys[run_start..c];
        let end = hi(c - 1);
        let old = run
            .iter()
            .map(|k| w.get(k)?.ok_or_else(|| vanished(k)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = ChunkWriter::new(model, limit);
        for bytes in &old {
            let (m, entries) = decode_raw(bytes)?;
            if m != model {
                return Err(StoreError::Corrupt(format!(
                    "tree of {id}: chunks of models {m:?} and {model:?}"
                )));
            }
            for e in entries {
                while let Some((nid, p)) = new.next_if(|(nid, _)| *nid < e.id) {
                    out.push_param(nid, p);
                }
                // Replaced entries are skipped here and written from `new` in order.
                if !removed.contains(e.id) && new.peek().is_none_or(|(nid, _)| *nid != e.id) {
                    out.push_raw(&e);
                }
            }
        }
        while let Some((nid, p)) = new.next_if(|(nid, _)| u64::from(*nid) < end) {
            out.push_param(nid, p);
        }
        for key in run {
            w.delete(key)?;
        }
        put_chunks(w, &prefix, out.finish())?;
    }
    Ok(())
}

/// The slow path for a device whose chunks use another model's ids: decode the whole tree by
/// path, edit it, and re-encode it with `model`'s ids.
fn rewrite(
    w: &mut dyn KvWrite,
    dict: &mut DictTxn<'_>,
    prefix: &Key,
    keys: &[Vec<u8>],
    model: &str,
    set: Vec<(String, Param)>,
    remove_subtrees: &[String],
) -> Result<(), StoreError> {
    let mut tree = ParamTree::new();
    for key in keys {
        let bytes = w.get(key)?.ok_or_else(|| vanished(key))?;
        let (m, entries) = decode_raw(&bytes)?;
        let names = dict.model(w, m)?;
        for e in entries {
            let path = names.path(e.id).ok_or_else(|| missing(m, e.id))?;
            tree.insert(path, e.param()?);
        }
    }
    for p in remove_subtrees {
        tree.remove_subtree(p);
    }
    for (p, param) in set {
        tree.insert(p, param);
    }
    for key in keys {
        w.delete(key)?;
    }
    let ids = dict.model(w, model)?.ids(w, tree.iter().map(|(p, _)| p))?;
    let nodes: Vec<&Param> = tree.iter().map(|(_, p)| p).collect();
    let mut out = ChunkWriter::new(model, chunk_limit(prefix));
    for i in by_id(&ids) {
        out.push_param(ids[i], nodes[i]);
    }
    put_chunks(w, prefix, out.finish())
}

/// Indexes into `ids` in id order, keeping only the last index of a repeated id (a later `set`
/// of the same path wins).
fn by_id(ids: &[u32]) -> Vec<usize> {
    let Some(&max) = ids.iter().max() else {
        return Vec::new();
    };
    // Devices of a model report paths in the order that handed out the ids: nothing to do.
    if ids.windows(2).all(|pair| pair[0] < pair[1]) {
        return (0..ids.len()).collect();
    }
    // Ids of one model are dense, so a slot per id is usually cheaper than sorting.
    if (max as usize) < 4 * ids.len() + 64 {
        let mut slot = vec![usize::MAX; max as usize + 1];
        for (i, &id) in ids.iter().enumerate() {
            slot[id as usize] = i;
        }
        return slot.into_iter().filter(|&i| i != usize::MAX).collect();
    }
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_by_key(|&i| ids[i]);
    let mut out: Vec<usize> = Vec::with_capacity(order.len());
    for i in order {
        match out.last_mut() {
            Some(last) if ids[*last] == ids[i] => *last = i,
            _ => out.push(i),
        }
    }
    out
}

fn put_chunks(
    w: &mut dyn KvWrite,
    prefix: &Key,
    chunks: Vec<(u32, Vec<u8>)>,
) -> Result<(), StoreError> {
    for (first, bytes) in chunks {
        w.put(prefix.clone().u32(first).bytes(), &bytes)?;
    }
    Ok(())
}

/// The largest chunk that fits one page with its key (`prefix` plus a 4-byte id).
fn chunk_limit(prefix: &Key) -> usize {
    PAGE.saturating_sub(LEAF_OVERHEAD + prefix.bytes().len() + 4)
        .max(MIN_CHUNK)
}

fn first_id(key: &[u8], prefix: &Key) -> Result<u32, StoreError> {
    key.strip_prefix(prefix.bytes())
        .and_then(|rest| <[u8; 4]>::try_from(rest).ok())
        .map(u32::from_be_bytes)
        .ok_or_else(|| StoreError::Corrupt(format!("tree chunk key {key:02x?}")))
}

/// Drops one trailing dot: object paths are stored without it.
fn trim(path: &str) -> &str {
    path.strip_suffix('.').unwrap_or(path)
}

fn missing(model: &str, id: u32) -> StoreError {
    StoreError::Corrupt(format!("path id {id} missing from dictionary {model:?}"))
}

fn vanished(key: &[u8]) -> StoreError {
    StoreError::Corrupt(format!(
        "tree chunk {key:02x?} vanished within a transaction"
    ))
}

#[cfg(test)]
mod tests {
    use super::by_id;

    #[test]
    fn by_id_orders_and_keeps_the_last_duplicate() {
        assert_eq!(by_id(&[5, 1, 5, 0]), [3, 1, 2]);
        assert_eq!(by_id(&[900_000, 2, 900_000]), [1, 2]);
        assert!(by_id(&[]).is_empty());
    }
}
