//! The registry: an immutable, validated snapshot of providers, relying parties and
//! agreements. Cheap to share (`Arc<Registry>`) and to swap whole; there is no way to build
//! one except through validation.

mod file;
mod validate;

use std::collections::HashMap;
use std::fmt;

pub use file::{
    AgreementEntry, CertificationEntry, FORMAT_VERSION, ProviderEntry, RegistryFile, RegistryMeta,
    RelyingPartyEntry, StatementKeyEntry,
};

use crate::agreement::Agreement;
use crate::provider::IdentityProvider;
use crate::relying_party::RelyingParty;

/// One thing wrong in a registry, with where it is (`agreements[2].attributes[1]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub place: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.message)
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    #[error("the registry is not valid TOML: {0}")]
    Syntax(#[from] toml::de::Error),
    #[error("the registry has {} problem(s):\n{}", .0.len(), .0.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
}

impl RegistryError {
    /// Every problem found; a syntax error is one problem at the place the parser names.
    pub fn problems(&self) -> Vec<Problem> {
        match self {
            Self::Syntax(e) => vec![Problem {
                place: e
                    .span()
                    .map(|s| format!("byte {}", s.start))
                    .unwrap_or_else(|| "file".to_owned()),
                message: e.message().to_owned(),
            }],
            Self::Invalid(problems) => problems.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Registry {
    name: String,
    development: bool,
    providers: Vec<IdentityProvider>,
    relying_parties: Vec<RelyingParty>,
    agreements: Vec<Agreement>,
    provider_index: HashMap<String, usize>,
    rp_index: HashMap<String, usize>,
    source: RegistryFile,
}

impl Registry {
    pub fn from_toml(text: &str) -> Result<Self, RegistryError> {
        let file: RegistryFile = toml::from_str(text)?;
        Self::from_file(file)
    }

    /// Validates a registry file, reporting every problem rather than the first.
    pub fn from_file(file: RegistryFile) -> Result<Self, RegistryError> {
        let (providers, relying_parties, agreements) =
            validate::validate(&file).map_err(RegistryError::Invalid)?;
        let provider_index = providers
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.clone(), i))
            .collect();
        let rp_index = relying_parties
            .iter()
            .enumerate()
            .map(|(i, r)| (r.client_id.clone(), i))
            .collect();
        Ok(Self {
            name: file.registry.name.clone(),
            development: file.registry.development,
            providers,
            relying_parties,
            agreements,
            provider_index,
            rp_index,
            source: file,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn is_development(&self) -> bool {
        self.development
    }

    pub fn providers(&self) -> &[IdentityProvider] {
        &self.providers
    }

    pub fn relying_parties(&self) -> &[RelyingParty] {
        &self.relying_parties
    }

    pub fn agreements(&self) -> &[Agreement] {
        &self.agreements
    }

    pub fn provider(&self, id: &str) -> Option<&IdentityProvider> {
        self.provider_index.get(id).map(|i| &self.providers[*i])
    }

    pub fn relying_party(&self, client_id: &str) -> Option<&RelyingParty> {
        self.rp_index
            .get(client_id)
            .map(|i| &self.relying_parties[*i])
    }

    pub fn agreement(&self, id: &str) -> Option<&Agreement> {
        self.agreements.iter().find(|a| a.id == id)
    }

    pub fn agreements_of<'a>(
        &'a self,
        client_id: &'a str,
    ) -> impl Iterator<Item = &'a Agreement> + 'a {
        self.agreements
            .iter()
            .filter(move |a| a.relying_party == client_id)
    }

    /// The file this snapshot was validated from, for editing and persisting.
    pub fn source(&self) -> &RegistryFile {
        &self.source
    }
}

#[cfg(test)]
mod tests;
