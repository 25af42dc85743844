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
    let cases: [(&[(&str, &str)], &str); 5] = [
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
    ];
    for (env, needle) in cases {
        let out = kompetanse(&["migrate"], env);
        assert!(!out.status.success(), "{env:?} should fail");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(needle), "{env:?}: {stderr}");
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
    assert!(stderr.contains("kompetanse:"), "{stderr}");
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
