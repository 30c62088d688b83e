//! Shared set-up: emulators on 127.0.0.1:0, targets, the browser pool.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use fibreplane_lab::xx230v::{RunningSim, SimCipher, SimOptions};
use modem_bridge::browser::{ChromiumConfig, ChromiumPool, DEBIAN_CHROMIUM};
use modem_bridge::proto::cipher::CipherVariant;
use modem_bridge::{Bridge, Credentials, ModemProfile, ModemTarget, PathChoice, Secret, Section};

pub(crate) const PASSWORD: &str = "lab-pw-2";

pub(crate) async fn sim(cipher: SimCipher) -> RunningSim {
    let mut opts = SimOptions::new("user", PASSWORD);
    opts.cipher = cipher;
    sim_with(opts).await
}

pub(crate) async fn sim_with(opts: SimOptions) -> RunningSim {
    RunningSim::bind("127.0.0.1:0".parse().unwrap(), opts)
        .await
        .unwrap()
}

pub(crate) fn target(sim: &RunningSim, variant: CipherVariant, password: &str) -> ModemTarget {
    ModemTarget {
        addr: sim.addr,
        profile: ModemProfile {
            cipher: variant,
            ..ModemProfile::xx230v()
        },
        credentials: Credentials {
            username: "user".into(),
            password: Secret::new(password),
        },
    }
}

/// A browser pool on Debian's Chromium; a missing browser fails loudly (never a skip).
pub(crate) fn pool() -> Arc<ChromiumPool> {
    assert!(
        Path::new(DEBIAN_CHROMIUM).exists(),
        "{DEBIAN_CHROMIUM} missing: run scripts/deps/chromium.sh (./scripts/test.sh does)"
    );
    ChromiumPool::new(ChromiumConfig {
        pool_size: 2,
        read_timeout: Duration::from_secs(30),
        ..Default::default()
    })
}

pub(crate) fn bridge(pool: Option<Arc<ChromiumPool>>) -> Bridge {
    Bridge::new(Duration::from_secs(30), pool).unwrap()
}

/// SIGKILLs a browser process the test's pool started.
pub(crate) fn kill(pid: u32) {
    let status = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Reads the device section and answers the serial number it reported.
pub(crate) async fn read_serial(b: &Bridge, t: &ModemTarget, path: PathChoice) -> String {
    let r = b.read(t, &[Section::Device], path).await.unwrap();
    r.diagnostics.device_info.unwrap().serial_number
}
