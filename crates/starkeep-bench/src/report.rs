//! The shape every scenario answers ([`Scenario`]) and the run's report: `latest.json` (all of
//! it) and `latest.md` (a table of the targets, then each scenario's figures). The chart is
//! drawn by [`crate::chart`] from the same report.
//!
//! A scenario that could not run says so with its reason ([`Status::NotRun`]) and its targets
//! read "not run": no figure is ever made up.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

/// Whether a scenario ran.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Status {
    Ran,
    /// Part of it ran; `not_run` says which part did not, and why.
    Partial {
        not_run: String,
    },
    NotRun {
        reason: String,
    },
}

/// One measured number, for machines (`latest.json`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Figure {
    /// A dotted name, such as `list.c64.req_per_s`.
    pub name: String,
    pub value: f64,
    pub unit: &'static str,
}

/// Which side of a threshold a ratio must be on.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Bound {
    AtLeast(f64),
    AtMost(f64),
}

impl Bound {
    pub fn holds(self, value: f64) -> bool {
        match self {
            Bound::AtLeast(t) => value >= t,
            Bound::AtMost(t) => value <= t,
        }
    }

    pub fn threshold(self) -> f64 {
        match self {
            Bound::AtLeast(t) | Bound::AtMost(t) => t,
        }
    }

    pub fn describe(self) -> String {
        match self {
            Bound::AtLeast(t) => format!("≥ {t}×"),
            Bound::AtMost(t) => format!("≤ {t}×"),
        }
    }
}

/// A figure divided by its reference from the same run: a bar of the chart.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Ratio {
    /// What is divided by what, such as `list/health req/s, c=64`.
    pub label: String,
    /// `None` when the scenario (or this half of it) did not run.
    pub value: Option<f64>,
    pub target: Option<Bound>,
}

/// Met, not met, or not run.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Met,
    NotMet,
    NotRun,
}

impl Verdict {
    pub fn of(met: bool) -> Self {
        if met {
            Verdict::Met
        } else {
            Verdict::NotMet
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::NotMet => "NOT MET",
            Verdict::NotRun => "not run",
        }
    }
}

/// One target of the issue, checked.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TargetCheck {
    /// The target as the issue states it.
    pub target: String,
    /// The figure it was checked against, with its unit, or why there is none.
    pub figure: String,
    pub verdict: Verdict,
}

impl TargetCheck {
    pub fn checked(target: impl Into<String>, figure: impl Into<String>, met: bool) -> Self {
        Self {
            target: target.into(),
            figure: figure.into(),
            verdict: Verdict::of(met),
        }
    }

    pub fn not_run(target: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            target: target.into(),
            figure: reason.into(),
            verdict: Verdict::NotRun,
        }
    }
}

/// A table for people: a header and rows of cells.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Self {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    fn markdown(&self, out: &mut String) {
        let line = |cells: &[String]| format!("| {} |\n", cells.join(" | "));
        out.push_str(&line(&self.header));
        out.push_str(&line(&vec!["---".to_owned(); self.header.len()]));
        for row in &self.rows {
            out.push_str(&line(row));
        }
    }
}

/// What every scenario answers.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Scenario {
    /// The issue's number for it (1–6).
    pub id: u8,
    pub title: String,
    /// What is measured.
    pub measures: String,
    /// What it is measured against, in the same run.
    pub reference: String,
    pub status: Status,
    pub table: Table,
    pub figures: Vec<Figure>,
    pub ratios: Vec<Ratio>,
    pub targets: Vec<TargetCheck>,
    pub notes: Vec<String>,
}

impl Scenario {
    pub fn new(id: u8, title: &str, measures: &str, reference: &str) -> Self {
        Self {
            id,
            title: title.to_owned(),
            measures: measures.to_owned(),
            reference: reference.to_owned(),
            status: Status::Ran,
            table: Table::default(),
            figures: Vec::new(),
            ratios: Vec::new(),
            targets: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn figure(&mut self, name: impl Into<String>, value: f64, unit: &'static str) {
        self.figures.push(Figure {
            name: name.into(),
            value,
            unit,
        });
    }

    /// The scenario could not run at all: every target is "not run" for `reason`.
    pub fn not_run(
        mut self,
        reason: &str,
        targets: &[&str],
        ratios: &[(&str, Option<Bound>)],
    ) -> Self {
        self.status = Status::NotRun {
            reason: reason.to_owned(),
        };
        self.targets = targets
            .iter()
            .map(|t| TargetCheck::not_run(*t, reason))
            .collect();
        self.ratios = ratios
            .iter()
            .map(|(label, target)| Ratio {
                label: (*label).to_owned(),
                value: None,
                target: *target,
            })
            .collect();
        self
    }
}

/// The machine a run measured, as far as it matters to reading the figures.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Machine {
    pub cores: usize,
    /// 1/5/15-minute load averages when the run started, and when it ended.
    pub load_before: [f64; 3],
    pub load_after: [f64; 3],
}

/// A whole run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    /// UTC, RFC 3339.
    pub generated_at: String,
    pub mode: &'static str,
    pub command: String,
    /// The git commit of the source tree, where known.
    pub commit: Option<String>,
    pub machine: Machine,
    pub elapsed_s: f64,
    pub scenarios: Vec<Scenario>,
}

/// How the targets of a run came out, and what the command's exit status says about it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub met: usize,
    pub not_met: usize,
    pub not_run: usize,
}

impl Tally {
    /// 0 when every target was checked and met; 1 when one was checked and missed; 2 when one
    /// could not be checked (something the run needs was missing), since then the run says
    /// nothing about it either way.
    pub fn exit_status(&self) -> u8 {
        if self.not_run > 0 {
            2
        } else if self.not_met > 0 {
            1
        } else {
            0
        }
    }

    /// The closing line's count: `1 target(s) not met, 2 not run, 6 met`.
    pub fn summary(&self) -> String {
        let mut parts = vec![format!("{} target(s) not met", self.not_met)];
        if self.not_run > 0 {
            parts.push(format!("{} not run", self.not_run));
        }
        parts.push(format!("{} met", self.met));
        parts.join(", ")
    }
}

impl Report {
    /// Every target of every scenario, in order.
    pub fn tally(&self) -> Tally {
        self.targets().fold(Tally::default(), |mut tally, (_, t)| {
            match t.verdict {
                Verdict::Met => tally.met += 1,
                Verdict::NotMet => tally.not_met += 1,
                Verdict::NotRun => tally.not_run += 1,
            }
            tally
        })
    }

    pub fn targets(&self) -> impl Iterator<Item = (&Scenario, &TargetCheck)> {
        self.scenarios
            .iter()
            .flat_map(|s| s.targets.iter().map(move |t| (s, t)))
    }

    pub fn write_json(&self, path: &Path) -> anyhow::Result<()> {
        std::fs::write(path, serde_json::to_string_pretty(self)? + "\n")?;
        Ok(())
    }

    pub fn write_markdown(&self, path: &Path, chart_file: &str) -> anyhow::Result<()> {
        std::fs::write(path, self.markdown(chart_file))?;
        Ok(())
    }

    /// The Markdown text of `latest.md`.
    pub fn markdown(&self, chart_file: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# starkeep benchmark results\n");
        let _ = writeln!(
            out,
            "`{}` — {} mode, {} UTC, commit {}, {} cores, load average {:.2} before and {:.2} \
             after (1 min), {:.0} s in all.\n",
            self.command,
            self.mode,
            self.generated_at,
            self.commit.as_deref().unwrap_or("unknown"),
            self.machine.cores,
            self.machine.load_before[0],
            self.machine.load_after[0],
            self.elapsed_s,
        );
        let _ = writeln!(
            out,
            "Every figure stands next to its reference, measured in the same run on the same \
             machine. Ratios are what to read: absolute figures move with the machine's load.\n"
        );
        let _ = writeln!(out, "![ratios]({chart_file})\n");
        let _ = writeln!(out, "## Targets\n");
        let mut targets = Table::new(&["scenario", "target", "figure", "verdict"]);
        for (s, t) in self.targets() {
            targets.row(vec![
                format!("{}. {}", s.id, s.title),
                t.target.clone(),
                t.figure.clone(),
                format!("**{}**", t.verdict.as_str()),
            ]);
        }
        targets.markdown(&mut out);
        for s in &self.scenarios {
            let _ = writeln!(out, "\n## {}. {}\n", s.id, s.title);
            let _ = writeln!(out, "Measures: {}\n", s.measures);
            let _ = writeln!(out, "Reference: {}\n", s.reference);
            match &s.status {
                Status::Ran => {}
                Status::Partial { not_run } => {
                    let _ = writeln!(out, "Partly run. Not run: {not_run}\n");
                }
                Status::NotRun { reason } => {
                    let _ = writeln!(out, "**Not run**: {reason}\n");
                }
            }
            if !s.table.rows.is_empty() {
                s.table.markdown(&mut out);
                out.push('\n');
            }
            for note in &s.notes {
                let _ = writeln!(out, "- {note}");
            }
        }
        out
    }
}

/// `value` with thousands separators and no decimals, as in `12,345`.
pub fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if value < 0.0 && digits != "0" {
        out.insert(0, '-');
    }
    out
}

/// A latency in milliseconds with the precision that matters.
pub fn ms(value: f64) -> String {
    if value < 1.0 {
        format!("{value:.3} ms")
    } else if value < 100.0 {
        format!("{value:.2} ms")
    } else {
        format!("{value:.0} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(1234.0), "1,234");
        assert_eq!(thousands(1234567.0), "1,234,567");
        assert_eq!(thousands(-1234.0), "-1,234");
        assert_eq!(ms(0.1234), "0.123 ms");
        assert_eq!(ms(12.345), "12.35 ms");
    }

    #[test]
    fn bounds_hold_on_their_side() {
        assert!(Bound::AtLeast(0.5).holds(0.5));
        assert!(!Bound::AtLeast(0.5).holds(0.49));
        assert!(Bound::AtMost(2.0).holds(2.0));
        assert!(!Bound::AtMost(2.0).holds(2.01));
    }

    #[test]
    fn a_scenario_that_did_not_run_says_so_for_every_target() {
        let s = Scenario::new(4, "Sync", "m", "r").not_run(
            "the sync reconciler is not available yet",
            &["first mirror ≤ 1.5× direct apply"],
            &[("mirror/direct", Some(Bound::AtMost(1.5)))],
        );
        assert_eq!(s.targets.len(), 1);
        assert_eq!(s.targets[0].verdict, Verdict::NotRun);
        assert_eq!(s.ratios[0].value, None);
        let md = report_of(s).markdown("latest.png");
        assert!(md.contains("| 4. Sync | first mirror ≤ 1.5× direct apply | the sync reconciler is not available yet | **not run** |"), "{md}");
        assert!(md.contains("**Not run**: the sync reconciler"), "{md}");
    }

    /// A quick run's report of the one scenario given.
    fn report_of(s: Scenario) -> Report {
        Report {
            generated_at: "2026-01-01T00:00:00Z".into(),
            mode: "quick",
            command: "starkeep-bench all --quick".into(),
            commit: None,
            machine: Machine {
                cores: 2,
                load_before: [1.0; 3],
                load_after: [1.0; 3],
            },
            elapsed_s: 1.0,
            scenarios: vec![s],
        }
    }

    /// A report whose one scenario checked these targets.
    fn report_checking(targets: Vec<TargetCheck>) -> Report {
        let mut s = Scenario::new(2, "Lifecycle", "m", "r");
        s.targets = targets;
        report_of(s)
    }

    #[test]
    fn the_exit_status_says_whether_every_target_was_checked_and_met() {
        let met = || TargetCheck::checked("c=16 ≥ 0.8×", "0.97×", true);
        let missed = || TargetCheck::checked("c=1 ≥ 0.8×", "0.49×", false);
        let unchecked = || TargetCheck::not_run("c=1 ≥ 0.8×", "MariaDB is not reachable");

        let all_met = report_checking(vec![met(), met()]).tally();
        assert_eq!((all_met.met, all_met.not_met, all_met.not_run), (2, 0, 0));
        assert_eq!(all_met.exit_status(), 0);
        assert_eq!(all_met.summary(), "0 target(s) not met, 2 met");

        let one_missed = report_checking(vec![missed(), met()]).tally();
        assert_eq!(one_missed.exit_status(), 1);
        assert_eq!(one_missed.summary(), "1 target(s) not met, 1 met");

        // A target that could not be checked outweighs a miss: the run is incomplete.
        let incomplete = report_checking(vec![missed(), unchecked(), unchecked()]).tally();
        assert_eq!(incomplete.exit_status(), 2);
        assert_eq!(
            incomplete.summary(),
            "1 target(s) not met, 2 not run, 0 met"
        );
    }
}
