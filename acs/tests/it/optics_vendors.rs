//! Optical levels of the GPON ONT families beyond the whole-device fixtures: one summary test
//! per vendor profile of `acs::summary::optics`, each on a small tree under `testdata/trees/`
//! (identity and the optics object only; see the NOTICE there for where names and units come
//! from). Their golden renderings are checked with the others in `summary.rs`.

use crate::summary::{READ_MS, tree};
use acs::datamodel::DataModel;
use acs::summary::{Optics, Staleness, summarize};

const NOKIA_ALU: &str = include_str!("../../testdata/trees/nokia-g2425g-a.csv");
const NOKIA_CMCC: &str = include_str!("../../testdata/trees/nokia-g140w-c-cmcc.csv");
const CTCOM: &str = include_str!("../../testdata/trees/raisecom-ht803g-ctcom.csv");
const FIBERHOME: &str = include_str!("../../testdata/trees/fiberhome-hg6145f.csv");
const NOKIA_TR181: &str = include_str!("../../testdata/trees/nokia-xs2426g-b-tr181.csv");

/// The trees, by golden name.
pub(crate) const TREES: [(&str, &str); 5] = [
    ("nokia-g2425g-a", NOKIA_ALU),
    ("nokia-g140w-c-cmcc", NOKIA_CMCC),
    ("raisecom-ht803g-ctcom", CTCOM),
    ("fiberhome-hg6145f", FIBERHOME),
    ("nokia-xs2426g-b-tr181", NOKIA_TR181),
];

/// The optics of a tree, with its data model.
fn optics_of(csv: &str) -> (Option<DataModel>, Optics) {
    let s = summarize(&tree(csv, READ_MS), None, READ_MS, &Staleness::default());
    let optics = s.optics.expect("optical levels");
    (s.data_model, optics)
}

/// What a test expects of one tree.
struct Want {
    model: DataModel,
    profile: &'static str,
    interface: &'static str,
    rx_raw: &'static str,
    rx_dbm: f64,
    tx_dbm: f64,
}

fn check(csv: &str, want: &Want) {
    let (model, o) = optics_of(csv);
    assert_eq!(model, Some(want.model));
    assert_eq!(o.profile, want.profile);
    assert_eq!(o.interface, want.interface);
    assert_eq!(
        o.rx_raw.as_ref().map(|f| f.value.as_str()),
        Some(want.rx_raw)
    );
    assert_eq!(o.rx_dbm.as_ref().map(|f| f.value), Some(want.rx_dbm));
    assert_eq!(o.tx_dbm.as_ref().map(|f| f.value), Some(want.tx_dbm));
    let rx = o.rx_dbm.as_ref().map(|f| f.path.as_str());
    assert_eq!(
        rx,
        Some(format!("{}.{}", want.interface, rx_leaf(want.model)).as_str())
    );
    assert_eq!(o.status.as_ref().map(|f| f.value.as_str()), Some("Up"));
}

/// The received-power leaf of the profiles these trees use.
fn rx_leaf(model: DataModel) -> &'static str {
    match model {
        DataModel::Tr181 => "OpticalSignalLevel",
        _ => "RXPower",
    }
}

#[test]
fn nokia_alcatel_lucent_reports_dbm_at_the_root() {
    check(
        NOKIA_ALU,
        &Want {
            model: DataModel::Tr098,
            profile: "nokia_alu",
            interface: "InternetGatewayDevice.X_ALU_OntOpticalParam",
            rx_raw: "-17.63",
            rx_dbm: -17.63,
            tx_dbm: 2.41,
        },
    );
}

#[test]
fn china_mobile_firmware_reports_tenths_of_a_microwatt() {
    // 158 × 0.1 µW = 15.8 µW = −18.01 dBm; 20893 × 0.1 µW = 2.09 mW = +3.2 dBm.
    check(
        NOKIA_CMCC,
        &Want {
            model: DataModel::Tr098,
            profile: "cmcc_gpon",
            interface: "InternetGatewayDevice.WANDevice.1.X_CMCC_GponInterfaceConfig",
            rx_raw: "158",
            rx_dbm: -18.01,
            tx_dbm: 3.2,
        },
    );
}

#[test]
fn china_telecom_firmware_reports_tenths_of_a_microwatt() {
    // 89 × 0.1 µW = 8.9 µW = −20.51 dBm; 15136 × 0.1 µW = 1.51 mW = +1.8 dBm.
    check(
        CTCOM,
        &Want {
            model: DataModel::Tr098,
            profile: "ctcom_gpon",
            interface: "InternetGatewayDevice.WANDevice.1.X_CT-COM_GponInterfaceConfig",
            rx_raw: "89",
            rx_dbm: -20.51,
            tx_dbm: 1.8,
        },
    );
}

#[test]
fn fiberhome_reports_dbm_under_its_wan_device() {
    check(
        FIBERHOME,
        &Want {
            model: DataModel::Tr098,
            profile: "fiberhome_gpon",
            interface: "InternetGatewayDevice.WANDevice.1.X_FH_GponInterfaceConfig",
            rx_raw: "-21.43",
            rx_dbm: -21.43,
            tx_dbm: 2.17,
        },
    );
}

#[test]
fn a_nokia_tr181_ont_reads_through_the_standard_optical_object() {
    check(
        NOKIA_TR181,
        &Want {
            model: DataModel::Tr181,
            profile: "tr181_optical",
            interface: "Device.Optical.Interface.1",
            rx_raw: "-16870",
            rx_dbm: -16.87,
            tx_dbm: 2.35,
        },
    );
}

#[test]
fn an_unplugged_tenth_microwatt_ont_reports_no_level() {
    // 0 × 0.1 µW is no light at all (fibre out): not a reading, never −∞ dBm.
    let dark = NOKIA_CMCC.replace(",158,xsd:unsignedInt", ",0,xsd:unsignedInt");
    let s = summarize(&tree(&dark, READ_MS), None, READ_MS, &Staleness::default());
    let o = s.optics.expect("the transmit level still reads");
    assert_eq!(o.rx_dbm, None);
    assert_eq!(o.rx_raw.as_ref().map(|f| f.value.as_str()), Some("0"));
    assert_eq!(o.tx_dbm.as_ref().map(|f| f.value), Some(3.2));
}

#[test]
fn each_vendor_tree_has_fresh_optics_and_says_what_it_lacks() {
    // The trees hold identity and optics only: those two sections are fresh; the others are
    // reported missing or unsupported, never fresh and empty.
    use acs::summary::{Section, Status};
    for (name, csv) in TREES {
        let s = summarize(&tree(csv, READ_MS), None, READ_MS, &Staleness::default());
        for state in &s.sections {
            let fresh = state.status == Status::Fresh;
            let expected = matches!(state.section, Section::Identity | Section::Optics);
            assert_eq!(fresh, expected, "{name}: {:?}", state);
        }
    }
}
