//! GraphiQL, served from the binary: the page at `GET /graphql` (for a
//! browser) and its files at `GET /graphiql/<file>`.
//!
//! The files are the pinned npm releases vendored in `assets/graphiql/`
//! (see its `README.md`, `VERSIONS` and `LICENSES.md`), embedded at build
//! time, so the page works on a network without a CDN and runs no
//! third-party script from another host. The page carries a strict
//! Content-Security-Policy (`assets/graphiql/CSP`): scripts from this origin
//! only, none inline, no `eval`, requests to this origin only.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, web};

/// The page's Content-Security-Policy.
pub const CSP: &str = include_str!("../../assets/graphiql/CSP");

const PAGE: &str = include_str!("../../assets/graphiql/index.html");

/// The files the page loads: name, media type, bytes.
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "init.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/init.js"),
    ),
    (
        "kompetanse.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/graphiql/kompetanse.css"),
    ),
    (
        "graphiql.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/graphiql.min.js"),
    ),
    (
        "graphiql.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/graphiql/graphiql.min.css"),
    ),
    (
        "react.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
    ),
];

/// How long browsers keep the files: they change only with a release of
/// the server, and a day's delay after an upgrade is harmless.
const FILE_MAX_AGE: &str = "public, max-age=86400";

/// The GraphiQL page, with its security headers.
pub fn page() -> HttpResponse {
    let mut response = HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(PAGE);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// `GET /graphiql/{file}`: one of the page's files, else 404.
pub async fn file(name: web::Path<String>) -> HttpResponse {
    let Some((_, media_type, bytes)) = FILES.iter().find(|(n, _, _)| *n == name.as_str()) else {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("not found");
    };
    HttpResponse::Ok()
        .content_type(*media_type)
        .insert_header((header::CACHE_CONTROL, FILE_MAX_AGE))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(*bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_only_embedded_files_from_this_origin() {
        let sources: Vec<&str> = PAGE
            .split(['"', '\''])
            .filter(|s| s.starts_with('/') || s.contains("://"))
            .collect();
        assert!(!sources.is_empty());
        for source in sources {
            let name = source.strip_prefix("/graphiql/").unwrap_or_else(|| {
                panic!("{source} is not one of the embedded files");
            });
            assert!(
                FILES.iter().any(|(n, _, _)| *n == name),
                "{name} is not embedded"
            );
        }
    }

    #[test]
    fn the_policy_allows_no_inline_or_foreign_script() {
        let script = CSP
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src"))
            .unwrap();
        assert_eq!(script, "script-src 'self'");
        assert!(CSP.contains("default-src 'none'"));
        assert!(!CSP.contains("unsafe-eval"));
        assert!(HeaderValue::from_str(CSP).is_ok());
    }
}
