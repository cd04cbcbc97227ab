//! chart.png: one horizontal bar of median peak req/s per case, coloured by
//! what served it (the gateway, a ceiling, or Webdis; or build A or B), so a
//! run is seen at a glance.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::report::Group;
use crate::table::thousands;

const WIDTH: u32 = 1200;
const BAR_HEIGHT: u32 = 34;
const TOP: u32 = 70;
const LABEL_WIDTH: i32 = 430;
const VALUE_WIDTH: i32 = 120;
const FONT: &str = "sans-serif";

const GATEWAY: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const CEILING: RGBColor = RGBColor(0x8c, 0x8c, 0x8c);
const WEBDIS: RGBColor = RGBColor(0xff, 0x7f, 0x0e);
const BUILD_B: RGBColor = RGBColor(0x2c, 0xa0, 0x2c);

/// Draws one bar per group into `path`, with text in the TTF `font`.
pub fn draw(groups: &[Group], title: &str, path: &Path, font: &Path) -> Result<(), String> {
    let bytes = std::fs::read(font).map_err(|e| {
        format!(
            "font {}: {e} (apt-get install fonts-dejavu-core)",
            font.display()
        )
    })?;
    // The font lives as long as the process; plotters wants it 'static.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    plotters::style::register_font(FONT, FontStyle::Normal, bytes)
        .map_err(|_| format!("{} is not a usable TTF font", font.display()))?;

    let ab = groups.iter().any(|g| g.first.target == "B");
    let bars: Vec<(String, RGBColor, f64)> = groups
        .iter()
        .map(|g| {
            let r = g.first;
            let (label, color) = match (ab, r.target.as_str(), r.role.as_str()) {
                (true, "B", _) => (format!("{} (B)", r.label), BUILD_B),
                (true, t, _) => (format!("{} ({t})", r.label), GATEWAY),
                (false, _, "gateway") => (r.label.clone(), GATEWAY),
                (false, _, "webdis") => (r.label.clone(), WEBDIS),
                _ => (r.label.clone(), CEILING),
            };
            (label, color, g.rps().map_or(0.0, |s| s.median))
        })
        .collect();
    let height = TOP + BAR_HEIGHT * bars.len() as u32 + 90;
    let root = BitMapBackend::new(path, (WIDTH, height)).into_drawing_area();
    let err = |e: DrawingAreaErrorKind<_>| e.to_string();
    root.fill(&WHITE).map_err(err)?;

    let text = |size: f64, h: HPos| {
        TextStyle::from((FONT, size).into_font())
            .color(&BLACK)
            .pos(Pos::new(h, VPos::Center))
    };
    root.draw_text(title, &text(22.0, HPos::Left), (20, 28))
        .map_err(err)?;

    let max = bars.iter().map(|b| b.2).fold(1.0, f64::max);
    let bar_space = f64::from(WIDTH as i32 - LABEL_WIDTH - VALUE_WIDTH - 20);
    for (n, (label, color, rps)) in bars.iter().enumerate() {
        let y = (TOP + BAR_HEIGHT * n as u32) as i32;
        let mid = y + BAR_HEIGHT as i32 / 2;
        root.draw_text(label, &text(16.0, HPos::Right), (LABEL_WIDTH - 10, mid))
            .map_err(err)?;
        let end = LABEL_WIDTH + (bar_space * rps / max).round() as i32;
        root.draw(&Rectangle::new(
            [
                (LABEL_WIDTH, y + 5),
                (end.max(LABEL_WIDTH + 1), y + BAR_HEIGHT as i32 - 5),
            ],
            color.filled(),
        ))
        .map_err(err)?;
        let value = format!("{} req/s", thousands(*rps));
        root.draw_text(&value, &text(15.0, HPos::Left), (end + 8, mid))
            .map_err(err)?;
    }

    let legend_y = (TOP + BAR_HEIGHT * bars.len() as u32 + 25) as i32;
    let mut x = LABEL_WIDTH;
    let legend: &[(RGBColor, &str)] = if ab {
        &[(GATEWAY, "build A"), (BUILD_B, "build B")]
    } else {
        &[
            (GATEWAY, "kv-gateway"),
            (CEILING, "ceilings (iproto, GET /health)"),
            (WEBDIS, "Webdis + Redis"),
        ]
    };
    for &(color, name) in legend {
        root.draw(&Rectangle::new(
            [(x, legend_y - 8), (x + 16, legend_y + 8)],
            color.filled(),
        ))
        .map_err(err)?;
        let style = text(15.0, HPos::Left);
        root.draw_text(name, &style, (x + 22, legend_y))
            .map_err(err)?;
        let (w, _) = root.estimate_text_size(name, &style).map_err(err)?;
        x += 22 + w as i32 + 30;
    }
    let note = "Servers on their own CPUs, load generators on the others; loopback; comparable only within this run";
    root.draw_text(note, &text(14.0, HPos::Left), (20, legend_y + 35))
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}
