//! Key rotation, on files or in memory.
//!
//! Beside each configured key file `es256.pem` live `es256.next.pem` (published, not yet
//! signing) and `es256.retired-<unix time>.pem` (published until that time). A rotation:
//! 1. links the signing key to its retired name, published for [`RETAIN_SECS`] more;
//! 2. renames the next key over the signing key (an atomic replace: the configured file
//!    always exists, so a crash in between leaves a loadable set);
//! 3. writes a fresh next key, and deletes retired files whose time has passed.
//!
//! So a key signs only after it has been in the JWKS for a whole rotation period, and stays in
//! the JWKS until every ID token it signed has expired: tokens live [`ID_TOKEN_LIFETIME`]
//! seconds, replicas reload their keys every [`RELOAD_SECS`], and clocks may differ by a
//! minute.
//!
//! Schedule: rotate every 90 days (`broker keys rotate --config FILE` from cron, or
//! `POST /admin/keys/rotate`); never twice within a day, so relying parties that cache the
//! JWKS for a day still know each key before it signs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use trust_framework::SigningAlg;

use super::{KeyError, KeySet, SigningKey, generate_pem, write_private};
use crate::oidc::id_token::ID_TOKEN_LIFETIME;

/// How often a serving broker reloads its key files.
pub const RELOAD_SECS: i64 = 30;
/// How long a retired key stays published after it stops signing.
pub const RETAIN_SECS: i64 = ID_TOKEN_LIFETIME + RELOAD_SECS + 60;
const _: () = assert!(RETAIN_SECS > ID_TOKEN_LIFETIME + RELOAD_SECS);

/// What a rotation did for one algorithm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rotated {
    pub alg: &'static str,
    /// Whether a next key was promoted to signing (false the first time, when there was none:
    /// a key never published may not sign).
    pub promoted: bool,
    pub signing_kid: String,
    pub next_kid: String,
}

/// `es256.pem` → `es256.next.pem`.
pub fn next_path(active: &Path) -> PathBuf {
    sibling(active, "next")
}

/// `es256.pem` → `es256.retired-1800000000.pem`.
pub fn retired_path(active: &Path, until: i64) -> PathBuf {
    sibling(active, &format!("retired-{until}"))
}

fn sibling(active: &Path, tag: &str) -> PathBuf {
    let stem = active
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match active.extension() {
        Some(ext) => format!("{stem}.{tag}.{}", ext.to_string_lossy()),
        None => format!("{stem}.{tag}"),
    };
    active.with_file_name(name)
}

/// The retired files of a key, with the time until which each is published.
pub fn retired_files(active: &Path) -> Result<Vec<(i64, PathBuf)>, KeyError> {
    let dir = match active.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let prefix = format!(
        "{}.retired-",
        active
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    let read = std::fs::read_dir(&dir).map_err(|source| KeyError::Read {
        path: dir.display().to_string(),
        source,
    })?;
    let mut found = Vec::new();
    for entry in read.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(&prefix) else {
            continue;
        };
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(until) = digits.parse::<i64>() {
            found.push((until, entry.path()));
        }
    }
    found.sort();
    Ok(found)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Rotate {
        path: path.display().to_string(),
        source,
    }
}

/// Rotates the key files of every configured algorithm (see the module documentation).
pub fn rotate_files(
    files: &BTreeMap<SigningAlg, PathBuf>,
    now: i64,
) -> Result<Vec<Rotated>, KeyError> {
    let mut report = Vec::new();
    for (alg, active) in files {
        let next = next_path(active);
        let promoted = next.exists();
        if promoted {
            // Refuse a next key that does not load before touching anything.
            SigningKey::from_file(*alg, &next)?;
            let retired = retired_path(active, now + RETAIN_SECS);
            std::fs::hard_link(active, &retired)
                .or_else(|_| std::fs::copy(active, &retired).map(|_| ()))
                .map_err(io(&retired))?;
            std::fs::rename(&next, active).map_err(io(active))?;
        }
        write_private(&next, &generate_pem(*alg)?).map_err(io(&next))?;
        for (until, old) in retired_files(active)? {
            if until <= now {
                std::fs::remove_file(&old).map_err(io(&old))?;
            }
        }
        report.push(Rotated {
            alg: alg.name(),
            promoted,
            signing_kid: SigningKey::from_file(*alg, active)?.kid,
            next_kid: SigningKey::from_file(*alg, &next)?.kid,
        });
    }
    Ok(report)
}

impl KeySet {
    /// The same rotation for keys held in memory only (the demo): next keys sign, signing keys
    /// retire, fresh next keys are generated.
    pub fn rotated_in_memory(&self, now: i64) -> Result<(KeySet, Vec<Rotated>), KeyError> {
        let mut keys = BTreeMap::new();
        let mut next = BTreeMap::new();
        let mut retired: Vec<(i64, serde_json::Map<String, serde_json::Value>)> = self
            .retired
            .iter()
            .filter(|(until, _)| *until > now)
            .cloned()
            .collect();
        let mut report = Vec::new();
        for alg in SigningAlg::ALL {
            let Some(current) = self.keys.get(alg.name()) else {
                continue;
            };
            let (signing, promoted) = match self.next.get(alg.name()) {
                Some(n) => {
                    retired.push((now + RETAIN_SECS, current.public.clone()));
                    (n.clone(), true)
                }
                None => (current.clone(), false),
            };
            let fresh = SigningKey::generate(alg)?;
            report.push(Rotated {
                alg: alg.name(),
                promoted,
                signing_kid: signing.kid.clone(),
                next_kid: fresh.kid.clone(),
            });
            keys.insert(alg.name(), signing);
            next.insert(alg.name(), fresh);
        }
        Ok((
            KeySet {
                keys,
                next,
                retired,
                files: None,
            },
            report,
        ))
    }

    pub(crate) fn files(&self) -> Option<&BTreeMap<SigningAlg, PathBuf>> {
        self.files.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, Value};

    fn kids(jwks: &Value) -> Vec<String> {
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    }

    fn signing_kid(keys: &KeySet) -> String {
        let token = keys.sign(SigningAlg::ES256, Map::new()).unwrap();
        jsonwebtoken::decode_header(&token).unwrap().kid.unwrap()
    }

    #[test]
    fn names_beside_the_configured_file() {
        let p = Path::new("/k/es256.pem");
        assert_eq!(next_path(p), Path::new("/k/es256.next.pem"));
        assert_eq!(retired_path(p, 42), Path::new("/k/es256.retired-42.pem"));
        assert_eq!(next_path(Path::new("k/ed")), Path::new("k/ed.next"));
    }

    #[test]
    fn in_memory_rotation_signs_with_a_published_key_and_keeps_the_old_one() {
        let now = 1_800_000_000;
        let before = KeySet::generate().unwrap();
        let published_before = kids(&before.jwks_at(now));
        let old = signing_kid(&before);
        let (after, report) = before.rotated_in_memory(now).unwrap();
        assert!(report.iter().all(|r| r.promoted));
        let new = signing_kid(&after);
        assert_ne!(old, new);
        assert!(
            published_before.contains(&new),
            "the new signing key was published before it signed"
        );
        let published_after = kids(&after.jwks_at(now));
        assert!(
            published_after.contains(&old),
            "the old key stays published"
        );
        assert!(
            !kids(&after.jwks_at(now + RETAIN_SECS)).contains(&old),
            "and goes once every token it signed has expired"
        );
    }

    #[test]
    fn file_rotation_promotes_retires_and_cleans_up() {
        let dir = tempfile::TempDir::new().unwrap();
        let es = dir.path().join("es256.pem");
        write_private(&es, &generate_pem(SigningAlg::ES256).unwrap()).unwrap();
        let files = BTreeMap::from([(SigningAlg::ES256, es.clone())]);
        let now = 1_800_000_000;

        // First rotation: no next key yet, so nothing is promoted; one is published.
        let first = KeySet::load_at(&files, now).unwrap();
        let r = rotate_files(&files, now).unwrap();
        assert!(!r[0].promoted);
        assert_eq!(r[0].signing_kid, signing_kid(&first));
        let second = KeySet::load_at(&files, now).unwrap();
        assert!(kids(&second.jwks_at(now)).contains(&r[0].next_kid));

        // Second: the published next key signs; the old one is retired but published.
        let r2 = rotate_files(&files, now + 100).unwrap();
        assert!(r2[0].promoted);
        assert_eq!(r2[0].signing_kid, r[0].next_kid);
        let third = KeySet::load_at(&files, now + 100).unwrap();
        assert_eq!(signing_kid(&third), r[0].next_kid);
        let published = kids(&third.jwks_at(now + 100));
        assert!(published.contains(&signing_kid(&first)));
        assert_eq!(retired_files(&es).unwrap().len(), 1);

        // Once the retirement has run out, the file goes at the next rotation.
        let later = now + 100 + RETAIN_SECS + 1;
        assert!(
            !kids(&KeySet::load_at(&files, later).unwrap().jwks_at(later))
                .contains(&signing_kid(&first))
        );
        rotate_files(&files, later).unwrap();
        let left: Vec<i64> = retired_files(&es)
            .unwrap()
            .iter()
            .map(|(u, _)| *u)
            .collect();
        assert!(left.iter().all(|u| *u > later), "{left:?}");
        // A broken next key stops the rotation before anything is changed.
        let signing = signing_kid(&KeySet::load_at(&files, later).unwrap());
        std::fs::write(next_path(&es), "garbage").unwrap();
        assert!(rotate_files(&files, later + 1).is_err());
        // And a broker reloading such files keeps the keys it has (load fails closed).
        assert!(KeySet::load_at(&files, later).is_err());
        std::fs::remove_file(next_path(&es)).unwrap();
        assert_eq!(
            signing_kid(&KeySet::load_at(&files, later).unwrap()),
            signing
        );
    }
}
