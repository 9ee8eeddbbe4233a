//! Inline SVG charts: bars (linear or log), stacked bars against a limit, ranges with
//! measured points, and a scatter with its Pareto front. Each function returns one `<svg>`
//! element that needs no script, font or stylesheet from outside.

use std::fmt::Write;

/// Where a number comes from; sets its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Computed by the estimator.
    Estimated,
    /// Measured on a real run.
    Measured,
    /// A published fact.
    Published,
}

impl Kind {
    /// The colour of this kind's marks.
    pub fn color(self) -> &'static str {
        match self {
            Kind::Estimated => "#4e79a7",
            Kind::Measured => "#e15759",
            Kind::Published => "#59a14f",
        }
    }
}

/// Colours of the parts of a stacked bar, in order.
pub const PART_COLORS: [&str; 4] = ["#4e79a7", "#f28e2b", "#76b7b2", "#bab0ac"];

/// How values map to length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// From zero, in proportion.
    Linear,
    /// Powers of ten equally spaced; for values that span orders of magnitude.
    Log,
}

/// A chart's title, the formatter of its axis, and its legend.
pub struct Frame<'a> {
    /// Title, drawn above the chart and given to screen readers.
    pub title: &'a str,
    /// Axis tick labels.
    pub format: &'a dyn Fn(f64) -> String,
    /// Legend entries: colour and label.
    pub legend: Vec<(&'a str, String)>,
}

/// One bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Row label.
    pub label: String,
    /// Length; non-finite values, and values <= 0 on a log scale, draw no bar.
    pub value: f64,
    /// Text after the bar.
    pub text: String,
    /// Colour by origin.
    pub kind: Kind,
}

/// One stacked bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Stack {
    /// Row label.
    pub label: String,
    /// The parts, left to right, coloured by [`PART_COLORS`].
    pub parts: Vec<f64>,
    /// A limit drawn as a mark across the row (the device's usable memory).
    pub limit: Option<f64>,
    /// Text after the bar.
    pub text: String,
}

/// One range: an estimate's band, and a measurement when there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    /// Row label.
    pub label: String,
    /// Low end of the band.
    pub low: f64,
    /// The central value, drawn as a tick.
    pub mid: f64,
    /// High end of the band.
    pub high: f64,
    /// A measured value, drawn as a dot over the band.
    pub measured: Option<f64>,
    /// Text after the row.
    pub text: String,
}

/// One point of a scatter.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Its label.
    pub label: String,
    /// Horizontal value (a cost: log scale).
    pub x: f64,
    /// Vertical value (a score).
    pub y: f64,
    /// Colour by origin.
    pub kind: Kind,
}

const WIDTH: f64 = 900.0;
const LEFT: f64 = 290.0;
const RIGHT: f64 = 130.0;
const TOP: f64 = 44.0;
const ROW: f64 = 24.0;
const BOTTOM: f64 = 30.0;

/// A value axis from `lo` to `hi`, drawn from `x0` to `x1`.
struct Axis {
    lo: f64,
    hi: f64,
    scale: Scale,
    x0: f64,
    x1: f64,
}

impl Axis {
    /// An axis that holds `values` (the finite ones, and the positive ones on a log scale).
    fn fit(values: impl IntoIterator<Item = f64>, scale: Scale, x0: f64, x1: f64) -> Axis {
        let usable: Vec<f64> = values.into_iter().filter(|v| drawable(*v, scale)).collect();
        let max = usable.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let min = usable.iter().copied().fold(f64::INFINITY, f64::min);
        let (lo, hi) = match scale {
            _ if usable.is_empty() => (if scale == Scale::Log { 1.0 } else { 0.0 }, 10.0),
            Scale::Linear => (0.0_f64.min(min), nice_ceiling(max.max(f64::MIN_POSITIVE))),
            Scale::Log => {
                let lo = 10f64.powf(min.log10().floor());
                let mut hi = 10f64.powf(max.log10().ceil());
                if hi <= lo {
                    hi = lo * 10.0;
                }
                (lo, hi)
            }
        };
        Axis {
            lo,
            hi,
            scale,
            x0,
            x1,
        }
    }

    /// Where `v` falls, clamped to the axis; `None` when it cannot be drawn.
    fn at(&self, v: f64) -> Option<f64> {
        if !drawable(v, self.scale) {
            return None;
        }
        let t = match self.scale {
            Scale::Linear => (v - self.lo) / (self.hi - self.lo),
            Scale::Log => (v.log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10()),
        };
        Some(self.x0 + t.clamp(0.0, 1.0) * (self.x1 - self.x0))
    }

    /// Tick values: each power of ten (every other one past eight), or five linear steps.
    fn ticks(&self) -> Vec<f64> {
        match self.scale {
            Scale::Linear => (0..=5)
                .map(|i| self.lo + (self.hi - self.lo) * f64::from(i) / 5.0)
                .collect(),
            Scale::Log => {
                let a = self.lo.log10().round() as i32;
                let b = self.hi.log10().round() as i32;
                let step = if b - a > 8 { 2 } else { 1 };
                (a..=b).step_by(step).map(|e| 10f64.powi(e)).collect()
            }
        }
    }
}

/// Whether `v` can be placed on a `scale` axis: finite and within 1e±300 (so that an axis
/// end rounded outward stays finite), and positive on a log scale.
fn drawable(v: f64, scale: Scale) -> bool {
    match scale {
        Scale::Linear => v.is_finite() && v.abs() <= 1e300,
        Scale::Log => (1e-300..=1e300).contains(&v),
    }
}

/// The smallest of 1, 2, 2.5, 5 or 10 times a power of ten that is >= `v`.
fn nice_ceiling(v: f64) -> f64 {
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|c| *c >= v * (1.0 - 1e-12))
        .unwrap_or(10.0 * p)
}

/// Escapes text for XML content and attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// A label cut to `max` characters, with an ellipsis.
fn clip(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        label.to_string()
    } else {
        let mut s: String = label.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// The `<svg>` opening, title and legend, for a chart `height` high.
fn open(out: &mut String, frame: &Frame<'_>, height: f64) {
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" aria-label="{t}"><title>{t}</title><rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#fff"/><text x="8" y="18" class="ct">{t}</text>"##,
        t = escape(frame.title)
    );
    let mut x = WIDTH - 8.0;
    for (color, label) in frame.legend.iter().rev() {
        let w = 7.0 * label.chars().count() as f64 + 18.0;
        x -= w;
        let _ = write!(
            out,
            r#"<rect x="{x:.1}" y="26" width="10" height="10" fill="{color}"/><text x="{:.1}" y="35" class="lg">{}</text>"#,
            x + 14.0,
            escape(label)
        );
    }
}

/// Grid lines and tick labels of `axis` between `y0` and `y1`.
fn grid(out: &mut String, axis: &Axis, y0: f64, y1: f64, format: &dyn Fn(f64) -> String) {
    for v in axis.ticks() {
        if let Some(x) = axis.at(v) {
            let _ = write!(
                out,
                r#"<line x1="{x:.1}" y1="{y0:.1}" x2="{x:.1}" y2="{y1:.1}" class="gd"/><text x="{x:.1}" y="{:.1}" class="tk" text-anchor="middle">{}</text>"#,
                y1 + 14.0,
                escape(&format(v))
            );
        }
    }
}

/// The label of row `i` and the y of its centre.
fn row_label(out: &mut String, i: usize, label: &str) -> f64 {
    let y = TOP + ROW * i as f64 + ROW / 2.0;
    let _ = write!(
        out,
        r#"<text x="{:.1}" y="{:.1}" class="rl" text-anchor="end">{}</text>"#,
        LEFT - 8.0,
        y + 4.0,
        escape(&clip(label, 44))
    );
    y
}

fn after_text(out: &mut String, x: f64, y: f64, text: &str) {
    let _ = write!(
        out,
        r#"<text x="{:.1}" y="{:.1}" class="vl">{}</text>"#,
        x + 5.0,
        y + 4.0,
        escape(&clip(text, 30))
    );
}

/// Horizontal bars, one per row.
pub fn bars(frame: &Frame<'_>, scale: Scale, bars: &[Bar]) -> String {
    let height = TOP + ROW * bars.len().max(1) as f64 + BOTTOM;
    let axis = Axis::fit(bars.iter().map(|b| b.value), scale, LEFT, WIDTH - RIGHT);
    let mut out = String::with_capacity(512 + 300 * bars.len());
    open(&mut out, frame, height);
    grid(&mut out, &axis, TOP, height - BOTTOM, frame.format);
    for (i, b) in bars.iter().enumerate() {
        let y = row_label(&mut out, i, &b.label);
        let end = match axis.at(b.value) {
            Some(x) => {
                let w = (x - LEFT).max(1.0);
                let _ = write!(
                    out,
                    r#"<rect x="{LEFT}" y="{:.1}" width="{w:.1}" height="{:.1}" fill="{}"><title>{}: {}</title></rect>"#,
                    y - ROW * 0.35,
                    ROW * 0.7,
                    b.kind.color(),
                    escape(&b.label),
                    escape(&b.text)
                );
                LEFT + w
            }
            None => LEFT,
        };
        after_text(&mut out, end, y, &b.text);
    }
    out.push_str("</svg>");
    out
}

/// Stacked horizontal bars, with a limit mark per row.
pub fn stacks(frame: &Frame<'_>, rows: &[Stack]) -> String {
    let height = TOP + ROW * rows.len().max(1) as f64 + BOTTOM;
    let totals = rows.iter().flat_map(|r| {
        let sum: f64 = r.parts.iter().filter(|p| p.is_finite()).sum();
        [sum, r.limit.unwrap_or(0.0)]
    });
    let axis = Axis::fit(totals, Scale::Linear, LEFT, WIDTH - RIGHT);
    let mut out = String::with_capacity(512 + 500 * rows.len());
    open(&mut out, frame, height);
    grid(&mut out, &axis, TOP, height - BOTTOM, frame.format);
    for (i, r) in rows.iter().enumerate() {
        let y = row_label(&mut out, i, &r.label);
        let mut sum = 0.0;
        let mut x = LEFT;
        for (j, part) in r.parts.iter().enumerate() {
            if !part.is_finite() || *part <= 0.0 {
                continue;
            }
            sum += part;
            let end = axis.at(sum).unwrap_or(x);
            let _ = write!(
                out,
                r#"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}"/>"#,
                y - ROW * 0.35,
                (end - x).max(0.5),
                ROW * 0.7,
                PART_COLORS[j % PART_COLORS.len()]
            );
            x = end;
        }
        if let Some(lx) = r.limit.and_then(|l| axis.at(l)) {
            let _ = write!(
                out,
                r##"<line x1="{lx:.1}" y1="{:.1}" x2="{lx:.1}" y2="{:.1}" stroke="#222" stroke-width="2" stroke-dasharray="3 2"/>"##,
                y - ROW * 0.5,
                y + ROW * 0.5
            );
            x = x.max(lx);
        }
        after_text(&mut out, x, y, &r.text);
    }
    out.push_str("</svg>");
    out
}

/// Bands on a log scale, each with its central tick and, when measured, a dot.
pub fn ranges(frame: &Frame<'_>, rows: &[Range]) -> String {
    let height = TOP + ROW * rows.len().max(1) as f64 + BOTTOM;
    let values = rows
        .iter()
        .flat_map(|r| [r.low, r.mid, r.high, r.measured.unwrap_or(f64::NAN)]);
    let axis = Axis::fit(values, Scale::Log, LEFT, WIDTH - RIGHT);
    let mut out = String::with_capacity(512 + 500 * rows.len());
    open(&mut out, frame, height);
    grid(&mut out, &axis, TOP, height - BOTTOM, frame.format);
    for (i, r) in rows.iter().enumerate() {
        let y = row_label(&mut out, i, &r.label);
        let mut end = LEFT;
        if let (Some(a), Some(b)) = (axis.at(r.low.min(r.high)), axis.at(r.low.max(r.high))) {
            let _ = write!(
                out,
                r#"<rect x="{a:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}" fill-opacity="0.35"/>"#,
                y - ROW * 0.3,
                (b - a).max(2.0),
                ROW * 0.6,
                Kind::Estimated.color()
            );
            end = end.max(b.max(a + 2.0));
        }
        if let Some(m) = axis.at(r.mid) {
            let _ = write!(
                out,
                r#"<line x1="{m:.1}" y1="{:.1}" x2="{m:.1}" y2="{:.1}" stroke="{}" stroke-width="3"/>"#,
                y - ROW * 0.35,
                y + ROW * 0.35,
                Kind::Estimated.color()
            );
            end = end.max(m);
        }
        if let Some(m) = r.measured.and_then(|v| axis.at(v)) {
            let _ = write!(
                out,
                r##"<circle cx="{m:.1}" cy="{y:.1}" r="5" fill="{}" stroke="#fff" stroke-width="1"/>"##,
                Kind::Measured.color()
            );
            end = end.max(m + 5.0);
        }
        after_text(&mut out, end, y, &r.text);
    }
    out.push_str("</svg>");
    out
}

/// The points of `points` on their Pareto front, cheapest first: no other point has a lower
/// `x` and a `y` at least as high.
pub fn pareto_front(points: &[Point]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..points.len())
        .filter(|&i| drawable(points[i].x, Scale::Log) && drawable(points[i].y, Scale::Linear))
        .collect();
    order.sort_by(|&a, &b| {
        points[a]
            .x
            .total_cmp(&points[b].x)
            .then(points[b].y.total_cmp(&points[a].y))
    });
    let mut best = f64::NEG_INFINITY;
    let mut front = Vec::new();
    for i in order {
        if points[i].y > best {
            best = points[i].y;
            front.push(i);
        }
    }
    front
}

/// A scatter: x on a log scale (cost), y linear (quality), the Pareto front joined by a
/// line; `y_format` labels the vertical axis.
pub fn scatter(frame: &Frame<'_>, y_format: &dyn Fn(f64) -> String, points: &[Point]) -> String {
    let plot_h = 260.0;
    let height = TOP + plot_h + BOTTOM + 10.0;
    let left = 70.0;
    let axis = Axis::fit(points.iter().map(|p| p.x), Scale::Log, left, WIDTH - 40.0);
    let ys: Vec<f64> = points
        .iter()
        .map(|p| p.y)
        .filter(|y| drawable(*y, Scale::Linear))
        .collect();
    let ymin = ys.iter().copied().fold(f64::INFINITY, f64::min);
    let ymax = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (y_lo, y_hi) = if ys.is_empty() {
        (0.0, 1.0)
    } else {
        let pad = ((ymax - ymin) * 0.15).max(ymax.abs() * 0.05).max(0.02);
        let lo = if ymin >= 0.0 {
            (ymin - pad).max(0.0)
        } else {
            ymin - pad
        };
        let hi = ymax + pad;
        (lo, if hi > lo { hi } else { lo + 1.0 })
    };
    let y_at = |v: f64| TOP + plot_h - (v - y_lo) / (y_hi - y_lo) * plot_h;
    let mut out = String::with_capacity(1024 + 300 * points.len());
    open(&mut out, frame, height);
    grid(&mut out, &axis, TOP, TOP + plot_h, frame.format);
    for i in 0..=4 {
        let v = y_lo + (y_hi - y_lo) * f64::from(i) / 4.0;
        let y = y_at(v);
        let _ = write!(
            out,
            r#"<line x1="{left}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" class="gd"/><text x="{:.1}" y="{:.1}" class="tk" text-anchor="end">{}</text>"#,
            WIDTH - 40.0,
            left - 6.0,
            y + 4.0,
            escape(&y_format(v))
        );
    }
    let front = pareto_front(points);
    let path: Vec<String> = front
        .iter()
        .filter_map(|&i| {
            Some(format!(
                "{:.1},{:.1}",
                axis.at(points[i].x)?,
                y_at(points[i].y)
            ))
        })
        .collect();
    if path.len() > 1 {
        let _ = write!(
            out,
            r##"<polyline points="{}" fill="none" stroke="#222" stroke-width="1.5" stroke-dasharray="5 3"/>"##,
            path.join(" ")
        );
    }
    for (i, p) in points.iter().enumerate() {
        let Some(x) = axis.at(p.x) else { continue };
        if !drawable(p.y, Scale::Linear) {
            continue;
        }
        let y = y_at(p.y);
        let r = if front.contains(&i) { 7.0 } else { 5.0 };
        // Labels near the right edge go to the point's left, so they stay in the chart.
        let (lx, anchor) = if x > WIDTH - 200.0 {
            (x - 9.0, "end")
        } else {
            (x + 9.0, "start")
        };
        let _ = write!(
            out,
            r##"<circle cx="{x:.1}" cy="{y:.1}" r="{r}" fill="{}" stroke="#222" stroke-width="{}"><title>{}</title></circle><text x="{lx:.1}" y="{:.1}" class="pl" text-anchor="{anchor}">{}</text>"##,
            p.kind.color(),
            if front.contains(&i) { 1.5 } else { 0.0 },
            escape(&p.label),
            y + 14.0,
            escape(&clip(&p.label, 28))
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use proptest::prelude::*;

    use super::*;

    fn frame(format: &dyn Fn(f64) -> String) -> Frame<'_> {
        Frame {
            title: "T <&>",
            format,
            legend: vec![(Kind::Estimated.color(), "estimated".into())],
        }
    }

    fn bar(label: &str, value: f64) -> Bar {
        Bar {
            label: label.into(),
            value,
            text: format!("{value}"),
            kind: Kind::Published,
        }
    }

    #[test]
    fn a_log_axis_spans_whole_decades() {
        let a = Axis::fit([3.0, 4e9, f64::NAN, -1.0], Scale::Log, 0.0, 100.0);
        assert_eq!((a.lo, a.hi), (1.0, 1e10));
        assert_eq!(a.ticks().len(), 6, "every other decade past eight");
        assert_eq!(a.at(1.0), Some(0.0));
        assert_eq!(a.at(1e10), Some(100.0));
        assert_eq!(a.at(0.0), None);
        let l = Axis::fit([0.3, 7.0], Scale::Linear, 0.0, 100.0);
        assert_eq!((l.lo, l.hi), (0.0, 10.0));
        assert_eq!(nice_ceiling(2.2), 2.5);
        assert_eq!(nice_ceiling(100.0), 100.0);
    }

    #[test]
    fn bars_escape_text_and_draw_one_rect_per_value() {
        let f = |v: f64| format!("{v}");
        let svg = bars(
            &frame(&f),
            Scale::Log,
            &[bar("a<b", 10.0), bar("c", 1000.0), bar("nan", f64::NAN)],
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("a&lt;b") && svg.contains("T &lt;&amp;&gt;"));
        assert_eq!(
            svg.matches("<rect").count(),
            1 + 1 + 2,
            "background, legend, two bars"
        );
    }

    #[test]
    fn the_pareto_front_keeps_what_nothing_beats() {
        let p = |x: f64, y: f64| Point {
            label: String::new(),
            x,
            y,
            kind: Kind::Estimated,
        };
        let points = [
            p(10.0, 0.5),
            p(1.0, 0.4),
            p(5.0, 0.3),
            p(100.0, 0.9),
            p(1.0, 0.2),
        ];
        assert_eq!(pareto_front(&points), vec![1, 0, 3]);
    }

    #[test]
    fn every_chart_survives_odd_values() {
        let f = |v: f64| format!("{v:.0}");
        let s = stacks(
            &frame(&f),
            &[Stack {
                label: "m".into(),
                parts: vec![1.0, f64::INFINITY, -2.0, 3.0],
                limit: Some(8.0),
                text: "4".into(),
            }],
        );
        assert_eq!(s.matches("<rect").count(), 2 + 2);
        let r = ranges(
            &frame(&f),
            &[Range {
                label: "m".into(),
                low: 0.01,
                mid: 0.02,
                high: 0.05,
                measured: Some(0.03),
                text: "20 ms".into(),
            }],
        );
        assert!(r.contains("<circle"));
        let empty = scatter(&frame(&f), &f, &[]);
        assert!(empty.ends_with("</svg>"));
    }

    proptest! {
        #[test]
        fn charts_are_well_formed_for_any_values(
            values in proptest::collection::vec(proptest::num::f64::ANY, 0..12),
            label in "[a-z<>&\" ]{0,60}",
        ) {
            let f = |v: f64| format!("{v:.3}");
            let rows: Vec<Bar> = values
                .iter()
                .map(|v| Bar { text: "t".into(), ..bar(&label, *v) })
                .collect();
            for scale in [Scale::Linear, Scale::Log] {
                let svg = bars(&frame(&f), scale, &rows);
                prop_assert!(!svg.contains("NaN") && !svg.contains("inf"));
                prop_assert_eq!(svg.matches("<svg").count(), 1);
            }
            let points: Vec<Point> = values.iter().map(|v| Point {
                label: label.clone(), x: v.abs(), y: *v, kind: Kind::Measured,
            }).collect();
            let svg = scatter(&frame(&f), &f, &points);
            prop_assert!(!svg.contains("NaN"));
        }
    }
}
