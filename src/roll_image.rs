//! Piano-roll pictures (PNG) of phrases: real music beside what a model wrote, so a reader
//! sees the difference before building anything.
//!
//! Panels share one pitch axis and one time scale, so they compare at a glance. Time runs
//! left to right in quarter notes with bar lines (dark) and beat lines (light); pitch runs
//! upwards with black-key rows shaded and note names at every C (60 = C4). Drawing is
//! deterministic: the same panels give the same pixels.

use std::path::Path;

use plotters::prelude::*;

use crate::excerpt::Excerpt;
use crate::midi::summary::pitch_name;
use crate::phrase::TimeSignature;

/// One piano roll with its title.
#[derive(Clone, Debug, PartialEq)]
pub struct RollPanel {
    pub title: String,
    pub excerpt: Excerpt,
}

/// How panels are placed in the figure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Arrangement {
    /// One above the other (the first on top).
    #[default]
    Stacked,
    /// In a row (the first on the left).
    SideBySide,
}

/// Size of each panel and how panels are placed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FigureLayout {
    pub panel_width_px: u32,
    pub panel_height_px: u32,
    pub arrangement: Arrangement,
}

impl Default for FigureLayout {
    fn default() -> Self {
        Self {
            panel_width_px: 1200,
            panel_height_px: 380,
            arrangement: Arrangement::Stacked,
        }
    }
}

/// Smallest panel that still holds a title, axis labels and a roll.
pub const MIN_PANEL_PX: (u32, u32) = (240, 160);
/// Largest figure side, so a typo cannot ask for gigabytes.
pub const MAX_FIGURE_SIDE_PX: u32 = 12_000;

/// An 8-bit RGB picture, rows top to bottom, three bytes per pixel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RgbImage {
    pub width_px: u32,
    pub height_px: u32,
    pub rgb: Vec<u8>,
}

impl RgbImage {
    /// The colour at column `x`, row `y`.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = (y as usize * self.width_px as usize + x as usize) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }
}

/// Why a figure could not be drawn or written.
#[derive(Debug, thiserror::Error)]
pub enum RollImageError {
    #[error("nothing to draw: no piano rolls given")]
    NoPanels,
    #[error(
        "a panel must be at least {}x{} pixels, got {width_px}x{height_px}",
        MIN_PANEL_PX.0,
        MIN_PANEL_PX.1
    )]
    PanelTooSmall { width_px: u32, height_px: u32 },
    #[error(
        "the figure would be {width_px}x{height_px} pixels; at most {MAX_FIGURE_SIDE_PX} \
         per side (fewer or smaller panels)"
    )]
    FigureTooLarge { width_px: u64, height_px: u64 },
    #[error("cannot draw the piano roll: {0}")]
    Draw(String),
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

const BLACK_KEY_ROW: RGBColor = RGBColor(236, 236, 240);
const C_ROW_LINE: RGBColor = RGBColor(190, 190, 200);
const BEAT_LINE: RGBColor = RGBColor(212, 212, 218);
const BAR_LINE: RGBColor = RGBColor(80, 80, 90);
const NOTE_FILL: RGBColor = RGBColor(30, 90, 175);
const NOTE_EDGE: RGBColor = RGBColor(12, 40, 85);

/// Draws `panels` into an RGB picture.
pub fn render_rgb(panels: &[RollPanel], layout: FigureLayout) -> Result<RgbImage, RollImageError> {
    if panels.is_empty() {
        return Err(RollImageError::NoPanels);
    }
    let (w, h) = (layout.panel_width_px, layout.panel_height_px);
    if w < MIN_PANEL_PX.0 || h < MIN_PANEL_PX.1 {
        return Err(RollImageError::PanelTooSmall {
            width_px: w,
            height_px: h,
        });
    }
    let n = panels.len() as u64;
    let (cols, rows) = match layout.arrangement {
        Arrangement::Stacked => (1, n),
        Arrangement::SideBySide => (n, 1),
    };
    let (width_px, height_px) = (u64::from(w) * cols, u64::from(h) * rows);
    let max = u64::from(MAX_FIGURE_SIDE_PX);
    if width_px > max || height_px > max {
        return Err(RollImageError::FigureTooLarge {
            width_px,
            height_px,
        });
    }
    let (width_px, height_px) = (width_px as u32, height_px as u32);
    let mut rgb = vec![0u8; width_px as usize * height_px as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (width_px, height_px)).into_drawing_area();
        root.fill(&WHITE)?;
        let areas = root.split_evenly((rows as usize, cols as usize));
        let pitches = shared_pitch_range(panels);
        let length_quarters = panels
            .iter()
            .map(|p| quarters(&p.excerpt, p.excerpt.length_steps()))
            .fold(1.0, f64::max);
        for (panel, area) in panels.iter().zip(&areas) {
            draw_panel(area, panel, pitches, length_quarters)?;
        }
        root.present()?;
    }
    Ok(RgbImage {
        width_px,
        height_px,
        rgb,
    })
}

/// The picture as PNG bytes.
pub fn encode_png(image: &RgbImage) -> Result<Vec<u8>, RollImageError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, image.width_px, image.height_px);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Best);
    let mut writer = encoder.write_header().map_err(draw_error)?;
    writer.write_image_data(&image.rgb).map_err(draw_error)?;
    writer.finish().map_err(draw_error)?;
    Ok(out)
}

/// Draws `panels` and writes them to `path` as a PNG (atomically, as MIDI files are).
pub fn write_png(
    path: &Path,
    panels: &[RollPanel],
    layout: FigureLayout,
) -> Result<RgbImage, RollImageError> {
    let image = render_rgb(panels, layout)?;
    let bytes = encode_png(&image)?;
    crate::fsutil::write_atomically(path, &bytes).map_err(|source| RollImageError::Write {
        path: path.display().to_string(),
        source,
    })?;
    Ok(image)
}

fn draw_error(e: impl std::fmt::Display) -> RollImageError {
    RollImageError::Draw(e.to_string())
}

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for RollImageError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        draw_error(e)
    }
}

fn quarters(excerpt: &Excerpt, step: u32) -> f64 {
    f64::from(step) / f64::from(excerpt.phrase.steps_per_quarter.max(1))
}

/// The lowest and highest pitch drawn: every panel's notes with two semitones to spare,
/// at least an octave and a half so a C is always labelled.
fn shared_pitch_range(panels: &[RollPanel]) -> (u8, u8) {
    let (lo, hi) = panels
        .iter()
        .filter_map(|p| p.excerpt.phrase.pitch_range())
        .reduce(|(a, b), (lo, hi)| (a.min(lo), b.max(hi)))
        .unwrap_or((60, 72));
    let mut lo = i32::from(lo) - 2;
    let mut hi = i32::from(hi) + 2;
    const MIN_SPAN: i32 = 18;
    if hi - lo < MIN_SPAN {
        let grow = MIN_SPAN - (hi - lo);
        lo -= grow / 2;
        hi += grow - grow / 2;
    }
    (lo.clamp(0, 127) as u8, hi.clamp(0, 127) as u8)
}

/// Length of a beat in quarter notes: the denominator's note, or a dotted one in compound
/// metres (6/8, 9/8, 12/8 are counted in dotted quarters).
fn beat_quarters(ts: TimeSignature) -> f64 {
    let note = 4.0 / f64::from(ts.denominator.max(1));
    if ts.denominator >= 8 && ts.numerator > 3 && ts.numerator.is_multiple_of(3) {
        3.0 * note
    } else {
        note
    }
}

fn is_black_key(pitch: u8) -> bool {
    matches!(pitch % 12, 1 | 3 | 6 | 8 | 10)
}

/// The fill of a note: lighter for softer notes.
pub fn note_fill_rgb(velocity: u8) -> [u8; 3] {
    let t = 0.35 + 0.65 * f64::from(velocity.min(127)) / 127.0;
    let mix = |c: u8| (255.0 * (1.0 - t) + f64::from(c) * t).round() as u8;
    [mix(NOTE_FILL.0), mix(NOTE_FILL.1), mix(NOTE_FILL.2)]
}

/// A linear axis with ticks exactly at given values (bar starts, C rows). plotters' own
/// `WithKeyPoints` cannot take a label formatter, so this is the same thing with one.
struct LabelledAxis {
    linear: plotters::coord::types::RangedCoordf64,
    ticks: Vec<f64>,
}

impl LabelledAxis {
    fn new(range: std::ops::Range<f64>, ticks: Vec<f64>) -> Self {
        Self {
            linear: range.into(),
            ticks,
        }
    }
}

impl Ranged for LabelledAxis {
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.linear.map(value, limit)
    }

    fn key_points<Hint: plotters::coord::ranged1d::KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        self.ticks.clone()
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.linear.range()
    }
}

/// The chart every panel draws on: quarter notes across, pitches up, with labelled ticks.
type RollChart<'a, DB> =
    ChartContext<'a, DB, plotters::coord::cartesian::Cartesian2d<LabelledAxis, LabelledAxis>>;

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    panel: &RollPanel,
    (lo, hi): (u8, u8),
    length_quarters: f64,
) -> Result<(), RollImageError> {
    let excerpt = &panel.excerpt;
    let bar_starts: Vec<f64> = excerpt
        .bar_lines_steps
        .iter()
        .take(excerpt.bars() as usize)
        .map(|&s| quarters(excerpt, s))
        .collect();
    let c_rows: Vec<f64> = (lo..=hi).filter(|p| p % 12 == 0).map(f64::from).collect();
    let (y_lo, y_hi) = (f64::from(lo) - 0.5, f64::from(hi) + 0.5);
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, ("sans-serif", 20))
        .margin(8)
        .margin_right(16)
        .x_label_area_size(36)
        .y_label_area_size(44)
        .build_cartesian_2d(
            LabelledAxis::new(0.0..length_quarters, bar_starts.clone()),
            LabelledAxis::new(y_lo..y_hi, c_rows.clone()),
        )?;
    draw_axes(&mut chart, &bar_starts, excerpt.first_bar_number)?;
    let end_q = quarters(excerpt, excerpt.length_steps());
    draw_pitch_rows(&mut chart, (lo, hi), &c_rows, end_q)?;
    draw_time_lines(&mut chart, excerpt, (y_lo, y_hi))?;
    draw_notes(&mut chart, excerpt)
}

/// The axes: bar numbers at the bar lines, note names at the Cs, no mesh of plotters' own
/// (the rows and lines drawn after it are the grid).
fn draw_axes<DB: DrawingBackend>(
    chart: &mut RollChart<DB>,
    bar_starts: &[f64],
    first_bar: u32,
) -> Result<(), RollImageError> {
    let bar_label = |x: &f64| {
        bar_starts
            .iter()
            .position(|b| (b - x).abs() < 1e-6)
            .map_or(String::new(), |i| (first_bar as usize + i).to_string())
    };
    let pitch_label = |y: &f64| pitch_name(y.round().clamp(0.0, 127.0) as u8);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .disable_y_mesh()
        .x_label_formatter(&bar_label)
        .y_label_formatter(&pitch_label)
        .x_desc("bar")
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 14))
        .draw()?;
    Ok(())
}

/// Black-key rows, then the line under each C, up to `end_q` quarter notes.
fn draw_pitch_rows<DB: DrawingBackend>(
    chart: &mut RollChart<DB>,
    (lo, hi): (u8, u8),
    c_rows: &[f64],
    end_q: f64,
) -> Result<(), RollImageError> {
    chart.draw_series((lo..=hi).filter(|&p| is_black_key(p)).map(|p| {
        let y = f64::from(p);
        Rectangle::new([(0.0, y - 0.5), (end_q, y + 0.5)], BLACK_KEY_ROW.filled())
    }))?;
    chart.draw_series(
        c_rows
            .iter()
            .map(|&y| PathElement::new(vec![(0.0, y - 0.5), (end_q, y - 0.5)], C_ROW_LINE)),
    )?;
    Ok(())
}

/// Beat lines inside each bar, then the bar lines over them, from `y_lo` to `y_hi`.
fn draw_time_lines<DB: DrawingBackend>(
    chart: &mut RollChart<DB>,
    excerpt: &Excerpt,
    (y_lo, y_hi): (f64, f64),
) -> Result<(), RollImageError> {
    let q = |step: u32| quarters(excerpt, step);
    let beat = beat_quarters(excerpt.phrase.time_signature);
    let mut beat_lines = Vec::new();
    for bar in excerpt.bar_lines_steps.windows(2) {
        let (start, end) = (q(bar[0]), q(bar[1]));
        let mut x = start + beat;
        while x < end - 1e-9 {
            beat_lines.push(x);
            x += beat;
        }
    }
    chart.draw_series(
        beat_lines
            .iter()
            .map(|&x| PathElement::new(vec![(x, y_lo), (x, y_hi)], BEAT_LINE)),
    )?;
    chart.draw_series(
        excerpt
            .bar_lines_steps
            .iter()
            .map(|&s| PathElement::new(vec![(q(s), y_lo), (q(s), y_hi)], BAR_LINE.stroke_width(2))),
    )?;
    Ok(())
}

/// Notes (all inside the shared pitch range): a box shaded by velocity with a dark edge,
/// so repeated notes stay apart.
fn draw_notes<DB: DrawingBackend>(
    chart: &mut RollChart<DB>,
    excerpt: &Excerpt,
) -> Result<(), RollImageError> {
    let q = |step: u32| quarters(excerpt, step);
    let boxes = excerpt.phrase.notes.iter().map(|n| {
        let y = f64::from(n.pitch);
        let corners = [(q(n.start_step), y - 0.42), (q(n.end_step()), y + 0.42)];
        (corners, n.velocity)
    });
    chart.draw_series(boxes.clone().map(|(corners, velocity)| {
        let [r, g, b] = note_fill_rgb(velocity);
        Rectangle::new(corners, RGBColor(r, g, b).filled())
    }))?;
    chart.draw_series(
        boxes.map(|(corners, _)| Rectangle::new(corners, NOTE_EDGE.stroke_width(1))),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compound_metres_beat_in_dotted_quarters() {
        let ts = TimeSignature::new;
        assert_eq!(beat_quarters(ts(4, 4)), 1.0);
        assert_eq!(beat_quarters(ts(6, 8)), 1.5);
        assert_eq!(beat_quarters(ts(3, 8)), 0.5);
        assert_eq!(beat_quarters(ts(2, 2)), 2.0);
    }

    #[test]
    fn note_names_and_black_keys() {
        // The axis names its Cs as the rest of the crate names pitches.
        assert_eq!(pitch_name(60), "C4");
        assert_eq!(pitch_name(0), "C-1");
        assert!(is_black_key(61) && !is_black_key(60) && !is_black_key(64));
    }
}
