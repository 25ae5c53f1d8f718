//! The Government of Canada's design system (GC Design System) as the broker serves it: its
//! design tokens and fonts, copied from the published packages pinned by
//! `static/gcds/package-lock.json` (`scripts/update-gcds`, licences beside them) and built into
//! the binary. The pages load nothing from another host and run no script, so they keep a
//! Content-Security-Policy without `script-src`; fonts need only `font-src 'self'`.
//!
//! The demo's provider and relying service serve the same stylesheet and fonts, so the type
//! does not change at every hop of a login.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The one stylesheet of every page: the design system's global tokens (colours, spacing,
/// type scale as custom properties), then the broker's own rules built on them.
pub const STYLESHEET: &str = concat!(
    include_str!("../../static/gcds/tokens-global.css"),
    include_str!("../../static/broker.css"),
);

/// The fonts the stylesheet names: Lato for headings, Noto Sans for text (the design system's
/// pairing), under `/static/fonts/`.
const FONTS: [(&str, &[u8]); 3] = [
    (
        "lato-bold.woff2",
        include_bytes!("../../static/gcds/fonts/lato-bold.woff2"),
    ),
    (
        "noto-sans-regular.woff2",
        include_bytes!("../../static/gcds/fonts/noto-sans-regular.woff2"),
    ),
    (
        "noto-sans-bold.woff2",
        include_bytes!("../../static/gcds/fonts/noto-sans-bold.woff2"),
    ),
];

/// A font file by name, if the stylesheet names it.
pub fn font_file(name: &str) -> Option<&'static [u8]> {
    FONTS.iter().find(|(n, _)| *n == name).map(|(_, b)| *b)
}

/// `GET /static/fonts/{file}`.
pub async fn font(Path(file): Path<String>) -> Response {
    match font_file(&file) {
        Some(bytes) => (
            [
                (header::CONTENT_TYPE, "font/woff2"),
                (header::CACHE_CONTROL, "public, max-age=86400"),
            ],
            bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `GET /static/broker.css` (and the demo's `/style.css`).
pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every font the stylesheet asks for is served, and the stylesheet fetches nothing from
    /// another host.
    #[test]
    fn the_stylesheet_names_only_fonts_served_here() {
        let mut named = 0;
        for part in STYLESHEET.split("url(").skip(1) {
            let url = part.split(')').next().unwrap_or_default().trim_matches('"');
            let file = url
                .strip_prefix("/static/fonts/")
                .unwrap_or_else(|| panic!("{url} is not a font of this broker"));
            assert!(font_file(file).is_some(), "{file} is not served");
            named += 1;
        }
        assert_eq!(named, FONTS.len());
        assert!(!STYLESHEET.contains("@import"));
    }
}
