//! A private certificate authority for tests that serve https: the authority's root as a CA
//! bundle, and a certificate it issued for 127.0.0.1 with its key, in PEM files.

use std::path::{Path, PathBuf};

use anyhow::Result;

/// The PEM files [`private_ca`] wrote.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The authority's root certificate: what a client trusts (a CA bundle).
    pub ca_bundle: PathBuf,
    /// The server's certificate for 127.0.0.1, issued by the authority.
    pub cert: PathBuf,
    /// The server certificate's private key.
    pub key: PathBuf,
}

/// Makes a private certificate authority and a certificate it issues for 127.0.0.1, and writes
/// them to `ca.pem`, `cert.pem` and `key.pem` in `dir`.
pub fn private_ca(dir: &Path) -> Result<TlsFiles> {
    let ca_key = rcgen::KeyPair::generate()?;
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "test private CA");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key)?;
    let leaf_key = rcgen::KeyPair::generate()?;
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])?
        .signed_by(&leaf_key, &rcgen::Issuer::new(ca, &ca_key))?;
    let files = TlsFiles {
        ca_bundle: dir.join("ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    std::fs::write(&files.ca_bundle, ca_cert.pem())?;
    std::fs::write(&files.cert, leaf.pem())?;
    std::fs::write(&files.key, leaf_key.serialize_pem())?;
    Ok(files)
}
