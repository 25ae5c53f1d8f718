//! Sessions and logout end to end, across processes, with independent peers: the broker binary
//! between panva's oidc-provider (the upstream provider, with its own session, RP-Initiated
//! Logout and Back-Channel Logout) and two relying services built on panva's openid-client,
//! whose back-channel logout endpoints verify every logout token with panva's `jose` against
//! the broker's published keys (`tests/interop/logout_receiver.mjs`). The test is the person's
//! browser: one cookie jar for the broker and the provider, each hop checked.
//!
//! 1. Sign in at service 1 (through the provider), then at service 2 from the broker's session
//!    (no request reaches the provider), then sign out at service 2 (RP-Initiated Logout): the
//!    person goes through the provider's end-session endpoint and back to service 2 with its
//!    `state`; both services receive a logout token for the session, the provider's session
//!    has ended, and so has the broker's.
//! 2. Sign in at both services again, then sign out at the provider (its own end-session
//!    page): the provider posts its logout token to the broker, both services receive theirs,
//!    and the broker's session has ended.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use e2e::broker::BrokerProcess;
use e2e::interop::{LogoutReceiver, UpstreamProvider, run_service};
use e2e::rp::{hidden, location, query, rand_token};
use serde_json::{Value, json};
use url::Url;

const EXAMPLE: &str = include_str!("../../examples/registry/pan-canada.toml");
const UPSTREAM_CLIENT: &str = "pan-canadian-broker";
const UPSTREAM_SECRET: &str = "upstream-secret-0123456789abcdef0123456789";
const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// Logout tokens are queued and the queue is worked every 500 ms: they arrive within a second
/// or two; this bound only decides when a lost one is given up.
const DELIVERY: Duration = Duration::from_secs(10);

/// A relying service of the example registry, as openid-client is configured for it.
struct Service {
    client_id: &'static str,
    secret: &'static str,
    auth: &'static str,
    alg: &'static str,
}

/// Service 1: Employment Insurance (client_secret_basic, ES256 ID tokens).
const EI: Service = Service {
    client_id: "esdc-employment-insurance",
    secret: "rp-secret-ei-0123456789abcdef0123456789abcdef",
    auth: "client_secret_basic",
    alg: "ES256",
};
/// Service 2: Alberta Student Aid (client_secret_post, PS256 ID tokens), of another sector.
const STUDENT_AID: Service = Service {
    client_id: "ab-student-aid",
    secret: "rp-secret-sa-0123456789abcdef0123456789abcdef",
    auth: "client_secret_post",
    alg: "PS256",
};

impl Service {
    fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:8490/callback/{}", self.client_id)
    }

    fn signed_out_uri(&self) -> String {
        format!("http://127.0.0.1:8490/signed-out/{}", self.client_id)
    }

    /// `service.mjs COMMAND` with this service's client options.
    async fn run(&self, issuer: &str, command: &str, more: &[&str]) -> Value {
        let redirect = self.redirect_uri();
        let mut args = vec![
            command,
            "--issuer",
            issuer,
            "--client-id",
            self.client_id,
            "--client-secret",
            self.secret,
            "--auth",
            self.auth,
            "--id-token-alg",
            self.alg,
            "--redirect-uri",
            &redirect,
            "--scope",
            "openid profile address",
        ];
        args.extend_from_slice(more);
        let out = run_service(&args).await.unwrap();
        assert!(out.get("error").is_none(), "service.mjs {command}: {out:#}");
        out
    }
}

struct Bed {
    broker: BrokerProcess,
    provider: UpstreamProvider,
    receiver: LogoutReceiver,
    browser: Browser,
}

/// oidc-provider plays Alberta's provider, with a real session and back-channel logout; the
/// broker is registered there with its logout callback and back-channel logout URI; the
/// example registry's services send their logout tokens to the receiver.
async fn bed() -> Bed {
    let broker_port = e2e::broker::free_port().unwrap();
    let broker_url = format!("http://127.0.0.1:{broker_port}");
    let provider = UpstreamProvider::start(json!({
        "clients": [{
            "client_id": UPSTREAM_CLIENT,
            "client_secret": UPSTREAM_SECRET,
            "redirect_uris": [format!("{broker_url}/callback")],
            "post_logout_redirect_uris": [format!("{broker_url}/logout/callback")],
            "backchannel_logout_uri": format!("{broker_url}/backchannel-logout"),
            "backchannel_logout_session_required": true,
        }],
        "acr_values": ["urn:ab:aca:basic", "urn:ab:aca:verified", "urn:ab:aca:verified-mfa"],
        "accounts": {
            "amelie": {
                "given_name": "Amélie", "family_name": "Tremblay", "birthdate": "1994-03-12",
                "email": "amelie@example.ca", "locale": "fr-CA",
                "address": { "street_address": "10 Jasper Ave", "locality": "Edmonton", "region": "AB", "postal_code": "T5J 0A1", "country": "CA" }
            }
        },
        "default_account": "amelie",
        "sso": true,
        "backchannel_logout": true,
    }))
    .await
    .unwrap();
    let receiver = LogoutReceiver::start(
        &broker_url,
        &[
            (EI.client_id, EI.alg),
            (STUDENT_AID.client_id, STUDENT_AID.alg),
        ],
    )
    .await
    .unwrap();
    let registry = EXAMPLE
        .replace(
            "\"http://127.0.0.1:8411\"",
            &format!("\"{}\"", provider.issuer),
        )
        .replace(
            "http://127.0.0.1:8490/backchannel-logout/",
            &format!("{}/", receiver.url),
        );
    let broker = BrokerProcess::start_on(
        broker_port,
        &registry,
        &[
            ("BROKER_IDP_AB_ACCOUNT_SECRET", UPSTREAM_SECRET),
            ("DEMO_RP_ESDC_EMPLOYMENT_INSURANCE_SECRET", EI.secret),
            ("DEMO_RP_AB_STUDENT_AID_SECRET", STUDENT_AID.secret),
        ],
    )
    .await
    .unwrap();
    assert_eq!(broker.issuer, broker_url);
    Bed {
        broker,
        provider,
        receiver,
        browser: Browser {
            http: e2e::rp::browser().unwrap(),
            trail: Vec::new(),
        },
    }
}

/// The person's browser: one cookie jar (the broker's and the provider's cookies), redirects
/// followed one by one, every request kept in `trail`.
struct Browser {
    http: reqwest::Client,
    trail: Vec<String>,
}

enum Next {
    Get(Url),
    Post(Url, Vec<(&'static str, String)>),
}

/// The `action` of the first form in `html` whose action contains `part`.
fn form_action(html: &str, part: &str) -> Option<String> {
    html.match_indices("<form").find_map(|(at, _)| {
        let tag = &html[at..at + html[at..].find('>')?];
        let start = tag.find("action=\"")? + "action=\"".len();
        let action = &tag[start..start + tag[start..].find('"')?];
        action.contains(part).then(|| action.replace("&amp;", "&"))
    })
}

impl Browser {
    /// Goes to `start` and on as a browser does: shares on the broker's consent page, says yes
    /// to the provider's "sign out?" question, and stops at the first address that starts
    /// with `stop`, which it returns without fetching it (the service's own address).
    async fn walk(&mut self, start: &str, stop: &str) -> Url {
        let mut next = Next::Get(Url::parse(start).unwrap());
        for _ in 0..20 {
            let url = match &next {
                Next::Get(u) | Next::Post(u, _) => u.clone(),
            };
            if url.as_str().starts_with(stop) {
                return url;
            }
            let r = match next {
                Next::Get(u) => {
                    self.trail.push(format!("GET {u}"));
                    self.http.get(u).send().await.unwrap()
                }
                Next::Post(u, form) => {
                    self.trail.push(format!("POST {u}"));
                    self.http.post(u).form(&form).send().await.unwrap()
                }
            };
            let status = r.status();
            if status.is_redirection() {
                next = Next::Get(url.join(&location(&r).unwrap()).unwrap());
                continue;
            }
            let html = r.text().await.unwrap();
            if status == 200 && html.contains("action=\"/consent\"") {
                next = Next::Post(
                    url.join("/consent").unwrap(),
                    vec![
                        ("txn", hidden(&html, "txn").unwrap()),
                        ("csrf", hidden(&html, "csrf").unwrap()),
                        ("lang", hidden(&html, "lang").unwrap()),
                        ("decision", "share".into()),
                    ],
                );
            } else if let (200, Some(action)) =
                (status.as_u16(), form_action(&html, "/session/end/confirm"))
            {
                // oidc-provider's "Do you want to sign-out?": the person says yes.
                next = Next::Post(
                    url.join(&action).unwrap(),
                    vec![
                        ("xsrf", hidden(&html, "xsrf").unwrap()),
                        ("logout", "yes".into()),
                    ],
                );
            } else {
                panic!(
                    "stuck at {url} ({status}): {html}\ntrail: {:#?}",
                    self.trail
                );
            }
        }
        panic!("more than 20 hops: {:#?}", self.trail)
    }

    /// What the browser asked of `origin` since the trail's entry `from`.
    fn visits(&self, from: usize, origin: &str) -> Vec<String> {
        self.trail[from..]
            .iter()
            .filter(|l| {
                l.split_once(' ')
                    .is_some_and(|(_, u)| u.starts_with(&format!("{origin}/")))
            })
            .cloned()
            .collect()
    }
}

impl Bed {
    /// Signs in at `service` (through whatever the broker decides) and redeems the code with
    /// openid-client: the ID token's claims, and the raw ID token.
    async fn sign_in(&mut self, service: &Service, extra: &[&str]) -> (Value, String) {
        let issuer = self.broker.issuer.clone();
        let mut more = Vec::new();
        for e in extra {
            more.extend(["--extra", e]);
        }
        let start = service.run(&issuer, "authorize", &more).await;
        let callback = self
            .browser
            .walk(start["url"].as_str().unwrap(), &service.redirect_uri())
            .await;
        let tokens = service
            .run(
                &issuer,
                "redeem",
                &[
                    "--callback",
                    callback.as_str(),
                    "--state",
                    start["state"].as_str().unwrap(),
                    "--nonce",
                    start["nonce"].as_str().unwrap(),
                    "--code-verifier",
                    start["code_verifier"].as_str().unwrap(),
                ],
            )
            .await;
        let claims = tokens["id_token_claims"].clone();
        assert_eq!(claims["iss"], issuer.as_str());
        assert_eq!(claims["aud"], service.client_id);
        assert_eq!(tokens["id_token_header"]["alg"], service.alg);
        assert_eq!(claims["given_name"], "Amélie");
        assert_eq!(
            claims["sid"].as_str().map(str::len),
            Some(43),
            "a broker session id: {claims:#}"
        );
        (claims, tokens["id_token"].as_str().unwrap().to_owned())
    }

    /// An authorization request at the provider, for the broker's client, with
    /// `prompt=none`, in the person's browser: what the provider answers the broker (`code`
    /// when its session stands, `error=login_required` when there is none). Not followed.
    async fn provider_prompt_none(&mut self) -> std::collections::HashMap<String, String> {
        let discovery: Value = e2e::rp::http()
            .get(format!(
                "{}/.well-known/openid-configuration",
                self.provider.issuer
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        // A PKCE challenge (the provider requires one) of a random verifier.
        let challenge = e2e::rp::AuthRequest::new(UPSTREAM_CLIENT, "").challenge();
        let callback = format!("{}/callback", self.broker.url);
        let mut url = Url::parse(discovery["authorization_endpoint"].as_str().unwrap()).unwrap();
        url.query_pairs_mut()
            .append_pair("client_id", UPSTREAM_CLIENT)
            .append_pair("redirect_uri", &callback)
            .append_pair("response_type", "code")
            .append_pair("scope", "openid")
            .append_pair("prompt", "none")
            .append_pair("state", &rand_token())
            .append_pair("nonce", &rand_token())
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        self.browser.trail.push(format!("GET {url}"));
        let r = self.browser.http.get(url).send().await.unwrap();
        assert!(r.status().is_redirection(), "{}", r.status());
        let to = location(&r).unwrap();
        assert!(to.starts_with(&format!("{callback}?")), "{to}");
        query(&to).unwrap()
    }

    /// `/authorize` at the broker for `service` with `prompt=none`, in the person's browser:
    /// the error the service gets back (`consent_required` when the broker's session stands
    /// but no consent is remembered, `login_required` when there is no session).
    async fn broker_prompt_none(&mut self, service: &Service) -> String {
        let start = service
            .run(
                &self.broker.issuer.clone(),
                "authorize",
                &["--extra", "prompt=none"],
            )
            .await;
        let url = start["url"].as_str().unwrap();
        self.browser.trail.push(format!("GET {url}"));
        let r = self.browser.http.get(url).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let to = location(&r).unwrap();
        assert!(to.starts_with(&service.redirect_uri()), "{to}");
        let q = query(&to).unwrap();
        assert_eq!(q.get("state").map(String::as_str), start["state"].as_str());
        q.get("error").cloned().unwrap_or_default()
    }

    /// The logout tokens verified for `service` about session `sid`, waiting for the first.
    async fn logout_tokens(&self, service: &Service, sid: &str) -> Vec<Value> {
        self.receiver
            .wait_for(1, DELIVERY, |v| {
                v["client"] == service.client_id && v["ok"] == true && v["claims"]["sid"] == sid
            })
            .await
            .unwrap()
    }
}

/// A logout token `service` verified (`jose`, against the broker's keys) for the session
/// `sid`, in which it knows the person as `sub`.
fn assert_logout_token(received: &Value, service: &Service, issuer: &str, sid: &str, sub: &Value) {
    let header = &received["header"];
    let claims = &received["claims"];
    assert_eq!(header["typ"], "logout+jwt", "{received:#}");
    assert_eq!(header["alg"], service.alg, "{received:#}");
    assert_eq!(claims["iss"], issuer, "{received:#}");
    assert_eq!(claims["aud"], service.client_id, "{received:#}");
    assert_eq!(claims["sid"], sid, "{received:#}");
    assert_eq!(&claims["sub"], sub, "the service's own pairwise subject");
    assert!(claims["events"][EVENT].is_object(), "{received:#}");
    assert!(claims.get("nonce").is_none(), "{received:#}");
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
}

/// The `fields` of the audit events named `name` in the broker's log, once there are `n` of
/// them (the broker writes its log in batches), or as they are after 5 s.
async fn audit(broker: &BrokerProcess, name: &str, n: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let events: Vec<Value> = broker
            .log()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|e| e["target"] == "audit" && e["fields"]["event"] == name)
            .map(|e| e["fields"].clone())
            .collect();
        if events.len() >= n || std::time::Instant::now() >= deadline {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_session_serves_two_services_and_ends_everywhere_from_either_side() {
    let mut bed = bed().await;
    let issuer = bed.broker.issuer.clone();
    let upstream = bed.provider.issuer.clone();
    let accepted = format!("authorization.accepted client={UPSTREAM_CLIENT}");

    // ---------------------------------------------------------------- sign in at service 1
    let (ei, _) = bed.sign_in(&EI, &["idp_hint=ab-account"]).await;
    assert!(
        bed.browser
            .visits(0, &upstream)
            .iter()
            .any(|v| v.contains("/interaction/")),
        "the person signed in at the provider: {:#?}",
        bed.browser.trail
    );
    let sid = ei["sid"].as_str().unwrap().to_owned();
    bed.provider
        .wait_for_events(&accepted, 1, DELIVERY)
        .await
        .unwrap();
    let at_provider = bed.provider.events(&accepted);
    assert_eq!(at_provider, 1, "{}", bed.provider.stderr_log());

    // ---------------------------------------------------------------- service 2, from the session
    // Straight to the broker's consent page (a session is not consent): neither the picker
    // nor the provider.
    let from = bed.browser.trail.len();
    let (aid, aid_id_token) = bed.sign_in(&STUDENT_AID, &[]).await;
    let went: Vec<&String> = bed.browser.trail[from..].iter().collect();
    assert_eq!(went.len(), 2, "/authorize, then the consent: {went:#?}");
    assert!(went[0].starts_with(&format!("GET {issuer}/authorize?")));
    assert_eq!(went[1], &format!("POST {issuer}/consent"));
    assert_eq!(bed.browser.visits(from, &upstream), Vec::<String>::new());
    assert_eq!(
        bed.provider.events(&accepted),
        at_provider,
        "no authorization request reached the provider"
    );
    assert_eq!(aid["sid"], sid.as_str(), "the same broker session");
    assert_eq!(aid["auth_time"], ei["auth_time"], "the session's sign-in");
    assert_eq!(aid["acr"], ei["acr"]);
    assert_ne!(
        aid["sub"], ei["sub"],
        "services of two sectors, two subjects"
    );

    // Both sessions stand: the provider's answers its client without a sign-in, the broker's
    // answers a service (which has no remembered consent).
    assert!(bed.provider_prompt_none().await.contains_key("code"));
    assert_eq!(bed.broker_prompt_none(&EI).await, "consent_required");

    // ---------------------------------------------------------------- sign out at service 2
    let state = rand_token();
    let logout = STUDENT_AID
        .run(
            &issuer,
            "logout",
            &[
                "--id-token-hint",
                &aid_id_token,
                "--post-logout-redirect-uri",
                &STUDENT_AID.signed_out_uri(),
                "--state",
                &state,
            ],
        )
        .await;
    let logout_url = logout["url"].as_str().unwrap();
    assert!(
        logout_url.starts_with(&format!("{issuer}/logout?")),
        "{logout_url}"
    );
    let from = bed.browser.trail.len();
    let back = bed
        .browser
        .walk(logout_url, &STUDENT_AID.signed_out_uri())
        .await;
    let q: std::collections::HashMap<String, String> = back.query_pairs().into_owned().collect();
    assert_eq!(q.get("state"), Some(&state), "{back}");
    // Through the provider's end-session endpoint (the person said yes there) and back through
    // the broker.
    let went: Vec<String> = bed.browser.trail[from..]
        .iter()
        .map(|l| l.split('?').next().unwrap().to_owned())
        .collect();
    assert_eq!(
        went,
        [
            format!("GET {issuer}/logout"),
            format!("GET {upstream}/session/end"),
            format!("POST {upstream}/session/end/confirm"),
            format!("GET {issuer}/logout/callback"),
        ],
        "{:#?}",
        bed.browser.trail
    );
    bed.provider
        .wait_for_events(
            &format!("end_session.success client={UPSTREAM_CLIENT}"),
            1,
            DELIVERY,
        )
        .await
        .unwrap();

    // Both services are told, each under its own subject: service 1, which the person did not
    // sign out of, and service 2.
    let told = bed.logout_tokens(&EI, &sid).await;
    assert_logout_token(&told[0], &EI, &issuer, &sid, &ei["sub"]);
    let told = bed.logout_tokens(&STUDENT_AID, &sid).await;
    assert_logout_token(&told[0], &STUDENT_AID, &issuer, &sid, &aid["sub"]);

    // The provider's session has ended (and it told the broker, which answered 200); so has
    // the broker's.
    bed.provider
        .wait_for_events(
            &format!("backchannel.success client={UPSTREAM_CLIENT}"),
            1,
            DELIVERY,
        )
        .await
        .unwrap();
    assert_eq!(
        bed.provider_prompt_none()
            .await
            .get("error")
            .map(String::as_str),
        Some("login_required")
    );
    assert_eq!(bed.broker_prompt_none(&EI).await, "login_required");
    let ended = audit(&bed.broker, "session.ended", 1).await;
    assert_eq!(ended.len(), 1, "{}", bed.broker.log());
    assert_eq!(ended[0]["sid"], sid.as_str());
    assert_eq!(ended[0]["cause"], "logout");

    // ---------------------------------------------------------------- both services again
    let from = bed.browser.trail.len();
    let (ei2, _) = bed.sign_in(&EI, &["idp_hint=ab-account"]).await;
    assert!(
        bed.browser
            .visits(from, &upstream)
            .iter()
            .any(|v| v.contains("/interaction/")),
        "signed out at the provider, the person signs in there again: {:#?}",
        bed.browser.trail
    );
    let sid2 = ei2["sid"].as_str().unwrap().to_owned();
    assert_ne!(sid2, sid, "a new session");
    let at_provider = bed.provider.events(&accepted);
    let from = bed.browser.trail.len();
    let (aid2, _) = bed.sign_in(&STUDENT_AID, &[]).await;
    assert_eq!(bed.browser.visits(from, &upstream), Vec::<String>::new());
    assert_eq!(bed.provider.events(&accepted), at_provider);
    assert_eq!(aid2["sid"], sid2.as_str());
    assert_eq!(bed.broker_prompt_none(&EI).await, "consent_required");

    // ---------------------------------------------------------------- sign out at the provider
    // The person signs out on the provider's own site: its end-session page, in the browser
    // that holds the provider's session, with no service named.
    let from = bed.browser.trail.len();
    let done = bed
        .browser
        .walk(
            &format!("{upstream}/session/end"),
            &format!("{upstream}/session/end/success"),
        )
        .await;
    assert!(
        done.as_str()
            .starts_with(&format!("{upstream}/session/end/success"))
    );
    assert_eq!(bed.browser.visits(from, &issuer), Vec::<String>::new());
    // oidc-provider posted its logout token to the broker (a 200 answer) before it answered
    // the person.
    bed.provider
        .wait_for_events(
            &format!("backchannel.success client={UPSTREAM_CLIENT}"),
            2,
            DELIVERY,
        )
        .await
        .unwrap();
    assert_eq!(
        bed.provider
            .events(&format!("backchannel.error client={UPSTREAM_CLIENT}")),
        0,
        "{}",
        bed.provider.stderr_log()
    );

    let told = bed.logout_tokens(&EI, &sid2).await;
    assert_logout_token(&told[0], &EI, &issuer, &sid2, &ei2["sub"]);
    let told = bed.logout_tokens(&STUDENT_AID, &sid2).await;
    assert_logout_token(&told[0], &STUDENT_AID, &issuer, &sid2, &aid2["sub"]);
    assert_eq!(bed.broker_prompt_none(&EI).await, "login_required");

    let ended = audit(&bed.broker, "session.ended", 2).await;
    assert_eq!(ended.len(), 2, "{}", bed.broker.log());
    assert_eq!(ended[1]["sid"], sid2.as_str());
    assert_eq!(ended[1]["cause"], "provider_logout");
    let provider_logouts: Vec<String> = audit(&bed.broker, "provider.logout", 2)
        .await
        .iter()
        .map(|e| e["sessions"].to_string().trim_matches('"').to_owned())
        .collect();
    assert_eq!(
        provider_logouts,
        ["0", "1"],
        "the provider's echo of the first sign-out ended nothing more; its own sign-out ended one session:\n{}",
        bed.broker.log()
    );

    // Every token each service received verified, and each heard once per session: the
    // provider's echo of the first sign-out told no service again.
    let received = bed.receiver.received();
    assert!(received.iter().all(|v| v["ok"] == true), "{received:#?}");
    let mut heard: Vec<(String, String)> = received
        .iter()
        .map(|v| {
            (
                v["client"].as_str().unwrap().to_owned(),
                v["claims"]["sid"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    heard.sort();
    let mut expected = vec![
        (EI.client_id.to_owned(), sid.clone()),
        (EI.client_id.to_owned(), sid2.clone()),
        (STUDENT_AID.client_id.to_owned(), sid.clone()),
        (STUDENT_AID.client_id.to_owned(), sid2.clone()),
    ];
    expected.sort();
    assert_eq!(heard, expected);
    assert!(bed.broker.is_running());
}
