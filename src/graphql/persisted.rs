//! Persisted queries: automatic persisted queries (APQ) and the allow-list.
//!
//! - **APQ** (Apollo's protocol, `extensions.persistedQuery { version: 1,
//!   sha256Hash }`): a client sends only the SHA-256 of a query it sent
//!   before. An unknown hash answers `PERSISTED_QUERY_NOT_FOUND`, and the
//!   client then sends the text with its hash once. The server remembers a
//!   bounded number of texts (least recently used go first).
//! - **Allow-list**: with `KOMPETANSE_ALLOW_LIST` naming a `.graphql` file or
//!   a folder of them, only those documents run. A request gives the hash
//!   of a registered document or its exact text (surrounding white space
//!   aside). Anything else answers `PERSISTED_QUERY_NOT_ALLOWED`.
//!
//! The document's text replaces the request's query before parsing, so
//! every rule on documents (limits, introspection, sign-in for mutations)
//! applies to persisted documents as to any other.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest,
};
use async_graphql::{Request, ServerResult};
use sha2::{Digest, Sha256};

use super::errors::coded_error as error;
use crate::error::codes;

/// The error code of an APQ hash the server does not know (Apollo clients
/// then send the query text).
pub const PERSISTED_QUERY_NOT_FOUND: &str = "PERSISTED_QUERY_NOT_FOUND";
/// How many query texts APQ remembers by default.
pub const DEFAULT_APQ_CAPACITY: usize = 1000;

/// The error code of a document that is not on the allow-list.
pub const PERSISTED_QUERY_NOT_ALLOWED: &str = "PERSISTED_QUERY_NOT_ALLOWED";

/// The SHA-256 of a document, as lower-case hex.
pub fn hash(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The registered documents of allow-list mode, by hash.
#[derive(Debug, Clone, Default)]
pub struct AllowList {
    documents: HashMap<String, Arc<str>>,
    files: Vec<PathBuf>,
}

/// Why the allow-list could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum AllowListError {
    /// The path cannot be read.
    #[error("the allow-list {path} cannot be read: {source}")]
    Read {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A document does not parse.
    #[error("the allow-list document {path} is not valid GraphQL: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// Nothing to allow.
    #[error("the allow-list {0} holds no .graphql document")]
    Empty(PathBuf),
}

impl AllowList {
    /// Loads a `.graphql` file, or every `.graphql` file of a folder (not
    /// its subfolders), each one document.
    pub fn load(path: &Path) -> Result<Self, AllowListError> {
        let read_err = |source| AllowListError::Read {
            path: path.to_owned(),
            source,
        };
        let mut files = if path.is_dir() {
            let mut files = Vec::new();
            for entry in std::fs::read_dir(path).map_err(read_err)? {
                let file = entry.map_err(read_err)?.path();
                if file.extension().is_some_and(|e| e == "graphql") && file.is_file() {
                    files.push(file);
                }
            }
            files
        } else {
            vec![path.to_owned()]
        };
        files.sort();
        let mut list = Self::default();
        for file in files {
            let text = std::fs::read_to_string(&file).map_err(|source| AllowListError::Read {
                path: file.clone(),
                source,
            })?;
            list.add(&file, &text)?;
            list.files.push(file);
        }
        if list.documents.is_empty() {
            return Err(AllowListError::Empty(path.to_owned()));
        }
        Ok(list)
    }

    /// Registers one document (checked to parse).
    pub fn add(&mut self, file: &Path, text: &str) -> Result<(), AllowListError> {
        let text = text.trim();
        async_graphql::parser::parse_query(text).map_err(|e| AllowListError::Parse {
            path: file.to_owned(),
            message: e.to_string(),
        })?;
        self.documents.insert(hash(text), Arc::from(text));
        Ok(())
    }

    /// How many documents are registered.
    pub fn len(&self) -> usize {
        self.documents.len()
    }

    /// Whether no document is registered.
    pub fn is_empty(&self) -> bool {
        self.documents.is_empty()
    }

    /// The document with this hash.
    pub fn get(&self, hash: &str) -> Option<Arc<str>> {
        self.documents.get(hash).cloned()
    }
}

/// How the server treats persisted queries.
#[derive(Clone)]
pub enum Persisted {
    /// Neither APQ nor an allow-list: `persistedQuery` is refused.
    Off,
    /// Automatic persisted queries with an LRU cache of query texts.
    Automatic(Arc<Mutex<lru::LruCache<String, Arc<str>>>>),
    /// Only registered documents run.
    AllowList(Arc<AllowList>),
}

impl Persisted {
    /// APQ remembering up to `capacity` queries (0 turns APQ off).
    pub fn automatic(capacity: usize) -> Self {
        match NonZeroUsize::new(capacity) {
            Some(cap) => Self::Automatic(Arc::new(Mutex::new(lru::LruCache::new(cap)))),
            None => Self::Off,
        }
    }
}

impl ExtensionFactory for Persisted {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(self.clone())
    }
}

/// The `persistedQuery` extension of a request: its hash, if any.
fn take_hash(request: &mut Request) -> ServerResult<Option<String>> {
    let Some(value) = request.extensions.remove("persistedQuery") else {
        return Ok(None);
    };
    let bad = || {
        error(
            codes::BAD_USER_INPUT,
            "`extensions.persistedQuery` must be { version: 1, sha256Hash: \"<hex>\" }",
        )
    };
    let json = value.into_json().map_err(|_| bad())?;
    if json.get("version").and_then(|v| v.as_i64()) != Some(1) {
        return Err(bad());
    }
    let hash = json
        .get("sha256Hash")
        .and_then(|v| v.as_str())
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(bad)?;
    Ok(Some(hash.to_ascii_lowercase()))
}

#[async_trait::async_trait]
impl Extension for Persisted {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let given = take_hash(&mut request)?;
        let text = request.query.trim();
        if let Some(h) = &given
            && !text.is_empty()
            && hash(text) != *h
        {
            return Err(error(
                codes::BAD_USER_INPUT,
                "the sha256Hash does not match the query",
            ));
        }
        match self {
            Persisted::AllowList(list) => {
                let key = match given {
                    Some(h) => h,
                    None => hash(text),
                };
                match list.get(&key) {
                    Some(doc) => request.query = doc.to_string(),
                    None => {
                        return Err(error(
                            PERSISTED_QUERY_NOT_ALLOWED,
                            "only registered operations run on this server",
                        ));
                    }
                }
            }
            Persisted::Automatic(cache) => {
                if let Some(h) = given {
                    let mut cache = cache.lock().map_err(|_| {
                        error(codes::INTERNAL_SERVER_ERROR, "internal server error")
                    })?;
                    if text.is_empty() {
                        match cache.get(&h) {
                            Some(doc) => request.query = doc.to_string(),
                            None => {
                                return Err(error(
                                    PERSISTED_QUERY_NOT_FOUND,
                                    "PersistedQueryNotFound",
                                ));
                            }
                        }
                    } else {
                        cache.put(h, Arc::from(text));
                    }
                }
            }
            Persisted::Off => {
                if given.is_some() {
                    return Err(error(
                        "PERSISTED_QUERY_NOT_SUPPORTED",
                        "PersistedQueryNotSupported",
                    ));
                }
            }
        }
        next.run(ctx, request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_lower_case_hex_sha256() {
        assert_eq!(
            hash("{ __typename }"),
            "7f56e67dd21ab3f30d1ff8b7bed08893f0a0db86449836189b361dd1e56ddb4b"
        );
    }

    #[test]
    fn the_allow_list_checks_its_documents() {
        let mut list = AllowList::default();
        list.add(Path::new("a.graphql"), "\n{ counties { totalCount } }\n")
            .unwrap();
        assert!(list.get(&hash("{ counties { totalCount } }")).is_some());
        assert!(matches!(
            list.add(Path::new("b.graphql"), "{ counties { "),
            Err(AllowListError::Parse { .. })
        ));
        assert_eq!(list.len(), 1);
    }
}
