//! A fully discovered XX230v (~6,400 parameters) as the ACS stores it: the tree, and a store
//! holding it for one device. What the criterion benches that read a device's tree start from.

use acs::store::{
    DeviceMeta, EngineKind, Expect, Identity, Op, Param, ParamTree, StoreReader, StoreWriter, Value,
};
use anyhow::Context;

/// The XX230v's tree with every value of the dump, read at time 1.
pub fn xx230v_tree() -> anyhow::Result<ParamTree> {
    let model = fibreplane_schemas::DataModel::from_csv(fibreplane_schemas::XX230V_CSV)
        .context("the XX230v model")?;
    Ok(model
        .params
        .into_iter()
        .map(|p| {
            let param = if p.object {
                Param::object(Some(p.writable), 1)
            } else {
                Param::leaf(
                    Some(Value::from_wire(&p.xsd_type, &p.value)),
                    Some(p.writable),
                    1,
                )
            };
            (p.path, param)
        })
        .collect())
}

/// A store in a temporary directory holding one device with `tree`, with the runtime its
/// reads are driven on (they resolve at once, so `block_on` adds no wait to a figure).
pub struct StoredDevice {
    /// Drives the store's async calls.
    pub rt: tokio::runtime::Runtime,
    /// The store's writer (kept: dropping it closes the store).
    pub writer: StoreWriter,
    /// A reader, as the ACS reads.
    pub store: StoreReader,
    /// The device's record.
    pub meta: DeviceMeta,
    _dir: tempfile::TempDir,
}

impl StoredDevice {
    /// Stores `tree` for a TR-181 device of the XX230v's kind.
    pub fn new(tree: &ParamTree) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let rt = tokio::runtime::Builder::new_current_thread().build()?;
        let writer = acs::store::open(EngineKind::Redb, &dir.path().join("s.redb"))?;
        let store = writer.reader();
        let id = acs::DeviceId::parse("1C61B4-Device2-BENCH0001")?;
        let mut meta = DeviceMeta::new(id.clone(), Identity::default());
        meta.identity.oui = "1C61B4".into();
        meta.identity.product_class = "Device2".into();
        meta.root = "Device".into();
        rt.block_on(writer.apply(vec![
            Op::PutDevice {
                meta: meta.clone(),
                expect: Expect::Absent,
            },
            Op::UpdateTree {
                id,
                set: tree.iter().map(|(p, v)| (p.to_owned(), v.clone())).collect(),
                remove_subtrees: Vec::new(),
            },
        ]))?;
        Ok(Self {
            rt,
            writer,
            store,
            meta,
            _dir: dir,
        })
    }
}
