//! Who is asking: the viewer of a request, and the access policy.
//!
//! Authentication happens once at the edge (the HTTP layer) and yields a
//! [`Viewer`]; every resolver asks [`policy`] what that viewer may see, and
//! row rules are SQL conditions so that counts and pages respect them.

pub mod policy;

/// The authenticated caller of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Viewer {
    /// No credentials: the public catalogue only.
    #[default]
    Anonymous,
}
