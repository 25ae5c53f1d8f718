//! Demo identity providers and a demo relying service.
