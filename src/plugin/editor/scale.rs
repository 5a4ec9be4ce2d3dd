//! How large the window draws: text and controls grow with the window (the size the project
//! saves), so a window pulled to twice its size on a large screen reads as the default one
//! does on a small screen.

/// The window size the layout is drawn for at scale 1 (the default size).
pub const DESIGN_WIDTH: f32 = 900.0;
pub const DESIGN_HEIGHT: f32 = 600.0;

/// Scale of text and controls for a window `width` x `height` logical pixels: the factor by
/// which the window is larger than the default in both directions (a wider window alone
/// gives a wider roll, not larger text), within 0.75..=2.5.
pub fn ui_scale(width: f32, height: f32) -> f32 {
    let s = (width / DESIGN_WIDTH).min(height / DESIGN_HEIGHT);
    if s.is_finite() {
        s.clamp(0.75, 2.5)
    } else {
        1.0
    }
}

/// `base` with every text size and spacing multiplied by `scale`.
pub fn scaled_style(base: &egui::Style, scale: f32) -> egui::Style {
    let mut style = base.clone();
    for font in style.text_styles.values_mut() {
        font.size *= scale;
    }
    // Whole pixels, so widgets stay on the pixel grid.
    let v = |v: egui::Vec2| (v * scale).round();
    let f = |f: f32| (f * scale).round();
    let s = &mut style.spacing;
    s.item_spacing = v(s.item_spacing);
    s.button_padding = v(s.button_padding);
    s.interact_size = v(s.interact_size);
    s.indent = f(s.indent);
    s.slider_width = f(s.slider_width);
    s.combo_width = f(s.combo_width);
    s.text_edit_width = f(s.text_edit_width);
    s.icon_width = f(s.icon_width);
    s.icon_width_inner = f(s.icon_width_inner);
    s.icon_spacing = f(s.icon_spacing);
    s.combo_height = f(s.combo_height);
    style
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_follows_the_smaller_of_the_two_proportions() {
        assert_eq!(ui_scale(900.0, 600.0), 1.0);
        assert_eq!(ui_scale(1800.0, 1200.0), 2.0);
        assert_eq!(ui_scale(1800.0, 600.0), 1.0, "only wider: a wider roll");
        assert_eq!(ui_scale(1350.0, 1200.0), 1.5);
        assert_eq!(ui_scale(600.0, 400.0), 0.75, "the smallest window");
        assert_eq!(ui_scale(4000.0, 3000.0), 2.5);
        assert_eq!(ui_scale(0.0, 0.0), 0.75);
        assert_eq!(ui_scale(f32::NAN, 600.0), 1.0);
    }

    #[test]
    fn text_and_spacing_grow_together() {
        let base = egui::Style::default();
        let big = scaled_style(&base, 2.0);
        for (style, font) in &base.text_styles {
            assert_eq!(big.text_styles[style].size, 2.0 * font.size);
        }
        assert_eq!(big.spacing.interact_size, 2.0 * base.spacing.interact_size);
        let odd = scaled_style(&base, 1.37);
        assert_eq!(odd.spacing.item_spacing, odd.spacing.item_spacing.round());
        assert_eq!(big.spacing.slider_width, 2.0 * base.spacing.slider_width);
        assert_eq!(scaled_style(&base, 1.0).text_styles, base.text_styles);
    }
}
