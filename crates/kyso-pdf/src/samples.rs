//! Synthetic images for the demo, training and tests: a handwritten-like signature and a
//! round red seal, drawn here (they depict no real person or agency).

/// A PNG drawn here: `f(x, y)` gives RGBA.
fn draw_png(w: u32, h: u32, f: impl Fn(f64, f64) -> [u8; 4]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut e = png::Encoder::new(&mut out, w, h);
        e.set_color(png::ColorType::Rgba);
        e.set_depth(png::BitDepth::Eight);
        let mut wr = e.write_header().expect("encoding a PNG in memory");
        let mut px = Vec::with_capacity((w * h * 4) as usize);
        for y in 0..h {
            for x in 0..w {
                px.extend_from_slice(&f(f64::from(x) / f64::from(w), f64::from(y) / f64::from(h)));
            }
        }
        wr.write_image_data(&px).expect("encoding a PNG in memory");
    }
    out
}

/// A blue handwritten-like stroke on a transparent background.
pub fn signature_png() -> Vec<u8> {
    draw_png(300, 120, |x, y| {
        let curve = 0.5 + 0.3 * (x * 12.0).sin() * (1.0 - x);
        if (y - curve).abs() < 0.04 {
            [20, 40, 200, 255]
        } else {
            [0, 0, 0, 0]
        }
    })
}

/// A red round seal: two rings and a star, transparent outside.
pub fn seal_png() -> Vec<u8> {
    draw_png(240, 240, |x, y| {
        let (dx, dy) = (x - 0.5, y - 0.5);
        let r = (dx * dx + dy * dy).sqrt();
        let a = dy.atan2(dx);
        let star = r < 0.12 + 0.06 * (5.0 * a).cos();
        if (0.44..0.49).contains(&r) || (0.36..0.38).contains(&r) || star {
            [220, 20, 30, 255]
        } else {
            [0, 0, 0, 0]
        }
    })
}
