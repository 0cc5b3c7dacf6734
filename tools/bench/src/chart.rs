//! The report's charts, rendered to SVG with `plotters` (SVG backend only, text left to the viewer's font).

use anyhow::{Result, anyhow};
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

use super::coldstart::{self, ColdMedians};
use super::plan::DRAIN_LIMIT_PER_MIN;
use super::results::Results;

/// The cold-start chart, beside `docs/performance.md` (which links it).
pub(crate) const COLD_START_CHART: &str = "performance-cold-start.svg";

/// The drain chart, beside `docs/performance.md`.
pub(crate) const DRAIN_CHART: &str = "performance-drain.svg";

/// Every chart the results have data for: `(file name under docs/, SVG)`.
pub(crate) fn render_all(results: &Results) -> Result<Vec<(&'static str, String)>> {
    let mut charts = Vec::new();
    let entries: Vec<&_> = results.entries.iter().collect();
    let cold = coldstart::medians(&entries);
    if !cold.is_empty() {
        charts.push((COLD_START_CHART, cold_start_svg(&cold)?));
    }
    let per_minute = results
        .entries
        .iter()
        .find(|e| e.id == "drain.fraction")
        .and_then(|e| e.extra.get("per_minute"))
        .and_then(|v| v.as_str())
        .map(|text| {
            text.split_whitespace()
                .filter_map(|n| n.parse::<u32>().ok())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    if !per_minute.is_empty() {
        charts.push((DRAIN_CHART, drain_svg(&per_minute, DRAIN_LIMIT_PER_MIN)?));
    }
    Ok(charts)
}

/// Spoke requests answered in each minute of the drain (bars) against the budget and 90 % of it (lines).
/// The first and last minutes are partial.
pub(crate) fn drain_svg(per_minute: &[u32], limit: u32) -> Result<String> {
    let n = per_minute.len();
    let top = f64::from(per_minute.iter().copied().max().unwrap_or(0).max(limit)) * 1.15;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (820, 380)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Queue drain: Spoke requests answered per rate-limit window, as requests/min",
                ("sans-serif", 18),
            )
            .margin(14)
            .x_label_area_size(36)
            .y_label_area_size(60)
            .build_cartesian_2d((0..n).into_segmented(), 0.0..top)
            .map_err(|e| anyhow!("{e}"))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n.min(20))
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => format!("{}", i + 1),
                _ => String::new(),
            })
            .x_desc("rate-limit window of the drain")
            .y_desc("requests / min")
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
        chart
            .draw_series(per_minute.iter().enumerate().map(|(i, count)| {
                let mut bar = Rectangle::new(
                    [
                        (SegmentValue::Exact(i), 0.0),
                        (SegmentValue::Exact(i + 1), f64::from(*count)),
                    ],
                    OVER_COLOR.filled(),
                );
                bar.set_margin(0, 0, 6, 6);
                bar
            }))
            .map_err(|e| anyhow!("{e}"))?
            .label("answered requests in the window")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], OVER_COLOR.filled()));
        for (value, label, style) in [
            (
                f64::from(limit),
                format!("budget {limit}/min"),
                BLACK.stroke_width(2),
            ),
            (
                f64::from(limit) * 0.9,
                format!("90 % of the budget ({}/min)", limit * 9 / 10),
                FLOOR_COLOR.stroke_width(2),
            ),
        ] {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![
                        (SegmentValue::Exact(0), value),
                        (SegmentValue::Exact(n), value),
                    ],
                    style,
                )))
                .map_err(|e| anyhow!("{e}"))?
                .label(label)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 12, y)], style));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::LowerRight)
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
        root.present().map_err(|e| anyhow!("{e}"))?;
    }
    Ok(svg)
}

const FLOOR_COLOR: RGBColor = RGBColor(150, 150, 150);
const OVER_COLOR: RGBColor = RGBColor(214, 96, 77);
const CPU_COLOR: RGBColor = RGBColor(33, 102, 172);

/// Cold start per function (median, ms) as stacked bars: the floor's share in grey, what the function adds
/// over it in red; the floor (`hello-lambda`) as the first bar. `medians[0]` is the floor.
pub(crate) fn cold_start_svg(medians: &[ColdMedians]) -> Result<String> {
    let floor = medians
        .first()
        .ok_or_else(|| anyhow!("no cold-start measurement to chart"))?
        .ready_ms;
    let n = medians.len();
    let top = medians.iter().map(|m| m.ready_ms).fold(floor, f64::max) * 1.2;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (820, 380)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Cold start: process start → first /next (median of each run set, ms)",
                ("sans-serif", 18),
            )
            .margin(14)
            .x_label_area_size(36)
            .y_label_area_size(52)
            .build_cartesian_2d((0..n).into_segmented(), 0.0..top)
            .map_err(|e| anyhow!("{e}"))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n)
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => medians
                    .get(*i)
                    .map(|m| m.function.clone())
                    .unwrap_or_default(),
                _ => String::new(),
            })
            .y_desc("ms")
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
        let bar = |i: usize, from: f64, to: f64, color: RGBColor| {
            let mut rect = Rectangle::new(
                [
                    (SegmentValue::Exact(i), from),
                    (SegmentValue::Exact(i + 1), to),
                ],
                color.filled(),
            );
            rect.set_margin(0, 0, 18, 18);
            rect
        };
        chart
            .draw_series(
                medians
                    .iter()
                    .enumerate()
                    .map(|(i, m)| bar(i, 0.0, m.ready_ms.min(floor), FLOOR_COLOR)),
            )
            .map_err(|e| anyhow!("{e}"))?
            .label(format!("the floor: hello-lambda, {floor:.2} ms"))
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], FLOOR_COLOR.filled()));
        chart
            .draw_series(
                medians
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| m.ready_ms > floor)
                    .map(|(i, m)| bar(i, floor, m.ready_ms, OVER_COLOR)),
            )
            .map_err(|e| anyhow!("{e}"))?
            .label("over the floor")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], OVER_COLOR.filled()));
        chart
            .draw_series(medians.iter().enumerate().map(|(i, m)| {
                let mut rect = Rectangle::new(
                    [
                        (SegmentValue::Exact(i), 0.0),
                        (SegmentValue::Exact(i + 1), m.ready_cpu_ms),
                    ],
                    CPU_COLOR.filled(),
                );
                rect.set_margin(0, 0, 34, 34);
                rect
            }))
            .map_err(|e| anyhow!("{e}"))?
            .label("of which on a CPU (the rest: waiting for a core or for I/O)")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], CPU_COLOR.filled()));
        chart
            .draw_series(medians.iter().enumerate().map(|(i, m)| {
                Text::new(
                    format!("{:.1}", m.ready_ms),
                    (SegmentValue::CenterOf(i), m.ready_ms + top * 0.02),
                    ("sans-serif", 13),
                )
            }))
            .map_err(|e| anyhow!("{e}"))?;
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
        root.present().map_err(|e| anyhow!("{e}"))?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn medians(function: &str, ready_ms: f64) -> ColdMedians {
        ColdMedians {
            function: function.to_owned(),
            ready_ms,
            ready_cpu_ms: ready_ms / 2.0,
            first_ms: 1.0,
            peak_mib: 3.0,
        }
    }

    #[test]
    fn the_cold_start_chart_is_an_svg_with_a_bar_per_function_and_the_floor_labelled() {
        let svg = cold_start_svg(&[
            medians("hello-lambda", 2.0),
            medians("oncall-spoke", 8.0),
            medians("cls-queue", 16.0),
        ])
        .unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        for text in [
            "hello-lambda",
            "oncall-spoke",
            "cls-queue",
            "over the floor",
            "16.0",
        ] {
            assert!(svg.contains(text), "no {text} in the chart");
        }
        // Three floor segments and two over-the-floor segments (the floor adds nothing over itself).
        let floor_fill = "fill=\"#969696\"";
        let over_fill = "fill=\"#D6604D\"";
        assert!(svg.matches(floor_fill).count() >= 3, "{svg}");
        assert!(svg.matches(over_fill).count() >= 2, "{svg}");
    }

    #[test]
    fn the_drain_chart_has_a_bar_per_minute_and_the_budget_lines() {
        let svg = drain_svg(&[600, 1_150, 1_190, 400], 1_200).unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("budget 1200/min") && svg.contains("90 % of the budget (1080/min)"));
        assert!(svg.matches("fill=\"#D6604D\"").count() >= 4, "{svg}");
    }

    #[test]
    fn no_measurement_is_no_chart() {
        assert!(cold_start_svg(&[]).is_err());
    }
}
