//! Fixed keys and helpers shared by the unit tests.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::Hash;
use crate::note::Signer;

/// The PKCS#8 v1 (RFC 5208) DER of an Ed25519 seed: the fixed 16-byte prefix RFC 8410 gives,
/// then the 32-byte seed. It is what `openssl genpkey -algorithm ed25519` writes.
pub(crate) fn pkcs8_v1(seed: &[u8; 32]) -> Vec<u8> {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(seed);
    der
}

/// The seed of Go's `golang.org/x/mod/sumdb/note` example key, from its private key string
/// `PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz`
/// (base64 of the type byte 0x01 and the seed).
pub(crate) fn peter_seed() -> [u8; 32] {
    let decoded = BASE64
        .decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")
        .unwrap();
    decoded[1..].try_into().unwrap()
}

/// A log key from a seed filled with `byte`.
pub(crate) fn log_key(name: &str, byte: u8) -> Signer {
    Signer::from_pkcs8(name, &pkcs8_v1(&[byte; 32])).unwrap()
}

/// A witness key from a seed filled with `byte`.
pub(crate) fn witness_key(name: &str, byte: u8) -> Signer {
    Signer::witness_from_pkcs8(name, &pkcs8_v1(&[byte; 32])).unwrap()
}

/// A hash from its hex spelling.
pub(crate) fn hash_hex(hex: &str) -> Hash {
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    Hash(out)
}

/// Distinct leaf hashes for tests: the record hash of the index's bytes.
pub(crate) fn leaves(n: u64) -> Vec<Hash> {
    (0..n)
        .map(|i| crate::record_hash(&i.to_be_bytes()))
        .collect()
}
