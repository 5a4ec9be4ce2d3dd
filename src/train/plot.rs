//! The convergence figure: train and held-out loss per epoch, as the prototype drew it.

use std::path::Path;

use plotters::prelude::*;

use super::trainer::EpochStats;
use super::TrainError;

/// Draws the loss curves to a PNG; `unit` names what the loss is averaged over ("step" for
/// frame models, "event" for event models).
pub fn plot_losses(
    path: &Path,
    title: &str,
    unit: &str,
    history: &[EpochStats],
) -> Result<(), TrainError> {
    let err = |e: &dyn std::fmt::Display| TrainError::Plot {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let root = BitMapBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let max_epoch = history.iter().map(|h| h.epoch).max().unwrap_or(1).max(2) as f64;
    let losses = history.iter().flat_map(|h| [h.train_loss, h.valid_loss]);
    let (lo, hi) = losses.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    let (lo, hi) = if lo < hi { (lo, hi) } else { (0.0, 1.0) };
    let pad = (hi - lo) * 0.08;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(1f64..max_epoch, (lo - pad)..(hi + pad))
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(format!("loss (nats per {unit})"))
        .draw()
        .map_err(|e| err(&e))?;
    type Loss = fn(&EpochStats) -> f64;
    let series: [(&str, RGBColor, Loss); 2] = [
        ("train", BLUE, |h| h.train_loss),
        ("held-out", RED, |h| h.valid_loss),
    ];
    for (label, color, loss) in series {
        let points = history.iter().map(|h| (h.epoch as f64, loss(h)));
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))
}
