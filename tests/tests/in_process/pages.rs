//! What every page carries: who runs the broker (`[operator]`: its name, logo and the footer's
//! links, in the page's language), the design system's fonts served by the broker itself, and
//! a Content-Security-Policy that still allows no script and nothing from another host.

use broker::http::operator::{Operator, OperatorConfig};
use trust_framework::Bilingual;

use crate::common::*;

fn link(en: &str, fr: &str) -> Option<Bilingual> {
    Some(Bilingual::new(en, fr))
}

fn operator() -> Operator {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("logo.svg"),
        "<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
    )
    .unwrap();
    let config = OperatorConfig {
        name: Bilingual::new(
            "Employment and Social Development Canada",
            "Emploi et Développement social Canada",
        ),
        logo: Some("logo.svg".into()),
        privacy: link(
            "https://esdc.example/en/privacy",
            "https://esdc.example/fr/confidentialite",
        ),
        terms: link(
            "https://esdc.example/en/terms",
            "https://esdc.example/fr/avis",
        ),
        accessibility: link(
            "https://esdc.example/en/accessibility",
            "https://esdc.example/fr/accessibilite",
        ),
        contact: link(
            "https://esdc.example/en/contact",
            "https://esdc.example/fr/contact",
        ),
    };
    Operator::load(&config, dir.path()).unwrap()
}

#[tokio::test]
async fn every_page_names_its_operator_in_the_persons_language() {
    let bed = start(Options {
        operator: Some(operator()),
        ..Options::default()
    })
    .await;
    let req = AuthRequest::new(RP, RP_REDIRECT).with("ui_locales", "fr-CA");
    let r = bed.http.get(req.url(&bed.broker_url)).send().await.unwrap();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let picker = r.text().await.unwrap();
    for expected in [
        "<html lang=\"fr\">",
        "<img src=\"/static/operator-logo\" alt=\"\"><span>Emploi et Développement social Canada</span>",
        "<a href=\"https://esdc.example/fr/contact\">Contactez-nous</a>",
        "<a href=\"https://esdc.example/fr/confidentialite\">Confidentialité</a>",
        "<a href=\"https://esdc.example/fr/avis\">Avis</a>",
        "<a href=\"https://esdc.example/fr/accessibilite\">Accessibilité</a>",
        "Exploité par\u{a0}: Emploi et Développement social Canada",
    ] {
        assert!(
            picker.contains(expected),
            "{expected:?} missing from {picker}"
        );
    }
    assert!(!picker.contains("esdc.example/en/"), "{picker}");
    // Styles, fonts and the logo from the broker only; still no script at all.
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("font-src 'self'"), "{csp}");
    assert!(!csp.contains("script-src"), "{csp}");

    // An error page, in English: the same header and footer.
    let error = bed
        .page(format!(
            "{}/authorize?client_id=nobody&lang=en",
            bed.broker_url
        ))
        .await;
    assert!(
        error.contains("<span>Employment and Social Development Canada</span>")
            && error.contains("<a href=\"https://esdc.example/en/privacy\">Privacy</a>"),
        "{error}"
    );

    let logo = bed
        .http
        .get(format!("{}/static/operator-logo", bed.broker_url))
        .send()
        .await
        .unwrap();
    assert_eq!(logo.status(), 200);
    assert_eq!(logo.headers()["content-type"], "image/svg+xml");
    assert!(logo.text().await.unwrap().starts_with("<svg"));
}

#[tokio::test]
async fn the_design_systems_fonts_and_stylesheet_are_served_by_the_broker() {
    let bed = start(Options::default()).await;
    let css = bed
        .http
        .get(format!("{}/static/broker.css", bed.broker_url))
        .send()
        .await
        .unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    let css = css.text().await.unwrap();
    assert!(
        css.contains("--gcds-focus-border"),
        "the design system's tokens"
    );
    for font in [
        "lato-bold.woff2",
        "noto-sans-regular.woff2",
        "noto-sans-bold.woff2",
    ] {
        assert!(
            css.contains(&format!("url(\"/static/fonts/{font}\")")),
            "{font}"
        );
        let r = bed
            .http
            .get(format!("{}/static/fonts/{font}", bed.broker_url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{font}");
        assert_eq!(r.headers()["content-type"], "font/woff2");
        assert!(r.bytes().await.unwrap().starts_with(b"wOF2"), "{font}");
    }
    let missing = bed
        .http
        .get(format!("{}/static/fonts/other.woff2", bed.broker_url))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    // Without `[operator] logo`, there is none to serve.
    let logo = bed
        .http
        .get(format!("{}/static/operator-logo", bed.broker_url))
        .send()
        .await
        .unwrap();
    assert_eq!(logo.status(), 404);
}
