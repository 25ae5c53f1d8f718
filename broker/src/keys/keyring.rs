//! The key set in force, swapped whole on rotation or reload: a request signs with one
//! snapshot, and a rotation never leaves a half-changed set visible.

use std::sync::{Arc, Mutex, RwLock};

use serde_json::{Map, Value};
use trust_framework::SigningAlg;

use super::rotation::{self, Rotated};
use super::{KeyError, KeySet};

#[derive(Debug)]
pub struct KeyRing {
    current: RwLock<Arc<KeySet>>,
    /// One rotation at a time.
    rotating: Mutex<()>,
}

impl KeyRing {
    pub fn new(keys: KeySet) -> Self {
        Self {
            current: RwLock::new(Arc::new(keys)),
            rotating: Mutex::new(()),
        }
    }

    pub fn current(&self) -> Arc<KeySet> {
        match self.current.read() {
            Ok(k) => k.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn install(&self, keys: KeySet) {
        let mut guard = match self.current.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = Arc::new(keys);
    }

    pub fn sign(&self, alg: SigningAlg, claims: Map<String, Value>) -> Result<String, KeyError> {
        self.current().sign(alg, claims)
    }

    /// See [`KeySet::sign_typed`].
    pub fn sign_typed(
        &self,
        alg: SigningAlg,
        typ: &str,
        claims: Map<String, Value>,
    ) -> Result<String, KeyError> {
        self.current().sign_typed(alg, typ, claims)
    }

    /// The public JWKS at `now` (unix seconds): see [`KeySet::jwks_at`].
    pub fn jwks(&self, now: i64) -> Value {
        self.current().jwks_at(now)
    }

    pub fn algorithms(&self) -> std::vec::IntoIter<&'static str> {
        self.current().algorithms().collect::<Vec<_>>().into_iter()
    }

    pub fn supports(&self, alg: SigningAlg) -> bool {
        self.current().supports(alg)
    }

    /// Reads the key files again (another replica or `broker keys rotate` may have rotated
    /// them); returns whether anything changed. Keys held in memory do not reload. A set that
    /// fails to load is not installed: the broker keeps signing with the keys it has.
    pub fn reload(&self, now: i64) -> Result<bool, KeyError> {
        let current = self.current();
        let Some(files) = current.files() else {
            return Ok(false);
        };
        let fresh = KeySet::load_at(files, now)?;
        let changed = fresh.jwks_at(now) != current.jwks_at(now);
        if changed {
            self.install(fresh);
        }
        Ok(changed)
    }

    /// Rotates at `now` (unix seconds; see [`rotation`]) and installs the result at once.
    pub fn rotate(&self, now: i64) -> Result<Vec<Rotated>, KeyError> {
        let _one = self.rotating.lock().unwrap_or_else(|p| p.into_inner());
        let current = self.current();
        match current.files() {
            Some(files) => {
                let report = rotation::rotate_files(files, now)?;
                self.install(KeySet::load_at(files, now)?);
                Ok(report)
            }
            None => {
                let (rotated, report) = current.rotated_in_memory(now)?;
                self.install(rotated);
                Ok(report)
            }
        }
    }
}
