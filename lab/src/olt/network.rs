//! The simulated PON network behind one OLT: P ports × M ONUs generated from a seed, and the
//! changes the control API makes (fibre cut, power outage, drift, restore).

use std::time::{SystemTime, UNIX_EPOCH};

/// Which vendor's MIB the agent serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimVendor {
    /// Huawei MA56xx (HUAWEI-XPON-MIB).
    Huawei,
    /// ZTE C300/C320 (zxGponRootMib).
    Zte,
}

/// How simulated ONU serials look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SerialStyle {
    /// `prefix` + the 8-digit global index, exactly like cpe-sim's CPE serials, so ONU #i and
    /// CPE #i carry the same serial (`FPSIM00000042`).
    CpeSim {
        /// The prefix (cpe-sim's default is `FPSIM`).
        prefix: String,
    },
    /// An 8-byte GPON serial: `TPLG` + the global index as 4 big-endian bytes, as real OLTs
    /// report (printed by pollers as `TPLG0000002A`).
    Gpon,
}

/// Why a simulated ONU is down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimCause {
    /// Fibre (LOSi).
    Los,
    /// Power (dying gasp).
    DyingGasp,
    /// Deactivated by the operator.
    Admin,
}

/// One simulated ONU.
#[derive(Debug, Clone)]
pub struct SimOnu {
    /// Port index (0-based).
    pub port: u32,
    /// ONU id on the port.
    pub id: u32,
    /// Global index (serial offset + position), the number in its serial.
    pub index: u64,
    /// `None` when online.
    pub down: Option<SimCause>,
    /// Receive level, dBm.
    pub rx_dbm: f64,
    /// Transmit level, dBm.
    pub tx_dbm: f64,
    /// Level at the OLT, dBm.
    pub olt_rx_dbm: f64,
    /// Last up, Unix seconds.
    pub last_up: u64,
    /// Last down, Unix seconds (0 = never).
    pub last_down: u64,
    /// Last dying gasp, Unix seconds (0 = never).
    pub dying_gasp: u64,
}

/// The whole network of one simulated OLT.
#[derive(Debug, Clone)]
pub struct Network {
    /// Vendor.
    pub vendor: SimVendor,
    /// Ports.
    pub ports: u32,
    /// ONUs per port.
    pub onus_per_port: u32,
    /// Serial style.
    pub serials: SerialStyle,
    /// ONUs, port-major.
    pub onus: Vec<SimOnu>,
}

/// splitmix64: a tiny deterministic generator, so a seed always gives the same network.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix(u64);

impl SplitMix {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[lo, hi)`, rounded to 0.01.
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((lo + u * (hi - lo)) * 100.0).round() / 100.0
    }
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Network {
    /// Generates a network: every ONU online with plausible levels, except about 1 % that are
    /// down with a random cause (LOS, dying gasp or admin) — a realistic background.
    pub fn generate(
        vendor: SimVendor,
        ports: u32,
        onus_per_port: u32,
        seed: u64,
        serial_offset: u64,
        serials: SerialStyle,
    ) -> Self {
        let mut rng = SplitMix(seed);
        let now = unix_now();
        let mut onus = Vec::with_capacity((ports * onus_per_port) as usize);
        for port in 0..ports {
            for id in 0..onus_per_port {
                let down = match rng.next() % 300 {
                    0 => Some(SimCause::Los),
                    1 => Some(SimCause::DyingGasp),
                    2 => Some(SimCause::Admin),
                    _ => None,
                };
                let back = 3600 + rng.next() % 86_400;
                onus.push(SimOnu {
                    port,
                    id,
                    index: serial_offset + u64::from(port * onus_per_port + id),
                    down,
                    rx_dbm: rng.range(-25.5, -16.0),
                    tx_dbm: rng.range(1.0, 3.5),
                    olt_rx_dbm: rng.range(-27.0, -18.0),
                    last_up: now - back,
                    last_down: if down.is_some() {
                        now - back / 2
                    } else {
                        now - back - 60
                    },
                    dying_gasp: if down == Some(SimCause::DyingGasp) {
                        now - back / 2
                    } else {
                        0
                    },
                });
            }
        }
        Self {
            vendor,
            ports,
            onus_per_port,
            serials,
            onus,
        }
    }

    /// An ONU's serial as bytes on the wire.
    pub fn serial(&self, onu: &SimOnu) -> Vec<u8> {
        match &self.serials {
            SerialStyle::CpeSim { prefix } => format!("{prefix}{:08}", onu.index).into_bytes(),
            SerialStyle::Gpon => {
                let mut b = b"TPLG".to_vec();
                b.extend_from_slice(&(onu.index as u32).to_be_bytes());
                b
            }
        }
    }

    /// Cuts a port's feeder fibre: every online ONU on it goes down with LOS.
    pub fn cut_port(&mut self, port: u32) -> usize {
        self.take_down(|o| o.port == port, SimCause::Los)
    }

    /// Cuts a distribution fibre (a splitter branch): the listed ONUs of a port (ids on the
    /// port) go down with LOS; the rest of the port stays up. Unknown ids are skipped.
    pub fn cut_onus(&mut self, port: u32, ids: &[u32]) -> usize {
        self.take_down(|o| o.port == port && ids.contains(&o.id), SimCause::Los)
    }

    /// A power outage: the listed ONUs (global positions) send a dying gasp and go down.
    pub fn power_outage(&mut self, positions: &[usize]) -> usize {
        let now = unix_now();
        let mut n = 0;
        for &p in positions {
            if let Some(o) = self.onus.get_mut(p)
                && o.down.is_none()
            {
                o.down = Some(SimCause::DyingGasp);
                o.last_down = now;
                o.dying_gasp = now;
                n += 1;
            }
        }
        n
    }

    fn take_down(&mut self, pick: impl Fn(&SimOnu) -> bool, cause: SimCause) -> usize {
        let now = unix_now();
        let mut n = 0;
        for o in self.onus.iter_mut().filter(|o| pick(o) && o.down.is_none()) {
            o.down = Some(cause);
            o.last_down = now;
            n += 1;
        }
        n
    }

    /// Brings ONUs back (one port, or all with `None`).
    pub fn restore(&mut self, port: Option<u32>) -> usize {
        let now = unix_now();
        let mut n = 0;
        for o in self
            .onus
            .iter_mut()
            .filter(|o| port.is_none_or(|p| o.port == p) && o.down.is_some())
        {
            o.down = None;
            o.last_up = now;
            n += 1;
        }
        n
    }

    /// Sets one ONU's receive level (a drifting connector).
    pub fn set_rx(&mut self, position: usize, rx_dbm: f64) -> bool {
        match self.onus.get_mut(position) {
            Some(o) if rx_dbm.is_finite() && (-60.0..=10.0).contains(&rx_dbm) => {
                o.rx_dbm = rx_dbm;
                true
            }
            _ => false,
        }
    }

    /// ONUs down, by cause.
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let mut c = (0, 0, 0, 0);
        for o in &self.onus {
            match o.down {
                None => c.0 += 1,
                Some(SimCause::Los) => c.1 += 1,
                Some(SimCause::DyingGasp) => c.2 += 1,
                Some(SimCause::Admin) => c.3 += 1,
            }
        }
        c
    }
}
