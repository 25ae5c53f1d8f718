//! The pan-Canadian identity broker: an OpenID Provider toward relying parties and an OpenID
//! Connect client toward Trusted Digital Identity Providers, enforcing the trust framework.

pub mod cli;
