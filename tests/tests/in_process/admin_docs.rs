//! The admin API's OpenAPI document and the bilingual admin page, over real HTTP: the document
//! names exactly the routes the admin router serves, the page shows the registry in English
//! and French to an auditor and nothing to anyone else, and (when schemathesis is installed)
//! the API's answers conform to the document.

use std::collections::BTreeSet;

use crate::common::*;
use broker::admin::auth::{Principal, Role};
use serde_json::Value;

const CAROL: &str = "carol-auditor-token";
const BOB: &str = "bob-approver-token";

const ADMIN_ROUTES: &str = include_str!("../../../broker/src/admin/mod.rs");
const DOCS_ROUTES: &str = include_str!("../../../broker/src/admin/docs.rs");

async fn setup() -> (TestBed, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let bed = start(Options {
        admins: vec![
            Principal::new("carol", CAROL, [Role::Auditor]),
            Principal::new("bob", BOB, [Role::Approver]),
        ],
        ..Options::default()
    })
    .await;
    (bed, dir)
}

/// `(METHOD, path)` of every `.route(...)` in a router's source, with its `get(`/`post(`/...
/// method routers. Reading the source keeps the test honest when a route is added.
fn routes_in_source(source: &str) -> BTreeSet<(String, String)> {
    let compact: String = source.chars().filter(|c| !c.is_whitespace()).collect();
    let mut routes = BTreeSet::new();
    for chunk in compact.split(".route(").skip(1) {
        // The route's own call ends at its method routers' closing parentheses.
        let chunk = chunk.split("))").next().unwrap_or(chunk);
        let Some(path) = chunk.strip_prefix('"').and_then(|c| c.split('"').next()) else {
            continue;
        };
        for method in ["get", "post", "put", "patch", "delete"] {
            let needle = format!("{method}(");
            let found = chunk
                .match_indices(&needle)
                .any(|(i, _)| i > 0 && matches!(chunk.as_bytes()[i - 1], b'(' | b',' | b'.'));
            if found {
                routes.insert((method.to_uppercase(), path.to_owned()));
            }
        }
    }
    routes
}

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                ops.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    ops
}

async fn fetch_document(bed: &TestBed) -> Value {
    let r = http()
        .get(format!("{}/admin/openapi.json", bed.broker_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    r.json().await.unwrap()
}

#[tokio::test]
async fn the_openapi_document_lists_every_admin_route() {
    let (bed, _dir) = setup().await;
    let doc = fetch_document(&bed).await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let bearer = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(
        (&bearer["type"], &bearer["scheme"]),
        (&"http".into(), &"bearer".into())
    );
    assert_eq!(doc["security"], serde_json::json!([{ "bearer": [] }]));
    // Every $ref resolves.
    let text = doc.to_string();
    for piece in text.split("\"$ref\":\"#/").skip(1) {
        let pointer = format!("/{}", piece.split('"').next().unwrap());
        assert!(doc.pointer(&pointer).is_some(), "dangling $ref {pointer}");
    }

    // The document and the routers' source name the same operations.
    let mut served = routes_in_source(ADMIN_ROUTES);
    served.extend(routes_in_source(DOCS_ROUTES));
    assert!(served.len() >= 10, "{served:?}");
    assert_eq!(documented(&doc), served, "documented vs served");

    // And each one is really there: a bad token gets 401 (not 404 or 405), except the
    // document itself, which is public.
    let http = http();
    for (method, path) in documented(&doc) {
        let url = format!("{}{}", bed.broker_url, path.replace("{id}", "ab-account"));
        let req = match method.as_str() {
            "GET" => http.get(&url),
            "POST" => http
                .post(&url)
                .json(&serde_json::json!({ "reason": "probe" })),
            other => panic!("undocumented method {other}"),
        };
        let r = req.bearer_auth("not-an-admin-token").send().await.unwrap();
        let expected = if path == "/admin/openapi.json" {
            200
        } else {
            401
        };
        assert_eq!(r.status().as_u16(), expected, "{method} {path}");
        // Every operation documents the statuses it answered with here.
        if expected == 401 {
            let op = &doc["paths"][&path][method.to_lowercase()];
            assert!(
                op["responses"].get("401").is_some(),
                "{method} {path}: no 401"
            );
            assert_ne!(
                op["security"],
                serde_json::json!([]),
                "{method} {path} is public?"
            );
        }
    }
}

async fn page(
    bed: &TestBed,
    token: Option<&str>,
    query: &str,
    accept: &str,
) -> (u16, String, String) {
    let mut req = http()
        .get(format!("{}/admin{query}", bed.broker_url))
        .header("accept-language", accept);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let ctype = r.headers()["content-type"].to_str().unwrap().to_owned();
    (status, ctype, r.text().await.unwrap())
}

#[tokio::test]
async fn the_admin_page_shows_the_registry_in_both_languages() {
    let (bed, _dir) = setup().await;
    // A status with a reason, set through the API by an approver.
    let r = http()
        .post(format!(
            "{}/admin/providers/qc-sqin/suspend",
            bed.broker_url
        ))
        .bearer_auth(BOB)
        .json(&serde_json::json!({ "reason": "key rollover <audit>" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let (status, ctype, en) = page(&bed, Some(CAROL), "", "en-CA,en;q=0.8").await;
    assert_eq!(status, 200, "{en}");
    assert!(ctype.starts_with("text/html"), "{ctype}");
    assert!(en.contains("<html lang=\"en\">"));
    assert!(en.contains("href=\"/admin?lang=fr\""), "language switch");
    assert!(en.contains("<caption>Identity providers</caption>"));
    assert!(en.contains("<th scope=\"col\">"));
    assert!(!en.contains("<script"));
    for (id, _) in PROVIDERS {
        assert!(en.contains(&format!("<th scope=\"row\">{id}</th>")), "{id}");
    }
    assert!(en.contains("British Columbia (CA-BC)"));
    assert!(en.contains("<td>active</td>"));
    assert!(en.contains("<td>pending</td>"), "on-digital-id is pending");
    // The reason is shown, escaped.
    assert!(
        en.contains("suspended (key rollover &#60;audit&#62;)")
            || en.contains("suspended (key rollover &lt;audit&gt;)"),
        "{en}"
    );
    assert!(en.contains("no report"));
    assert!(en.contains("registry file"));
    assert!(en.contains(RP), "relying services are listed");
    assert!(en.contains(RP_REDIRECT.split("/callback").next().unwrap()));
    assert!(en.contains("client_secret_basic"));
    assert!(en.contains("isa-esdc-ei-2025"), "agreements are listed");
    assert!(en.contains("<td>notice</td>"));
    assert!(en.contains("Signed in as carol (auditor)"));

    // French by the switch, and by Accept-Language.
    for (query, accept) in [("?lang=fr", "en"), ("", "fr-CA,fr;q=0.9")] {
        let (status, _, fr) = page(&bed, Some(CAROL), query, accept).await;
        assert_eq!(status, 200);
        assert!(fr.contains("<html lang=\"fr\">"), "{query} {accept}");
        assert!(fr.contains("href=\"/admin?lang=en\""));
        assert!(
            fr.contains("<caption>Fournisseurs d&#39;identité</caption>")
                || fr.contains("<caption>Fournisseurs d&#x27;identité</caption>"),
            "{fr}"
        );
        assert!(fr.contains("Colombie-Britannique (CA-BC)"));
        assert!(fr.contains("<td>actif</td>"));
        assert!(fr.contains("<td>en attente</td>"));
        assert!(fr.contains("suspendu (key rollover"));
        assert!(fr.contains("aucun rapport"));
        assert!(fr.contains("<td>consentement</td>"));
        assert!(fr.contains("<td>avis</td>"));
    }
}

#[tokio::test]
async fn the_admin_page_explains_itself_to_everyone_else() {
    let (bed, _dir) = setup().await;
    for token in [None, Some("forged")] {
        let (status, ctype, body) = page(&bed, token, "", "fr").await;
        assert_eq!(status, 401);
        assert!(ctype.starts_with("text/html"), "{ctype}");
        assert!(body.contains("<html lang=\"fr\">"));
        assert!(body.contains("réservée aux administrateurs"));
        assert!(
            body.contains("This page is for the broker"),
            "both languages"
        );
        assert!(!body.contains("ab-account"), "reveals nothing");
    }
    let r = http()
        .get(format!("{}/admin", bed.broker_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.headers()["www-authenticate"],
        "Bearer realm=\"broker-admin\""
    );
}

/// Runs `tests/openapi/check.py` (schemathesis) against this broker, when schemathesis is
/// installed (`pip install -r tests/openapi/requirements.txt`); otherwise says so and passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_conforms_to_its_document() {
    let importable = tokio::process::Command::new("python3")
        .args(["-c", "import schemathesis"])
        .output()
        .await
        .is_ok_and(|o| o.status.success());
    // scripts/setup installs it: under CI (or scripts/test) its absence is a failure, not a skip.
    assert!(
        importable
            || std::env::var_os("CI").is_none() && std::env::var_os("PCB_REQUIRE_ALL").is_none(),
        "schemathesis is not installed (pip install -r tests/openapi/requirements.txt)"
    );
    if !importable {
        eprintln!(
            "skipped: schemathesis is not installed (pip install -r tests/openapi/requirements.txt)"
        );
        return;
    }
    let (bed, _dir) = setup().await;
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(300),
        tokio::process::Command::new("python3")
            .current_dir(root)
            .args([
                "tests/openapi/check.py",
                "--url",
                &bed.broker_url,
                "--token",
                CAROL,
                "--max-examples",
                "20",
            ])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("schemathesis took more than 5 minutes")
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}");
    assert!(
        out.status.success(),
        "schemathesis found mismatches:\n{stdout}\n{stderr}"
    );
}
