//! Compute units and billing classes.
//!
//! An execution's compute units are its guest fuel, plus a fixed cost per
//! call into the host, plus a cost per KiB moved in or out. At or under the
//! configured threshold the execution is light, above it heavy.

use serde::{Deserialize, Serialize};

use crate::config::MeteringConfig;

/// How an execution is billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BillingClass {
    /// At or under the compute-unit threshold.
    Light,
    /// Above the threshold.
    Heavy,
}

impl std::fmt::Display for BillingClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BillingClass::Light => "light",
            BillingClass::Heavy => "heavy",
        })
    }
}

/// What one execution used, counted as it runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    /// Guest fuel burned.
    pub fuel: u64,
    /// Calls into brokered imports.
    pub host_calls: u64,
    /// Bytes into the sandbox.
    pub bytes_in: u64,
    /// Bytes out of the sandbox.
    pub bytes_out: u64,
}

impl Usage {
    /// The units charged for host calls.
    pub fn host_call_units(&self, pricing: &MeteringConfig) -> u64 {
        self.host_calls.saturating_mul(pricing.host_call_units)
    }

    /// Total compute units.
    pub fn compute_units(&self, pricing: &MeteringConfig) -> u64 {
        let kib = self.bytes_in.saturating_add(self.bytes_out).div_ceil(1024);
        self.fuel
            .saturating_add(self.host_call_units(pricing))
            .saturating_add(kib.saturating_mul(pricing.units_per_kib))
    }

    /// Light or heavy.
    pub fn billing_class(&self, pricing: &MeteringConfig) -> BillingClass {
        if self.compute_units(pricing) <= pricing.heavy_threshold_units {
            BillingClass::Light
        } else {
            BillingClass::Heavy
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_add_fuel_calls_and_kib() {
        let pricing = MeteringConfig {
            host_call_units: 100,
            units_per_kib: 10,
            heavy_threshold_units: 1_000,
        };
        let usage = Usage {
            fuel: 500,
            host_calls: 3,
            bytes_in: 1024,
            bytes_out: 1,
        };
        assert_eq!(usage.compute_units(&pricing), 500 + 300 + 20);
        assert_eq!(usage.billing_class(&pricing), BillingClass::Light);
        let heavier = Usage { fuel: 681, ..usage };
        assert_eq!(heavier.compute_units(&pricing), 1_001);
        assert_eq!(heavier.billing_class(&pricing), BillingClass::Heavy);
    }
}
