//! The auditor's conformance suite (see its issue).
