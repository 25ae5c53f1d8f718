//! "This wasn't me": the person reports a disclosure of their record that they did not make.
//! The report is kept against that disclosure for the operator (the admin API's list), audited
//! and counted; the person gets a reference to quote and is told what happens next.

use time::OffsetDateTime;

use super::RecordSession;
use crate::app::Broker;
use crate::audit::Event;
use crate::records::{DisclosureReport, RecordsError};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Not a disclosure of this person (or none at all): the same answer either way, so that
    /// a reference cannot be used to learn of another person's records.
    #[error("no such disclosure in this record")]
    NotInRecord,
    #[error("the records are unavailable: {0}")]
    Records(#[from] RecordsError),
}

/// The letters of a reference: no 0/O, 1/I/L or U, so that it can be read over the phone.
const READABLE: &[u8] = b"ABCDEFGHJKMNPQRSTVWXYZ23456789";

/// A disclosure's report reference: the same for every report of it, so a report made twice
/// is one report under one reference.
pub fn reference(txn: &str) -> String {
    let digest = crate::crypto::sha256(txn.as_bytes());
    let code: String = digest
        .as_ref()
        .iter()
        .take(8)
        .map(|b| char::from(READABLE[usize::from(*b) % READABLE.len()]))
        .collect();
    format!("{}-{}", &code[..4], &code[4..])
}

/// Records the report of disclosure `txn` by the person of `session`; its reference.
pub async fn report(
    broker: &Broker,
    session: &RecordSession,
    txn: &str,
    now: OffsetDateTime,
) -> Result<String, ReportError> {
    let disclosure = broker
        .records
        .disclosure(txn)
        .await?
        .filter(|d| d.person_key == session.person_key)
        .ok_or(ReportError::NotInRecord)?;
    let report = DisclosureReport {
        at: crate::records::millis(now),
        reference: reference(txn),
        txn: disclosure.txn.clone(),
        client_id: disclosure.client_id.clone(),
        provider_id: disclosure.provider_id.clone(),
        person_key: session.person_key.clone(),
    };
    // Queued first, so that it is written with the report, in its transaction.
    broker.audit(Event::DisclosureReported {
        sign_in: &session.sign_in,
        txn: &report.txn,
        client: &report.client_id,
        provider: &report.provider_id,
        reference: &report.reference,
    });
    let reference = broker.records.report_disclosure(&report).await?;
    crate::metrics::disclosure_reported();
    Ok(reference)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_is_readable_and_stable() {
        let r = reference("txn-1");
        assert_eq!(r, reference("txn-1"));
        assert_ne!(r, reference("txn-2"));
        assert_eq!(r.len(), 9);
        assert!(r.chars().all(|c| c == '-' || READABLE.contains(&(c as u8))));
    }
}
