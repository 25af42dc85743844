//! Persisted queries: automatic persisted queries (APQ) and the allow-list.
//!
//! - **APQ** (Apollo's protocol, `extensions.persistedQuery { version: 1,
//!   sha256Hash }`): a client sends only the SHA-256 of a query it sent
//!   before. An unknown hash answers `PERSISTED_QUERY_NOT_FOUND`, and the
//!   client then sends the text with its hash once. The server remembers a
//!   bounded number of texts (least recently used go first).
//! - **Persisted documents** (the GraphQL-over-HTTP persisted-documents
//!   appendix, what graphql-codegen's client preset and Relay send): a
//!   request names its document by `documentId` (a top-level JSON member,
//!   or a GET parameter) instead of sending `query`. A `sha256:<hex>` id is
//!   the SHA-256 of the document's text; an id without a colon is a custom
//!   id, known only from a manifest.
//! - **Allow-list**: with `KOMPETANSE_ALLOW_LIST` naming a `.graphql` file, a
//!   folder of them, or a JSON manifest (graphql-codegen's
//!   `persisted-documents.json`, `{ "<id>": "<document>" }`, or Apollo's
//!   persisted query manifest), only those documents run. A request gives
//!   the document's id or hash, or its exact text (surrounding white space
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

/// The request extension under which the HTTP layer passes a request's
/// `documentId` (see [`DocumentId`]).
pub const DOCUMENT_ID: &str = "documentId";

/// The registered documents of allow-list mode: by SHA-256 hash, and by
/// the custom ids of a manifest.
#[derive(Debug, Clone, Default)]
pub struct AllowList {
    documents: HashMap<String, Arc<str>>,
    custom: HashMap<String, Arc<str>>,
    count: usize,
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
    /// A JSON manifest that is not one of the known shapes.
    #[error(
        "the manifest {path} is not a persisted-documents manifest ({{\"<id>\": \"<document>\"}} \
         or Apollo's {{\"format\": \"apollo-persisted-query-manifest\", \"operations\": [...]}}): \
         {message}"
    )]
    Manifest {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Nothing to allow.
    #[error("the allow-list {0} holds no .graphql document")]
    Empty(PathBuf),
}

impl AllowList {
    /// Loads a `.graphql` file, every `.graphql` file of a folder (not its
    /// subfolders), each one document, or a `.json` manifest.
    pub fn load(path: &Path) -> Result<Self, AllowListError> {
        if path.extension().is_some_and(|e| e == "json") && path.is_file() {
            let text = std::fs::read_to_string(path).map_err(|source| AllowListError::Read {
                path: path.to_owned(),
                source,
            })?;
            let mut list = Self::default();
            list.add_manifest(path, &text)?;
            list.files.push(path.to_owned());
            if list.documents.is_empty() {
                return Err(AllowListError::Empty(path.to_owned()));
            }
            return Ok(list);
        }
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

    /// Registers one document (checked to parse), under the hash of its
    /// text as given and of its text without surrounding white space.
    pub fn add(&mut self, file: &Path, text: &str) -> Result<Arc<str>, AllowListError> {
        let trimmed = text.trim();
        async_graphql::parser::parse_query(trimmed).map_err(|e| AllowListError::Parse {
            path: file.to_owned(),
            message: e.to_string(),
        })?;
        let document: Arc<str> = Arc::from(text);
        self.documents.insert(hash(text), document.clone());
        self.documents.insert(hash(trimmed), document.clone());
        self.count += 1;
        Ok(document)
    }

    /// Registers the documents of a JSON manifest: graphql-codegen's
    /// `{ "<id>": "<document>" }` or Apollo's persisted query manifest
    /// (`operations: [{ id, body }]`). Each document is known by its
    /// manifest id (a custom id) and by its SHA-256 hash.
    pub fn add_manifest(&mut self, file: &Path, text: &str) -> Result<(), AllowListError> {
        let bad = |message: &str| AllowListError::Manifest {
            path: file.to_owned(),
            message: message.to_owned(),
        };
        let json: serde_json::Value =
            serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
        let object = json.as_object().ok_or_else(|| bad("not a JSON object"))?;
        let mut entries = Vec::new();
        if let Some(operations) = object.get("operations") {
            let operations = operations
                .as_array()
                .ok_or_else(|| bad("`operations` is not an array"))?;
            for op in operations {
                let id = op.get("id").and_then(|v| v.as_str());
                let body = op.get("body").and_then(|v| v.as_str());
                let (Some(id), Some(body)) = (id, body) else {
                    return Err(bad("an operation lacks a string `id` or `body`"));
                };
                entries.push((id.to_owned(), body.to_owned()));
            }
        } else {
            for (id, body) in object {
                let body = body
                    .as_str()
                    .ok_or_else(|| bad(&format!("the document of `{id}` is not a string")))?;
                entries.push((id.clone(), body.to_owned()));
            }
        }
        for (id, body) in entries {
            let document = self.add(file, &body)?;
            let id = id.strip_prefix("sha256:").unwrap_or(&id).to_owned();
            self.custom.insert(id, document);
        }
        Ok(())
    }

    /// The document a `documentId` names.
    pub fn by_id(&self, id: &DocumentId) -> Option<Arc<str>> {
        match id {
            DocumentId::Sha256(h) => self.get(h).or_else(|| self.custom.get(h).cloned()),
            DocumentId::Custom(c) => self
                .custom
                .get(c)
                .cloned()
                .or_else(|| self.get(&c.to_ascii_lowercase())),
        }
    }

    /// How many documents are registered.
    pub fn len(&self) -> usize {
        self.count
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

/// A persisted document's identifier (`documentId`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentId {
    /// `sha256:<64 lower-case hex digits>`: the SHA-256 of the text.
    Sha256(String),
    /// An id without a colon, known from a manifest (a 64-digit hex id is
    /// also tried as a SHA-256).
    Custom(String),
}

impl DocumentId {
    /// Parses an identifier as the persisted-documents appendix defines it.
    pub fn parse(id: &str) -> Result<Self, String> {
        let unreserved = |s: &str| {
            !s.is_empty()
                && s.len() <= 256
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
        };
        match id.split_once(':') {
            Some(("sha256", hex)) => {
                if hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                    Ok(Self::Sha256(hex.to_owned()))
                } else {
                    Err("a sha256: document id needs 64 lower-case hex digits".to_owned())
                }
            }
            Some((prefix, _)) => Err(format!(
                "document ids with the prefix `{}` are not supported; use sha256:<hex> or an id \
                 from the manifest",
                prefix.chars().take(32).collect::<String>()
            )),
            None if unreserved(id) => Ok(Self::Custom(id.to_owned())),
            None => Err(
                "a document id is sha256:<hex>, or up to 256 letters, digits, '-', '.', '_' or '~'"
                    .to_owned(),
            ),
        }
    }

    /// The SHA-256 hash it stands for, when it can be one.
    fn sha256(&self) -> Option<String> {
        match self {
            Self::Sha256(h) => Some(h.clone()),
            Self::Custom(c) if c.len() == 64 && c.bytes().all(|b| b.is_ascii_hexdigit()) => {
                Some(c.to_ascii_lowercase())
            }
            Self::Custom(_) => None,
        }
    }
}

/// The `documentId` of a request, if any (see [`DOCUMENT_ID`]).
fn take_document_id(request: &mut Request) -> ServerResult<Option<DocumentId>> {
    let Some(value) = request.extensions.remove(DOCUMENT_ID) else {
        return Ok(None);
    };
    let json = value
        .into_json()
        .map_err(|_| error(codes::BAD_USER_INPUT, "`documentId` must be a string"))?;
    let id = json
        .as_str()
        .ok_or_else(|| error(codes::BAD_USER_INPUT, "`documentId` must be a string"))?;
    if !request.query.trim().is_empty() {
        return Err(error(
            codes::BAD_USER_INPUT,
            "send either `documentId` or `query`, not both",
        ));
    }
    DocumentId::parse(id)
        .map(Some)
        .map_err(|m| error(codes::BAD_USER_INPUT, m))
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

fn not_allowed() -> async_graphql::ServerError {
    error(
        PERSISTED_QUERY_NOT_ALLOWED,
        "only registered operations run on this server",
    )
}

fn not_found() -> async_graphql::ServerError {
    error(PERSISTED_QUERY_NOT_FOUND, "PersistedQueryNotFound")
}

fn not_supported() -> async_graphql::ServerError {
    error(
        "PERSISTED_QUERY_NOT_SUPPORTED",
        "PersistedQueryNotSupported",
    )
}

fn internal() -> async_graphql::ServerError {
    error(codes::INTERNAL_SERVER_ERROR, "internal server error")
}

impl Persisted {
    /// The document a `documentId` names: from the allow-list, or (for a
    /// SHA-256 id) from the APQ cache.
    fn document(&self, id: &DocumentId) -> ServerResult<Arc<str>> {
        match self {
            Persisted::AllowList(list) => list.by_id(id).ok_or_else(not_allowed),
            Persisted::Automatic(cache) => {
                let hash = id.sha256().ok_or_else(not_found)?;
                let mut cache = cache.lock().map_err(|_| internal())?;
                cache.get(&hash).cloned().ok_or_else(not_found)
            }
            Persisted::Off => Err(not_supported()),
        }
    }
}

#[async_trait::async_trait]
impl Extension for Persisted {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        if let Some(id) = take_document_id(&mut request)? {
            request.query = self.document(&id)?.to_string();
            return next.run(ctx, request).await;
        }
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
                    None => return Err(not_allowed()),
                }
            }
            Persisted::Automatic(cache) => {
                if let Some(h) = given {
                    let mut cache = cache.lock().map_err(|_| internal())?;
                    if text.is_empty() {
                        match cache.get(&h) {
                            Some(doc) => request.query = doc.to_string(),
                            None => return Err(not_found()),
                        }
                    } else {
                        cache.put(h, Arc::from(text));
                    }
                }
            }
            Persisted::Off => {
                if given.is_some() {
                    return Err(not_supported());
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

    #[test]
    fn document_ids_follow_the_appendix() {
        let h = hash("{ __typename }");
        assert_eq!(
            DocumentId::parse(&format!("sha256:{h}")),
            Ok(DocumentId::Sha256(h.clone()))
        );
        assert!(DocumentId::parse(&format!("sha256:{}", h.to_uppercase())).is_err());
        assert!(DocumentId::parse("sha256:abc").is_err());
        assert!(DocumentId::parse("md5:abc").is_err());
        assert!(DocumentId::parse("x-ours:abc").is_err());
        assert!(DocumentId::parse("").is_err());
        assert!(DocumentId::parse("a b").is_err());
        assert!(DocumentId::parse("a\u{0}").is_err());
        assert!(DocumentId::parse(&"a".repeat(257)).is_err());
        assert_eq!(
            DocumentId::parse("a1b2_c.d~e-f"),
            Ok(DocumentId::Custom("a1b2_c.d~e-f".to_owned()))
        );
    }

    #[test]
    fn manifests_of_codegen_and_apollo_are_read() {
        let mut list = AllowList::default();
        list.add_manifest(
            Path::new("persisted-documents.json"),
            r#"{ "b1946ac92492d2347c6235b4d2611184": "query A { counties { totalCount } }" }"#,
        )
        .unwrap();
        let doc = list
            .by_id(&DocumentId::Custom(
                "b1946ac92492d2347c6235b4d2611184".into(),
            ))
            .unwrap();
        assert!(doc.contains("query A"));
        let by_hash = DocumentId::Sha256(hash("query A { counties { totalCount } }"));
        assert_eq!(list.by_id(&by_hash).as_deref(), Some(&*doc));
        assert!(list.by_id(&DocumentId::Custom("other".into())).is_none());

        let mut apollo = AllowList::default();
        apollo
            .add_manifest(
                Path::new("manifest.json"),
                r#"{ "format": "apollo-persisted-query-manifest", "version": 1,
                     "operations": [{ "id": "abc", "name": "B", "type": "query",
                                      "body": "query B { __typename }" }] }"#,
            )
            .unwrap();
        assert!(apollo.by_id(&DocumentId::Custom("abc".into())).is_some());

        for bad in [
            "[]",
            r#"{ "x": 1 }"#,
            r#"{ "operations": [{ "id": "a" }] }"#,
            r#"{ "x": "query {" }"#,
        ] {
            assert!(
                AllowList::default()
                    .add_manifest(Path::new("m.json"), bad)
                    .is_err(),
                "{bad}"
            );
        }
    }
}
