//! The command line: bad settings stop the program at start with a clear
//! message; `schema` prints the committed SDL; `migrate` works on a fresh
//! database and can be reverted.

mod common;

use std::process::Command;

fn kompetanse(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kompetanse"));
    cmd.args(args)
        .env_remove("KOMPETANSE_DATABASE_URL")
        .env_remove("KOMPETANSE_BIND");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run kompetanse")
}

#[test]
fn bad_settings_fail_at_start_and_name_the_setting() {
    let cases: [(&[(&str, &str)], &str); 10] = [
        (&[("KOMPETANSE_BIND", "not-an-address")], "--bind"),
        (
            &[("KOMPETANSE_DATABASE_URL", "mysql://localhost/k")],
            "KOMPETANSE_DATABASE_URL",
        ),
        (&[("KOMPETANSE_MAX_PAGE_SIZE", "0")], "--max-page-size"),
        (&[("KOMPETANSE_MAX_DEPTH", "lots")], "--max-depth"),
        (
            &[
                ("KOMPETANSE_DEFAULT_PAGE_SIZE", "50"),
                ("KOMPETANSE_MAX_PAGE_SIZE", "10"),
            ],
            "KOMPETANSE_DEFAULT_PAGE_SIZE",
        ),
        (
            &[("KOMPETANSE_OTLP_ENDPOINT", "collector:4318")],
            "KOMPETANSE_OTLP_ENDPOINT",
        ),
        (
            &[(
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "http://user:pw@collector:4318",
            )],
            "OTEL_EXPORTER_OTLP_ENDPOINT",
        ),
        (
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ],
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ),
        (&[("KOMPETANSE_OTLP_PROTOCOL", "grpc")], "--otlp-protocol"),
        (
            &[("KOMPETANSE_TRACE_SAMPLE_RATIO", "1.5")],
            "--trace-sample-ratio",
        ),
    ];
    for (env, needle) in cases {
        let out = kompetanse(&["migrate"], env);
        assert!(!out.status.success(), "{env:?} should fail");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(needle), "{env:?}: {stderr}");
        assert!(!stderr.contains("pw@"), "no password repeated: {stderr}");
    }
}

#[test]
fn an_unreachable_database_is_a_clear_error() {
    let out = kompetanse(
        &["migrate"],
        &[(
            "KOMPETANSE_DATABASE_URL",
            "postgres://nobody@127.0.0.1:1/none",
        )],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot reach PostgreSQL at 127.0.0.1:1"),
        "{stderr}"
    );
    assert!(stderr.contains("KOMPETANSE_DATABASE_URL"), "{stderr}");
    assert!(!stderr.contains("nobody"), "no credentials: {stderr}");
}

#[test]
fn token_refuses_to_invent_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kompetanse.db");
    let url = format!("sqlite://{}?mode=rwc", file.display());
    let out = kompetanse(
        &["token", "--role", "admin"],
        &[("KOMPETANSE_DATABASE_URL", &url)],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no database at"), "{stderr}");
    assert!(stderr.contains("kompetanse.db"), "{stderr}");
    assert!(!file.exists(), "no database may be created");
    assert!(!dir.path().join("kompetanse.db.secret").exists());
    assert!(out.stdout.is_empty(), "no token is printed");
}

#[test]
fn each_command_shows_only_the_settings_it_uses() {
    let help = |args: &[&str]| {
        let out = kompetanse(args, &[]);
        assert!(out.status.success(), "{args:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    for args in [&["--help"][..], &["serve", "--help"]] {
        let text = help(args);
        assert!(text.contains("--max-depth"), "{args:?}: {text}");
        assert!(text.contains("--bind"), "{args:?}: {text}");
    }
    let token = help(&["token", "--help"]);
    assert!(token.contains("--role"), "{token}");
    assert!(token.contains("--database-url"), "{token}");
    assert!(!token.contains("--max-depth"), "{token}");
    assert!(!token.contains("--bind"), "{token}");
    assert!(token.lines().count() < 60, "{token}");
    for args in [
        &["migrate", "--help"][..],
        &["seed", "--help"],
        &["bench", "stats", "--help"],
    ] {
        let text = help(args);
        assert!(text.contains("--database-url"), "{args:?}: {text}");
        assert!(
            !text.contains("--rate-limit-per-minute"),
            "{args:?}: {text}"
        );
    }
    // Hidden is not refused: a server setting after a command still parses.
    let out = kompetanse(&["schema", "--max-depth", "5"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn schema_command_prints_the_sdl() {
    let out = kompetanse(&["schema"], &[]);
    assert!(out.status.success());
    let sdl = String::from_utf8(out.stdout).unwrap();
    assert_eq!(sdl, kompetanse::graphql::sdl());
}

#[tokio::test]
async fn migrations_go_up_down_and_up_again() {
    let url = common::fresh_database().await;
    let env = [("KOMPETANSE_DATABASE_URL", url.as_str())];
    for args in [
        &["migrate"][..],
        &["migrate", "--reset"],
        &["migrate"],
        &["seed"],
        &["seed"],
    ] {
        let out = kompetanse(args, &env);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The second seed found data and loaded nothing.
    let out = kompetanse(&["seed"], &env);
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing loaded"));
    // Down also works on a filled database, and up again after it.
    for args in [&["migrate", "--reset"][..], &["migrate"]] {
        let out = kompetanse(args, &env);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[tokio::test]
async fn minted_tokens_are_accepted_by_the_server_with_the_same_settings() {
    let url = common::fresh_database().await;
    let mut env = vec![("KOMPETANSE_DATABASE_URL", url.clone())];
    if url.starts_with("postgres") {
        // PostgreSQL has no development secret: give both the same one.
        env.push(("KOMPETANSE_JWT_SECRET", common::TEST_SECRET.to_owned()));
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // The server's database exists before a token is minted for it.
    let out = kompetanse(&["seed"], &env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = kompetanse(
        &[
            "token",
            "--role",
            "provider",
            "--provider",
            "985 638 187",
            "--ttl",
            "10m",
        ],
        &env,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let token = stdout.lines().last().unwrap().trim().to_owned();
    assert!(stdout.contains("NUBU"), "{stdout}");

    let mut settings = kompetanse::Settings::for_database(url);
    if settings.database_url.starts_with("postgres") {
        settings.auth.jwt_secret = Some(kompetanse::config::Secret::new(common::TEST_SECRET));
    }
    let app = common::spawn_app_with(settings).await;
    let res = app
        .query_as(
            Some(&token),
            "{ me { roles { role provider { shortName } } } }",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(
        res.data()["me"]["roles"][0]["provider"]["shortName"],
        "NUBU"
    );

    for bad in [
        &["token", "--role", "leader"][..],
        &["token", "--role", "admin", "--service", "x"],
        &["token", "--role", "leader", "--service", "no such service"],
        &["token", "--role", "admin", "--ttl", "forever"],
    ] {
        let out = kompetanse(bad, &env);
        assert!(!out.status.success(), "{bad:?}");
        assert!(
            !String::from_utf8_lossy(&out.stderr).trim().is_empty(),
            "{bad:?}"
        );
    }
}

#[test]
fn postgres_without_token_keys_refuses_to_start() {
    let out = kompetanse(
        &[],
        &[(
            "KOMPETANSE_DATABASE_URL",
            "postgres://postgres@127.0.0.1:5432/test",
        )],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("KOMPETANSE_JWT_SECRET"), "{stderr}");
}
