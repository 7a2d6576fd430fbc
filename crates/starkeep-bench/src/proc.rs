//! What Linux tells about a process and the machine: resident memory from
//! `/proc/<pid>/status`, the load average from `/proc/loadavg`, the number of cores.
//!
//! Figures are in KiB as the kernel gives them; nothing here measures time.

use std::fs;

use serde::Serialize;

/// The resident set of a process: now, and the most it has ever held.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Memory {
    /// `VmRSS`, KiB.
    pub rss_kib: u64,
    /// `VmHWM`, the peak resident set since the process started, KiB.
    pub hwm_kib: u64,
}

impl Memory {
    pub fn rss_mib(&self) -> f64 {
        self.rss_kib as f64 / 1024.0
    }

    pub fn hwm_mib(&self) -> f64 {
        self.hwm_kib as f64 / 1024.0
    }
}

/// Reads `VmRSS` and `VmHWM` of process `pid`.
pub fn memory(pid: u32) -> anyhow::Result<Memory> {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
    Ok(Memory {
        rss_kib: status_kib(&status, "VmRSS:")?,
        hwm_kib: status_kib(&status, "VmHWM:")?,
    })
}

fn status_kib(status: &str, field: &str) -> anyhow::Result<u64> {
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .ok_or_else(|| anyhow::anyhow!("no {field} in /proc status"))?;
    let value = line[field.len()..]
        .split_whitespace()
        .next()
        .ok_or_else(|| anyhow::anyhow!("empty {field}"))?;
    Ok(value.parse()?)
}

/// The 1, 5 and 15 minute load averages, or zeros where `/proc/loadavg` cannot be read.
pub fn load_average() -> [f64; 3] {
    let text = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut out = [0.0; 3];
    for (slot, field) in out.iter_mut().zip(text.split_whitespace()) {
        *slot = field.parse().unwrap_or(0.0);
    }
    out
}

/// The cores this process may run on.
pub fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_own_memory() {
        let m = memory(std::process::id()).unwrap();
        assert!(m.rss_kib > 0);
        assert!(m.hwm_kib >= m.rss_kib);
    }

    #[test]
    fn parses_a_status_field() {
        let status = "Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n";
        assert_eq!(status_kib(status, "VmRSS:").unwrap(), 1024);
        assert_eq!(status_kib(status, "VmHWM:").unwrap(), 2048);
        assert!(status_kib(status, "VmSwap:").is_err());
    }
}
