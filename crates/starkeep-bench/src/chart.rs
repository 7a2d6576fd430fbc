//! The PNG chart of a run's ratios: one bar per ratio (starkeep's figure ÷ its reference from
//! the same run), its target drawn across it, green where met, red where missed, grey text
//! where the scenario did not run.
//!
//! Text is drawn with DejaVu Sans compiled into the binary (the `dejavu` crate) through
//! plotters' `ab_glyph` backend, so the chart needs no system font library or font file.

use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use crate::report::{Report, Verdict};

const WIDTH: u32 = 1200;
const ROW: i32 = 46;
const TOP: i32 = 96;
const LABEL_X: i32 = 16;
const BAR_X0: i32 = 470;
const BAR_X1: i32 = 1110;
const FONT: &str = "sans-serif";

const MET: RGBColor = RGBColor(46, 139, 87);
const MISSED: RGBColor = RGBColor(200, 50, 50);
const INFO: RGBColor = RGBColor(70, 110, 170);
const GREY: RGBColor = RGBColor(130, 130, 130);
const GRID: RGBColor = RGBColor(215, 215, 215);

static FONTS: Once = Once::new();

fn register_fonts() {
    FONTS.call_once(|| {
        register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
            .unwrap_or_else(|_| panic!("the bundled DejaVu Sans is a valid font"));
        register_font(FONT, FontStyle::Bold, dejavu::sans::bold())
            .unwrap_or_else(|_| panic!("the bundled DejaVu Sans Bold is a valid font"));
    });
}

/// One bar as drawn.
struct Bar<'a> {
    scenario: u8,
    label: &'a str,
    value: Option<f64>,
    target: Option<crate::report::Bound>,
}

/// Draws the ratios of `report` into a PNG at `path`.
pub fn draw(report: &Report, path: &Path) -> anyhow::Result<()> {
    register_fonts();
    let bars: Vec<Bar> = report
        .scenarios
        .iter()
        .flat_map(|s| {
            s.ratios.iter().map(move |r| Bar {
                scenario: s.id,
                label: &r.label,
                value: r.value,
                target: r.target,
            })
        })
        .collect();
    let height = (TOP + ROW * bars.len() as i32 + 70) as u32;
    let root = BitMapBackend::new(path, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE)?;

    let title = (FONT, 24).into_font().style(FontStyle::Bold);
    let text = (FONT, 15).into_font();
    let small = (FONT, 13).into_font();
    root.draw(&Text::new(
        "starkeep: each figure ÷ its reference from the same run",
        (LABEL_X, 14),
        title.color(&BLACK),
    ))?;
    root.draw(&Text::new(
        format!(
            "{} mode, {} UTC, {} cores, load average {:.1} → {:.1}.  Green: target met.  \
             Red: missed.  Blue: no target.  Black line: the target.",
            report.mode,
            report.generated_at,
            report.machine.cores,
            report.machine.load_before[0],
            report.machine.load_after[0]
        ),
        (LABEL_X, 50),
        small.color(&GREY),
    ))?;

    let max = bars
        .iter()
        .flat_map(|b| [b.value, b.target.map(|t| t.threshold())])
        .flatten()
        .fold(1.0_f64, f64::max)
        * 1.12;
    let x_of = |v: f64| BAR_X0 + ((v / max) * f64::from(BAR_X1 - BAR_X0)).round() as i32;
    let bottom = TOP + ROW * bars.len() as i32;

    // The scale: gridlines at round ratios, 1× (parity) darker.
    let step = if max > 8.0 {
        2.0
    } else if max > 3.0 {
        1.0
    } else {
        0.5
    };
    let mut tick = 0.0;
    while tick <= max {
        let x = x_of(tick);
        let color = if (tick - 1.0).abs() < 1e-9 {
            GREY
        } else {
            GRID
        };
        root.draw(&PathElement::new(vec![(x, TOP - 8), (x, bottom)], color))?;
        root.draw(&Text::new(
            format!("{tick}×"),
            (x - 10, bottom + 8),
            small.color(&GREY),
        ))?;
        tick += step;
    }

    for (i, bar) in bars.iter().enumerate() {
        let y = TOP + ROW * i as i32;
        root.draw(&Text::new(
            format!("{}. {}", bar.scenario, bar.label),
            (LABEL_X, y + 12),
            text.color(&BLACK),
        ))?;
        let Some(value) = bar.value else {
            root.draw(&Text::new(
                "not run",
                (BAR_X0 + 8, y + 12),
                text.clone().style(FontStyle::Bold).color(&GREY),
            ))?;
            if let Some(target) = bar.target {
                draw_target(
                    &root,
                    x_of(target.threshold()),
                    y,
                    &target.describe(),
                    &small,
                )?;
            }
            continue;
        };
        let color = match bar.target {
            Some(t) if t.holds(value) => MET,
            Some(_) => MISSED,
            None => INFO,
        };
        let end = x_of(value).max(BAR_X0 + 2);
        root.draw(&Rectangle::new(
            [(BAR_X0, y + 8), (end, y + ROW - 10)],
            color.filled(),
        ))?;
        // The figure goes right of the bar, and right of a target line close to its end.
        let text_x = match bar.target.map(|t| x_of(t.threshold())) {
            Some(line) if (line - end).abs() < 56 => line.max(end) + 8,
            _ => end + 6,
        };
        root.draw(&Text::new(
            format!("{value:.2}×"),
            (text_x, y + 12),
            text.clone().style(FontStyle::Bold).color(&BLACK),
        ))?;
        if let Some(target) = bar.target {
            draw_target(
                &root,
                x_of(target.threshold()),
                y,
                &target.describe(),
                &small,
            )?;
        }
    }

    let verdicts = report.targets().fold([0; 3], |mut n, (_, t)| {
        n[match t.verdict {
            Verdict::Met => 0,
            Verdict::NotMet => 1,
            Verdict::NotRun => 2,
        }] += 1;
        n
    });
    root.draw(&Text::new(
        format!(
            "Targets: {} met, {} not met, {} not run.  Figures and targets: latest.md",
            verdicts[0], verdicts[1], verdicts[2]
        ),
        (LABEL_X, bottom + 38),
        text.color(&BLACK),
    ))?;
    root.present()?;
    Ok(())
}

fn draw_target<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    x: i32,
    y: i32,
    label: &str,
    font: &FontDesc,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    root.draw(&PathElement::new(
        vec![(x, y + 3), (x, y + ROW - 5)],
        BLACK.stroke_width(3),
    ))
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    root.draw(&Text::new(
        format!("target {label}"),
        (x + 5, y + ROW - 20),
        font.color(&BLACK),
    ))
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}
