//! The development secret of the zero-configuration server.
//!
//! A server on SQLite without `KOMPETANSE_JWT_SECRET` or `KOMPETANSE_JWKS`
//! creates a random HS256 secret on first start and keeps it beside the
//! database file (`kompetanse.db.secret`, readable by its owner only), so
//! that tokens minted by `kompetanse token` keep working across restarts. A
//! server on PostgreSQL (production) must be given a secret or a JWKS.

use std::io::Write;
use std::path::PathBuf;

use crate::config::{ConfigError, Engine, Secret, Settings};

/// The development secret to use, if the settings call for one.
pub fn load_or_create(settings: &Settings) -> Result<Option<Secret>, ConfigError> {
    if settings.auth.jwt_secret.is_some() || settings.auth.jwks.is_some() {
        return Ok(None);
    }
    if settings.engine()? == Engine::Postgres {
        return Err(ConfigError {
            setting: "KOMPETANSE_JWT_SECRET",
            message: "a server on PostgreSQL needs KOMPETANSE_JWT_SECRET (at least 32 bytes) \
                      or KOMPETANSE_JWKS to verify tokens"
                .into(),
        });
    }
    let Some(path) = secret_path(&settings.database_url) else {
        // An in-memory database: the secret lives as long as the process.
        return Ok(Some(random_secret()?));
    };
    let io_error = |e: std::io::Error| ConfigError {
        setting: "KOMPETANSE_JWT_SECRET",
        message: format!("development secret file {}: {e}", path.display()),
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let text = text.trim();
            if text.len() < 32 {
                return Err(ConfigError {
                    setting: "KOMPETANSE_JWT_SECRET",
                    message: format!("development secret file {} is too short", path.display()),
                });
            }
            Ok(Some(Secret::new(text)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let secret = random_secret()?;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut file = options.open(&path).map_err(io_error)?;
            file.write_all(secret.expose().as_bytes())
                .map_err(io_error)?;
            tracing::info!(file = %path.display(), "created a development token secret");
            Ok(Some(secret))
        }
        Err(e) => Err(io_error(e)),
    }
}

/// `<database file>.secret` for a SQLite file URL; `None` for memory.
fn secret_path(url: &str) -> Option<PathBuf> {
    let file = crate::db::sqlite_file(url)?;
    Some(PathBuf::from(format!("{}.secret", file.display())))
}

fn random_secret() -> Result<Secret, ConfigError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ConfigError {
        setting: "KOMPETANSE_JWT_SECRET",
        message: format!("no randomness for a development secret: {e}"),
    })?;
    Ok(Secret::new(
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_paths() {
        assert_eq!(
            secret_path("sqlite://kompetanse.db?mode=rwc"),
            Some(PathBuf::from("kompetanse.db.secret"))
        );
        assert_eq!(
            secret_path("sqlite:/tmp/x.db"),
            Some(PathBuf::from("/tmp/x.db.secret"))
        );
        assert_eq!(secret_path("sqlite::memory:"), None);
        assert_eq!(secret_path("sqlite://file.db?mode=memory"), None);
    }

    #[test]
    fn the_secret_is_kept_and_postgres_needs_one() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("k.db").display());
        let settings = Settings::for_database(url);
        let first = load_or_create(&settings).unwrap().unwrap();
        let second = load_or_create(&settings).unwrap().unwrap();
        assert_eq!(first, second);
        assert_eq!(first.expose().len(), 64);

        let pg = Settings::for_database("postgres://postgres@127.0.0.1/x");
        assert_eq!(
            load_or_create(&pg).unwrap_err().setting,
            "KOMPETANSE_JWT_SECRET"
        );
    }
}
