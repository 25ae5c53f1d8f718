//! The log's public side, for anyone and without authentication: the newest checkpoint with its
//! witnesses' cosignatures, the tree as C2SP tlog-tiles, the log's verifier keys, and the door
//! through which witnesses hand in their cosignatures. Hashes only: the records themselves
//! (personal information) are for auditors, through the admin API; so no entry bundles.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use transparency::checkpoint::Checkpoint;
use transparency::note::Note;
use transparency::tiles::TilePath;

use crate::app::Broker;
use crate::records::{StoredCosignature, millis};

/// A plain-text answer: what went wrong, in a sentence, for the program or person calling.
fn text(status: StatusCode, body: impl Into<String>) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body.into(),
    )
        .into_response()
}

/// The answer of every log request on a broker that signs nothing.
fn no_log() -> Response {
    text(
        StatusCode::NOT_FOUND,
        "this broker signs no checkpoints: its configuration has no [log] key\n",
    )
}

fn unavailable(e: impl std::fmt::Display) -> Response {
    tracing::warn!(error = %e, "the log cannot be read");
    text(
        StatusCode::SERVICE_UNAVAILABLE,
        "the log cannot be read right now; try again shortly\n",
    )
}

/// `GET /log/checkpoint`: the newest signed checkpoint, with the cosignatures it has (while
/// records arrive, usually none yet: a newer checkpoint is signed every second).
pub async fn checkpoint(State(broker): State<Broker>) -> Response {
    serve_checkpoint(&broker, None).await
}

/// `GET /log/witnessed`: the newest checkpoint that a configured witness has co-signed, with
/// its cosignatures. A reader who wants a witnessed tree takes this one and checks that the
/// newest checkpoint is consistent with it.
pub async fn witnessed(State(broker): State<Broker>) -> Response {
    let newest = match broker.records.newest_witnessed_size().await {
        Ok(size) => size,
        Err(e) => return unavailable(e),
    };
    match newest {
        Some(size) => serve_checkpoint(&broker, Some(size)).await,
        None => text(
            StatusCode::NOT_FOUND,
            "no witness has co-signed a checkpoint of this log yet\n",
        ),
    }
}

/// The checkpoint of `size` (the newest without one), followed by its cosignatures' lines.
async fn serve_checkpoint(broker: &Broker, size: Option<u64>) -> Response {
    if broker.log.is_none() {
        return no_log();
    }
    let note = match broker.records.served_checkpoint(size).await {
        Ok(Some((_, note))) => note,
        Ok(None) => return text(StatusCode::NOT_FOUND, "no checkpoint has been signed yet\n"),
        Err(e) => return unavailable(e),
    };
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        note,
    )
        .into_response()
}

/// `GET /log/tile/{*path}`: a hash tile (`tile/<L>/<N>[.p/<W>]`). A tile is served only whole:
/// every hash it names must be in the tree. Tiles never change, so they are cached for good.
pub async fn tile(State(broker): State<Broker>, Path(rest): Path<String>) -> Response {
    let path = format!("tile/{rest}");
    let tile = match TilePath::parse(&path) {
        Ok(t) => t,
        Err(e) => return text(StatusCode::NOT_FOUND, format!("{e}\n")),
    };
    let (level, first, count) = transparency::tiles::node_range(&tile);
    let hashes = match broker.records.node_hashes(level, first, count).await {
        Ok(h) => h,
        Err(e) => return unavailable(e),
    };
    if (hashes.len() as u64) < count {
        return text(
            StatusCode::NOT_FOUND,
            format!("{path} is beyond the tree: it has not grown that far yet\n"),
        );
    }
    let body: Vec<u8> = hashes.iter().flat_map(|h| h.0).collect();
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body,
    )
        .into_response()
}

/// `GET /log/key`: the verifier keys of the log (C2SP vkeys), one per line: the signing key,
/// then the next key when there is one.
pub async fn key(State(broker): State<Broker>) -> Response {
    let Some(log) = &broker.log else {
        return no_log();
    };
    match log.vkeys() {
        Ok(keys) => text(StatusCode::OK, keys.join("\n") + "\n"),
        Err(e) => unavailable(e),
    }
}

/// `POST /log/cosignature`: a witness hands in its cosignature of a checkpoint of this log, as
/// the checkpoint note with the witness's signature line. Kept when the checkpoint is one this
/// log signed and the cosignature verifies with a configured witness key; anything else is
/// refused with the reason.
pub async fn cosign(State(broker): State<Broker>, body: Bytes) -> Response {
    let Some(log) = &broker.log else {
        return no_log();
    };
    let note = match std::str::from_utf8(&body)
        .map_err(|e| e.to_string())
        .and_then(|t| Note::parse(t).map_err(|e| e.to_string()))
    {
        Ok(n) => n,
        Err(e) => {
            return text(
                StatusCode::BAD_REQUEST,
                format!("not a cosigned checkpoint: {e}\n"),
            );
        }
    };
    let checkpoint = match Checkpoint::parse(note.text()) {
        Ok(c) => c,
        Err(e) => return text(StatusCode::BAD_REQUEST, format!("not a checkpoint: {e}\n")),
    };
    let kept = match broker.records.checkpoint(Some(checkpoint.size)).await {
        Ok(Some(k)) => k,
        Ok(None) => {
            return text(
                StatusCode::CONFLICT,
                format!(
                    "this log signed no checkpoint of size {}\n",
                    checkpoint.size
                ),
            );
        }
        Err(e) => return unavailable(e),
    };
    if checkpoint.origin != log.origin() || checkpoint.root != kept.root {
        return text(
            StatusCode::CONFLICT,
            format!(
                "this is not the checkpoint this log signed at size {}: a witness that saw it \
                 was shown another log or a forged one\n",
                checkpoint.size
            ),
        );
    }
    let now = broker.now();
    let mut kept_any = Vec::new();
    for signature in note.signatures() {
        let Some(witness) = log
            .witnesses()
            .iter()
            .find(|w| w.name() == signature.name() && w.key_id() == signature.key_id())
        else {
            continue;
        };
        if let Err(e) = transparency::cosignature::verify(signature, note.text(), witness) {
            return text(
                StatusCode::FORBIDDEN,
                format!(
                    "the cosignature of {} does not verify: {e}\n",
                    witness.name()
                ),
            );
        }
        let stored = StoredCosignature {
            size: checkpoint.size,
            witness: witness.name().to_owned(),
            line: signature.to_line().trim_end_matches('\n').to_owned(),
            at: millis(now),
        };
        if let Err(e) = broker.records.save_cosignature(&stored).await {
            return unavailable(e);
        }
        kept_any.push(witness.name().to_owned());
    }
    if kept_any.is_empty() {
        return text(
            StatusCode::FORBIDDEN,
            "no cosignature by a witness this broker knows ([log] witnesses)\n",
        );
    }
    broker.audit(crate::audit::Event::LogCosigned {
        size: checkpoint.size,
        witnesses: &kept_any.join(" "),
    });
    text(
        StatusCode::OK,
        format!(
            "kept the cosignature of {} for the checkpoint of size {}\n",
            kept_any.join(", "),
            checkpoint.size
        ),
    )
}
