//! Signed notes ([c2sp.org/signed-note](https://c2sp.org/signed-note)): a UTF-8 text ending in a
//! newline, a blank line, then one signature line per key, `— <name> <base64(key ID || sig)>`.
//!
//! The log signs its checkpoints as notes and witnesses add their cosignatures to the same note,
//! so a note carries signatures by keys a reader may not know. The rules a reader follows come
//! from the spec: signatures by unknown keys are kept and ignored; a signature by a known key
//! (same name and key ID) that does not verify rejects the whole note as forged; a note with no
//! verified signature by a known key is rejected. The text means nothing until then.
//!
//! Keys are Ed25519 on aws-lc-rs, the project's one cryptography library. A key is either a plain
//! note key (signature type 0x01, the log's) or a cosignature key (type 0x04, a witness's, see
//! [`crate::cosignature`]); the type is part of the key ID and of the verifier key string, and a
//! key of one type is never used as the other.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::digest;
use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

/// The largest note this crate parses or writes. The spec asks verifiers for a limit; a
/// checkpoint with a few dozen cosignatures is a few kilobytes.
pub const MAX_NOTE_BYTES: usize = 1_000_000;
/// The most signature lines a note may carry (the spec asks verifiers to accept at least 16).
pub const MAX_SIGNATURES: usize = 100;

const ED25519_PUBLIC_KEY_LEN: usize = 32;
const ED25519_SIGNATURE_LEN: usize = 64;
const SIGNATURE_LINE_PREFIX: &str = "\u{2014} ";

/// Why a note, a key or a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// The note or text is larger than [`MAX_NOTE_BYTES`].
    #[error("note is {0} bytes, more than the limit of {MAX_NOTE_BYTES}")]
    TooLarge(usize),
    /// The note carries more than [`MAX_SIGNATURES`] signature lines.
    #[error("note has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    /// The note does not follow the signed-note format; the text says where.
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    /// No signature on the note is by one of the given keys.
    #[error("no known signature on the note")]
    NoKnownSignature,
    /// A signature by a known key (same name and key ID) does not verify.
    #[error("forged signature by {name} (key ID {key_id:08x})")]
    Forged {
        /// The key name on the signature line.
        name: String,
        /// The key ID on the signature line.
        key_id: u32,
    },
    /// A key name is empty, contains a space, or contains `+`.
    #[error("invalid key name {0:?}: it must be non-empty, without spaces or '+'")]
    InvalidKeyName(String),
    /// A verifier key string is not `<name>+<8 hex key ID>+<base64(type || key)>`.
    #[error("malformed verifier key: {0}")]
    MalformedVerifierKey(&'static str),
    /// A verifier key's type byte is neither 0x01 nor 0x04.
    #[error("unsupported signature type 0x{0:02x} (only Ed25519 0x01 and cosignature 0x04)")]
    UnsupportedKeyType(u8),
    /// A key of one type was used where the other is required.
    #[error("key {name} is a {found} key where a {expected} key is required")]
    WrongKeyType {
        /// The key's name.
        name: String,
        /// The type the operation needs.
        expected: KeyType,
        /// The key's type.
        found: KeyType,
    },
    /// aws-lc-rs refused the private key.
    #[error("invalid Ed25519 private key: {0}")]
    InvalidPrivateKey(&'static str),
    /// aws-lc-rs failed to generate, sign or serialize.
    #[error("Ed25519 operation failed")]
    Crypto,
}

/// The signature type of an Ed25519 key, which the key ID and the verifier key string commit to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// 0x01: a plain note signature over the note text (the log's checkpoint key).
    Ed25519,
    /// 0x04: a timestamped cosignature ([`crate::cosignature`]), a witness's key.
    Cosignature,
}

impl KeyType {
    /// The signature type identifier byte.
    pub fn byte(self) -> u8 {
        match self {
            KeyType::Ed25519 => 0x01,
            KeyType::Cosignature => 0x04,
        }
    }

    fn from_byte(byte: u8) -> Result<Self, NoteError> {
        match byte {
            0x01 => Ok(KeyType::Ed25519),
            0x04 => Ok(KeyType::Cosignature),
            other => Err(NoteError::UnsupportedKeyType(other)),
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyType::Ed25519 => "note (0x01)",
            KeyType::Cosignature => "cosignature (0x04)",
        })
    }
}

/// The key ID: the first four bytes, big-endian, of SHA-256(name || 0x0A || type || public key).
pub fn key_id(name: &str, kind: KeyType, public_key: &[u8; 32]) -> u32 {
    let mut input = Vec::with_capacity(name.len() + 2 + ED25519_PUBLIC_KEY_LEN);
    input.extend_from_slice(name.as_bytes());
    input.push(b'\n');
    input.push(kind.byte());
    input.extend_from_slice(public_key);
    let hash = digest::digest(&digest::SHA256, &input);
    let bytes = hash.as_ref();
    u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

/// Key names must be non-empty, without Unicode spaces and without `+` (the vkey separator).
fn check_key_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '+') {
        return Err(NoteError::InvalidKeyName(name.to_owned()));
    }
    Ok(())
}

fn parse_pkcs8(der: &[u8]) -> Result<Ed25519KeyPair, NoteError> {
    Ed25519KeyPair::from_pkcs8(der).map_err(|e| NoteError::InvalidPrivateKey(e.description_()))
}

fn vkey_string(name: &str, key_id: u32, kind: KeyType, public_key: &[u8; 32]) -> String {
    let mut material = Vec::with_capacity(1 + ED25519_PUBLIC_KEY_LEN);
    material.push(kind.byte());
    material.extend_from_slice(public_key);
    format!("{name}+{key_id:08x}+{}", BASE64.encode(material))
}

/// A named Ed25519 private key of one [`KeyType`]. Its `Debug` shows the name and key ID only.
pub struct Signer {
    name: String,
    kind: KeyType,
    key_id: u32,
    public_key: [u8; 32],
    key_pair: Ed25519KeyPair,
}

impl Signer {
    /// A log key (plain note signatures, type 0x01) from an unencrypted PKCS#8 Ed25519 private
    /// key in DER: v1 (RFC 5208, what `openssl genpkey -algorithm ed25519` writes) or v2
    /// (RFC 5958, with the public key, which must then match).
    pub fn from_pkcs8(name: &str, der: &[u8]) -> Result<Self, NoteError> {
        Self::new(name, KeyType::Ed25519, parse_pkcs8(der)?)
    }

    /// A witness key (cosignatures, type 0x04) from PKCS#8 DER, as [`Signer::from_pkcs8`].
    pub fn witness_from_pkcs8(name: &str, der: &[u8]) -> Result<Self, NoteError> {
        Self::new(name, KeyType::Cosignature, parse_pkcs8(der)?)
    }

    /// A freshly generated log key; keep it with [`Signer::to_pkcs8`].
    pub fn generate(name: &str) -> Result<Self, NoteError> {
        let key_pair = Ed25519KeyPair::generate().map_err(|_| NoteError::Crypto)?;
        Self::new(name, KeyType::Ed25519, key_pair)
    }

    /// A freshly generated witness key; keep it with [`Signer::to_pkcs8`].
    pub fn generate_witness(name: &str) -> Result<Self, NoteError> {
        let key_pair = Ed25519KeyPair::generate().map_err(|_| NoteError::Crypto)?;
        Self::new(name, KeyType::Cosignature, key_pair)
    }

    fn new(name: &str, kind: KeyType, key_pair: Ed25519KeyPair) -> Result<Self, NoteError> {
        check_key_name(name)?;
        let public_key: [u8; 32] = key_pair
            .public_key()
            .as_ref()
            .try_into()
            .map_err(|_| NoteError::Crypto)?;
        Ok(Signer {
            name: name.to_owned(),
            kind,
            key_id: key_id(name, kind, &public_key),
            public_key,
            key_pair,
        })
    }

    /// The private key as PKCS#8 v2 DER, to store a generated key. It is the secret: handle it
    /// as one.
    pub fn to_pkcs8(&self) -> Result<Vec<u8>, NoteError> {
        let document = self.key_pair.to_pkcs8().map_err(|_| NoteError::Crypto)?;
        Ok(document.as_ref().to_vec())
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The signature type this key signs with.
    pub fn kind(&self) -> KeyType {
        self.kind
    }

    /// The key ID (computed with this key's type byte).
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.public_key
    }

    /// The verifier key string, `<name>+<key ID hex>+<base64(type || public key)>`.
    pub fn vkey(&self) -> String {
        vkey_string(&self.name, self.key_id, self.kind, &self.public_key)
    }

    /// The verifier for this key.
    pub fn verifier(&self) -> Verifier {
        Verifier {
            name: self.name.clone(),
            kind: self.kind,
            key_id: self.key_id,
            public_key: self.public_key,
        }
    }

    pub(crate) fn require(&self, expected: KeyType) -> Result<(), NoteError> {
        if self.kind != expected {
            return Err(NoteError::WrongKeyType {
                name: self.name.clone(),
                expected,
                found: self.kind,
            });
        }
        Ok(())
    }

    /// A raw Ed25519 signature over `message`.
    pub(crate) fn sign_bytes(&self, message: &[u8]) -> Result<Vec<u8>, NoteError> {
        let signature = self
            .key_pair
            .try_sign(message)
            .map_err(|_| NoteError::Crypto)?;
        Ok(signature.as_ref().to_vec())
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .finish_non_exhaustive()
    }
}

/// A named Ed25519 public key of one [`KeyType`], parsed from a verifier key string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    name: String,
    kind: KeyType,
    key_id: u32,
    public_key: [u8; 32],
}

impl Verifier {
    /// Parses `<name>+<8 hex digits>+<base64(type || 32-byte key)>`, checking that the key ID is
    /// the one the name, type and key give (a mismatch is a mistyped or tampered key string).
    pub fn parse(vkey: &str) -> Result<Self, NoteError> {
        let (name, rest) = vkey
            .split_once('+')
            .ok_or(NoteError::MalformedVerifierKey("expected name+keyid+key"))?;
        let (id_hex, key_b64) = rest
            .split_once('+')
            .ok_or(NoteError::MalformedVerifierKey("expected name+keyid+key"))?;
        check_key_name(name)?;
        if id_hex.len() != 8 || !id_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(NoteError::MalformedVerifierKey(
                "key ID must be 8 hex digits",
            ));
        }
        let claimed_id = u32::from_str_radix(id_hex, 16)
            .map_err(|_| NoteError::MalformedVerifierKey("key ID must be 8 hex digits"))?;
        let material = BASE64
            .decode(key_b64)
            .map_err(|_| NoteError::MalformedVerifierKey("key is not valid base64"))?;
        let (&type_byte, key) = material
            .split_first()
            .ok_or(NoteError::MalformedVerifierKey("key is empty"))?;
        let kind = KeyType::from_byte(type_byte)?;
        let public_key: [u8; 32] = key
            .try_into()
            .map_err(|_| NoteError::MalformedVerifierKey("an Ed25519 public key is 32 bytes"))?;
        if key_id(name, kind, &public_key) != claimed_id {
            return Err(NoteError::MalformedVerifierKey(
                "key ID does not match the name and key",
            ));
        }
        Ok(Verifier {
            name: name.to_owned(),
            kind,
            key_id: claimed_id,
            public_key,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this is a plain note key or a cosignature key.
    pub fn kind(&self) -> KeyType {
        self.kind
    }

    /// Whether this is a witness's cosignature key (type 0x04).
    pub fn is_cosignature_key(&self) -> bool {
        self.kind == KeyType::Cosignature
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.public_key
    }

    pub(crate) fn require(&self, expected: KeyType) -> Result<(), NoteError> {
        if self.kind != expected {
            return Err(NoteError::WrongKeyType {
                name: self.name.clone(),
                expected,
                found: self.kind,
            });
        }
        Ok(())
    }

    fn matches(&self, signature: &Signature) -> bool {
        self.name == signature.name && self.key_id == signature.key_id
    }

    /// Checks a signature line's payload (after the key ID) over `text`: for a plain key an
    /// Ed25519 signature of the text; for a cosignature key a timestamp and an Ed25519 signature
    /// of the cosigned message. Returns the cosignature's timestamp; any failure is a forgery.
    pub(crate) fn verify_payload(
        &self,
        text: &str,
        payload: &[u8],
    ) -> Result<Option<u64>, NoteError> {
        let forged = || NoteError::Forged {
            name: self.name.clone(),
            key_id: self.key_id,
        };
        let (message, signature, timestamp) = match self.kind {
            KeyType::Ed25519 => (text.as_bytes().to_vec(), payload, None),
            KeyType::Cosignature => {
                let (ts, signature) = payload.split_at_checked(8).ok_or_else(forged)?;
                let ts: [u8; 8] = ts.try_into().map_err(|_| forged())?;
                let timestamp = u64::from_be_bytes(ts);
                if timestamp > i64::MAX as u64 {
                    return Err(forged());
                }
                let message = crate::cosignature::signed_message(timestamp, text);
                (message, signature, Some(timestamp))
            }
        };
        if signature.len() != ED25519_SIGNATURE_LEN {
            return Err(forged());
        }
        UnparsedPublicKey::new(&ED25519, &self.public_key)
            .verify(&message, signature)
            .map_err(|_| forged())?;
        Ok(timestamp)
    }
}

impl FromStr for Verifier {
    type Err = NoteError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Verifier::parse(s)
    }
}

impl fmt::Display for Verifier {
    /// The verifier key string.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&vkey_string(
            &self.name,
            self.key_id,
            self.kind,
            &self.public_key,
        ))
    }
}

/// One signature line of a note, not yet verified: the key name, the key ID (the first four
/// bytes of the decoded signature) and the rest, the payload (for Ed25519 the signature, for a
/// cosignature the timestamp and the signature).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    name: String,
    key_id: u32,
    payload: Vec<u8>,
}

impl Signature {
    /// Parses one signature line, without its newline.
    pub fn parse_line(line: &str) -> Result<Self, NoteError> {
        let rest = line
            .strip_prefix(SIGNATURE_LINE_PREFIX)
            .ok_or(NoteError::Malformed(
                "a signature line starts with an em dash (U+2014) and a space",
            ))?;
        let (name, b64) = rest.split_once(' ').ok_or(NoteError::Malformed(
            "a signature line is the key name, a space and the signature",
        ))?;
        check_key_name(name)?;
        let bytes = BASE64
            .decode(b64)
            .map_err(|_| NoteError::Malformed("signature is not valid base64"))?;
        if bytes.len() < 5 {
            return Err(NoteError::Malformed(
                "signature is shorter than a key ID and one byte",
            ));
        }
        let (id, payload) = bytes.split_at(4);
        Ok(Signature {
            name: name.to_owned(),
            key_id: u32::from_be_bytes([id[0], id[1], id[2], id[3]]),
            payload: payload.to_vec(),
        })
    }

    pub(crate) fn new(name: &str, key_id: u32, payload: Vec<u8>) -> Self {
        Signature {
            name: name.to_owned(),
            key_id,
            payload,
        }
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The decoded signature after the key ID.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The signature line, with its newline.
    pub fn to_line(&self) -> String {
        let mut bytes = Vec::with_capacity(4 + self.payload.len());
        bytes.extend_from_slice(&self.key_id.to_be_bytes());
        bytes.extend_from_slice(&self.payload);
        format!(
            "{SIGNATURE_LINE_PREFIX}{} {}\n",
            self.name,
            BASE64.encode(bytes)
        )
    }
}

/// A signature that verified against a known key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The key name.
    pub name: String,
    /// The key ID.
    pub key_id: u32,
    /// The key's type.
    pub kind: KeyType,
    /// A cosignature's timestamp (Unix seconds); `None` for a plain signature.
    pub timestamp: Option<u64>,
}

/// A parsed signed note: its text, ending in a newline (without the blank line after it), and
/// every signature line in order, including those by keys the reader does not know. Parsing
/// verifies nothing: see [`Note::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<Signature>,
}

/// Checks a note text: within the size limit, no control characters but newline, ends in one.
fn check_text(text: &str) -> Result<(), NoteError> {
    if text.len() > MAX_NOTE_BYTES {
        return Err(NoteError::TooLarge(text.len()));
    }
    if text.chars().any(|c| c < ' ' && c != '\n') {
        return Err(NoteError::Malformed(
            "contains a control character other than newline",
        ));
    }
    if !text.ends_with('\n') {
        return Err(NoteError::Malformed("does not end with a newline"));
    }
    Ok(())
}

impl Note {
    /// The note text, with its final newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order.
    pub fn signatures(&self) -> &[Signature] {
        &self.signatures
    }

    /// Parses a signed note. The text is separated from the signatures by the last blank line.
    /// Nothing is verified: see [`Note::verify`].
    pub fn parse(note: &str) -> Result<Self, NoteError> {
        check_text(note)?;
        let blank = note.rfind("\n\n").ok_or(NoteError::Malformed(
            "missing the blank line before the signatures",
        ))?;
        let text = &note[..=blank];
        let block = &note[blank + 2..];
        if block.is_empty() {
            return Err(NoteError::Malformed("no signature lines"));
        }
        let lines: Vec<&str> = block
            .strip_suffix('\n')
            .unwrap_or(block)
            .split('\n')
            .collect();
        if lines.len() > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures);
        }
        let signatures = lines
            .into_iter()
            .map(Signature::parse_line)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// Verifies the note against the known keys: every signature by a known key (same name and
    /// key ID) must verify, else [`NoteError::Forged`]; at least one must, else
    /// [`NoteError::NoKnownSignature`]. Signatures by other keys are ignored. Returns the
    /// verified signatures, each key once.
    pub fn verify(&self, verifiers: &[Verifier]) -> Result<Vec<Verified>, NoteError> {
        let mut verified: Vec<Verified> = Vec::new();
        for signature in &self.signatures {
            let Some(verifier) = verifiers.iter().find(|v| v.matches(signature)) else {
                continue;
            };
            let timestamp = verifier.verify_payload(&self.text, &signature.payload)?;
            let seen = verified
                .iter()
                .any(|v| v.name == verifier.name && v.key_id == verifier.key_id);
            if !seen {
                verified.push(Verified {
                    name: verifier.name.clone(),
                    key_id: verifier.key_id,
                    kind: verifier.kind,
                    timestamp,
                });
            }
        }
        if verified.is_empty() {
            return Err(NoteError::NoKnownSignature);
        }
        Ok(verified)
    }
}

impl fmt::Display for Note {
    /// The note in its wire form: the text, a blank line, the signature lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        f.write_str("\n")?;
        for signature in &self.signatures {
            f.write_str(&signature.to_line())?;
        }
        Ok(())
    }
}

/// Signs `text` with each of the plain note keys, in order, and returns the whole signed note.
/// Cosignature keys are refused: a cosignature carries a timestamp ([`crate::cosignature`]).
pub fn sign(text: &str, signers: &[&Signer]) -> Result<String, NoteError> {
    check_text(text)?;
    if signers.is_empty() {
        return Err(NoteError::Malformed("no signature lines"));
    }
    if signers.len() > MAX_SIGNATURES {
        return Err(NoteError::TooManySignatures);
    }
    let mut note = Note {
        text: text.to_owned(),
        signatures: Vec::with_capacity(signers.len()),
    };
    for signer in signers {
        signer.require(KeyType::Ed25519)?;
        note.signatures.push(Signature {
            name: signer.name.clone(),
            key_id: signer.key_id,
            payload: signer.sign_bytes(text.as_bytes())?,
        });
    }
    let note = note.to_string();
    if note.len() > MAX_NOTE_BYTES {
        return Err(NoteError::TooLarge(note.len()));
    }
    Ok(note)
}

#[cfg(test)]
mod tests;
