//! The minimal ordered key-value interface each storage engine provides.
//!
//! Everything domain-specific (keys, indexes, interning, CAS) is written once above this, in
//! `engine`, so adding a backend means implementing these few methods and nothing else.

use crate::StoreError;

/// Key-value pairs returned by a range read.
pub(crate) type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// Reads within one consistent view.
pub(crate) trait KvRead {
    /// The value at `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Whether `key` is present; engines that can answer without copying the value should.
    fn contains(&self, key: &[u8]) -> Result<bool, StoreError> {
        Ok(self.get(key)?.is_some())
    }
    /// Up to `limit` pairs with `start <= key < end`, in key order.
    fn range(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Pairs, StoreError>;
    /// The keys with `start <= key < end`, in key order: for callers that decide from keys alone
    /// which values they need, so engines that can should skip copying values.
    fn keys(&self, start: &[u8], end: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
        Ok(self
            .range(start, end, usize::MAX)?
            .into_iter()
            .map(|(k, _)| k)
            .collect())
    }
}

/// Reads and writes within one transaction.
pub(crate) trait KvWrite: KvRead {
    /// Sets `key` to `value`.
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError>;
    /// Removes `key` (no error if absent).
    fn delete(&mut self, key: &[u8]) -> Result<(), StoreError>;
}

/// A storage engine.
pub(crate) trait Kv: Send + Sync + 'static {
    /// Runs `f` against a consistent read view.
    fn read<R>(
        &self,
        f: impl FnOnce(&dyn KvRead) -> Result<R, StoreError>,
    ) -> Result<R, StoreError>;
    /// Runs `f` in a write transaction, and if it returns `Ok`, commits durably (on disk when this
    /// returns). If `f` fails, nothing it wrote becomes visible.
    fn write<R>(
        &self,
        f: impl FnOnce(&mut dyn KvWrite) -> Result<R, StoreError>,
    ) -> Result<R, StoreError>;
}
