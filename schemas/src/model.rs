//! The parameter tree of one CPE model, as loaded from a GenieACS-sim CSV export.

use crate::csv::{self, CsvError};
use std::fmt;

/// One parameter or object of a data model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelParam {
    /// Full path; objects carry no trailing dot (`Device.WiFi`), as in GenieACS.
    pub path: String,
    /// Whether this is an object (or an object instance).
    pub object: bool,
    /// Whether the ACS may write it (for objects: AddObject/DeleteObject is allowed).
    pub writable: bool,
    /// The value as text; empty for objects.
    pub value: String,
    /// The `xsi:type` local name (`unsignedInt`); empty for objects.
    pub xsd_type: String,
}

/// A CPE data model: every object and parameter under the root, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DataModel {
    /// Objects and parameters, parents before children.
    pub params: Vec<ModelParam>,
}

/// Why a CSV file could not be loaded as a data model.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModelError {
    /// The CSV itself is malformed.
    Csv(String),
    /// The header row lacks a column this loader needs.
    MissingColumn(&'static str),
    /// No row lies under `Device.` or `InternetGatewayDevice.`.
    NoRoot,
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Csv(e) => write!(f, "malformed CSV: {e}"),
            Self::MissingColumn(c) => write!(f, "CSV header has no `{c}` column"),
            Self::NoRoot => write!(f, "no parameter under Device. or InternetGatewayDevice."),
        }
    }
}

impl std::error::Error for ModelError {}

impl From<CsvError> for ModelError {
    fn from(e: CsvError) -> Self {
        Self::Csv(format!("{e:?}"))
    }
}

impl DataModel {
    /// Loads a GenieACS CSV export (`Parameter,Object,…,Writable,…,Value,Value type,…`).
    ///
    /// Rows of GenieACS's pseudo-tree (`DeviceID.`, `Events.`, `Tags.`, `Downloads.`,
    /// `VirtualParameters.`, `Reboot`, `FactoryReset`) are not part of the CPE's model and are
    /// skipped: a CPE agent must not serve them.
    pub fn from_csv(text: &str) -> Result<Self, ModelError> {
        let rows = csv::records(text)?;
        let mut rows = rows.into_iter();
        let header = rows.next().ok_or(ModelError::MissingColumn("Parameter"))?;
        let col = |name: &'static str| {
            header
                .iter()
                .position(|h| h == name)
                .ok_or(ModelError::MissingColumn(name))
        };
        let (c_path, c_obj, c_wr) = (col("Parameter")?, col("Object")?, col("Writable")?);
        let (c_val, c_type) = (col("Value")?, col("Value type")?);
        let mut params = Vec::new();
        for row in rows {
            let get = |i: usize| row.get(i).map(String::as_str).unwrap_or("");
            let path = get(c_path).trim_end_matches('.');
            if !(path == "Device"
                || path == "InternetGatewayDevice"
                || path.starts_with("Device.")
                || path.starts_with("InternetGatewayDevice."))
            {
                continue;
            }
            let object = get(c_obj) == "true";
            let xsd_type = get(c_type);
            params.push(ModelParam {
                path: path.to_owned(),
                object,
                writable: get(c_wr) == "true",
                value: if object {
                    String::new()
                } else {
                    get(c_val).to_owned()
                },
                xsd_type: if object {
                    String::new()
                } else {
                    xsd_type.rsplit(':').next().unwrap_or("string").to_owned()
                },
            });
        }
        if params.is_empty() {
            return Err(ModelError::NoRoot);
        }
        Ok(Self { params })
    }

    /// The real TP-Link XX230v tree shipped in `data/` (TR-181, ~6,400 rows).
    pub fn xx230v() -> Self {
        // The file is compiled in and covered by a test, so failing here is a build defect.
        Self::from_csv(crate::XX230V_CSV).unwrap_or_default()
    }

    /// The root object name (`Device` or `InternetGatewayDevice`).
    pub fn root(&self) -> &str {
        self.params
            .first()
            .map(|p| p.path.split('.').next().unwrap_or(""))
            .unwrap_or("")
    }

    /// The value of a parameter, if the model has it.
    pub fn value(&self, path: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|p| p.path == path && !p.object)
            .map(|p| p.value.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xx230v_loads_with_its_identity_and_without_pseudo_tree() {
        let m = DataModel::from_csv(crate::XX230V_CSV).unwrap();
        assert_eq!(m.root(), "Device");
        assert!(m.params.len() > 6000, "{} rows", m.params.len());
        assert_eq!(m.value("Device.DeviceInfo.ManufacturerOUI"), Some("1C61B4"));
        assert_eq!(m.value("Device.DeviceInfo.ProductClass"), Some("Device2"));
        assert!(m.params.iter().all(|p| !p.path.starts_with("Events")));
        let wifi = m.params.iter().find(|p| p.path == "Device.WiFi").unwrap();
        assert!(wifi.object && wifi.value.is_empty());
        let pii = m
            .params
            .iter()
            .find(|p| p.path.ends_with("PeriodicInformInterval"))
            .unwrap();
        assert_eq!((pii.xsd_type.as_str(), pii.writable), ("unsignedInt", true));
    }

    #[test]
    fn a_csv_without_the_needed_columns_is_refused() {
        assert_eq!(
            DataModel::from_csv("a,b\n1,2"),
            Err(ModelError::MissingColumn("Parameter"))
        );
        let no_root = "Parameter,Object,Writable,Value,Value type\nEvents.Inform,false,false,x,";
        assert_eq!(DataModel::from_csv(no_root), Err(ModelError::NoRoot));
    }
}
