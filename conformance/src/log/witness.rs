//! `conformance log witness`: one round of a witness. The log's newest checkpoint is cosigned
//! only if it extends the last checkpoint this witness saw, which it proves itself from the
//! public tiles; then the cosignature goes to the broker and the checkpoint into the state
//! file. On any inconsistency nothing is cosigned and the state is left as it was, so the next
//! round judges against the same checkpoint again.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use transparency::checkpoint::Checkpoint;
use transparency::note::{Note, Signer};
use transparency::{EMPTY_HASH, check_tree, cosignature};

use super::fetch::LogClient;
use super::tiles::{TileHashes, proof_from_tiles, tiles_for_proof};
use super::verify::signed_checkpoint;
use super::{LogError, cannot_run, failed, log_keys};

/// One round of a witness.
#[derive(Debug, Clone)]
pub struct WitnessArgs {
    /// The broker, or its log's prefix (`.../log`).
    pub log: String,
    /// The log's verifier keys.
    pub log_keys: Vec<String>,
    /// The witness's Ed25519 private key, PKCS#8 PEM.
    pub key: PathBuf,
    /// The witness's key name (part of its key ID and of its vkey).
    pub name: String,
    /// The last checkpoint this witness saw, as its note text; absent on the first round.
    pub state: PathBuf,
    /// Hand the cosignature to the broker (`POST /log/cosignature`).
    pub submit: bool,
    /// Now, in Unix seconds: the cosignature's timestamp.
    pub now: u64,
}

const PEM_BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
const PEM_END: &str = "-----END PRIVATE KEY-----";

fn pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::from(PEM_BEGIN);
    out.push('\n');
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(PEM_END);
    out.push('\n');
    out
}

fn der_of(pem: &str) -> Option<Vec<u8>> {
    let body = pem.split(PEM_BEGIN).nth(1)?.split(PEM_END).next()?;
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(b64).ok()
}

/// The witness's signer from its key file.
pub fn load_key(path: &Path, name: &str) -> Result<Signer, LogError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        cannot_run(format!(
            "cannot read the witness key {}: {e}",
            path.display()
        ))
    })?;
    let der = der_of(&text).ok_or_else(|| {
        cannot_run(format!(
            "{} is not a PKCS#8 PEM private key (BEGIN PRIVATE KEY)",
            path.display()
        ))
    })?;
    Signer::witness_from_pkcs8(name, &der)
        .map_err(|e| cannot_run(format!("the witness key {}: {e}", path.display())))
}

/// Creates the witness's key at `path` if there is none (readable by the owner only), and
/// returns its verifier key (type 0x04), for the broker's `[log] witnesses`, and whether it was
/// created now.
pub fn new_key(path: &Path, name: &str) -> Result<(String, bool), LogError> {
    if path.exists() {
        return Ok((load_key(path, name)?.vkey(), false));
    }
    let signer = Signer::generate_witness(name)
        .map_err(|e| cannot_run(format!("cannot make a witness key: {e}")))?;
    let der = signer
        .to_pkcs8()
        .map_err(|e| cannot_run(format!("cannot write the witness key: {e}")))?;
    let written = {
        use std::os::unix::fs::OpenOptionsExt as _;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .and_then(|mut f| {
                f.write_all(pem(&der).as_bytes())?;
                f.sync_all()
            })
    };
    written.map_err(|e| cannot_run(format!("cannot write {}: {e}", path.display())))?;
    Ok((signer.vkey(), true))
}

/// The checkpoint kept in the state file, if there is one. The witness wrote it after checking
/// it, so it is parsed, not verified again (the log's key may have rotated since).
pub(crate) fn read_state(path: &Path) -> Result<Option<Checkpoint>, LogError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(cannot_run(format!(
                "cannot read the state {}: {e}",
                path.display()
            )));
        }
    };
    let note = Note::parse(&text).map_err(|e| {
        cannot_run(format!(
            "the state {} is not a checkpoint note: {e}",
            path.display()
        ))
    })?;
    Checkpoint::parse(note.text()).map(Some).map_err(|e| {
        cannot_run(format!(
            "the state {} is not a checkpoint: {e}",
            path.display()
        ))
    })
}

/// Writes the state atomically: a temporary file beside it, synced, then renamed over it.
pub(crate) fn write_state(path: &Path, note: &str) -> Result<(), LogError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file = path
        .file_name()
        .ok_or_else(|| cannot_run(format!("the state {} is not a file name", path.display())))?;
    let temporary = dir.join(format!(".{}.tmp", file.to_string_lossy()));
    let written = std::fs::File::create(&temporary)
        .and_then(|mut f| {
            f.write_all(note.as_bytes())?;
            f.sync_all()
        })
        .and_then(|()| std::fs::rename(&temporary, path));
    written.map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        cannot_run(format!("cannot write the state {}: {e}", path.display()))
    })
}

fn inconsistent(old: &Checkpoint, new: &Checkpoint, what: &str) -> LogError {
    failed(format!(
        "INCONSISTENT LOG: {what}. Seen before: {} records, root {}; now: {} records, root {}. \
         Not cosigned; the state file is unchanged.",
        old.size, old.root, new.size, new.root
    ))
}

/// Whether `new` extends `old`, from the tiles of `new`'s tree (fetched by `fetch`). Same size:
/// the same root; smaller: a rollback; larger: a consistency proof computed from the tiles and
/// checked against both roots.
pub(crate) async fn check_consistency<F, Fut>(
    old: &Checkpoint,
    new: &Checkpoint,
    fetch: F,
) -> Result<(), LogError>
where
    F: FnOnce(Vec<transparency::tiles::TilePath>) -> Fut,
    Fut: std::future::Future<Output = Result<TileHashes, LogError>>,
{
    if old.origin != new.origin {
        return Err(cannot_run(format!(
            "the state holds a checkpoint of the log {:?}, not of {:?}",
            old.origin, new.origin
        )));
    }
    if new.size < old.size {
        return Err(inconsistent(
            old,
            new,
            "ROLLBACK: the log now shows fewer records than it did",
        ));
    }
    if new.size == old.size {
        if new.root != old.root {
            return Err(inconsistent(
                old,
                new,
                "the log shows two different trees of the same size",
            ));
        }
        return Ok(());
    }
    if old.size == 0 {
        if old.root != EMPTY_HASH {
            return Err(inconsistent(
                old,
                new,
                "the empty tree seen before has a root other than the empty hash",
            ));
        }
        return Ok(());
    }
    let tiles = fetch(tiles_for_proof(old.size, new.size)?).await?;
    let proof = proof_from_tiles(old.size, new.size, &tiles)?;
    check_tree(&proof, new.size, new.root, old.size, old.root).map_err(|e| {
        inconsistent(
            old,
            new,
            &format!(
                "the new tree does not extend the one seen before (consistency proof from the \
                 log's tiles: {e})"
            ),
        )
    })
}

/// One round; the summary lines to print on success.
pub async fn witness(args: &WitnessArgs) -> Result<Vec<String>, LogError> {
    let keys = log_keys(&args.log_keys)?;
    let signer = load_key(&args.key, &args.name)?;
    let client = LogClient::new(&args.log)?;
    let (checkpoint, text, signed_by) = signed_checkpoint(&client, &keys).await?;
    let mut summary = vec![format!(
        "checkpoint: {}, {} records, root {}, signed by {signed_by}",
        checkpoint.origin, checkpoint.size, checkpoint.root
    )];

    match read_state(&args.state)? {
        None => summary.push(format!(
            "first checkpoint seen (no state in {}): nothing to be consistent with",
            args.state.display()
        )),
        Some(old) => {
            let (client, size) = (&client, checkpoint.size);
            check_consistency(&old, &checkpoint, move |tiles| async move {
                TileHashes::read(client.tiles(&tiles, size).await?)
            })
            .await?;
            summary.push(format!(
                "consistent with the checkpoint seen before ({} records, root {})",
                old.size, old.root
            ));
        }
    }

    let line = cosignature::cosign(&checkpoint, &signer, args.now)
        .map_err(|e| cannot_run(format!("cannot cosign: {e}")))?;
    let cosigned = format!("{}\n{line}", checkpoint.body());
    if args.submit {
        let answer = client.submit(&cosigned).await?;
        summary.push(format!(
            "cosigned as {}; the broker said: {answer}",
            signer.name()
        ));
    } else {
        summary.push(format!(
            "cosigned as {} (not submitted):\n{cosigned}",
            signer.name()
        ));
    }
    write_state(&args.state, &text)?;
    summary.push(format!(
        "ok: checkpoint of {} records cosigned; state {} updated",
        checkpoint.size,
        args.state.display()
    ));
    Ok(summary)
}
