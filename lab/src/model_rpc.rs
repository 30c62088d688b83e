//! The parameter RPCs of TR-069 Annex A answered from a [`CpeModel`].
//!
//! Each method validates everything before changing anything, so a fault leaves the model exactly
//! as it was (SPV in particular must apply all values or none).

use cwmp::{Fault, ParameterAttribute, ParameterInfo, ParameterValue, SetParameterAttribute};
use cwmp::{SetParameterValuesFault, XsdType};

use crate::model::{Attr, CpeModel, Entry, Extra, default_value, is_hidden, valid_value};

/// A fault with the standard string for its code.
pub(crate) fn fault(code: u32) -> Fault {
    let s = match code {
        9000 => "Method not supported",
        9002 => "Internal error",
        9003 => "Invalid arguments",
        9005 => "Invalid parameter name",
        9007 => "Invalid parameter value",
        9008 => "Attempt to set a non-writable parameter",
        _ => "Request denied",
    };
    Fault::new(code, s)
}

/// Whether a path segment is an instance number.
fn is_instance(seg: &str) -> bool {
    !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit())
}

impl CpeModel {
    /// Resolves a GPN/GPV/GPA name: `""` is the whole tree, `X.` an object, `X` a parameter.
    /// Returns the object path (None for the root) and whether it names an object.
    fn resolve(&self, name: &str) -> Result<(Option<Entry<'_>>, bool), Fault> {
        if name.is_empty() {
            return Ok((None, true));
        }
        if let Some(obj) = name.strip_suffix('.') {
            return match self.lookup(obj) {
                Some(e) if self.is_object(e) => Ok((Some(e), true)),
                _ => Err(fault(9005)),
            };
        }
        match self.lookup(name) {
            Some(e) if !self.is_object(e) => Ok((Some(e), false)),
            _ => Err(fault(9005)),
        }
    }

    /// The parameters (leaves) a name designates.
    fn leaves(&self, name: &str) -> Result<Vec<Entry<'_>>, Fault> {
        let (e, object) = self.resolve(name)?;
        Ok(match (e, object) {
            (Some(e), false) => vec![e],
            (e, _) => {
                let path = e.map_or("", |e| self.path(e));
                self.descendants(path)
                    .into_iter()
                    .filter(|&d| !self.is_object(d))
                    .collect()
            }
        })
    }

    fn info(&self, e: Entry<'_>) -> ParameterInfo {
        let dot = if self.is_object(e) { "." } else { "" };
        ParameterInfo {
            name: format!("{}{dot}", self.path(e)),
            writable: self.writable(e),
        }
    }

    /// GetParameterNames: a parameter itself; a partial path's object and everything below it;
    /// or, with `next_level`, only the object's direct children. Objects end with `.`.
    pub fn get_parameter_names(
        &self,
        path: &str,
        next_level: bool,
    ) -> Result<Vec<ParameterInfo>, Fault> {
        let (e, object) = self.resolve(path)?;
        let Some(e) = e else {
            // The empty path stands above the root object.
            let root = self.lookup(self.base.root());
            let mut out: Vec<_> = root.into_iter().map(|r| self.info(r)).collect();
            if !next_level {
                out.extend(
                    self.descendants("")
                        .into_iter()
                        .skip(1)
                        .map(|d| self.info(d)),
                );
            }
            return Ok(out);
        };
        if !object {
            // A full parameter name with NextLevel true is an invalid argument (A.3.2.3).
            return if next_level {
                Err(fault(9003))
            } else {
                Ok(vec![self.info(e)])
            };
        }
        let base = self.path(e);
        let below = self.descendants(base);
        if next_level {
            let depth = base.len() + 1;
            return Ok(below
                .into_iter()
                .filter(|&d| !self.path(d)[depth..].contains('.'))
                .map(|d| self.info(d))
                .collect());
        }
        let mut out = vec![self.info(e)];
        out.extend(below.into_iter().map(|d| self.info(d)));
        Ok(out)
    }

    /// GetParameterValues over full and partial names; hidden values read back empty.
    pub fn get_parameter_values(&self, names: &[String]) -> Result<Vec<ParameterValue>, Fault> {
        let mut out = Vec::new();
        for name in names {
            for e in self.leaves(name)? {
                let path = self.path(e);
                let value = if is_hidden(path) {
                    String::new()
                } else {
                    self.value(e).into_owned()
                };
                out.push(ParameterValue::new(path, value, self.xsd(e).clone()));
            }
        }
        Ok(out)
    }

    /// SetParameterValues: validates every parameter first and answers 9003 with one entry per
    /// bad parameter (nothing applied), else applies all and stores the ParameterKey.
    pub fn set_parameter_values(
        &mut self,
        params: &[ParameterValue],
        parameter_key: &str,
    ) -> Result<u32, Fault> {
        let mut faults = Vec::new();
        for p in params {
            let code = match self.lookup(p.name.trim_end_matches('.')) {
                None => Some(9005),
                Some(e) if self.is_object(e) || !self.writable(e) => Some(9008),
                Some(e) if !valid_value(self.xsd(e), &p.value) => Some(9007),
                Some(_) => crate::diag::check_write(self, &p.name, &p.value),
            };
            if let Some(code) = code {
                faults.push(SetParameterValuesFault {
                    name: p.name.clone(),
                    code,
                    string: fault(code).string,
                });
            }
        }
        if !faults.is_empty() {
            let mut f = fault(9003);
            f.set_parameter_values_faults = faults;
            return Err(f);
        }
        for p in params {
            self.set_local(&p.name, &p.value);
        }
        self.set_parameter_key(parameter_key);
        Ok(0)
    }

    /// GetParameterAttributes over full and partial names.
    pub fn get_parameter_attributes(
        &self,
        names: &[String],
    ) -> Result<Vec<ParameterAttribute>, Fault> {
        let mut out = Vec::new();
        for name in names {
            for e in self.leaves(name)? {
                let path = self.path(e);
                let a = self.attrs.get(path).cloned().unwrap_or_default();
                out.push(ParameterAttribute {
                    name: path.to_owned(),
                    notification: a.notification,
                    access_list: a.access_list,
                });
            }
        }
        Ok(out)
    }

    /// SetParameterAttributes: every name must exist; partial names apply to all leaves below.
    pub fn set_parameter_attributes(
        &mut self,
        params: &[SetParameterAttribute],
    ) -> Result<(), Fault> {
        let mut plan = Vec::new();
        for p in params {
            if p.notification_change && p.notification > 6 {
                return Err(fault(9003));
            }
            let paths: Vec<String> = self
                .leaves(&p.name)?
                .into_iter()
                .map(|e| self.path(e).to_owned())
                .collect();
            plan.push((paths, p));
        }
        for (paths, p) in plan {
            for path in paths {
                let a: &mut Attr = self.attrs.entry(path).or_default();
                if p.notification_change {
                    a.notification = p.notification;
                }
                if p.access_list_change {
                    a.access_list.clone_from(&p.access_list);
                }
            }
        }
        Ok(())
    }

    /// AddObject on a writable multi-instance table: creates the next instance with the
    /// structure of an existing one (values reset to defaults, nested instances left out).
    pub fn add_object(&mut self, object_name: &str, parameter_key: &str) -> Result<u32, Fault> {
        let table = object_name.strip_suffix('.').ok_or_else(|| fault(9005))?;
        let last = table.rsplit('.').next().unwrap_or("");
        match self.lookup(table) {
            Some(e) if self.is_object(e) && self.writable(e) && !is_instance(last) => {}
            _ => return Err(fault(9005)),
        }
        // Instance numbers of every base instance (deleted or not) and every added one.
        let prefix = format!("{table}.");
        let child_num = |p: &str| p.strip_prefix(&prefix).and_then(|r| r.parse::<u32>().ok());
        let base_nums: Vec<u32> = self
            .base
            .descendants(table)
            .filter_map(|i| child_num(&self.base.node(i).path))
            .collect();
        let added_max = self
            .added
            .keys()
            .filter_map(|k| child_num(k))
            .max()
            .unwrap_or(0);
        let used = self.last_instance.get(table).copied().unwrap_or(0);
        let n = base_nums
            .iter()
            .copied()
            .chain([added_max, used])
            .max()
            .unwrap_or(0)
            + 1;
        let instance = format!("{table}.{n}");
        let mut created = vec![(
            instance.clone(),
            Extra {
                object: true,
                writable: true,
                value: String::new(),
                xsd: XsdType::String,
            },
        )];
        if let Some(&t) = base_nums.iter().min() {
            let tpl = format!("{table}.{t}");
            for i in self.base.descendants(&tpl) {
                let node = self.base.node(i);
                let rel = &node.path[tpl.len()..];
                // Nested tables start empty in a new instance.
                if rel.split('.').any(is_instance) {
                    continue;
                }
                created.push((
                    format!("{instance}{rel}"),
                    Extra {
                        object: node.object,
                        writable: node.writable,
                        value: default_value(&node.xsd).to_owned(),
                        xsd: node.xsd.clone(),
                    },
                ));
            }
        }
        self.added.extend(created);
        self.last_instance.insert(table.to_owned(), n);
        self.set_parameter_key(parameter_key);
        Ok(n)
    }

    /// DeleteObject of an instance of a writable table, with its whole subtree.
    pub fn delete_object(&mut self, object_name: &str, parameter_key: &str) -> Result<(), Fault> {
        let inst = object_name.strip_suffix('.').ok_or_else(|| fault(9005))?;
        let (table, num) = inst.rsplit_once('.').ok_or_else(|| fault(9005))?;
        if !is_instance(num) {
            return Err(fault(9005));
        }
        let ok = matches!(self.lookup(inst), Some(e) if self.is_object(e))
            && matches!(self.lookup(table), Some(t) if self.writable(t));
        if !ok {
            return Err(fault(9005));
        }
        let prefix = format!("{inst}.");
        let under = |p: &str| p == inst || p.starts_with(&prefix);
        self.added.retain(|k, _| !under(k));
        self.attrs.retain(|k, _| !under(k));
        if let Some(i) = self.base.find(inst) {
            let range = self.base.descendants(inst);
            self.values.retain(|k, _| *k != i && !range.contains(k));
            self.deleted.insert(inst.to_owned());
        }
        self.set_parameter_key(parameter_key);
        Ok(())
    }
}
