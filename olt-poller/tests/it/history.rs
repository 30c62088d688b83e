//! One conformance suite for every optical-history backend.

use olt_poller::{Dbm, OltId, OnuKey, OpticalHistory, OpticalSample, RedbHistory};

fn sample(at_ms: u64, rx: f64) -> OpticalSample {
    OpticalSample {
        at_ms,
        rx_dbm: Some(Dbm(rx)),
        tx_dbm: Some(Dbm(2.125)),
        olt_rx_dbm: None,
    }
}

const A: OnuKey = OnuKey {
    if_index: 4_194_312_192,
    onu_id: 0,
};
const B: OnuKey = OnuKey {
    if_index: 4_194_312_192,
    onu_id: 1,
};

fn conformance(h: &dyn OpticalHistory) {
    let olt = OltId::new("olt-1").unwrap();
    let other = OltId::new("olt-10").unwrap();
    assert_eq!(h.capacity(), 4);
    assert!(h.range(&olt, A, 0, u64::MAX).unwrap().is_empty());
    // Six polls into a ring of four: the two oldest are gone, order is oldest first.
    for t in 1..=6u64 {
        #[allow(clippy::cast_precision_loss)]
        let rx = -20.0 - t as f64 / 8.0;
        h.append(
            &olt,
            &[(A, sample(t * 1000, rx)), (B, sample(t * 1000, -10.0))],
        )
        .unwrap();
    }
    h.append(&other, &[(A, sample(99, -1.0))]).unwrap();
    let got = h.range(&olt, A, 0, u64::MAX).unwrap();
    let times: Vec<u64> = got.iter().map(|s| s.at_ms).collect();
    assert_eq!(times, vec![3000, 4000, 5000, 6000]);
    assert_eq!(got[3], sample(6000, -20.75));
    assert_eq!(got[0].olt_rx_dbm, None);
    // Time filtering is inclusive.
    let mid: Vec<u64> = h
        .range(&olt, A, 4000, 5000)
        .unwrap()
        .iter()
        .map(|s| s.at_ms)
        .collect();
    assert_eq!(mid, vec![4000, 5000]);
    // OLT names that prefix each other do not mix.
    assert_eq!(h.range(&other, A, 0, u64::MAX).unwrap().len(), 1);
    assert_eq!(h.range(&olt, B, 0, u64::MAX).unwrap().len(), 4);
    // Trim keeps the newest; appends continue after it.
    h.trim(&olt, A, 2).unwrap();
    let kept: Vec<u64> = h
        .range(&olt, A, 0, u64::MAX)
        .unwrap()
        .iter()
        .map(|s| s.at_ms)
        .collect();
    assert_eq!(kept, vec![5000, 6000]);
    h.append(&olt, &[(A, sample(7000, -21.0))]).unwrap();
    let kept: Vec<u64> = h
        .range(&olt, A, 0, u64::MAX)
        .unwrap()
        .iter()
        .map(|s| s.at_ms)
        .collect();
    assert_eq!(kept, vec![5000, 6000, 7000]);
    h.trim(
        &olt,
        OnuKey {
            if_index: 1,
            onu_id: 1,
        },
        0,
    )
    .unwrap();
}

#[test]
fn redb_conforms_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("optical.redb");
    conformance(&RedbHistory::open(&path, 4).unwrap());
    let h = RedbHistory::open(&path, 4).unwrap();
    let olt = OltId::new("olt-1").unwrap();
    assert_eq!(h.range(&olt, A, 0, u64::MAX).unwrap().len(), 3);
    assert!(RedbHistory::open(&dir.path().join("x"), 0).is_err());
}

#[cfg(feature = "sled")]
#[test]
fn sled_conforms_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("optical.sled");
    conformance(&olt_poller::SledHistory::open(&path, 4).unwrap());
    let h = olt_poller::SledHistory::open(&path, 4).unwrap();
    let olt = OltId::new("olt-1").unwrap();
    assert_eq!(h.range(&olt, A, 0, u64::MAX).unwrap().len(), 3);
}
