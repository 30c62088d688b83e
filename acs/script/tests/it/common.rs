//! A small device for the tests and helpers to run scripts against it.

use script::{DeviceView, Engine, Kind, Limits, Node, Outcome, RunInput, Script, SessionCache};
use serde_json::{Value, json};

/// The session time of every test run: 2023-11-14T22:13:20Z.
pub(crate) const TS: f64 = 1_700_000_000_000.0;
pub(crate) const DEVICE: &str = "202BC1-BM632w-000000";

/// A device tree as a list of nodes; `*` matches any one segment.
#[derive(Debug, Default, Clone)]
pub(crate) struct Tree(pub Vec<Node>);

impl DeviceView for Tree {
    fn matches(&self, pattern: &str) -> Result<Vec<Node>, String> {
        if pattern.contains("..") {
            return Err(format!("Invalid path {pattern}"));
        }
        let want: Vec<&str> = pattern.split('.').collect();
        Ok(self
            .0
            .iter()
            .filter(|n| {
                let have: Vec<&str> = n.path.split('.').collect();
                have.len() == want.len() && have.iter().zip(&want).all(|(h, w)| *w == "*" || h == w)
            })
            .cloned()
            .collect())
    }
}

pub(crate) fn leaf(path: &str, value: Value, ty: &str, writable: bool) -> Node {
    Node {
        path: path.into(),
        object: Some(false),
        writable: Some(writable),
        value: Some((value, ty.into())),
        ..Node::default()
    }
}

pub(crate) fn object(path: &str) -> Node {
    Node {
        path: path.into(),
        object: Some(true),
        writable: Some(false),
        ..Node::default()
    }
}

/// A device with a few parameters and two Wi-Fi instances.
pub(crate) fn device() -> Tree {
    Tree(vec![
        leaf("DeviceID.ID", json!(DEVICE), "xsd:string", false),
        leaf(
            "Device.DeviceInfo.SoftwareVersion",
            json!("1.2.3"),
            "xsd:string",
            false,
        ),
        leaf(
            "Device.ManagementServer.PeriodicInformInterval",
            json!(300),
            "xsd:unsignedInt",
            true,
        ),
        object("Device.WiFi.SSID.1"),
        leaf("Device.WiFi.SSID.1.SSID", json!("home"), "xsd:string", true),
        object("Device.WiFi.SSID.2"),
        leaf(
            "Device.WiFi.SSID.2.SSID",
            json!("guest"),
            "xsd:string",
            true,
        ),
    ])
}

/// A runner holding an engine and a session cache, like one session of the ACS.
pub(crate) struct Runner {
    pub engine: Engine,
    pub cache: SessionCache,
    pub tree: Tree,
}

impl Runner {
    pub(crate) fn new() -> Self {
        Self::with_limits(Limits::default())
    }

    pub(crate) fn with_limits(limits: Limits) -> Self {
        let cron: script::CronFn = std::rc::Rc::new(|expr: &str, at: f64| {
            // Every hour on the hour: enough to see the callback and the offset applied.
            (expr == "0 * * * *").then(|| (at / 3_600_000.0).floor() * 3_600_000.0)
        });
        Self {
            engine: Engine::new(limits, Some(cron)).expect("engine"),
            cache: SessionCache::default(),
            tree: device(),
        }
    }

    pub(crate) fn run_as(
        &mut self,
        kind: Kind,
        name: &str,
        src: &str,
        args: Value,
        max_revision: u32,
        ext_counter: i64,
    ) -> Outcome {
        let input = RunInput {
            kind,
            args: &args,
            device_id: DEVICE,
            timestamp_ms: TS,
            start_revision: 0,
            max_revision,
            ext_counter,
        };
        let tree = std::mem::take(&mut self.tree);
        let (out, tree) = self
            .engine
            .run(&Script::new(name, src), &input, &mut self.cache, tree);
        self.tree = tree;
        out
    }

    /// Runs a provision at `max_revision`.
    pub(crate) fn run(&mut self, src: &str, max_revision: u32) -> Outcome {
        self.run_as(Kind::Provision, "p", src, json!([]), max_revision, 0)
    }

    /// Runs a provision until it completes, raising the revision after each commit, and
    /// returns the final outcome with the number of runs.
    pub(crate) fn settle(&mut self, src: &str) -> (Outcome, u32) {
        let mut rev = 0;
        loop {
            let out = self.run(src, rev);
            if out.end != script::End::Committed || rev > 20 {
                return (out, rev + 1);
            }
            rev += 1;
        }
    }
}

/// The value a script returned through `log(JSON.stringify(x))`.
pub(crate) fn logged(out: &Outcome) -> Vec<String> {
    out.logs
        .iter()
        .map(|l| l.message.trim_start_matches("Script: ").to_string())
        .collect()
}
